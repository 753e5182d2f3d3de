//! `plane_conv`'s inner loop with the accumulators in registers: four vectors of outputs (32
//! with AVX2, 64 with AVX-512) collect every tap of every input plane, then are clamped and
//! stored once, straight into the output plane.
//!
//! Why: the portable loop makes one pass over a scratch row per tap, loading and storing each
//! accumulator k² times (a 112×112 plane's accumulators, 50 KB, do not even stay in L1), then a
//! last pass copies and clamps it into the output, 4 or 7 columns at a time on Lite0's late
//! planes. Here a tap costs one load per vector, and the output is written once.
//!
//! The vectors run over the output row by row (`⌈wo / lanes⌉` per row), four at a time even
//! across rows, so that 7- and 14-wide planes keep all four accumulators busy. A vector that
//! ends past its row spills junk into the start of the next row, which is stored later and
//! overwrites it; a vector that would end past the plane stores its valid lanes through a bounce
//! buffer.
//!
//! Each output still sees `bias`, then `+ w · v` (multiply, then add, never fused) for every
//! tap in the portable loop's order, then the same clamp, so the results are the same bits.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Floats a vector may read past its row's last column: planes carry this much slack.
pub const SLACK: usize = 64;

/// One output channel: where each tap starts in its (phase-split, padded) input plane.
pub struct Taps<'a> {
    /// Start of tap `t` (row-major over the kernel) in a plane, for output `(0, 0)`.
    pub offsets: &'a [usize],
    /// Floats per input plane, `wq` apart per output row.
    pub plane: usize,
    pub wq: usize,
    /// Output rows and columns.
    pub ho: usize,
    pub wo: usize,
}

/// The portable loop, for CPUs without AVX2: one pass over the accumulator row `acc`
/// (`ho · wq` floats, junk columns included) per tap, then a copy of the valid columns.
#[inline(always)]
pub fn channel(
    out: &mut [f32],
    acc: &mut [f32],
    planes: &[f32],
    taps: &Taps,
    weights: &[f32],
    bias: f32,
    clamp: Option<(f32, f32)>,
) {
    let n = taps.ho * taps.wq;
    acc[..n].fill(bias);
    let kk = taps.offsets.len();
    for (plane, w) in planes.chunks(taps.plane).zip(weights.chunks_exact(kk)) {
        for (&off, &wt) in taps.offsets.iter().zip(w) {
            acc[..n]
                .iter_mut()
                .zip(&plane[off..off + n])
                .for_each(|(a, &v)| *a += wt * v);
        }
    }
    for (row, acc_row) in out.chunks_exact_mut(taps.wo).zip(acc.chunks(taps.wq)) {
        match clamp {
            Some((lo, hi)) => row
                .iter_mut()
                .zip(acc_row)
                .for_each(|(o, &v)| *o = v.max(lo).min(hi)),
            None => row.copy_from_slice(&acc_row[..taps.wo]),
        }
    }
}

macro_rules! blocked {
    ($name:ident, $feature:literal, $lanes:expr, $splat:ident, $load:ident, $store:ident,
     $add:ident, $mul:ident, $max:ident, $min:ident) => {
        /// `out[r][c] = clamp(bias + Σ_planes Σ_taps w · plane[offset + r · wq + c])`.
        ///
        /// # Safety
        /// The CPU has the feature.
        #[target_feature(enable = $feature)]
        pub unsafe fn $name(
            out: &mut [f32],
            planes: &[f32],
            taps: &Taps,
            weights: &[f32],
            bias: f32,
            clamp: Option<(f32, f32)>,
        ) {
            const L: usize = $lanes;
            let (wq, ho, wo) = (taps.wq, taps.ho, taps.wo);
            let kk = taps.offsets.len();
            let count = weights.len() / kk;
            let per_row = wo.div_ceil(L);
            let total = ho * per_row;
            assert_eq!(out.len(), ho * wo, "output plane");
            assert!(planes.len() >= count * taps.plane, "planes too short");
            let last = taps.offsets.iter().max().copied().unwrap_or(0);
            assert!(
                last + (ho - 1) * wq + per_row * L <= taps.plane,
                "plane slack too short"
            );
            let (lo, hi) = clamp.unwrap_or((0.0, 0.0));
            let (dst, src) = (out.as_mut_ptr(), planes.as_ptr());
            // SAFETY: the asserts above bound every read by the planes; every store is either
            // a whole vector that ends inside the output plane or a copy of the valid lanes.
            unsafe {
                let (vlo, vhi) = ($splat(lo), $splat(hi));
                for first in (0..total).step_by(4) {
                    // Vector q covers row q / per_row, columns from (q % per_row)·L; the last
                    // block repeats its last vector where fewer than four are left.
                    let at = |r: usize| {
                        let q = (first + r).min(total - 1);
                        (q / per_row, (q % per_row) * L)
                    };
                    let pos = [at(0), at(1), at(2), at(3)];
                    let reads = pos.map(|(row, col)| row * wq + col);
                    let mut a = [$splat(bias); 4];
                    for (i, w) in weights.chunks_exact(kk).enumerate() {
                        let p = src.add(i * taps.plane);
                        for (&off, &wt) in taps.offsets.iter().zip(w) {
                            let wv = $splat(wt);
                            let q = p.add(off);
                            for (a, &r) in a.iter_mut().zip(&reads) {
                                *a = $add(*a, $mul(wv, $load(q.add(r))));
                            }
                        }
                    }
                    for (r, (&(row, col), mut v)) in pos.iter().zip(a).enumerate() {
                        if first + r >= total {
                            break;
                        }
                        if clamp.is_some() {
                            v = $min($max(v, vlo), vhi);
                        }
                        let start = row * wo + col;
                        let d = dst.add(start);
                        if start + L <= ho * wo {
                            $store(d, v);
                        } else {
                            let valid = (wo - col).min(L);
                            let mut bounce = [0.0f32; L];
                            $store(bounce.as_mut_ptr(), v);
                            std::ptr::copy_nonoverlapping(bounce.as_ptr(), d, valid);
                        }
                    }
                }
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
blocked!(
    channel_avx2,
    "avx2",
    8,
    _mm256_set1_ps,
    _mm256_loadu_ps,
    _mm256_storeu_ps,
    _mm256_add_ps,
    _mm256_mul_ps,
    _mm256_max_ps,
    _mm256_min_ps
);

#[cfg(target_arch = "x86_64")]
blocked!(
    channel_avx512,
    "avx512f",
    16,
    _mm512_set1_ps,
    _mm512_loadu_ps,
    _mm512_storeu_ps,
    _mm512_add_ps,
    _mm512_mul_ps,
    _mm512_max_ps,
    _mm512_min_ps
);
