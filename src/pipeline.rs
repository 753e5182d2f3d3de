//! One request, one image, one pipeline: prepare the image, open a [`Session`] at the requested
//! layer, settle the class, run each method (fast ones first) and score its map, handing every
//! result over as soon as it is ready. The CLI, the app's worker, batch export, evaluation and
//! the benchmark all run images through [`Pipeline`], so each of these steps exists once.

use crate::cam::{self, CamResult, Method, Monitor, Options, RefineLayers, Session};
use crate::classify::{Prediction, top_k};
use crate::error::{Error, Result};
use crate::faithfulness::metrics::{MapScores, score_maps};
use crate::focus::choose;
use crate::input::preprocess::CropBox;
use crate::models::LayerInfo;
use crate::models::Model;
use crate::models::detection::Thresholds;
use image::RgbImage;

pub use crate::focus::{Chosen, ClassChoice, Detected};

/// One method with the options it runs with (an ablation runs one method with several).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    pub method: Method,
    pub options: Options,
}

/// What to compute for each image.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Results are reported with their index in this list.
    pub steps: Vec<Step>,
    pub class: ClassChoice,
    /// The target layer by name; `None`: the model's usual one.
    pub layer: Option<String>,
    /// RefineCAM's layers by name; empty: its default for the target layer.
    pub refine_layers: Vec<String>,
    /// A detector's score and IoU thresholds (its format's defaults where `None`).
    pub thresholds: Option<Thresholds>,
}

impl Request {
    /// `methods` (each once, in the order given) with the same `options`, for the predicted
    /// class at the model's usual layer, scored.
    pub fn new(methods: &[Method], options: Options) -> Self {
        let mut steps: Vec<Step> = vec![];
        for &method in methods {
            if !steps.iter().any(|s| s.method == method) {
                steps.push(Step { method, options });
            }
        }
        Self {
            steps,
            class: ClassChoice::Predicted,
            layer: None,
            refine_layers: vec![],
            thresholds: None,
        }
    }

    pub fn with_thresholds(mut self, thresholds: Option<Thresholds>) -> Self {
        self.thresholds = thresholds;
        self
    }

    pub fn with_class(mut self, class: impl Into<ClassChoice>) -> Self {
        self.class = class.into();
        self
    }

    pub fn with_layer(mut self, layer: Option<&str>) -> Self {
        self.layer = layer.map(str::to_string);
        self
    }

    pub fn with_refine_layers(mut self, layers: &[String]) -> Self {
        self.refine_layers = layers.to_vec();
        self
    }

    pub fn methods(&self) -> Vec<Method> {
        self.steps.iter().map(|s| s.method).collect()
    }

    /// The order steps run in: gradient methods first (they share one backward and appear at
    /// once), then ScoreCAM++ (the method people open camlens for, whose preview should come
    /// first), then the other slow ones, each group in the request's order.
    pub fn run_order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.steps.len()).collect();
        order.sort_by_key(|&i| {
            let m = self.steps[i].method;
            (m.is_slow(), m != Method::ScoreCamPlusPlus)
        });
        order
    }
}

/// What is known once the image has been classified, before any map.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    /// Where the model's input lies in the original image.
    pub crop: CropBox,
    pub top: Vec<Prediction>,
    /// The class being explained.
    pub class: usize,
    /// Softmax probability of `class` on the unmasked input (a segmenter's: the class's mean
    /// probability over its pixels; a detector's: the box's score).
    pub probability: f32,
    /// What of a segmenter's or detector's answer is explained.
    pub chosen: Option<Chosen>,
}

/// What the pipeline hands over, in this order: one `Prepared`, then one `Result` per step as
/// each finishes. `S`: each map's faithfulness scores (two more forward passes per map), or
/// `()` where the caller runs unscored (the benchmark: its times are the methods' alone, as the
/// peers' are; batch export).
#[derive(Debug, Clone)]
pub enum Event<S = MapScores> {
    Prepared(Prepared),
    Result {
        /// The step's index in [`Request::steps`].
        index: usize,
        result: Box<CamResult>,
        scores: S,
    },
}

/// How a map is scored: [`scored`] or [`unscored`].
pub type Scoring<S> = fn(&Session, &CamResult, usize) -> Result<S>;

/// Average Drop and its kin for the map (see `metrics`).
pub fn scored(session: &Session, result: &CamResult, class: usize) -> Result<MapScores> {
    Ok(score_maps(session, &[&result.map], class)?[0])
}

/// No scores: the map alone.
pub fn unscored(_: &Session, _: &CamResult, _: usize) -> Result<()> {
    Ok(())
}

/// A request bound to a model: the layer is resolved here, once, with one error message.
pub struct Pipeline<'m> {
    pub model: &'m Model,
    pub request: Request,
    layer: usize,
}

impl<'m> Pipeline<'m> {
    /// Methods that cannot explain `model` (`Method::not_for`) are left out with a warning;
    /// a request of such methods alone is refused with the reason.
    pub fn new(model: &'m Model, mut request: Request) -> Result<Self> {
        let layer = model.layer_index(request.layer.as_deref())?;
        let mut reason = None;
        request
            .steps
            .retain(|step| match step.method.not_for(model) {
                Some(why) => {
                    log::warn!("{} left out: {why}", step.method.label());
                    reason = Some(why);
                    false
                }
                None => true,
            });
        if let (true, Some(why)) = (request.steps.is_empty(), reason) {
            return Err(Error::Invalid(why.to_string()));
        }
        if !request.refine_layers.is_empty() {
            let indices = request
                .refine_layers
                .iter()
                .map(|name| model.layer_index(Some(name)))
                .collect::<Result<Vec<_>>>()?;
            let refine = RefineLayers::new(&indices)?;
            request
                .steps
                .iter_mut()
                .for_each(|s| s.options.refine = refine);
        }
        Ok(Self {
            model,
            request,
            layer,
        })
    }

