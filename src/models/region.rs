//! A forward pass computed only where the input is not zero, the rest borrowed from the
//! all-zero input ("quiet" regions).
//!
//! Why: Score-CAM's and ScoreCAM++'s masked inputs `X ⊙ S_k` are exactly zero wherever the
//! upsampled map of channel `k` is, and a ReLU'd last layer is zero over much of the image: on
//! Lite0 the bounding box of a ScoreCAM++ mask's non-zero pixels is about a third of the image.
//! A convolution's output at a position whose receptive field holds only zeros is the same
//! arithmetic as the all-zero input's there, whatever the input is elsewhere. So each layer is
//! computed only on the rectangle of positions that see a non-zero pixel, from a window of its
//! input assembled from the computed rectangle and, around it, the all-zero input's values
//! (recorded once per network and input size); when the rectangle covers nearly the whole
//! plane, the pass goes on as usual. The results are the whole pass's up to summation order
//! (kernels see shorter rows, Winograd other tiles). Lite0's multiply-adds over 20 ImageNet
//! photos and the samples: 79 % of a whole pass's (the 112×112 layers at 40 %, 56×56 at 45 %,
//! 28×28 at 52–62 %, from 7×7 on everything; `tools/quiet_share.py`); its ScoreCAM++ 6.82 →
//! 5.45 s on the sample photo (AMD EPYC, four alternating rounds).
//!
//! Only blocks whose every step is a convolution on camlens' CPU kernels, a max pool or an
//! elementwise operation take part; the first other block ends the region pass.

use crate::compute::tensor_io::host_tensor;
use crate::models::kernels::Geometry;
use crate::models::kernels::pool;
use crate::models::layers::{Act, Conv};
use crate::models::zoo::block::Block;
use burn::tensor::{Tensor, TensorData};
use std::borrow::Cow;
use std::sync::{Arc, Mutex};

/// Above this share of the plane, a rectangle is computed as the whole plane: the windows'
/// copies would cost more than the few positions saved.
pub(crate) const WHOLE: f64 = 0.9;

/// Positions `lo..lo + len` along one axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    lo: usize,
    len: usize,
}

impl Span {
    fn end(self) -> usize {
        self.lo + self.len
    }

    /// The outputs of a `kernel`-wide window every `stride` (`pad` before the input's first
    /// position, `out` outputs in all) that see any of `self`.
    fn seen_by(self, kernel: usize, stride: usize, pad: usize, out: usize) -> Span {
        let (first, last) = (self.lo + pad, self.end() - 1 + pad);
        let lo = (first + 1).saturating_sub(kernel).div_ceil(stride);
        let hi = (last / stride).min(out - 1);
        Span {
            lo,
            len: hi + 1 - lo,
        }
    }

