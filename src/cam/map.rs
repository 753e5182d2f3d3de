//! A 2-D float map on the host and the few operations every method ends with: ReLU, bilinear
//! resize (both of PyTorch's corner conventions) and min-max normalisation that leaves a flat map
//! all-zero instead of NaN.

use crate::compute::resize::axis;

#[derive(Debug, Clone, PartialEq)]
pub struct Map {
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
}

impl Map {
    pub fn new(width: usize, height: usize, data: Vec<f32>) -> Self {
        assert_eq!(data.len(), width * height);
        Self {
            width,
            height,
            data,
        }
    }

    pub fn at(&self, x: usize, y: usize) -> f32 {
        self.data[y * self.width + x]
    }

    pub fn relu(mut self) -> Self {
        self.data.iter_mut().for_each(|v| *v = v.max(0.0));
        self
    }

    pub fn min_max(&self) -> (f32, f32) {
        self.data
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            })
    }

    /// Whether every value is the same (then `normalized` is all-zero).
    pub fn is_flat(&self) -> bool {
        let (lo, hi) = self.min_max();
        hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater)
    }

    /// What every method ends with: ReLU, bilinear `Up` to `size`×`size` (unless already
    /// there) and min-max normalisation; and whether the map was flat before normalising.
    /// Normalised before resizing too, as pytorch-grad-cam's `scale_cam_image` does: the same
    /// map but for rounding, except that the minimum's neighbourhood stays exactly 0, which
    /// SESS's fusion (it counts the positive values) tells apart from 1e-8.
    pub fn finished(self, size: usize) -> (Self, bool) {
        let rectified = self.relu();
        if rectified.width == size && rectified.height == size {
            let flat = rectified.is_flat();
            return (rectified.normalized(), flat);
        }
        let up = rectified.normalized().resized(size, size, false);
        let flat = up.is_flat();
        (up.normalized(), flat)
    }

    /// `(m − min) / (max − min)`, all-zero for a flat (or non-finite) map.
    pub fn normalized(mut self) -> Self {
        let (lo, hi) = self.min_max();
        let range = hi - lo;
        if range > 0.0 && range.is_finite() {
            self.data.iter_mut().for_each(|v| *v = (*v - lo) / range);
        } else {
            self.data.iter_mut().for_each(|v| *v = 0.0);
        }
        self
    }

    /// pytorch-grad-cam's `renormalize_cam_in_bounding_boxes` (its YOLO EigenCAM tutorial):
    /// inside each box (corners in the map's pixels, truncated to whole pixels and clipped as
    /// the tutorial's integer boxes slice the map), the map's values min–max normalised on
    /// their own (`scale_cam_image`: `(m − min) / (max − min + 1e-7)`), a later box over an
    /// earlier one; zero outside every box; then the whole normalised again.
    pub fn renormalised_in(&self, boxes: &[[f32; 4]]) -> Map {
        let scale = |v: &mut [f32]| {
            let lo = v.iter().copied().fold(f32::INFINITY, f32::min);
            v.iter_mut().for_each(|x| *x -= lo);
            let hi = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            v.iter_mut().for_each(|x| *x /= 1e-7 + hi);
        };
        let mut out = vec![0.0f32; self.data.len()];
        for b in boxes {
            let clip = |v: f32, n: usize| (v.max(0.0) as usize).min(n);
            let (x1, x2) = (clip(b[0], self.width), clip(b[2], self.width));
            let (y1, y2) = (clip(b[1], self.height), clip(b[3], self.height));
            if x1 >= x2 || y1 >= y2 {
                continue;
            }
            let mut inside: Vec<f32> = (y1..y2)
                .flat_map(|y| (x1..x2).map(move |x| (x, y)))
                .map(|(x, y)| self.at(x, y))
                .collect();
            scale(&mut inside);
            for (i, y) in (y1..y2).enumerate() {
                let row = &inside[i * (x2 - x1)..(i + 1) * (x2 - x1)];
                out[y * self.width + x1..y * self.width + x2].copy_from_slice(row);
            }
        }
        scale(&mut out);
        Map::new(self.width, self.height, out)
    }

    /// The bilinear value at `(u, v)` in 0–1 across the map (pixel centres at (i + ½) / n,
    /// clamped at the edges), as `resized(.., false)` samples.
    pub fn sample(&self, u: f32, v: f32) -> f32 {
        let coord = |t: f32, n: usize| {
            let src = (t * n as f32 - 0.5).clamp(0.0, (n - 1) as f32);
            let i0 = src.floor() as usize;
            (i0, (i0 + 1).min(n - 1), src - i0 as f32)
        };
        let ((x0, x1, fx), (y0, y1, fy)) = (coord(u, self.width), coord(v, self.height));
        let top = self.at(x0, y0) * (1.0 - fx) + self.at(x1, y0) * fx;
        let bottom = self.at(x0, y1) * (1.0 - fx) + self.at(x1, y1) * fx;
        top * (1.0 - fy) + bottom * fy
    }

    /// Bilinear resize; `align_corners` as in PyTorch (false: half-pixel centres, edge clamped).
    pub fn resized(&self, width: usize, height: usize, align_corners: bool) -> Self {
        let (xs, ys) = (
            axis(self.width, width, align_corners),
            axis(self.height, height, align_corners),
        );
        let mut out = Vec::with_capacity(width * height);
        for &(y0, y1, fy) in &ys {
            for &(x0, x1, fx) in &xs {
                let top = self.at(x0, y0) * (1.0 - fx) + self.at(x1, y0) * fx;
                let bottom = self.at(x0, y1) * (1.0 - fx) + self.at(x1, y1) * fx;
                out.push(top * (1.0 - fy) + bottom * fy);
            }
        }
        Self::new(width, height, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The device's resize (`compute::resize::bilinear`, two matrix products of these weights)
    /// gives the host's.
    #[test]
    fn resize_weights_give_the_host_resize() {
        let (h, w, out_h, out_w) = (3, 5, 7, 11);
        let data: Vec<f32> = (0..h * w).map(|i| ((i * 7) % 5) as f32 - 1.5).collect();
        for align in [false, true] {
            let expected = Map::new(w, h, data.clone()).resized(out_w, out_h, align);
            let rh = crate::compute::resize::weights(h, out_h, align);
            let rw = crate::compute::resize::weights(w, out_w, align);
            for y in 0..out_h {
                for x in 0..out_w {
                    let v: f32 = (0..h)
                        .flat_map(|i| (0..w).map(move |j| (i, j)))
                        .map(|(i, j)| rh[y * h + i] * data[i * w + j] * rw[x * w + j])
                        .sum();
                    let e = expected.data[y * out_w + x];
                    assert!((v - e).abs() < 1e-5, "align {align} ({y}, {x}): {v} vs {e}");
                }
            }
        }
    }

    #[test]
    fn sampling_at_pixel_centres_is_the_resize() {
        let m = Map::new(3, 2, vec![0.0, 1.0, 4.0, 2.0, 3.0, 9.0]);
        let r = m.resized(7, 5, false);
        for y in 0..5 {
            for x in 0..7 {
                let s = m.sample((x as f32 + 0.5) / 7.0, (y as f32 + 0.5) / 5.0);
                assert!(
                    (s - r.at(x, y)).abs() < 1e-5,
                    "({x}, {y}): {s} vs {}",
                    r.at(x, y)
                );
            }
        }
    }

    #[test]
    fn flat_map_normalises_to_zero_not_nan() {
        let m = Map::new(2, 2, vec![3.0; 4]).normalized();
        assert_eq!(m.data, vec![0.0; 4]);
        let z = Map::new(3, 3, vec![0.0; 9]).normalized();
        assert!(z.data.iter().all(|v| *v == 0.0));
    }

    #[test]
    fn resize_matches_pytorch_half_pixel_bilinear() {
        // torch.nn.functional.interpolate([[1,2],[3,4]], size=4, mode="bilinear", align_corners=False)
        let m = Map::new(2, 2, vec![1.0, 2.0, 3.0, 4.0]).resized(4, 4, false);
        let row0 = [1.0, 1.25, 1.75, 2.0];
        let row1 = [1.5, 1.75, 2.25, 2.5];
        for x in 0..4 {
            assert!((m.at(x, 0) - row0[x]).abs() < 1e-6);
            assert!((m.at(x, 1) - row1[x]).abs() < 1e-6);
        }
        // align_corners=True: corners kept, 1/3 steps.
        let a = Map::new(2, 1, vec![0.0, 3.0]).resized(4, 1, true);
        assert_eq!(a.data, vec![0.0, 1.0, 2.0, 3.0]);
    }
}