    pub fn layer(&self) -> LayerInfo {
        self.model.layers()[self.layer].clone()
    }

    /// Runs the request on `image`, scored; see [`Pipeline::run_input`].
    pub fn run(
        &self,
        image: &RgbImage,
        monitor: &Monitor,
        sink: impl FnMut(Event) -> Result<()>,
    ) -> Result<()> {
        self.run_with(image, monitor, scored, sink)
    }

    /// Runs the request on `image` with `score`'s scores.
    pub fn run_with<S>(
        &self,
        image: &RgbImage,
        monitor: &Monitor,
        score: Scoring<S>,
        sink: impl FnMut(Event<S>) -> Result<()>,
    ) -> Result<()> {
        let (input, crop) = self.model.preprocess.prepare(image);
        self.run_input(input, crop, &self.request.class, monitor, score, sink)
    }

    /// Runs the request on an already prepared input for `class` (the request's, or another:
    /// evaluation's labels), handing each event to `sink` as it happens. A cancel through `monitor` ends it with `Error::Cancelled` between methods or
    /// within one batch of a slow one; an error from `sink` ends it too.
    pub fn run_input<S>(
        &self,
        input: Vec<f32>,
        crop: CropBox,
        class: &ClassChoice,
        monitor: &Monitor,
        score: Scoring<S>,
        mut sink: impl FnMut(Event<S>) -> Result<()>,
    ) -> Result<()> {
        let region = choose(self.model, &input, class, self.request.thresholds)?;
        let mut session = Session::new(self.model, input, self.layer)?;
        let class = match &region {
            Some((_, k)) => *k,
            None => self.class(&session, class)?,
        };
        sink(Event::Prepared(Prepared {
            crop,
            top: top_k(self.model, &session.logits, &session.probs, 5),
            class,
            probability: session.probs[class],
            chosen: region.map(|(c, _)| c),
        }))?;
        for index in self.request.run_order() {
            if monitor.is_cancelled() {
                return Err(Error::Cancelled);
            }
            let step = &self.request.steps[index];
            let result = cam::run_method(&mut session, step.method, class, &step.options, monitor)?;
            let scores = score(&session, &result, class)?;
            sink(Event::Result {
                index,
                result: Box::new(result),
                scores,
            })?;
        }
        Ok(())
    }

    fn class(&self, session: &Session, choice: &ClassChoice) -> Result<usize> {
        match choice {
            ClassChoice::Predicted => Ok(session.top_class()),
            ClassChoice::Index(c) => session.class_or_top(Some(*c)),
            ClassChoice::MostProbableOf(group) => group
                .iter()
                .copied()
                .filter(|&c| c < session.probs.len())
                .max_by(|&a, &b| session.probs[a].total_cmp(&session.probs[b]))
                .ok_or_else(|| {
                    Error::Invalid(format!(
                        "label {group:?} is out of range: this model has {} classes",
                        session.probs.len()
                    ))
                }),
            // `focus::choose` answered for a detector before; a classifier refuses a box there.
            ClassChoice::Box(_) => Ok(session.top_class()),
        }
    }

    /// Runs the request on `image` and keeps everything, results in the request's order.
    pub fn explain(&self, image: RgbImage, monitor: &Monitor) -> Result<Explained> {
        let mut prepared = None;
        let mut done: Vec<Option<(CamResult, MapScores)>> = vec![None; self.request.steps.len()];
        let (input, crop) = self.model.preprocess.prepare(&image);
        let class = &self.request.class;
        self.run_input(input.clone(), crop, class, monitor, scored, |event| {
            match event {
                Event::Prepared(p) => prepared = Some(p),
                Event::Result {
                    index,
                    result,
                    scores,
                } => done[index] = Some((*result, scores)),
            }
            Ok(())
        })?;
        let prepared = prepared.expect("the pipeline reports Prepared before it returns Ok");
        let (results, scores) = done
            .into_iter()
            .map(|r| r.expect("every step reports its result before the pipeline returns Ok"))
            .unzip();
        Ok(Explained {
            image,
            input,
            prepared,
            results,
            scores,
        })
    }
}

/// One image explained: what rendering and printing need.
pub struct Explained {
    pub image: RgbImage,
    /// The model's input made from `image` (`[3, S, S]`), for work that starts from it again
    /// (deletion and insertion curves).
    pub input: Vec<f32>,
    pub prepared: Prepared,
    /// One per step of the request, in its order.
    pub results: Vec<CamResult>,
    /// Each result's faithfulness scores.
    pub scores: Vec<MapScores>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_keep_each_method_once_and_run_gradients_first() {
        let r = Request::new(
            &[
                Method::ScoreCam,
                Method::ScoreCamPlusPlus,
                Method::GradCam,
                Method::ScoreCamPlusPlus,
                Method::LayerCam,
            ],
            Options::default(),
        );
        assert_eq!(
            r.methods(),
            [
                Method::ScoreCam,
                Method::ScoreCamPlusPlus,
                Method::GradCam,
                Method::LayerCam
            ]
        );
        assert_eq!(r.run_order(), [2, 3, 1, 0]);
        assert_eq!(r.clone().with_class(Some(3)).class, ClassChoice::Index(3));
        assert_eq!(r.with_class(None).class, ClassChoice::Predicted);
    }
}