    /// The input positions the outputs `self` read, clipped to `0..n`, and the padding the
    /// clipping leaves before and after them.
    fn read_by(self, kernel: usize, stride: usize, pad: usize, n: usize) -> (Span, (usize, usize)) {
        let first = (self.lo * stride) as isize - pad as isize;
        let last = ((self.end() - 1) * stride + kernel) as isize - 1 - pad as isize;
        let lo = first.max(0) as usize;
        let hi = (last.min(n as isize - 1)) as usize;
        let before = (-first).max(0) as usize;
        let after = (last - (n as isize - 1)).max(0) as usize;
        (
            Span {
                lo,
                len: hi + 1 - lo,
            },
            (before, after),
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rect {
    rows: Span,
    cols: Span,
}

impl Rect {
    /// All of an `h × w` plane.
    fn whole(h: usize, w: usize) -> Self {
        let all = |n| Span { lo: 0, len: n };
        Rect {
            rows: all(h),
            cols: all(w),
        }
    }

    pub(crate) fn area(self) -> usize {
        self.rows.len * self.cols.len
    }

    /// The smallest rectangle holding both.
    pub(crate) fn union(self, other: Rect) -> Rect {
        let span = |a: Span, b: Span| {
            let lo = a.lo.min(b.lo);
            Span {
                lo,
                len: a.end().max(b.end()) - lo,
            }
        };
        Rect {
            rows: span(self.rows, other.rows),
            cols: span(self.cols, other.cols),
        }
    }

    /// Its rows and columns.
    pub(crate) fn size(self) -> (usize, usize) {
        (self.rows.len, self.cols.len)
    }
}

/// A value of the pass on `rect` of its `full` plane, `channels × rect` floats.
#[derive(Debug, Clone)]
pub(crate) struct Part {
    pub data: Vec<f32>,
    pub channels: usize,
    pub rect: Rect,
    pub full: (usize, usize),
}

impl Part {
    pub(crate) fn whole(data: Vec<f32>, [_, channels, h, w]: [usize; 4]) -> Self {
        Part {
            data,
            channels,
            rect: Rect::whole(h, w),
            full: (h, w),
        }
    }

    pub(crate) fn share(&self) -> f64 {
        self.rect.area() as f64 / self.whole_plane().area() as f64
    }

    /// The value on `window` (inside the plane): this part where it has it, `zero` (the
    /// all-zero input's whole value here) elsewhere.
    pub(crate) fn on(&self, window: Rect, zero: &[f32]) -> Cow<'_, [f32]> {
        if window == self.rect {
            return Cow::Borrowed(&self.data);
        }
        let (h, w) = self.full;
        let (r, win) = (self.rect, window);
        let mut out = Vec::with_capacity(self.channels * win.rows.len * win.cols.len);
        // Columns of the window before, inside and after this part's.
        let a = r.cols.lo.clamp(win.cols.lo, win.cols.end());
        let b = r.cols.end().clamp(a, win.cols.end());
        for c in 0..self.channels {
            for y in win.rows.lo..win.rows.end() {
                let z = || &zero[(c * h + y) * w..][..w];
                if (r.rows.lo..r.rows.end()).contains(&y) {
                    let row = (c * r.rows.len + y - r.rows.lo) * r.cols.len;
                    let mine = &self.data[row..row + r.cols.len];
                    if a > win.cols.lo {
                        out.extend_from_slice(&z()[win.cols.lo..a]);
                    }
                    out.extend_from_slice(&mine[a - r.cols.lo..b - r.cols.lo]);
                    if b < win.cols.end() {
                        out.extend_from_slice(&z()[b..win.cols.end()]);
                    }
                } else {
                    out.extend_from_slice(&z()[win.cols.lo..win.cols.end()]);
                }
            }
        }
        Cow::Owned(out)
    }

    pub(crate) fn whole_plane(&self) -> Rect {
        Rect::whole(self.full.0, self.full.1)
    }
}

/// The all-zero input's values where a region pass needs them, in the order it asks.
#[derive(Debug, Default)]
struct Trace {
    dims: [usize; 4],
    values: Vec<Arc<[f32]>>,
    /// Blocks it was recorded for (it may stop earlier, where a block takes no part).
    blocks: usize,
}

/// Recorded traces by input shape, one per network.
#[derive(Debug, Default, Clone)]
pub struct Traces(Arc<Mutex<Vec<Arc<Trace>>>>);

enum Zero<'a> {
    Record(Vec<Arc<[f32]>>),
    Replay(std::slice::Iter<'a, Arc<[f32]>>),
}

impl Zero<'_> {
    /// The all-zero input's value where `part` is.
    fn at(&mut self, part: &Part) -> Arc<[f32]> {
        match self {
            Zero::Record(values) => {
                let value: Arc<[f32]> = part.data.as_slice().into();
                values.push(value.clone());
                value
            }
            Zero::Replay(values) => values.next().cloned().expect("a recorded value"),
        }
    }
}

/// Runs `blocks` from their start on `x` (one input) where its non-zero pixels reach, as far as
/// that pays; returns the whole value at the block boundary where it stopped, and that block's
/// index. `(x, 0)` where a region pass does not apply.
pub fn run(blocks: &[Block], x: Tensor<4>, traces: &Traces) -> (Tensor<4>, usize) {
    let dims = x.dims();
    if dims[0] != 1 || !host_tensor(&x) || !blocks.first().is_some_and(takes_part) {
        return (x, 0);
    }
    let device = x.device();
    let data = x.into_data().try_into_vec::<f32>().expect("an f32 tensor");
    let tensor =
        |data: Vec<f32>, dims: [usize; 4]| Tensor::from_data(TensorData::new(data, dims), &device);
    let rect = nonzero(&data, dims)
        .filter(|r| r.area() as f64 <= WHOLE * Rect::whole(dims[2], dims[3]).area() as f64);
    let Some(rect) = rect else {
        return (tensor(data, dims), 0);
    };
    let input = Part::whole(data, dims);
    let input = Part {
        data: input.on(rect, &[]).into_owned(),
        rect,
        ..input
    };
    let trace = trace(blocks, dims, traces);
    let (part, next) = walk(blocks, input, &mut Zero::Replay(trace.values.iter()));
    let shape = [1, part.channels, part.full.0, part.full.1];
    (tensor(part.data, shape), next)
}

/// The recorded trace for `dims` covering `blocks`, recording it first if needed.
fn trace(blocks: &[Block], dims: [usize; 4], traces: &Traces) -> Arc<Trace> {
    let lock = || traces.0.lock().unwrap_or_else(|e| e.into_inner());
    let covering = |t: &&Arc<Trace>| t.dims == dims && t.blocks >= blocks.len();
    if let Some(t) = lock().iter().find(covering) {
        return t.clone();
    }
    // Recorded without the lock: the kernels may hand work to the thread pool, whose threads
    // may meanwhile start another input's pass on this very thread (two threads recording at
    // once only repeat the work).
    let zeros = Part::whole(vec![0.0; dims.iter().product()], dims);
    let mut zero = Zero::Record(vec![]);
    walk(blocks, zeros, &mut zero);
    let Zero::Record(values) = zero else {
        unreachable!("recording")
    };
    let t = Arc::new(Trace {
        dims,
        values,
        blocks: blocks.len(),
    });
    let mut all = lock();
    if let Some(t) = all.iter().find(covering) {
        return t.clone();
    }
    all.retain(|t| t.dims != dims);
    all.push(t.clone());
    t
}

/// The bounding box of the non-zero pixels (any channel), `None` for an all-zero input.
pub(crate) fn nonzero(data: &[f32], [_, c, h, w]: [usize; 4]) -> Option<Rect> {
    let (mut rows, mut cols) = ((usize::MAX, 0), (usize::MAX, 0));
    for plane in data.chunks_exact(h * w).take(c) {
        for (y, row) in plane.chunks_exact(w).enumerate() {
            let first = row.iter().position(|&v| v != 0.0);
            if let Some(first) = first {
                let last = row.iter().rposition(|&v| v != 0.0).unwrap_or(first);
                rows = (rows.0.min(y), rows.1.max(y));
                cols = (cols.0.min(first), cols.1.max(last));
            }
        }
    }
    (rows.0 != usize::MAX).then(|| Rect {
        rows: Span {
            lo: rows.0,
            len: rows.1 + 1 - rows.0,
        },
        cols: Span {
            lo: cols.0,
            len: cols.1 + 1 - cols.0,
        },
    })
}

/// Whether a block can run on a part of its plane.
fn takes_part(block: &Block) -> bool {
    let host = |c: &Conv| c.takes_part();
    match block {
        Block::Conv(c, _) => host(c),
        Block::Relu | Block::MaxPool(..) => true,
        Block::MbConv {
            expand,
            depthwise,
            project,
            ..
        } => expand.as_ref().is_none_or(host) && host(depthwise) && host(project),
        Block::Residual { convs, downsample } => {
            convs.iter().all(host) && downsample.as_ref().is_none_or(host)
        }
        Block::Seq(blocks) => blocks.iter().all(takes_part),
    }
}

/// Runs blocks on parts while they take them and the part stays small (always, when
/// recording); returns the whole value where it stopped and the index of the next block.
fn walk(blocks: &[Block], mut part: Part, zero: &mut Zero) -> (Part, usize) {
    let recording = matches!(zero, Zero::Record(_));
    for (i, block) in blocks.iter().enumerate() {
        let z = zero.at(&part);
        if !takes_part(block) || (!recording && part.share() > WHOLE) {
            return (whole(part, &z), i);
        }
        part = step(block, part, &z, zero);
    }
    let z = zero.at(&part);
    (whole(part, &z), blocks.len())
}

/// `block` on `part`, whose all-zero value is `z`.
fn step(block: &Block, mut part: Part, z: &[f32], zero: &mut Zero) -> Part {
    match block {
        Block::Conv(conv, act) => apply(conv, &part, z, act),
        Block::Relu => {
            part.data.iter_mut().for_each(|v| *v = v.max(0.0));
            part
        }
        &Block::MaxPool(kernel, stride, pad) => {
            let g = Geometry {
                kernel,
                stride,
                pad_h: (pad, pad),
                pad_w: (pad, pad),
            };
            windowed(&part, z, g, |x, dims, g| {
                pool::max_pool_padded(x, dims, kernel, stride, (g.pad_h, g.pad_w))
            })
        }
        Block::MbConv {
            expand,
            depthwise,
            project,
            skip,
        } => {
            let y = match expand {
                Some(e) => {
                    let mid = apply(e, &part, &[], &Act::Relu6);
                    let z_mid = zero.at(&mid);
                    apply(depthwise, &mid, &z_mid, &Act::Relu6)
                }
                None => apply(depthwise, &part, z, &Act::Relu6),
            };
            let y = apply(project, &y, &[], &Act::None);
            if *skip { add(y, &part, z, false) } else { y }
        }
        Block::Residual { convs, downsample } => {
            let mut y = apply(&convs[0], &part, z, &Block::residual_act(0, convs.len()));
            for (i, c) in convs.iter().enumerate().skip(1) {
                let z_y = zero.at(&y);
                y = apply(c, &y, &z_y, &Block::residual_act(i, convs.len()));
            }
            match downsample {
                Some(d) => {
                    let shortcut = apply(d, &part, z, &Act::None);
                    let z_s = zero.at(&shortcut);
                    add(y, &shortcut, &z_s, true)
                }
                None => add(y, &part, z, true),
            }
        }
        Block::Seq(blocks) => {
            for b in blocks {
                let z = zero.at(&part);
                part = step(b, part, &z, zero);
            }
            part
        }
    }
}

/// `y + x` on `y`'s rectangle (which holds `x`'s), then ReLU where `relu`.
pub(crate) fn add(mut y: Part, x: &Part, z: &[f32], relu: bool) -> Part {
    let x = x.on(y.rect, z);
    for (y, x) in y.data.iter_mut().zip(x.iter()) {
        *y += x;
        if relu {
            *y = y.max(0.0);
        }
    }
    y
}

pub(crate) fn whole(part: Part, zero: &[f32]) -> Part {
    let rect = part.whole_plane();
    if rect == part.rect {
        return part;
    }
    Part {
        data: part.on(rect, zero).into_owned(),
        rect,
        ..part
    }
}

/// `after(conv(x))` on the outputs that see `x`'s part.
pub(crate) fn apply(conv: &Conv, x: &Part, zero: &[f32], after: &Act) -> Part {
    let (h, w) = x.full;
    windowed(x, zero, conv.geometry(h, w), |input, dims, g| {
        conv.on_host_part(input, dims, g, after)
            .expect("takes_part checked the kernel")
    })
}

/// A windowed operation `op` of geometry `g` on the outputs that see `x`'s part: its window
/// of input is `x` where `x` has it and `zero` (the all-zero input's whole value here) around
/// it, padded as far as the window reaches past the plane.
pub(crate) fn windowed(
    x: &Part,
    zero: &[f32],
    g: Geometry,
    op: impl FnOnce(&[f32], [usize; 4], Geometry) -> (Vec<f32>, [usize; 4]),
) -> Part {
    let (h, w) = x.full;
    let (ho, wo) = g.output(h, w);
    let r = x.rect;
    let rows = r.rows.seen_by(g.kernel, g.stride, g.pad_h.0, ho);
    let cols = r.cols.seen_by(g.kernel, g.stride, g.pad_w.0, wo);
    let (win_rows, pad_h) = rows.read_by(g.kernel, g.stride, g.pad_h.0, h);
    let (win_cols, pad_w) = cols.read_by(g.kernel, g.stride, g.pad_w.0, w);
    let window = Rect {
        rows: win_rows,
        cols: win_cols,
    };
    let input = x.on(window, zero);
    let dims = [1, x.channels, win_rows.len, win_cols.len];
    let (data, shape) = op(&input, dims, Geometry { pad_h, pad_w, ..g });
    debug_assert_eq!((shape[2], shape[3]), (rows.len, cols.len));
    Part {
        data,
        channels: shape[1],
        rect: Rect { rows, cols },
        full: (ho, wo),
    }
}

#[cfg(test)]
mod tests;
