//! Convolutions whose output channels each read only a few input planes (depthwise, or a first
//! layer on RGB), on the CPU, with the bias and the activation's clamp applied as the result is written.
//!
//! Why not flex's own kernel: its depthwise path walks one output row at a time, and Lite0's late
//! blocks have rows 7–14 wide under 5×5 kernels, so the loops are too short to vectorise (a
//! 1152×7×7 layer ran at ~0.5 GFLOP/s); TensorFlow's "SAME" padding on stride 2 is asymmetric,
//! which flex serves by padding a full copy of the input first; and ReLU6 was one more pass over
//! memory. Here each input plane is copied once into a small zero-padded scratch split into its
//! stride phases, after which every kernel tap is a single contiguous multiply-add over the whole
//! output plane (a few columns past the edge are computed and dropped), and the bias and clamp
//! ride along with the final write. Results equal the native kernel up to summation order.

use super::plane_taps::{self, Taps};
use super::{Channels, ConvArgs, Fused, Geometry};
use rayon::prelude::*;

/// Which vector instructions the loops are compiled for.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Isa {
    Baseline,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Isa {
    /// Every one this CPU runs, widest first.
    fn available() -> Vec<Isa> {
        let mut all = vec![];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                all.push(Isa::Avx512);
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                all.push(Isa::Avx2);
            }
        }
        all.push(Isa::Baseline);
        all
    }
}

/// `x` is `[batch, c_in, h, w]` row-major; returns `[batch, c_out, ho, wo]` and its shape.
pub fn conv(args: ConvArgs) -> (Vec<f32>, [usize; 4]) {
    static BEST: std::sync::OnceLock<Isa> = std::sync::OnceLock::new();
    let isa = *BEST.get_or_init(|| Isa::available()[0]);
    conv_with(isa, args)
}

fn conv_with(isa: Isa, args: ConvArgs) -> (Vec<f32>, [usize; 4]) {
    let ConvArgs {
        x,
        weight,
        bias,
        ch,
        g,
        fused,
        ..
    } = args;
    let (in_g, out_g) = (ch.c_in / ch.groups, ch.c_out / ch.groups);
    let [batch, _, ho, wo] = args.checked_output(ch.c_out * in_g * g.kernel * g.kernel);
    let [_, c_in, h, w] = args.dims;
    let layout = Phases::new(h, w, g);
    let mut out = vec![0.0f32; batch * ch.c_out * ho * wo];
    let out_chunk = out_g * ho * wo;
    if out_chunk == 0 {
        return (out, [batch, ch.c_out, ho, wo]);
    }
    let scratch = || {
        (
            vec![0.0f32; in_g * layout.len],
            vec![0.0f32; ho * layout.wq],
        )
    };
    let run = |(phases, acc): &mut (Vec<f32>, Vec<f32>), (t, out): (usize, &mut [f32])| {
        let job = Job {
            x,
            weight,
            bias,
            ch,
            layout: &layout,
            fused,
            c_in,
            t,
            isa,
        };
        match isa {
            // SAFETY: `Isa::available` only lists what the CPU has.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => unsafe { job.run_avx512(phases, acc, out) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { job.run_avx2(phases, acc, out) },
            Isa::Baseline => job.run(phases, acc, out),
        }
    };
    // Already on the thread pool (inputs run side by side, see `Model::forward`): the caller
    // keeps the cores busy, and splitting the channels across them would only move data.
    if rayon::current_thread_index().is_some() {
        let mut s = scratch();
        out.chunks_mut(out_chunk)
            .enumerate()
            .for_each(|task| run(&mut s, task));
    } else {
        out.par_chunks_mut(out_chunk)
            .enumerate()
            .for_each_init(scratch, run);
    }
    (out, [batch, ch.c_out, ho, wo])
}

/// One (batch item, group): its input planes in, its output planes out.
struct Job<'a> {
    x: &'a [f32],
    weight: &'a [f32],
    bias: &'a [f32],
    ch: Channels,
    layout: &'a Phases,
    fused: Fused<'a>,
    c_in: usize,
    t: usize,
    isa: Isa,
}

