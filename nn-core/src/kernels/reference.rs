//! Naive reference implementations, written for obviousness rather than speed. Every kernel is
//! tested against these, and benchmarks report speed as a ratio to them.
// The naive references are textbook index loops on purpose (obviousness over speed; only tests
// and benchmarks call them), bounded by the rows × widths their callers build the buffers from.
#![allow(clippy::indexing_slicing)]

use super::activations::{Activation, InRegister};

/// seqnet's rule for an activation: Keras' formula for a finite pre-activation, NaN for a
/// non-finite one (`linear` passes it as it is), so that no activation hides an overflow.
pub fn activate<A: Activation>(act: &A, z: f32) -> f32 {
    if z.is_finite() || A::IN_REGISTER == InRegister::Identity {
        act.apply(z)
    } else {
        f32::NAN
    }
}

/// y = act(x·W + b) by the textbook triple loop, accumulating in `f64` so the reference is
/// closer to the exact value than any kernel under test.
pub fn dense_forward<A: Activation>(
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    act: &A,
    rows: usize,
    k: usize,
    n: usize,
) -> Vec<f32> {
    let mut y = vec![0.0f32; rows * n];
    for i in 0..rows {
        for j in 0..n {
            let mut acc = bias.map_or(0.0, |b| b[j] as f64);
            for p in 0..k {
                acc += x[i * k + p] as f64 * w[p * n + j] as f64;
            }
            y[i * n + j] = acc as f32;
        }
        let row = &mut y[i * n..(i + 1) * n];
        if A::ROW_WISE {
            act.apply_row(row);
        } else {
            for v in row {
                *v = activate(act, *v);
            }
        }
    }
    y
}

/// Gradients of one Dense layer from dL/dz by the textbook loops in f64:
/// (dW = xᵀ·dz, db = Σ_rows dz, dx = dz·Wᵀ).
pub fn dense_backward_from_dz(
    x: &[f32],
    w: &[f32],
    dz: &[f32],
    rows: usize,
    k: usize,
    n: usize,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let mut dw = vec![0.0f32; k * n];
    let mut db = vec![0.0f32; n];
    let mut dx = vec![0.0f32; rows * k];
    for p in 0..k {
        for j in 0..n {
            dw[p * n + j] = (0..rows)
                .map(|r| x[r * k + p] as f64 * dz[r * n + j] as f64)
                .sum::<f64>() as f32;
        }
    }
    for j in 0..n {
        db[j] = (0..rows).map(|r| dz[r * n + j] as f64).sum::<f64>() as f32;
    }
    for r in 0..rows {
        for p in 0..k {
            dx[r * k + p] = (0..n)
                .map(|j| dz[r * n + j] as f64 * w[p * n + j] as f64)
                .sum::<f64>() as f32;
        }
    }
    (dw, db, dx)
}

/// C = A·B for strided views by the textbook triple loop in f64.
pub fn gemm(a: super::gemm::MatRef<'_>, b: super::gemm::MatRef<'_>) -> Vec<f32> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    let mut c = vec![0.0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0.0f64;
            for p in 0..k {
                acc += a.data[i * a.rs + p * a.cs] as f64 * b.data[p * b.rs + j * b.cs] as f64;
            }
            c[i * n + j] = acc as f32;
        }
    }
    c
}

/// A sliding window over channels-last (h, w, c) images, as Keras' `Conv2D` and pooling layers
/// describe it: window `kh × kw`, strides `(sh, sw)`, 'same' or 'valid' padding. The references
/// below work out the output size and padding from Keras' formulas themselves ([`Window::axis`]),
/// not from `conv::Axis`, which they test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Input rows.
    pub h: usize,
    /// Input columns.
    pub w: usize,
    /// Input channels.
    pub c: usize,
    /// Window rows (kernel or pool height).
    pub kh: usize,
    /// Window columns.
    pub kw: usize,
    /// Step between windows along the rows.
    pub sh: usize,
    /// Step between windows along the columns.
    pub sw: usize,
    /// 'same' padding (else 'valid').
    pub same: bool,
}

impl Window {
    /// Keras' (output cells, padding before) for one axis of `n` cells, window `k`, stride `s`:
    /// 'valid': ⌊(n − k)/s⌋ + 1 outputs (none when k > n) and no padding; 'same': ⌈n/s⌉
    /// outputs, a padding total of max((out − 1)·s + k − n, 0) of which ⌊total/2⌋ goes before
    /// and the rest after.
    pub fn axis(n: usize, k: usize, s: usize, same: bool) -> (usize, usize) {
        let (n, k, s) = (n as i64, k as i64, s as i64);
        if same {
            let out = (n + s - 1) / s;
            let total = ((out - 1) * s + k - n).max(0);
            (out as usize, (total / 2) as usize)
        } else if k > n {
            (0, 0)
        } else {
            (((n - k) / s + 1) as usize, 0)
        }
    }

