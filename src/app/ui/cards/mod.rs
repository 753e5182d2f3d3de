//! The cards: the original and one per chosen method, side by side, sharing one zoom and pan.

use super::super::command::Command;
use super::super::command::Purpose;
use super::super::picture::color_image;
use super::super::state::CamlensApp;
use super::super::state::PreviewKey;
use super::super::view::{UNIT, card_to_uv, draw_region, zoom_and_pan};
use crate::cam::{Map, Method, Preview};
use crate::draw::overlay::{Colormap, View, render};
use crate::faithfulness::metrics::Score;
use crate::focus::Chosen;
use crate::input::preprocess::CropBox;
use eframe::egui;
use egui::emath::RectTransform;

pub mod marks;

pub fn show(app: &mut CamlensApp, ui: &mut egui::Ui) {
    if app.pictures.is_empty() {
        ui.label("Open images (Ctrl+O) or drop them here.");
        return;
    }
    let ctx = ui.ctx().clone();
    let tex = app.pictures[app.current].texture(&ctx);
    let [w, h] = tex.size();
    let avail = ui.available_width();
    let gap = ui.spacing().item_spacing.x;
    let cols = (((avail + gap) / (260.0 + gap)).floor() as usize).max(1);
    let card_w = ((avail - gap * (cols as f32 - 1.0)) / cols as f32).min(420.0);
    let size = egui::vec2(card_w, card_w * h as f32 / w as f32);
    let cards: Vec<Option<Method>> = std::iter::once(None)
        .chain(app.methods_shown().into_iter().map(Some))
        .collect();
    egui::ScrollArea::vertical().show(ui, |ui| {
        for row in cards.chunks(cols) {
            ui.horizontal_top(|ui| {
                for card in row {
                    ui.vertical(|ui| {
                        ui.set_width(card_w);
                        match card {
                            None => original(app, ui, &tex, size),
                            Some(m) => method_card(app, ui, *m, &tex, size),
                        }
                    });
                }
            });
        }
    });
}

/// Allocates a card's picture, applying the zoom and pan it receives to every card.
fn picture_rect(app: &mut CamlensApp, ui: &mut egui::Ui, size: egui::Vec2) -> egui::Response {
    let (rect, resp) = ui.allocate_exact_size(size, egui::Sense::click_and_drag());
    app.view_rect = zoom_and_pan(app.view_rect, ui, &resp, rect);
    resp
}

fn original(app: &mut CamlensApp, ui: &mut egui::Ui, tex: &egui::TextureHandle, size: egui::Vec2) {
    let resp = picture_rect(app, ui, size);
    let name = app.pictures[app.current].name.clone();
    let label = format!("photo {name}");
    resp.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, &label));
    let rect = resp.rect;
    let painter = ui.painter_at(rect);
    draw_region(
        &painter,
        tex.id(),
        UNIT,
        app.view_rect,
        rect,
        egui::Color32::WHITE,
    );
    marks::draw_mask(app, ui, rect);
    marks::draw_boxes(app, ui, rect, true);
    if resp.clicked()
        && let Some(pos) = resp.interact_pointer_pos()
    {
        marks::pick(app, rect, pos);
    }
    ui.label(format!("{} (original)", app.pictures[app.current].name));
}