impl Job<'_> {
    /// The same loops compiled for AVX2: the multiply-adds run 8 wide instead of SSE2's 4. Every
    /// output element sees the same plain multiplies and adds in the same order (never fused)
    /// whatever the width, so results do not depend on the CPU.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn run_avx2(&self, phases: &mut [f32], acc: &mut [f32], out: &mut [f32]) {
        self.run(phases, acc, out)
    }

    /// 16 wide: 10–17 % faster than AVX2 on planes of 56×56 and up (measured), same results.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn run_avx512(&self, phases: &mut [f32], acc: &mut [f32], out: &mut [f32]) {
        self.run(phases, acc, out)
    }

    #[inline(always)]
    fn run(&self, phases: &mut [f32], acc: &mut [f32], out: &mut [f32]) {
        let (ch, l) = (self.ch, self.layout);
        let (in_g, out_g) = (ch.c_in / ch.groups, ch.c_out / ch.groups);
        let (b, group) = (self.t / ch.groups, self.t % ch.groups);
        let plane = l.h * l.w;
        let (ho, wo) = l.g.output(l.h, l.w);
        let first = (b * self.c_in + group * in_g) * plane;
        for i in 0..in_g {
            let input = &self.x[first + i * plane..first + (i + 1) * plane];
            let bias = self.fused.input_bias.map(|b| b[group * in_g + i]);
            l.fill(
                input,
                &mut phases[i * l.len..(i + 1) * l.len],
                bias,
                self.fused.input,
            );
        }
        let kk = l.g.kernel * l.g.kernel;
        let taps = Taps {
            offsets: &l.offsets,
            plane: l.len,
            wq: l.wq,
            ho,
            wo,
        };
        for (o, out) in out.chunks_exact_mut(ho * wo).enumerate() {
            let oc = group * out_g + o;
            let weights = &self.weight[oc * in_g * kk..(oc + 1) * in_g * kk];
            let (bias, clamp) = (self.bias[oc], self.fused.output);
            match self.isa {
                // SAFETY: `Isa::available` only lists what the CPU has.
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => unsafe {
                    plane_taps::channel_avx2(out, phases, &taps, weights, bias, clamp)
                },
                // SAFETY: as above.
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => unsafe {
                    plane_taps::channel_avx512(out, phases, &taps, weights, bias, clamp)
                },
                Isa::Baseline => plane_taps::channel(out, acc, phases, &taps, weights, bias, clamp),
            }
            self.fused.finish(out);
        }
    }
}

/// One input plane, zero-padded and split into `stride²` phases of `hq × wq`: phase `(r, q)`
/// holds padded rows `r, r + s, …` and columns `q, q + s, …`. A tap `(kh, kw)` of a strided
/// convolution then reads phase `(kh % s, kw % s)` at offset `(kh / s, kw / s)` with unit stride.
struct Phases {
    h: usize,
    w: usize,
    g: Geometry,
    hq: usize,
    wq: usize,
    /// Floats per plane, with slack so the last tap's contiguous run (rounded up to a block of
    /// `plane_taps`) stays in bounds.
    len: usize,
    /// Where each tap `(kh, kw)` starts reading, row-major over the kernel.
    offsets: Vec<usize>,
}

impl Phases {
    fn new(h: usize, w: usize, g: Geometry) -> Self {
        let s = g.stride;
        let hq = (h + g.pad_h.0 + g.pad_h.1).div_ceil(s);
        let wq = (w + g.pad_w.0 + g.pad_w.1).div_ceil(s);
        let k = g.kernel;
        let offsets = (0..k * k)
            .map(|t| {
                let (kh, kw) = (t / k, t % k);
                ((kh % s) * s + kw % s) * hq * wq + (kh / s) * wq + kw / s
            })
            .collect();
        Self {
            h,
            w,
            g,
            hq,
            wq,
            len: s * s * hq * wq + wq + g.kernel + plane_taps::SLACK,
            offsets,
        }
    }

