//! The first principal component of a `[K, n]` channel-by-position matrix, as EigenCAM,
//! EigenGradCAM and KPCA-CAM use it: the positions are the samples, the channels the features.

/// The projection of each of the `n` positions onto the first principal component of the
/// centred `[K, n]` data `x` (pytorch-grad-cam's `get_2d_projection`: `X − mean` over positions,
/// then `X · v₁` with `v₁` the first right singular vector).
///
/// A principal component's sign is arbitrary (pytorch-grad-cam leaves it to LAPACK); camlens
/// makes the entry of largest magnitude positive, flipping the map when `|min| > |max|`: the
/// sign correction of Seg-Eigen-CAM (Chung & Ying 2025, eq. 13, pytorch-grad-cam's
/// `get_2d_projection_with_sign_correction`) and the rule of scikit-learn's `svd_flip`, which
/// KernelPCA applies.
pub fn first_component(x: &[f32], k: usize) -> Vec<f32> {
    let n = x.len() / k;
    let centred = centred(x, k);
    // `X Xᵀ` over positions (n×n) or `Xᵀ X` over channels (K×K), whichever is smaller: the
    // projection `X v₁ = σ₁ u₁` comes from either.
    // Past `DIRECT` both Gram matrices are large (FCN-ResNet50's last map: 2048 channels at
    // 65×65): the top eigenpair then comes from Lanczos on the product, never formed.
    let side = n.min(k);
    let projection = if n <= k {
        let (value, u) = if side <= DIRECT {
            top_eigenpair(gram(&centred, n, k, |c, i| c * n + i), n)
        } else {
            lanczos_top(|v| gram_times(&centred, k, n, v, false), n)
        };
        u.iter().map(|v| v * value.max(0.0).sqrt()).collect()
    } else {
        let (_, v) = if side <= DIRECT {
            top_eigenpair(gram(&centred, k, n, |i, c| c * n + i), k)
        } else {
            lanczos_top(|v| gram_times(&centred, k, n, v, true), k)
        };
        (0..n)
            .map(|i| (0..k).map(|c| centred[c * n + i] * v[c]).sum::<f64>())
            .collect()
    };
    with_positive_peak(projection)
}

/// The largest Gram matrix whose eigenvectors are all computed (O(side³)); past it, Lanczos.
const DIRECT: usize = 512;

/// `(C Cᵀ) v` (over channels, `v` of length `k`) or `(Cᵀ C) v` (over positions, length `n`) for
/// the `[k, n]` matrix `c`, as two products with `c`.
fn gram_times(c: &[f64], k: usize, n: usize, v: &[f64], over_channels: bool) -> Vec<f64> {
    if over_channels {
        let t: Vec<f64> = (0..n)
            .map(|i| (0..k).map(|ch| c[ch * n + i] * v[ch]).sum())
            .collect();
        c.chunks_exact(n)
            .map(|row| row.iter().zip(&t).map(|(a, b)| a * b).sum())
            .collect()
    } else {
        let t: Vec<f64> = c
            .chunks_exact(n)
            .map(|row| row.iter().zip(v).map(|(a, b)| a * b).sum())
            .collect();
        let mut out = vec![0.0; n];
        for (row, tc) in c.chunks_exact(n).zip(&t) {
            out.iter_mut().zip(row).for_each(|(o, a)| *o += a * tc);
        }
        out
    }
}