    /// Output rows.
    pub fn out_h(&self) -> usize {
        Self::axis(self.h, self.kh, self.sh, self.same).0
    }

    /// Output columns.
    pub fn out_w(&self) -> usize {
        Self::axis(self.w, self.kw, self.sw, self.same).0
    }

    /// Values in one input image.
    pub fn input_len(&self) -> usize {
        self.h * self.w * self.c
    }

    /// The input cell (row, column) under window cell (a, b) of output (i, j), or `None` when
    /// it lies in the padding.
    pub fn cell(&self, i: usize, j: usize, a: usize, b: usize) -> Option<(usize, usize)> {
        let top = Self::axis(self.h, self.kh, self.sh, self.same).1 as i64;
        let left = Self::axis(self.w, self.kw, self.sw, self.same).1 as i64;
        let r = (i * self.sh + a) as i64 - top;
        let q = (j * self.sw + b) as i64 - left;
        ((0..self.h as i64).contains(&r) && (0..self.w as i64).contains(&q))
            .then_some((r as usize, q as usize))
    }

    /// Index of channel `ch` of input cell (r, q) of image `n`.
    fn at(&self, n: usize, r: usize, q: usize, ch: usize) -> usize {
        ((n * self.h + r) * self.w + q) * self.c + ch
    }

    /// Index of channel `ch` of output (i, j) of image `n`, for `channels` output channels.
    fn out_at(&self, n: usize, i: usize, j: usize, ch: usize, channels: usize) -> usize {
        ((n * self.out_h() + i) * self.out_w() + j) * channels + ch
    }

    /// Every (image, output row, output column) of `rows` images.
    fn outputs(&self, rows: usize) -> impl Iterator<Item = (usize, usize, usize)> {
        let (oh, ow) = (self.out_h(), self.out_w());
        (0..rows).flat_map(move |n| (0..oh).flat_map(move |i| (0..ow).map(move |j| (n, i, j))))
    }

    /// The real (unpadded) input cells of output (i, j), in row-major window order.
    fn cells(&self, i: usize, j: usize) -> Vec<(usize, usize)> {
        (0..self.kh)
            .flat_map(|a| (0..self.kw).map(move |b| (a, b)))
            .filter_map(|(a, b)| self.cell(i, j, a, b))
            .collect()
    }
}

/// Keras' `Conv2D` forward by its definition, accumulated in `f64`:
/// y[n,i,j,o] = act(bias[o] + Σ_{a,b,c} xpad[n, i·sh + a, j·sw + b, c] · kernel[a][b][c][o]),
/// a cross-correlation (no kernel flip) where padded cells are zeros. `x` is any number of
/// whole images, `kernel` is `[kh][kw][c][filters]`; softmax runs over each pixel's filters.
pub fn conv2d_forward<A: Activation>(
    x: &[f32],
    kernel: &[f32],
    bias: Option<&[f32]>,
    act: &A,
    win: &Window,
    filters: usize,
) -> Vec<f32> {
    let (c, f) = (win.c, filters);
    let rows = x.len() / win.input_len();
    let mut y = vec![0.0f32; rows * win.out_h() * win.out_w() * f];
    for (n, i, j) in win.outputs(rows) {
        for o in 0..f {
            let mut acc = bias.map_or(0.0, |b| f64::from(b[o]));
            for a in 0..win.kh {
                for b in 0..win.kw {
                    let Some((r, q)) = win.cell(i, j, a, b) else {
                        continue; // a padded cell: zero
                    };
                    for ch in 0..c {
                        acc += f64::from(x[win.at(n, r, q, ch)])
                            * f64::from(kernel[((a * win.kw + b) * c + ch) * f + o]);
                    }
                }
            }
            y[win.out_at(n, i, j, o, f)] = acc as f32;
        }
        let pixel = &mut y[win.out_at(n, i, j, 0, f)..][..f];
        if A::ROW_WISE {
            act.apply_row(pixel);
        } else {
            pixel.iter_mut().for_each(|v| *v = activate(act, *v));
        }
    }
    y
}

