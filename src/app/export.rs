//! Card and sheet exports. Rendering a map over a 24-megapixel photo and encoding the PNG takes
//! seconds, so it runs on a thread of its own; the UI thread only gathers what to draw (maps,
//! the original, captions) and checks, at once, that nothing would be overwritten.

use super::state::CamlensApp;
use crate::cam::{CamResult, Method};
use crate::draw::overlay::{check_writable, save_png};
use crate::faithfulness::metrics::MapScores;
use crate::focus::Chosen;
use crate::input::preprocess::CropBox;
use crate::outputs::{Look, comparison_sheet, render_marked};
use image::RgbImage;
use std::path::Path;
use std::sync::Arc;

/// What one card's export draws.
struct Card {
    result: CamResult,
    scores: MapScores,
}

/// What every card of an explanation marks beside its map (see `render_marked`).
struct Marked {
    crop: CropBox,
    chosen: Option<Chosen>,
    class: usize,
    classes: Vec<String>,
}

impl Marked {
    fn render(&self, original: &RgbImage, card: &Card, look: &Look) -> RgbImage {
        let marks = (&self.crop, self.chosen.as_ref(), self.class);
        render_marked(original, &card.result.map, marks, look, &self.classes)
    }
}

impl CamlensApp {
    /// One card as a PNG at the original image's resolution, written in the background (see
    /// `notices` and `errors`); an existing file is refused at once.
    pub fn export_card(&mut self, method: Method, path: &Path) -> crate::Result<()> {
        self.export_card_to(method, path, false)
    }

    pub(crate) fn export_card_to(
        &mut self,
        method: Method,
        path: &Path,
        overwrite: bool,
    ) -> crate::Result<()> {
        check_writable(path, overwrite)?;
        let (marked, cards) = self.cards(&[method])?;
        let card = cards.into_iter().next().expect("one card asked for");
        let original = self.pictures[self.current].original.clone();
        let look = self.settings.look();
        let path = path.to_owned();
        self.exports.spawn(move || {
            look.write(&marked.render(&original, &card, &look), &path, overwrite)?;
            Ok(path)
        });
        Ok(())
    }

    /// The whole comparison as one captioned sheet (image name, model, class, methods),
    /// written in the background.
    pub fn export_sheet(&mut self, path: &Path) -> crate::Result<()> {
        self.export_sheet_to(path, false)
    }

    pub(crate) fn export_sheet_to(&mut self, path: &Path, overwrite: bool) -> crate::Result<()> {
        check_writable(path, overwrite)?;
        let (marked, cards) = self.cards(&self.shown_methods())?;
        let class = self.shown_class().unwrap_or(0);
        let names = self.model.as_ref().map(|m| &m.classes);
        let class_name = names
            .and_then(|n| n.get(class))
            .cloned()
            .unwrap_or_default();
        let pic = &self.pictures[self.current];
        let title = format!(
            "{} — {} — class {class} '{class_name}'",
            pic.name,
            self.model.as_ref().map(|m| m.name.as_str()).unwrap_or("")
        );
        let original: Arc<RgbImage> = pic.original.clone();
        let look = self.settings.look();
        let path = path.to_owned();
        self.exports.spawn(move || {
            let rendered: Vec<RgbImage> = cards
                .iter()
                .map(|c| marked.render(&original, c, &look))
                .collect();
            let panels: Vec<(&RgbImage, &CamResult, Option<&MapScores>)> = rendered
                .iter()
                .zip(&cards)
                .map(|(img, c)| (img, &c.result, Some(&c.scores)))
                .collect();
            let probability = cards.first().map_or(0.0, |c| c.scores.y_prob);
            let sheet = comparison_sheet(
                &original,
                &panels,
                &class_name,
                probability,
                &title,
                (look.view, look.colormap),
            );
            save_png(&sheet, &path, overwrite)?;
            Ok(path)
        });
        Ok(())
    }

    /// The shown results of `methods`, with what they mark.
    fn cards(&self, methods: &[Method]) -> crate::Result<(Marked, Vec<Card>)> {
        let e = self
            .shown()
            .ok_or_else(|| crate::Error::Invalid("nothing explained yet".into()))?;
        let crop = e
            .crop
            .ok_or_else(|| crate::Error::Invalid("nothing explained yet".into()))?;
        let cards = methods
            .iter()
            .map(|m| {
                let (result, scores) = e
                    .results
                    .get(m)
                    .ok_or_else(|| crate::Error::Invalid(format!("{m} has no result yet")))?;
                Ok(Card {
                    result: result.clone(),
                    scores: *scores,
                })
            })
            .collect::<crate::Result<_>>()?;
        let marked = Marked {
            crop,
            chosen: e.chosen.clone(),
            class: e.class.unwrap_or(0),
            classes: self
                .model
                .as_ref()
                .map(|m| m.classes.clone())
                .unwrap_or_default(),
        };
        Ok((marked, cards))
    }
}