/// The largest eigenvalue and its unit eigenvector of the symmetric positive semi-definite
/// operator `apply` on vectors of length `n`: Lanczos with full reorthogonalisation, restarted
/// from its Ritz vector until the residual `‖A v − λ v‖` is below 1e-11 of `λ`; the full
/// decomposition where it does not get there.
fn lanczos_top(apply: impl Fn(&[f64]) -> Vec<f64>, n: usize) -> (f64, Vec<f64>) {
    const STEPS: usize = 60;
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    // A start with no structure, so that no eigenvector is missing from it.
    let mut start: Vec<f64> = (0..n)
        .map(|i| 1.0 + 0.5 * (0.7123 * i as f64 + 0.3).sin())
        .collect();
    for _ in 0..8 {
        let norm = dot(&start, &start).sqrt();
        let mut basis = vec![start.iter().map(|v| v / norm).collect::<Vec<f64>>()];
        let (mut alpha, mut beta) = (vec![], vec![]);
        for j in 0..STEPS.min(n) {
            let mut w = apply(&basis[j]);
            alpha.push(dot(&w, &basis[j]));
            for _ in 0..2 {
                for q in &basis {
                    let d = dot(&w, q);
                    w.iter_mut().zip(q).for_each(|(x, y)| *x -= d * y);
                }
            }
            let b = dot(&w, &w).sqrt();
            if j + 1 == STEPS.min(n) || b <= 1e-13 * alpha[0].abs().max(f64::MIN_POSITIVE) {
                break;
            }
            beta.push(b);
            basis.push(w.iter().map(|x| x / b).collect());
        }
        let m = alpha.len();
        let mut t = vec![0.0; m * m];
        for i in 0..m {
            t[i * m + i] = alpha[i];
            if i + 1 < m {
                t[i * m + i + 1] = beta[i];
                t[(i + 1) * m + i] = beta[i];
            }
        }
        let (value, y) = top_eigenpair(t, m);
        let mut v = vec![0.0; n];
        for (q, yi) in basis.iter().zip(&y) {
            v.iter_mut().zip(q).for_each(|(x, qv)| *x += yi * qv);
        }
        let norm = dot(&v, &v).sqrt();
        v.iter_mut().for_each(|x| *x /= norm);
        let av = apply(&v);
        let residual = av
            .iter()
            .zip(&v)
            .map(|(a, x)| (a - value * x).powi(2))
            .sum::<f64>()
            .sqrt();
        if residual <= 1e-11 * value.abs().max(f64::MIN_POSITIVE) {
            return (value, v);
        }
        start = v;
    }
    let mut matrix = vec![0.0; n * n];
    for i in 0..n {
        let mut e = vec![0.0; n];
        e[i] = 1.0;
        let column = apply(&e);
        (0..n).for_each(|r| matrix[r * n + i] = column[r]);
    }
    top_eigenpair(matrix, n)
}

/// Kernel PCA's first component (scikit-learn's `KernelPCA(n_components=1)` as pytorch-grad-cam's
/// KPCA-CAM calls it): the sigmoid kernel `tanh(γ⟨x, y⟩ + 1)` with `γ = 1 / K` between the
/// centred positions, the kernel matrix centred in feature space, its top eigenvector scaled by
/// the square root of its eigenvalue; signed as [`first_component`].
pub fn kernel_first_component(x: &[f32], k: usize) -> Vec<f32> {
    let n = x.len() / k;
    let centred = centred(x, k);
    let gamma = 1.0 / k as f64;
    let mut kernel = gram(&centred, n, k, |c, i| c * n + i);
    kernel
        .iter_mut()
        .for_each(|v| *v = (gamma * *v + 1.0).tanh());
    center_kernel(&mut kernel, n);
    let (value, u) = if n <= DIRECT {
        top_eigenpair(kernel, n)
    } else {
        let times = |v: &[f64]| -> Vec<f64> {
            kernel
                .chunks_exact(n)
                .map(|row| row.iter().zip(v).map(|(a, b)| a * b).sum())
                .collect()
        };
        lanczos_top(times, n)
    };
    with_positive_peak(u.iter().map(|v| v * value.max(0.0).sqrt()).collect())
}

/// `x` in f64 with each channel's mean over positions removed.
fn centred(x: &[f32], k: usize) -> Vec<f64> {
    let n = x.len() / k;
    x.chunks_exact(n)
        .flat_map(|ch| {
            let mean = ch.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
            ch.iter().map(move |&v| v as f64 - mean)
        })
        .collect()
}

/// The `m×m` matrix of inner products `Σ_j x[at(j, a)] · x[at(j, b)]` over `len` terms.
fn gram(x: &[f64], m: usize, len: usize, at: impl Fn(usize, usize) -> usize) -> Vec<f64> {
    let mut g = vec![0.0; m * m];
    for a in 0..m {
        for b in a..m {
            let v: f64 = (0..len).map(|j| x[at(j, a)] * x[at(j, b)]).sum();
            g[a * m + b] = v;
            g[b * m + a] = v;
        }
    }
    g
}

/// `K − 1K − K1 + 1K1`, `1` the matrix of `1/n`: the kernel of the centred features.
fn center_kernel(kernel: &mut [f64], n: usize) {
    let rows: Vec<f64> = kernel
        .chunks_exact(n)
        .map(|r| r.iter().sum::<f64>() / n as f64)
        .collect();
    let all = rows.iter().sum::<f64>() / n as f64;
    for i in 0..n {
        for j in 0..n {
            // The kernel is symmetric: column means are the row means.
            kernel[i * n + j] += all - rows[i] - rows[j];
        }
    }
}

