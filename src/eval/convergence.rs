//! How fast a score method's previews approach its final map: the correlation of the preview at
//! a share of the channels with the final map, and the time to the first preview. It decides
//! which channel order the previews use (`camlens preview-study`).

use crate::cam::{ChannelOrder, Map, Method, Monitor, Options, Preview, Session, run_method};
use crate::error::Result;
use crate::models::Model;
use image::RgbImage;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The shares of channels the previews are compared at.
pub const SHARES: [f32; 3] = [0.1, 0.25, 0.5];

/// One image, one method, one order.
#[derive(Debug, Clone, PartialEq)]
pub struct Convergence {
    /// From the start of the session (prediction included) to the first preview, or to the
    /// final map when none came before it.
    pub first_preview: Duration,
    pub total: Duration,
    /// Pearson correlation with the final map of the first preview with at least each of
    /// [`SHARES`] of the channels (1 where the final map came first).
    pub correlation: [f32; SHARES.len()],
}

/// The previews seen, with their time since the start.
type Timeline = Vec<(Duration, Arc<Preview>)>;

/// Runs `method` on `image` (predicted class, `layer`) with the channels in `order`.
pub fn convergence(
    model: &Model,
    image: &RgbImage,
    layer: usize,
    method: Method,
    order: ChannelOrder,
    options: &Options,
) -> Result<Convergence> {
    let start = Instant::now();
    let seen: Arc<Mutex<Timeline>> = Arc::default();
    let log = seen.clone();
    let monitor = Monitor::observed(move |m| {
        let Some(p) = m.preview() else {
            return;
        };
        let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
        if log.last().is_none_or(|(_, l)| l.done != p.done) {
            log.push((start.elapsed(), p));
        }
    })
    .with_previews();
    let (input, _) = model.preprocess.prepare(image);
    let mut session = Session::new(model, input, layer)?;
    let class = session.top_class();
    let options = Options {
        channel_order: order,
        ..*options
    };
    let result = run_method(&mut session, method, class, &options, &monitor)?;
    let total = start.elapsed();
    let seen = seen.lock().unwrap_or_else(|e| e.into_inner());
    let correlation = SHARES.map(|share| {
        seen.iter()
            .find(|(_, p)| p.share() >= share)
            .map_or(1.0, |(_, p)| pearson(&p.map, &result.map))
    });
    Ok(Convergence {
        first_preview: seen.first().map_or(total, |(t, _)| *t),
        total,
        correlation,
    })
}

/// Pearson's r of two maps of one size (0 where either is constant).
pub fn pearson(a: &Map, b: &Map) -> f32 {
    let n = a.data.len() as f64;
    let mean = |m: &Map| m.data.iter().map(|&v| v as f64).sum::<f64>() / n;
    let (ma, mb) = (mean(a), mean(b));
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.data.iter().zip(&b.data) {
        let (x, y) = (x as f64 - ma, y as f64 - mb);
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa == 0.0 || bb == 0.0 {
        return 0.0;
    }
    (ab / (aa * bb).sqrt()) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pearson_of_maps() {
        let a = Map::new(2, 2, vec![0.0, 1.0, 2.0, 3.0]);
        let b = Map::new(2, 2, vec![1.0, 3.0, 5.0, 7.0]);
        let c = Map::new(2, 2, vec![3.0, 2.0, 1.0, 0.0]);
        assert!((pearson(&a, &b) - 1.0).abs() < 1e-6);
        assert!((pearson(&a, &c) + 1.0).abs() < 1e-6);
        assert_eq!(pearson(&a, &Map::new(2, 2, vec![1.0; 4])), 0.0);
    }
}