    #[inline(always)]
    fn fill(
        &self,
        input: &[f32],
        phases: &mut [f32],
        bias: Option<f32>,
        clamp: Option<(f32, f32)>,
    ) {
        // Nothing fused (the usual case: a pointwise expansion applies its own bias and clamp)
        // is a plain copy; `v + 0.0` and an infinite clamp would still cost their instructions.
        match (bias, clamp) {
            (None, None) => self.fill_with(input, phases, |v| v),
            _ => {
                let bias = bias.unwrap_or(0.0);
                let (lo, hi) = clamp.unwrap_or((f32::NEG_INFINITY, f32::INFINITY));
                self.fill_with(input, phases, |v| (v + bias).max(lo).min(hi))
            }
        }
    }

    #[inline(always)]
    fn fill_with(&self, input: &[f32], phases: &mut [f32], f: impl Fn(f32) -> f32) {
        let s = self.g.stride;
        phases.fill(0.0);
        let plane = self.hq * self.wq;
        let pw = self.g.pad_w.0;
        for y in 0..self.h {
            let py = y + self.g.pad_h.0;
            let (r, i) = (py % s, py / s);
            let row = &input[y * self.w..(y + 1) * self.w];
            if s == 1 {
                let start = i * self.wq + pw;
                phases[start..start + self.w]
                    .iter_mut()
                    .zip(row)
                    .for_each(|(p, &v)| *p = f(v));
            } else if s == 2 {
                // Even padded columns to phase q = 0, odd to q = 1, in pairs (vectorises).
                let (lead, rest) = row.split_at(pw % 2);
                let even = ((r * 2) * self.hq + i) * self.wq;
                let odd = even + plane;
                let first = pw.div_ceil(2);
                if let Some(&v) = lead.first() {
                    phases[odd + pw / 2] = f(v);
                }
                let pairs = rest.chunks_exact(2);
                let tail = pairs.remainder();
                let n = pairs.len();
                let (ev, od) = phases.split_at_mut(odd);
                for ((e, o), p) in ev[even + first..even + first + n]
                    .iter_mut()
                    .zip(&mut od[first..first + n])
                    .zip(pairs)
                {
                    *e = f(p[0]);
                    *o = f(p[1]);
                }
                if let Some(&v) = tail.first() {
                    phases[even + first + n] = f(v);
                }
            } else {
                for (x, &v) in row.iter().enumerate() {
                    let px = x + pw;
                    phases[((r * s + px % s) * self.hq + i) * self.wq + px / s] = f(v);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, one output at a time.
    fn reference(
        x: &[f32],
        [batch, c_in, h, w]: [usize; 4],
        weight: &[f32],
        bias: &[f32],
        ch: Channels,
        g: Geometry,
    ) -> Vec<f32> {
        let (ho, wo) = g.output(h, w);
        let (in_g, out_g) = (ch.c_in / ch.groups, ch.c_out / ch.groups);
        let k = g.kernel;
        let mut out = vec![];
        for b in 0..batch {
            for oc in 0..ch.c_out {
                let group = oc / out_g;
                for oy in 0..ho {
                    for ox in 0..wo {
                        let mut sum = bias[oc] as f64;
                        for i in 0..in_g {
                            let ic = group * in_g + i;
                            for kh in 0..k {
                                for kw in 0..k {
                                    let y = (oy * g.stride + kh) as isize - g.pad_h.0 as isize;
                                    let xx = (ox * g.stride + kw) as isize - g.pad_w.0 as isize;
                                    if y < 0 || xx < 0 || y >= h as isize || xx >= w as isize {
                                        continue;
                                    }
                                    let v = x[((b * c_in + ic) * h + y as usize) * w + xx as usize];
                                    let wt = weight[((oc * in_g + i) * k + kh) * k + kw];
                                    sum += (v * wt) as f64;
                                }
                            }
                        }
                        out.push(sum as f32);
                    }
                }
            }
        }
        out
    }

    fn fill(n: usize, f: f32) -> Vec<f32> {
        (0..n).map(|i| ((i as f32) * f).sin() * 3.0).collect()
    }

    #[test]
    fn equals_the_definition_for_depthwise_and_dense_strides_and_paddings() {
        let cases = [
            // (c_in, c_out, groups, h, w, k, s, pad_h, pad_w)
            (4, 4, 4, 7, 7, 5, 1, (2, 2), (2, 2)),
            (3, 3, 3, 14, 14, 5, 2, (1, 2), (1, 2)),
            (5, 5, 5, 12, 11, 3, 2, (0, 1), (0, 1)),
            (2, 2, 2, 9, 13, 3, 1, (1, 1), (1, 1)),
            (3, 6, 1, 10, 10, 3, 2, (0, 1), (0, 1)),
            (2, 3, 1, 8, 9, 3, 1, (0, 0), (0, 0)),
            (4, 8, 2, 6, 6, 3, 3, (1, 2), (2, 1)),
            (1, 1, 1, 3, 3, 3, 1, (0, 0), (0, 0)),
            (3, 3, 3, 9, 11, 3, 2, (1, 1), (1, 1)),
            (2, 4, 1, 11, 12, 5, 2, (2, 2), (3, 1)),
            // Rows narrower than a vector: whole-vector stores spill into the next rows.
            (2, 2, 2, 5, 3, 3, 1, (1, 1), (1, 1)),
            (3, 3, 3, 9, 2, 3, 1, (1, 1), (1, 1)),
        ];
        for (c_in, c_out, groups, h, w, k, s, ph, pw) in cases {
            let batch = 2;
            let dims = [batch, c_in, h, w];
            let x = fill(batch * c_in * h * w, 0.37);
            let weight = fill(c_out * (c_in / groups) * k * k, 0.71);
            let bias = fill(c_out, 1.3);
            let ch = Channels {
                c_in,
                c_out,
                groups,
            };
            let g = Geometry {
                kernel: k,
                stride: s,
                pad_h: ph,
                pad_w: pw,
            };
            let want = reference(&x, dims, &weight, &bias, ch, g);
            let args = ConvArgs {
                x: &x,
                dims,
                weight: &weight,
                bias: &bias,
                ch,
                g,
                fused: Fused::default(),
            };
            let (got, shape) = conv(args);
            for isa in Isa::available() {
                assert_eq!(conv_with(isa, args).0, got, "{isa:?} gives other bits");
            }
            let (ho, wo) = g.output(h, w);
            assert_eq!(shape, [batch, c_out, ho, wo]);
            assert_eq!(got.len(), want.len());
            for (i, (a, b)) in got.iter().zip(&want).enumerate() {
                assert!((a - b).abs() < 1e-4, "case {ch:?} {g:?}: at {i} {a} vs {b}");
            }
            let relu6 = Some((0.0, 6.0));
            let output = Fused {
                output: relu6,
                ..Fused::default()
            };
            let (clamped, _) = conv(ConvArgs {
                fused: output,
                ..args
            });
            for (a, b) in clamped.iter().zip(&got) {
                assert_eq!(*a, b.clamp(0.0, 6.0));
            }
            let input_bias = fill(c_in, 0.9);
            let x6: Vec<f32> = x
                .iter()
                .enumerate()
                .map(|(i, v)| (v + input_bias[(i / (h * w)) % c_in]).clamp(0.0, 6.0))
                .collect();
            let want = reference(&x6, dims, &weight, &bias, ch, g);
            let input = Fused {
                input_bias: Some(&input_bias),
                input: relu6,
                ..Fused::default()
            };
            let (got, _) = conv(ConvArgs {
                fused: input,
                ..args
            });
            for (a, b) in got.iter().zip(&want) {
                assert!((a - b).abs() < 1e-4, "input clamp {ch:?} {g:?}: {a} vs {b}");
            }
        }
    }
}
