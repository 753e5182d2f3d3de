//! Deep Feature Factorization (Collins et al. 2018) as pytorch-grad-cam 1.5.7's `dff` computes
//! it: the activations `[K, h·w]`, each channel shifted by its minimum, factorised by
//! scikit-learn's `NMF(n_components, init='random', random_state=0)` (coordinate descent,
//! Frobenius loss, at most 200 iterations, tolerance 1e-4) into concepts `W` `[K, n]` and
//! their maps `H` `[n, h·w]`. Float32 throughout, as scikit-learn runs on float32 activations.

use crate::rng::NumpyRandom;

/// What DFF finds: each concept's vector in the layer's channels (the minimum added back, as
/// pytorch-grad-cam returns it) and its map at the layer's resolution.
pub struct Factorisation {
    pub concepts: Vec<Vec<f32>>,
    pub maps: Vec<Vec<f32>>,
}

const MAX_ITER: usize = 200;
const TOL: f32 = 1e-4;

/// DFF of `activations` `[k, positions]` into `n` concepts.
pub fn dff(activations: &[f32], k: usize, n: usize) -> Factorisation {
    let p = activations.len() / k;
    let mut x: Vec<f32> = activations
        .iter()
        .map(|v| if v.is_nan() { 0.0 } else { *v })
        .collect();
    let offsets: Vec<f32> = x
        .chunks_exact(p)
        .map(|c| c.iter().cloned().fold(f32::INFINITY, f32::min))
        .collect();
    for (row, o) in x.chunks_exact_mut(p).zip(&offsets) {
        row.iter_mut().for_each(|v| *v -= o);
    }
    let (w, ht) = nmf(&x, k, p, n);
    let concepts = (0..n)
        .map(|c| (0..k).map(|i| w[i * n + c] + offsets[i]).collect())
        .collect();
    let maps = (0..n)
        .map(|c| (0..p).map(|j| ht[j * n + c]).collect())
        .collect();
    Factorisation { concepts, maps }
}

/// scikit-learn's NMF of `x` `[rows, cols]` (non-negative) into `W` `[rows, n]` and `Hᵀ`
/// `[cols, n]`, both row-major.
fn nmf(x: &[f32], rows: usize, cols: usize, n: usize) -> (Vec<f32>, Vec<f32>) {
    // `_initialize_nmf(init='random')`: H first, then W, |N(0, 1)| times √(mean / n).
    let mean = (x.iter().map(|&v| v as f64).sum::<f64>() / x.len() as f64) as f32;
    let avg = (mean / n as f32).sqrt();
    let mut rng = NumpyRandom::new(0);
    let h: Vec<f32> = (0..n * cols)
        .map(|_| (avg * rng.gauss() as f32).abs())
        .collect();
    let mut w: Vec<f32> = (0..rows * n)
        .map(|_| (avg * rng.gauss() as f32).abs())
        .collect();
    let mut ht = vec![0f32; cols * n];
    for c in 0..n {
        for j in 0..cols {
            ht[j * n + c] = h[c * cols + j];
        }
    }
    let xt = transpose(x, rows, cols);
    let mut first = None;
    for _ in 0..MAX_ITER {
        let violation = update((x, &xt), &mut w, &ht, rows, cols, n)
            + update((&xt, x), &mut ht, &w, cols, rows, n);
        let first = *first.get_or_insert(violation);
        if first == 0.0 || violation / first <= TOL {
            break;
        }
    }
    (w, ht)
}

fn transpose(x: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0f32; x.len()];
    for i in 0..rows {
        for j in 0..cols {
            t[j * rows + i] = x[i * cols + j];
        }
    }
    t
}

/// `_update_coordinate_descent` then `_update_cdnmf_fast`: one sweep over the columns of `w`
/// `[rows, n]` against `ht` `[cols, n]` for `x` `[rows, cols]` (and its transpose `xt`); the
/// projected gradient's sum.
fn update(
    (x, xt): (&[f32], &[f32]),
    w: &mut [f32],
    ht: &[f32],
    rows: usize,
    cols: usize,
    n: usize,
) -> f32 {
    // Each component's column made contiguous, so that every product below is a dot product
    // of two contiguous rows (the 200 sweeps are DFF's whole cost).
    let h = transpose(ht, cols, n);
    let mut hht = vec![0f32; n * n];
    for a in 0..n {
        for b in 0..n {
            hht[a * n + b] = dot(&h[a * cols..(a + 1) * cols], &h[b * cols..(b + 1) * cols]);
        }
    }
    // X·Hᵀ as dot products along the longer side, so that the inner loop vectorises.
    let mut xht = vec![0f32; rows * n];
    if cols >= rows {
        for i in 0..rows {
            let xi = &x[i * cols..(i + 1) * cols];
            for t in 0..n {
                xht[i * n + t] = dot(xi, &h[t * cols..(t + 1) * cols]);
            }
        }
    } else {
        let mut column = vec![0f32; rows];
        for t in 0..n {
            column.iter_mut().for_each(|v| *v = 0.0);
            for (j, xj) in xt.chunks_exact(rows).enumerate() {
                let c = h[t * cols + j];
                column.iter_mut().zip(xj).for_each(|(v, x)| *v += x * c);
            }
            (0..rows).for_each(|i| xht[i * n + t] = column[i]);
        }
    }
    let mut violation = 0f32;
    for t in 0..n {
        let hess = hht[t * n + t];
        for i in 0..rows {
            let wi = &mut w[i * n..(i + 1) * n];
            // Summed in scikit-learn's order, from −XHᵀ.
            let grad = (0..n).fold(-xht[i * n + t], |g, r| g + hht[t * n + r] * wi[r]);
            let pg = if wi[t] == 0.0 { grad.min(0.0) } else { grad };
            violation += pg.abs();
            if hess != 0.0 {
                wi[t] = (wi[t] - grad / hess).max(0.0);
            }
        }
    }
    violation
}

/// A dot product over eight partial sums, so that it vectorises (BLAS, which scikit-learn
/// calls, sums in its own order too).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    acc.iter().sum::<f32>() + tail
}