/// The gradients of [`conv2d_forward`]'s pre-activation from dL/dz (`dz`, the output's shape),
/// by the chain rule on each term of the definition, in `f64`: every product
/// x[n,r,q,c]·kernel[a][b][c][o] that formed z[n,i,j,o] adds x·dz to dW[a][b][c][o] and
/// kernel·dz to dX[n,r,q,c]; db[o] = Σ dz[·,·,·,o]. Returns (dW, db, dX).
pub fn conv2d_backward(
    x: &[f32],
    kernel: &[f32],
    dz: &[f32],
    win: &Window,
    filters: usize,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let (c, f) = (win.c, filters);
    let rows = x.len() / win.input_len();
    let mut dw = vec![0.0f64; win.kh * win.kw * c * f];
    let mut db = vec![0.0f64; f];
    let mut dx = vec![0.0f64; x.len()];
    for (n, i, j) in win.outputs(rows) {
        for o in 0..f {
            let d = f64::from(dz[win.out_at(n, i, j, o, f)]);
            db[o] += d;
            for a in 0..win.kh {
                for b in 0..win.kw {
                    let Some((r, q)) = win.cell(i, j, a, b) else {
                        continue;
                    };
                    for ch in 0..c {
                        let w_at = ((a * win.kw + b) * c + ch) * f + o;
                        let x_at = win.at(n, r, q, ch);
                        dw[w_at] += f64::from(x[x_at]) * d;
                        dx[x_at] += f64::from(kernel[w_at]) * d;
                    }
                }
            }
        }
    }
    let f32s = |v: Vec<f64>| v.into_iter().map(|v| v as f32).collect();
    (f32s(dw), f32s(db), f32s(dx))
}

/// One image's patch matrix: row (i·out_w + j) holds output (i, j)'s window in the kernel's
/// order (a, b, c), zeros for padded cells.
pub fn im2col(image: &[f32], win: &Window) -> Vec<f32> {
    let c = win.c;
    let patch = win.kh * win.kw * c;
    let mut col = vec![0.0f32; win.out_h() * win.out_w() * patch];
    for (_, i, j) in win.outputs(1) {
        for a in 0..win.kh {
            for b in 0..win.kw {
                if let Some((r, q)) = win.cell(i, j, a, b) {
                    for ch in 0..c {
                        col[(i * win.out_w() + j) * patch + (a * win.kw + b) * c + ch] =
                            image[win.at(0, r, q, ch)];
                    }
                }
            }
        }
    }
    col
}

/// The adjoint of [`im2col`]: every patch value added (in `f64`) onto the image cell it was
/// read from; values in padded cells go nowhere.
pub fn col2im(col: &[f32], win: &Window) -> Vec<f32> {
    let c = win.c;
    let patch = win.kh * win.kw * c;
    let mut image = vec![0.0f64; win.input_len()];
    for (_, i, j) in win.outputs(1) {
        for a in 0..win.kh {
            for b in 0..win.kw {
                if let Some((r, q)) = win.cell(i, j, a, b) {
                    for ch in 0..c {
                        image[win.at(0, r, q, ch)] += f64::from(
                            col[(i * win.out_w() + j) * patch + (a * win.kw + b) * c + ch],
                        );
                    }
                }
            }
        }
    }
    image.into_iter().map(|v| v as f32).collect()
}

/// Keras' `MaxPooling2D`: the largest real cell of each window, per channel. Padded cells
/// never win (Keras pads with −∞).
pub fn max_pool(x: &[f32], win: &Window) -> Vec<f32> {
    let c = win.c;
    let rows = x.len() / win.input_len();
    let mut y = vec![0.0f32; rows * win.out_h() * win.out_w() * c];
    for (n, i, j) in win.outputs(rows) {
        for ch in 0..c {
            y[win.out_at(n, i, j, ch, c)] = win
                .cells(i, j)
                .iter()
                .map(|&(r, q)| x[win.at(n, r, q, ch)])
                .fold(f32::NEG_INFINITY, f32::max);
        }
    }
    y
}

/// The gradient of [`max_pool`]: each output's dL/dy onto the cell that held its maximum (the
/// first of equal maxima in row-major window order; tests avoid ties), summed in `f64` where
/// overlapping windows pick the same cell.
pub fn max_pool_backward(x: &[f32], dy: &[f32], win: &Window) -> Vec<f32> {
    let c = win.c;
    let rows = x.len() / win.input_len();
    let mut dx = vec![0.0f64; x.len()];
    for (n, i, j) in win.outputs(rows) {
        for ch in 0..c {
            let mut best: Option<(f32, usize)> = None;
            for (r, q) in win.cells(i, j) {
                let at = win.at(n, r, q, ch);
                if best.is_none_or(|(v, _)| x[at] > v) {
                    best = Some((x[at], at));
                }
            }
            // Every output's window holds at least one real cell (the shape's checks).
            debug_assert!(best.is_some(), "a pooling window without a real cell");
            let Some((_, at)) = best else { continue };
            dx[at] += f64::from(dy[win.out_at(n, i, j, ch, c)]);
        }
    }
    dx.into_iter().map(|v| v as f32).collect()
}