fn with_positive_peak(p: Vec<f64>) -> Vec<f32> {
    let max = p.iter().cloned().fold(f64::MIN, f64::max);
    let min = p.iter().cloned().fold(f64::MAX, f64::min);
    let sign = if min.abs() > max.abs() { -1.0 } else { 1.0 };
    p.iter().map(|v| (sign * v) as f32).collect()
}

/// The largest eigenvalue of the symmetric `n×n` matrix `a` and its unit eigenvector.
fn top_eigenpair(a: Vec<f64>, n: usize) -> (f64, Vec<f64>) {
    let (values, vectors) = symmetric_eigen(a, n);
    let top = (0..n)
        .max_by(|&i, &j| values[i].total_cmp(&values[j]))
        .unwrap_or(0);
    (values[top], (0..n).map(|r| vectors[r * n + top]).collect())
}

/// Every eigenvalue of the symmetric `n×n` matrix `a` and the eigenvectors as the columns of the
/// returned matrix: Householder reduction to tridiagonal form, then the implicit QL method
/// (EISPACK's `tred2` and `tql2`, as JAMA ports them). O(n³), exact to rounding.
pub fn symmetric_eigen(a: Vec<f64>, n: usize) -> (Vec<f64>, Vec<f64>) {
    if n == 0 {
        return (vec![], vec![]);
    }
    let mut v = a;
    let mut d = vec![0.0; n];
    let mut e = vec![0.0; n];
    tridiagonalise(&mut v, &mut d, &mut e, n);
    diagonalise(&mut v, &mut d, &mut e, n);
    (d, v)
}

/// EISPACK's `tred2`: `v` becomes the orthogonal transformation, `d` and `e` the diagonal and
/// sub-diagonal of the tridiagonal matrix.
fn tridiagonalise(v: &mut [f64], d: &mut [f64], e: &mut [f64], n: usize) {
    let at = |i: usize, j: usize| i * n + j;
    for j in 0..n {
        d[j] = v[at(n - 1, j)];
    }
    for i in (1..n).rev() {
        let scale: f64 = d[..i].iter().map(|x| x.abs()).sum();
        let mut h = 0.0;
        if scale == 0.0 {
            e[i] = d[i - 1];
            for j in 0..i {
                d[j] = v[at(i - 1, j)];
                v[at(i, j)] = 0.0;
                v[at(j, i)] = 0.0;
            }
        } else {
            for x in &mut d[..i] {
                *x /= scale;
                h += *x * *x;
            }
            let mut f = d[i - 1];
            let mut g = if f > 0.0 { -h.sqrt() } else { h.sqrt() };
            e[i] = scale * g;
            h -= f * g;
            d[i - 1] = f - g;
            e[..i].iter_mut().for_each(|x| *x = 0.0);
            for j in 0..i {
                f = d[j];
                v[at(j, i)] = f;
                g = e[j] + v[at(j, j)] * f;
                for k in j + 1..i {
                    g += v[at(k, j)] * d[k];
                    e[k] += v[at(k, j)] * f;
                }
                e[j] = g;
            }
            f = 0.0;
            for j in 0..i {
                e[j] /= h;
                f += e[j] * d[j];
            }
            let hh = f / (h + h);
            for j in 0..i {
                e[j] -= hh * d[j];
            }
            for j in 0..i {
                f = d[j];
                g = e[j];
                for k in j..i {
                    v[at(k, j)] -= f * e[k] + g * d[k];
                }
                d[j] = v[at(i - 1, j)];
                v[at(i, j)] = 0.0;
            }
        }
        d[i] = h;
    }
    accumulate(v, d, n);
    e[0] = 0.0;
}

/// The second half of `tred2`: the Householder transformations accumulated into `v`.
fn accumulate(v: &mut [f64], d: &mut [f64], n: usize) {
    let at = |i: usize, j: usize| i * n + j;
    for i in 0..n - 1 {
        v[at(n - 1, i)] = v[at(i, i)];
        v[at(i, i)] = 1.0;
        let h = d[i + 1];
        if h != 0.0 {
            for k in 0..=i {
                d[k] = v[at(k, i + 1)] / h;
            }
            for j in 0..=i {
                let g: f64 = (0..=i).map(|k| v[at(k, i + 1)] * v[at(k, j)]).sum();
                for k in 0..=i {
                    v[at(k, j)] -= g * d[k];
                }
            }
        }
        for k in 0..=i {
            v[at(k, i + 1)] = 0.0;
        }
    }
    for j in 0..n {
        d[j] = v[at(n - 1, j)];
        v[at(n - 1, j)] = 0.0;
    }
    v[at(n - 1, n - 1)] = 1.0;
}