fn method_card(
    app: &mut CamlensApp,
    ui: &mut egui::Ui,
    m: Method,
    tex: &egui::TextureHandle,
    size: egui::Vec2,
) {
    let ctx = ui.ctx().clone();
    let resp = picture_rect(app, ui, size);
    let rect = resp.rect;
    let heat = heat_texture(app, &ctx, m);
    let painter = ui.painter_at(rect);
    let tint = match app.settings.view {
        View::Heatmap => egui::Color32::DARK_GRAY,
        _ => egui::Color32::WHITE,
    };
    draw_region(&painter, tex.id(), UNIT, app.view_rect, rect, tint);
    let crop = app.shown().and_then(|e| e.crop);
    let result = app.shown().and_then(|e| e.results.get(&m));
    if let (Some(heat), Some(crop), Some((r, s))) = (heat, crop, result) {
        let has_concepts = !r.concepts.is_empty();
        draw_heat(app, &painter, resp, &heat, crop, &r.map);
        marks::draw_boxes(app, ui, rect, false);
        scale_bar(ui, app.settings.view, app.settings.colormap);
        ui.label(format!(
            "{}  {:.0} ms{}",
            m.label(),
            r.elapsed.as_secs_f64() * 1e3,
            r.approximate
                .as_ref()
                .map(|a| format!(" ({a})"))
                .unwrap_or_default()
        ));
        ui.label(format!(
            "Average Drop {:.1}%  ·  confidence {}",
            s.drop_percent(Score::Probability),
            if s.increased(Score::Probability) {
                "up"
            } else {
                "not up"
            }
        ));
        if ui.button("Export PNG…").clicked() {
            app.commands.push(Command::Ask(Purpose::ExportCard(m)));
        }
        if has_concepts {
            concept_cards(app, ui, m, tex, crop, size);
        }
        super::curves::show(app, ui, m);
    } else if app.run.key.is_some() {
        let preview = app.preview().filter(|(pm, _)| *pm == m);
        match (preview, crop) {
            (Some((_, p)), Some(crop)) => {
                let heat = preview_texture(app, &ctx, m, &p, crop);
                draw_heat(app, &painter, resp, &heat, crop, &p.map);
                scale_bar(ui, app.settings.view, app.settings.colormap);
                ui.label(format!(
                    "{} (preview: {:.0}% of channels)",
                    m.label(),
                    100.0 * p.share()
                ));
            }
            _ => {
                ui.label(m.label());
            }
        }
        // Static, not a spinner: nothing animates while the computation needs the CPU.
        let (done, total) = app.run.monitor.progress();
        if m.is_slow() && total > 0 && app.run.slow.first() == Some(&m) {
            ui.add(
                egui::ProgressBar::new(done as f32 / total.max(1) as f32)
                    .text(format!("{done}/{total} masked inputs")),
            );
        } else if m.is_slow() && total > 0 {
            ui.label(format!("{done}/{total} masked inputs"));
        } else {
            ui.label("computing…");
        }
        if ui.button("Cancel").clicked() {
            app.commands.push(Command::Cancel);
        }
    } else {
        ui.label(format!("{} (not computed)", m.label()));
        if ui.button("Compute").clicked() {
            app.commands.push(Command::Explain);
        }
    }
}

/// DFF's concepts, a small card each under the method's: where the concept is, and the classes
/// the classifier reads in it.
fn concept_cards(
    app: &mut CamlensApp,
    ui: &mut egui::Ui,
    m: Method,
    tex: &egui::TextureHandle,
    crop: CropBox,
    size: egui::Vec2,
) {
    let ctx = ui.ctx().clone();
    let Some((r, _)) = app.shown().and_then(|e| e.results.get(&m)).cloned() else {
        return;
    };
    let small = size * 0.48;
    ui.label(egui::RichText::new("concepts").strong());
    for pair in r.concepts.iter().enumerate().collect::<Vec<_>>().chunks(2) {
        ui.horizontal_top(|ui| {
            for (i, concept) in pair {
                ui.vertical(|ui| {
                    ui.set_width(small.x);
                    let resp = picture_rect(app, ui, small);
                    let painter = ui.painter_at(resp.rect);
                    draw_region(
                        &painter,
                        tex.id(),
                        UNIT,
                        app.view_rect,
                        resp.rect,
                        egui::Color32::WHITE,
                    );
                    let heat = concept_texture(app, &ctx, *i, &concept.map, crop);
                    draw_heat(app, &painter, resp, &heat, crop, &concept.map);
                    let classes = app.model.as_ref().map(|md| md.classes.clone());
                    for &(c, p) in concept.classes.iter().take(2) {
                        let name = classes.as_ref().and_then(|n| n.get(c).cloned());
                        let name = name.unwrap_or_else(|| c.to_string());
                        ui.label(egui::RichText::new(format!("{name} {:.0}%", 100.0 * p)).small());
                    }
                });
            }
        });
    }
}

/// A concept's picture, cached like the methods' (by choice, concept, colormap and view).
fn concept_texture(
    app: &mut CamlensApp,
    ctx: &egui::Context,
    i: usize,
    map: &Map,
    crop: CropBox,
) -> egui::TextureHandle {
    let (view, cmap) = (texture_view(app.settings.view), app.settings.colormap);
    let key = (app.key(), i, cmap, view);
    if let Some(t) = app.textures.concepts.get(&key) {
        return t.clone();
    }
    let t = ctx.load_texture(
        format!("concept:{i}"),
        heat_image(app, map, crop),
        egui::TextureOptions::LINEAR,
    );
    app.textures.concepts.insert(key, t.clone());
    t
}

/// Draws a map's texture over the crop the model saw (or, for the image × map view, over the
/// whole card), and its value under the pointer.
fn draw_heat(
    app: &CamlensApp,
    painter: &egui::Painter,
    resp: egui::Response,
    heat: &egui::TextureHandle,
    crop: CropBox,
    map: &Map,
) {
    let (rect, view) = (resp.rect, app.view_rect);
    let crop_uv = marks::crop_uv(app, crop);
    if app.settings.view == View::Explanation {
        draw_region(painter, heat.id(), UNIT, view, rect, egui::Color32::WHITE);
    } else {
        let alpha = match app.settings.view {
            View::Overlay => app.settings.alpha,
            _ => 1.0,
        };
        let tint = egui::Color32::from_white_alpha((alpha * 255.0) as u8);
        draw_region(painter, heat.id(), crop_uv, view, rect, tint);
    }
    if let Some(pos) = resp.hover_pos() {
        let uv = card_to_uv(rect, view).transform_pos(pos);
        if crop_uv.contains(uv) {
            let u = RectTransform::from_to(crop_uv, UNIT).transform_pos(uv);
            let x = ((u.x * map.width as f32) as usize).min(map.width - 1);
            let y = ((u.y * map.height as f32) as usize).min(map.height - 1);
            resp.on_hover_text(format!("map value {:.3}", map.at(x, y)));
        }
    }
}