/// Keras' `AveragePooling2D`: the mean of each window's real cells (padded cells are not
/// counted: the divisor is the number of real cells, not the pool's area), in `f64`.
pub fn average_pool(x: &[f32], win: &Window) -> Vec<f32> {
    let c = win.c;
    let rows = x.len() / win.input_len();
    let mut y = vec![0.0f32; rows * win.out_h() * win.out_w() * c];
    for (n, i, j) in win.outputs(rows) {
        let cells = win.cells(i, j);
        for ch in 0..c {
            let sum: f64 = cells
                .iter()
                .map(|&(r, q)| f64::from(x[win.at(n, r, q, ch)]))
                .sum();
            y[win.out_at(n, i, j, ch, c)] = (sum / cells.len() as f64) as f32;
        }
    }
    y
}

/// The gradient of [`average_pool`]: each output's dL/dy divided by its window's real cells,
/// onto each of them, in `f64`. `dy` holds any number of whole pooled images.
pub fn average_pool_backward(dy: &[f32], win: &Window) -> Vec<f32> {
    let c = win.c;
    let rows = dy.len() / (win.out_h() * win.out_w() * c);
    let mut dx = vec![0.0f64; rows * win.input_len()];
    for (n, i, j) in win.outputs(rows) {
        let cells = win.cells(i, j);
        for ch in 0..c {
            let d = f64::from(dy[win.out_at(n, i, j, ch, c)]) / cells.len() as f64;
            for &(r, q) in &cells {
                dx[win.at(n, r, q, ch)] += d;
            }
        }
    }
    dx.into_iter().map(|v| v as f32).collect()
}

/// Keras' `GlobalAveragePooling2D` over images of `positions` cells of `c` channels: each
/// channel's mean over the positions, in `f64`.
pub fn global_average_pool(x: &[f32], positions: usize, c: usize) -> Vec<f32> {
    x.chunks_exact(positions * c)
        .flat_map(|image| {
            (0..c).map(move |ch| {
                let sum: f64 = (0..positions).map(|p| f64::from(image[p * c + ch])).sum();
                (sum / positions as f64) as f32
            })
        })
        .collect()
}

/// The gradient of [`global_average_pool`]: dL/dy[ch] / positions at every position.
pub fn global_average_pool_backward(dy: &[f32], positions: usize, c: usize) -> Vec<f32> {
    dy.chunks_exact(c)
        .flat_map(|d| {
            (0..positions * c).map(move |at| (f64::from(d[at % c]) / positions as f64) as f32)
        })
        .collect()
}

/// Keras' `GlobalMaxPooling2D`: each channel's largest value over the positions.
pub fn global_max_pool(x: &[f32], positions: usize, c: usize) -> Vec<f32> {
    x.chunks_exact(positions * c)
        .flat_map(|image| {
            (0..c).map(move |ch| {
                (0..positions)
                    .map(|p| image[p * c + ch])
                    .fold(f32::NEG_INFINITY, f32::max)
            })
        })
        .collect()
}

/// The gradient of [`global_max_pool`]: each channel's dL/dy onto the position holding its
/// maximum (the first of equal maxima), zeros elsewhere.
pub fn global_max_pool_backward(x: &[f32], dy: &[f32], positions: usize, c: usize) -> Vec<f32> {
    let mut dx = vec![0.0f32; x.len()];
    for (n, image) in x.chunks_exact(positions * c).enumerate() {
        for ch in 0..c {
            let mut best = 0;
            for p in 1..positions {
                if image[p * c + ch] > image[best * c + ch] {
                    best = p;
                }
            }
            dx[n * positions * c + best * c + ch] = dy[n * c + ch];
        }
    }
    dx
}