/// EISPACK's `tql2`: the symmetric tridiagonal QL algorithm with implicit shifts; `d` becomes
/// the eigenvalues, the columns of `v` their eigenvectors.
fn diagonalise(v: &mut [f64], d: &mut [f64], e: &mut [f64], n: usize) {
    for i in 1..n {
        e[i - 1] = e[i];
    }
    e[n - 1] = 0.0;
    let (mut f, mut tst1) = (0.0f64, 0.0f64);
    let eps = f64::EPSILON;
    for l in 0..n {
        tst1 = tst1.max(d[l].abs() + e[l].abs());
        let mut m = l;
        while m < n - 1 && e[m].abs() > eps * tst1 {
            m += 1;
        }
        if m > l {
            loop {
                f += shift(d, e, l, n);
                ql_sweep(v, d, e, l, m, n);
                if e[l].abs() <= eps * tst1 {
                    break;
                }
            }
        }
        d[l] += f;
        e[l] = 0.0;
    }
}

/// The implicit (Wilkinson) shift of `tql2`, applied to `d[l..]`; returns it.
fn shift(d: &mut [f64], e: &[f64], l: usize, n: usize) -> f64 {
    let g = d[l];
    let p = (d[l + 1] - g) / (2.0 * e[l]);
    let r = if p < 0.0 { -p.hypot(1.0) } else { p.hypot(1.0) };
    d[l] = e[l] / (p + r);
    d[l + 1] = e[l] * (p + r);
    let h = g - d[l];
    for x in &mut d[l + 2..n] {
        *x -= h;
    }
    h
}