/// The texture views draw: explanation for that view, the colormapped map for the others.
fn texture_view(view: View) -> View {
    match view {
        View::Explanation => View::Explanation,
        _ => View::Overlay,
    }
}

/// The card's picture for `method`'s result, cached per choice, method, colormap and view.
fn heat_texture(
    app: &mut CamlensApp,
    ctx: &egui::Context,
    method: Method,
) -> Option<egui::TextureHandle> {
    let (view, cmap) = (texture_view(app.settings.view), app.settings.colormap);
    let e = app.shown()?;
    // A detector's map renormalised inside its boxes, where asked.
    let boxes = match &e.chosen {
        Some(Chosen::Box(d)) if app.settings.in_boxes => Some(d),
        _ => None,
    };
    let key = (app.key(), method, cmap, view, boxes.is_some());
    if let Some(t) = app.textures.heat.get(&key) {
        return Some(t.clone());
    }
    let (r, _) = e.results.get(&method)?;
    let in_boxes = boxes.map(|d| {
        let corners: Vec<[f32; 4]> = d.boxes.iter().map(|b| [b.x1, b.y1, b.x2, b.y2]).collect();
        r.map.renormalised_in(&corners)
    });
    let img = heat_image(app, in_boxes.as_ref().unwrap_or(&r.map), e.crop?);
    let t = ctx.load_texture(
        format!("heat:{}", method.id()),
        img,
        egui::TextureOptions::LINEAR,
    );
    app.textures.heat.insert(key, t.clone());
    Some(t)
}

/// The running method's preview as a texture, remade only when the preview changes.
fn preview_texture(
    app: &mut CamlensApp,
    ctx: &egui::Context,
    method: Method,
    p: &Preview,
    crop: CropBox,
) -> egui::TextureHandle {
    let key = PreviewKey {
        method,
        done: p.done,
        colormap: app.settings.colormap,
        view: texture_view(app.settings.view),
    };
    if let Some((k, t)) = &app.textures.preview
        && *k == key
    {
        return t.clone();
    }
    let t = ctx.load_texture(
        format!("preview:{}", method.id()),
        heat_image(app, &p.map, crop),
        egui::TextureOptions::LINEAR,
    );
    app.textures.preview = Some((key, t.clone()));
    t
}

/// The colormapped map (drawn over the crop) for the overlay and heatmap views, or the display
/// copy multiplied by the map (drawn over the whole card) for the explanation view.
fn heat_image(app: &CamlensApp, map: &Map, crop: CropBox) -> egui::ColorImage {
    let cmap = app.settings.colormap;
    if texture_view(app.settings.view) == View::Explanation {
        let pic = &app.pictures[app.current];
        let k = pic.display.width() as f32 / pic.original.width() as f32;
        let scaled = crop.scaled(k, pic.display.width(), pic.display.height());
        color_image(&render(
            &pic.display,
            map,
            &scaled,
            View::Explanation,
            cmap,
            1.0,
        ))
    } else {
        let pixels: Vec<egui::Color32> = map
            .data
            .iter()
            .map(|&v| {
                let [r, g, b] = cmap.color(v);
                egui::Color32::from_rgb(r, g, b)
            })
            .collect();
        egui::ColorImage::new([map.width, map.height], pixels)
    }
}

/// The colour scale under a card: its colours from the map's lowest value to its highest.
fn scale_bar(ui: &mut egui::Ui, view: View, cmap: Colormap) {
    let (rect, _) =
        ui.allocate_exact_size(egui::vec2(ui.available_width(), 6.0), egui::Sense::hover());
    let painter = ui.painter_at(rect);
    const STEPS: usize = 48;
    for i in 0..STEPS {
        let [r, g, b] = crate::draw::legend::color_at((i as f32 + 0.5) / STEPS as f32, view, cmap);
        let x = |k: usize| rect.left() + rect.width() * k as f32 / STEPS as f32;
        painter.rect_filled(
            egui::Rect::from_x_y_ranges(x(i)..=x(i + 1) + 0.5, rect.y_range()),
            0.0,
            egui::Color32::from_rgb(r, g, b),
        );
    }
    let [low, high] = crate::draw::legend::ENDS;
    ui.horizontal(|ui| {
        ui.small(low);
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            ui.small(high);
        });
    });
}