/// Per-channel mean and biased variance (÷N) of the N = len / c values of each channel of `x`
/// (every row and position), by the two-pass definition in `f64`.
fn channel_moments(x: &[f32], c: usize) -> (Vec<f64>, Vec<f64>) {
    let n = (x.len() / c) as f64;
    let mean: Vec<f64> = (0..c)
        .map(|ch| {
            x.iter()
                .skip(ch)
                .step_by(c)
                .map(|&v| f64::from(v))
                .sum::<f64>()
                / n
        })
        .collect();
    let var = (0..c)
        .map(|ch| {
            x.iter()
                .skip(ch)
                .step_by(c)
                .map(|&v| (f64::from(v) - mean[ch]).powi(2))
                .sum::<f64>()
                / n
        })
        .collect();
    (mean, var)
}

/// Keras' `BatchNormalization` in training mode over the last axis (`c` channels), in `f64`:
/// y = γ·(x − μ)/√(σ² + ε) + β with μ and σ² the mean and the biased variance (÷N) of each
/// channel's values in the batch. Returns (y, μ, σ²), the statistics as f32 for the moving
/// averages.
pub fn batch_norm_training(
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    c: usize,
    epsilon: f32,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let (mean, var) = channel_moments(x, c);
    let y = x
        .iter()
        .enumerate()
        .map(|(at, &v)| {
            let ch = at % c;
            let x_hat = (f64::from(v) - mean[ch]) / (var[ch] + f64::from(epsilon)).sqrt();
            (f64::from(gamma[ch]) * x_hat + f64::from(beta[ch])) as f32
        })
        .collect();
    let f32s = |v: Vec<f64>| v.into_iter().map(|v| v as f32).collect();
    (y, f32s(mean), f32s(var))
}

/// The gradients of [`batch_norm_training`] from dL/dy, by Ioffe and Szegedy's chain rule
/// (2015, §3) through the batch statistics, in `f64`: dx̂ = dy·γ,
/// dσ² = Σ dx̂·(x − μ)·(−½)(σ² + ε)^(−3/2), dμ = −Σ dx̂/√(σ² + ε) + dσ²·Σ −2(x − μ)/N,
/// dx = dx̂/√(σ² + ε) + dσ²·2(x − μ)/N + dμ/N, dγ = Σ dy·x̂, dβ = Σ dy.
/// Returns (dγ, dβ, dx).
pub fn batch_norm_backward(
    x: &[f32],
    gamma: &[f32],
    dy: &[f32],
    c: usize,
    epsilon: f32,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let n = (x.len() / c) as f64;
    let (mean, var) = channel_moments(x, c);
    let std: Vec<f64> = var
        .iter()
        .map(|v| (v + f64::from(epsilon)).sqrt())
        .collect();
    let (mut dgamma, mut dbeta) = (vec![0.0f64; c], vec![0.0f64; c]);
    let (mut dvar, mut dmean) = (vec![0.0f64; c], vec![0.0f64; c]);
    for (at, (&v, &d)) in x.iter().zip(dy).enumerate() {
        let ch = at % c;
        let (centred, d) = (f64::from(v) - mean[ch], f64::from(d));
        let dx_hat = d * f64::from(gamma[ch]);
        dgamma[ch] += d * centred / std[ch];
        dbeta[ch] += d;
        dvar[ch] += dx_hat * centred * -0.5 * std[ch].powi(-3);
        dmean[ch] -= dx_hat / std[ch];
    }
    for (at, &v) in x.iter().enumerate() {
        let ch = at % c;
        dmean[ch] += dvar[ch] * -2.0 * (f64::from(v) - mean[ch]) / n;
    }
    let dx = x
        .iter()
        .zip(dy)
        .enumerate()
        .map(|(at, (&v, &d))| {
            let ch = at % c;
            let dx_hat = f64::from(d) * f64::from(gamma[ch]);
            (dx_hat / std[ch] + dvar[ch] * 2.0 * (f64::from(v) - mean[ch]) / n + dmean[ch] / n)
                as f32
        })
        .collect();
    let f32s = |v: Vec<f64>| v.into_iter().map(|v| v as f32).collect();
    (f32s(dgamma), f32s(dbeta), dx)
}

/// Keras' inverted dropout in training: a kept value is scaled by 1/(1 − rate) (the scale
/// computed in `f64` and rounded once to f32, as Keras turns its Python float into the
/// tensor's dtype), a dropped one is 0. `keep[i]` says whether value `i` is kept.
pub fn dropout(x: &[f32], keep: &[bool], rate: f64) -> Vec<f32> {
    let scale = (1.0 / (1.0 - rate)) as f32;
    x.iter()
        .zip(keep)
        .map(|(&v, &k)| if k { v * scale } else { 0.0 })
        .collect()
}