/// One implicit QL transformation of `tql2` from `m` down to `l`, accumulated into `v`.
fn ql_sweep(v: &mut [f64], d: &mut [f64], e: &mut [f64], l: usize, m: usize, n: usize) {
    let at = |i: usize, j: usize| i * n + j;
    let dl1 = d[l + 1];
    let el1 = e[l + 1];
    let mut p = d[m];
    let (mut c, mut c2, mut c3) = (1.0f64, 1.0f64, 1.0f64);
    let (mut s, mut s2) = (0.0f64, 0.0f64);
    for i in (l..m).rev() {
        c3 = c2;
        c2 = c;
        s2 = s;
        let g = c * e[i];
        let h = c * p;
        let r = p.hypot(e[i]);
        e[i + 1] = s * r;
        s = e[i] / r;
        c = p / r;
        p = c * d[i] - s * g;
        d[i + 1] = h + s * (c * g + s * d[i]);
        for k in 0..n {
            let h = v[at(k, i + 1)];
            v[at(k, i + 1)] = s * v[at(k, i)] + c * h;
            v[at(k, i)] = c * v[at(k, i)] - s * h;
        }
    }
    p = -s * s2 * c3 * el1 * e[l] / dl1;
    e[l] = s * p;
    d[l] = c * p;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed symmetric matrix with distinct eigenvalues: `A V = V diag(d)`, `Vᵀ V = I`.
    #[test]
    fn eigenpairs_satisfy_their_definition() {
        let n = 7;
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let v = ((i * 31 + j * 17) % 11) as f64 - 5.0 + if i == j { i as f64 } else { 0.0 };
                a[i * n + j] = v;
                a[j * n + i] = v;
            }
        }
        let (d, v) = symmetric_eigen(a.clone(), n);
        for c in 0..n {
            for r in 0..n {
                let av: f64 = (0..n).map(|k| a[r * n + k] * v[k * n + c]).sum();
                assert!(
                    (av - d[c] * v[r * n + c]).abs() < 1e-10,
                    "column {c} row {r}"
                );
            }
            for c2 in 0..n {
                let dot: f64 = (0..n).map(|k| v[k * n + c] * v[k * n + c2]).sum();
                assert!((dot - if c == c2 { 1.0 } else { 0.0 }).abs() < 1e-10);
            }
        }
    }

    /// Past `DIRECT`, Lanczos on the implicit Gram product gives the full decomposition's
    /// component, in both orientations, and on an explicit matrix.
    #[test]
    fn lanczos_finds_the_full_decompositions_top_eigenpair() {
        let (k, n) = (530, 560);
        let noise = |i: usize| ((i as f64 * 0.618_034).fract() - 0.5) * 0.3;
        let x: Vec<f32> = (0..k * n)
            .map(|j| {
                let (c, i) = (j / n, j % n);
                let wave = |r: f64| (r * c as f64 * 0.01).sin() * (r * i as f64 * 0.013).cos();
                (3.0 * wave(1.0) + 1.5 * wave(2.0) + noise(j * 7 + 3)) as f32
            })
            .collect();
        for (data, channels) in [(x.clone(), k), (transpose(&x, k, n), n)] {
            let positions = data.len() / channels;
            let got = first_component(&data, channels);
            let centred = centred(&data, channels);
            let gram = gram(&centred, positions, channels, |c, i| c * positions + i);
            let (value, u) = top_eigenpair(gram, positions);
            let want = with_positive_peak(u.iter().map(|v| v * value.sqrt()).collect());
            let peak = want.iter().fold(0f32, |m, v| m.max(v.abs()));
            let err = got
                .iter()
                .zip(&want)
                .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
            assert!(
                err <= 1e-5 * peak,
                "{channels} channels: off by {err} of {peak}"
            );
        }
        let m: usize = 600;
        let a: Vec<f64> = (0..m * m)
            .map(|j| {
                let (r, c) = (j / m, j % m);
                1.0 / (1.0 + r.abs_diff(c) as f64)
                    + if r == c {
                        0.1 * r as f64 / m as f64
                    } else {
                        0.0
                    }
            })
            .collect();
        let times = |v: &[f64]| -> Vec<f64> {
            a.chunks_exact(m)
                .map(|row| row.iter().zip(v).map(|(x, y)| x * y).sum())
                .collect()
        };
        let (lv, lu) = lanczos_top(times, m);
        let (fv, fu) = top_eigenpair(a.clone(), m);
        assert!((lv - fv).abs() <= 1e-10 * fv, "{lv} vs {fv}");
        let sign = lu.iter().zip(&fu).map(|(a, b)| a * b).sum::<f64>().signum();
        let err = lu
            .iter()
            .zip(&fu)
            .fold(0f64, |e, (a, b)| e.max((sign * a - b).abs()));
        assert!(err <= 1e-8, "eigenvector off by {err}");
    }

    fn transpose(x: &[f32], rows: usize, cols: usize) -> Vec<f32> {
        (0..cols)
            .flat_map(|c| (0..rows).map(move |r| x[r * cols + c]))
            .collect()
    }

    /// Rank-one data plus a constant: the component is the rank-one pattern, positive at its peak,
    /// scaled by the singular value, from either side of the Gram matrix.
    #[test]
    fn the_first_component_of_rank_one_data_is_its_pattern() {
        let pattern = [3.0f32, -1.0, 0.5, -2.0, 0.0];
        let loadings = [1.0f32, -2.0, 0.5];
        let x: Vec<f32> = loadings
            .iter()
            .flat_map(|l| pattern.iter().map(move |p| l * p + 7.0))
            .collect();
        let mean = pattern.iter().sum::<f32>() / 5.0;
        let norm = loadings.iter().map(|l| l * l).sum::<f32>().sqrt();
        let expected: Vec<f32> = pattern.iter().map(|p| (p - mean) * norm).collect();
        // K = 3 < n = 5 here; transposed, K = 5 > n = 3.
        let got = first_component(&x, 3);
        for (g, e) in got.iter().zip(&expected) {
            assert!((g - e).abs() < 1e-5, "{got:?} vs {expected:?}");
        }
        let x = &x;
        let xt: Vec<f32> = (0..5)
            .flat_map(|i| (0..3).map(move |c| x[c * 5 + i]))
            .collect();
        let got_t = first_component(&xt, 5);
        let load_mean = loadings.iter().sum::<f32>() / 3.0;
        let pn = pattern.iter().map(|p| p * p).sum::<f32>().sqrt();
        let mut expected_t: Vec<f32> = loadings.iter().map(|l| (l - load_mean) * pn).collect();
        if expected_t.iter().cloned().fold(0f32, f32::min).abs()
            > expected_t.iter().cloned().fold(0f32, f32::max)
        {
            expected_t.iter_mut().for_each(|v| *v = -*v);
        }
        for (g, e) in got_t.iter().zip(&expected_t) {
            assert!((g - e).abs() < 1e-4, "{got_t:?} vs {expected_t:?}");
        }
    }
}
