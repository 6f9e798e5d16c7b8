//! `BatchNormalization` over the last axis, as Keras 3 computes it on TensorFlow.
//!
//! Training: each channel is normalised with the mean and the biased variance (÷N) of its N
//! values in the batch (every row and, for an image, every position), and those same statistics
//! feed the moving averages: `moving = moving·momentum + batch·(1 − momentum)`. Inference: the
//! moving statistics instead. Both apply TensorFlow's `batch_normalization` form:
//! `inv = γ / √(var + ε)`, `y = x·inv + (β − mean·inv)`. The gradient flows through the batch
//! statistics: `dx = inv/N · (N·dy − Σdy − x̂·Σ(dy·x̂))`.

use super::{weight, Backward, Forward, Layer, Phase, Weights};
use crate::params::InitRng;
use crate::spec::WeightSpec;

/// Keras' `BatchNormalization(momentum, epsilon, center, scale)` over rows of `WIDTH` values
/// whose last axis (the normalised one) has `C` values. `SCALE` gives it γ, `CENTER` β
/// (trainable, in that order); the moving mean and variance are its non-trainable state.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchNormalization<
    const WIDTH: usize,
    const C: usize,
    const CENTER: bool = true,
    const SCALE: bool = true,
> {
    /// Weight of the old value in the moving averages (Keras' default 0.99). `f64` as Keras'
    /// Python float: the new value's weight is `1 − momentum` rounded once, as Keras rounds it.
    pub momentum: f64,
    /// Added to the variance before its square root (Keras' default 1e-3).
    pub epsilon: f32,
}

/// Where a training pass keeps its statistics in the scratch: per channel mean, variance and
/// 1/√(var + ε), then x̂ for every value of the pass.
const MEAN: usize = 0;
const VAR: usize = 1;
const INV_STD: usize = 2;
const STATS: usize = 3;

impl<const WIDTH: usize, const C: usize, const CENTER: bool, const SCALE: bool>
    BatchNormalization<WIDTH, C, CENTER, SCALE>
{
    /// The layer with these settings.
    pub const fn new(momentum: f64, epsilon: f32) -> Self {
        BatchNormalization { momentum, epsilon }
    }

    /// γ (ones when the layer has no scale) and β (zeros when it has no center).
    fn gamma_beta(params: &[f32]) -> (Option<&[f32]>, Option<&[f32]>) {
        let gamma = SCALE.then(|| &params[..C]);
        let at = if SCALE { C } else { 0 };
        let beta = CENTER.then(|| &params[at..at + C]);
        (gamma, beta)
    }

    /// `y = x·inv + shift` per channel, for rows of `WIDTH`.
    fn normalise(input: &[f32], output: &mut [f32], inv: &[f32; C], shift: &[f32; C]) {
        for (x, y) in input.chunks_exact(C).zip(output.chunks_exact_mut(C)) {
            for c in 0..C {
                y[c] = x[c] * inv[c] + shift[c];
            }
        }
    }

    /// TensorFlow's `inv = γ·rsqrt(var + ε)` and `shift = β − mean·inv` for given statistics.
    fn affine(&self, params: &[f32], mean: &[f32], var: &[f32]) -> ([f32; C], [f32; C]) {
        let (gamma, beta) = Self::gamma_beta(params);
        let (mut inv, mut shift) = ([0.0f32; C], [0.0f32; C]);
        for c in 0..C {
            inv[c] = 1.0 / (var[c] + self.epsilon).sqrt();
            if let Some(g) = gamma {
                inv[c] *= g[c];
            }
            shift[c] = beta.map_or(0.0, |b| b[c]) - mean[c] * inv[c];
        }
        (inv, shift)
    }

    /// Inference: the moving statistics.
    fn forward_inference(&self, weights: Weights<'_>, input: &[f32], output: &mut [f32]) {
        let (mean, var) = weights.state.split_at(C);
        let (inv, shift) = self.affine(weights.params, mean, var);
        Self::normalise(input, output, &inv, &shift);
    }
}

impl<const WIDTH: usize, const C: usize, const CENTER: bool, const SCALE: bool> Layer
    for BatchNormalization<WIDTH, C, CENTER, SCALE>
{
    const CLASS_NAME: &'static str = "BatchNormalization";
    const INPUT_WIDTH: usize = WIDTH;
    const OUTPUT_WIDTH: usize = WIDTH;
    const PARAMS: usize = C * (SCALE as usize + CENTER as usize);
    const STATE: usize = 2 * C;
    const MACS_PER_ROW: usize = WIDTH;
    const COUPLES_ROWS: bool = true;

    fn weights(&self) -> Vec<WeightSpec> {
        let mut w = Vec::new();
        if SCALE {
            w.push(weight("gamma", vec![C], true));
        }
        if CENTER {
            w.push(weight("beta", vec![C], true));
        }
        w.push(weight("moving_mean", vec![C], false));
        w.push(weight("moving_variance", vec![C], false));
        w
    }

    /// γ = 1, β = 0, moving mean 0, moving variance 1.
    fn init(&self, params: &mut [f32], state: &mut [f32], _rng: &mut InitRng) {
        let at = if SCALE { C } else { 0 };
        params[..at].fill(1.0);
        params[at..].fill(0.0);
        state[..C].fill(0.0);
        state[C..].fill(1.0);
    }

    fn scratch_len(&self, rows: usize, training: bool) -> usize {
        if training {
            STATS * C + rows * WIDTH
        } else {
            0
        }
    }

    fn forward(&self, weights: Weights<'_>, pass: Forward<'_>) {
        let len = pass.rows * WIDTH;
        if pass.phase == Phase::Inference {
            return self.forward_inference(weights, pass.input, pass.output);
        }
        let (stats, x_hat) = pass.scratch.split_at_mut(STATS * C);
        let x_hat = &mut x_hat[..len];
        let n = (len / C) as f64;
        // Two passes, as TensorFlow's moments: the mean, then the mean squared difference.
        // Sums in f64 so the statistics do not depend on the batch size's rounding.
        let mut sum = [0.0f64; C];
        for x in pass.input.chunks_exact(C) {
            for c in 0..C {
                sum[c] += f64::from(x[c]);
            }
        }
        let mean: [f32; C] = std::array::from_fn(|c| (sum[c] / n) as f32);
        let mut sq = [0.0f64; C];
        for x in pass.input.chunks_exact(C) {
            for c in 0..C {
                let d = f64::from(x[c] - mean[c]);
                sq[c] += d * d;
            }
        }
        let var: [f32; C] = std::array::from_fn(|c| (sq[c] / n) as f32);
        let inv_std: [f32; C] = std::array::from_fn(|c| 1.0 / (var[c] + self.epsilon).sqrt());
        stats[MEAN * C..][..C].copy_from_slice(&mean);
        stats[VAR * C..][..C].copy_from_slice(&var);
        stats[INV_STD * C..][..C].copy_from_slice(&inv_std);
        for (x, h) in pass.input.chunks_exact(C).zip(x_hat.chunks_exact_mut(C)) {
            for c in 0..C {
                h[c] = (x[c] - mean[c]) * inv_std[c];
            }
        }
        let (inv, shift) = self.affine(weights.params, &mean, &var);
        Self::normalise(pass.input, pass.output, &inv, &shift);
    }

    fn backward(&self, weights: Weights<'_>, pass: Backward<'_>, grads: &mut [f32]) {
        let len = pass.rows * WIDTH;
        let (stats, x_hat) = pass.scratch.split_at(STATS * C);
        let x_hat = &x_hat[..len];
        let inv_std = &stats[INV_STD * C..][..C];
        let (gamma, _) = Self::gamma_beta(weights.params);
        let mut sum_dy = [0.0f64; C];
        let mut sum_dy_xhat = [0.0f64; C];
        for (dy, h) in pass.delta.chunks_exact(C).zip(x_hat.chunks_exact(C)) {
            for c in 0..C {
                sum_dy[c] += f64::from(dy[c]);
                sum_dy_xhat[c] += f64::from(dy[c]) * f64::from(h[c]);
            }
        }
        let at = if SCALE { C } else { 0 };
        if SCALE {
            for c in 0..C {
                grads[c] = sum_dy_xhat[c] as f32;
            }
        }
        if CENTER {
            for c in 0..C {
                grads[at + c] = sum_dy[c] as f32;
            }
        }
        let Some(dx) = pass.input_delta else { return };
        let n = (len / C) as f64;
        // dx = γ·inv_std · (dy − mean(dy) − x̂·mean(dy·x̂))
        let scale: [f32; C] = std::array::from_fn(|c| gamma.map_or(1.0, |g| g[c]) * inv_std[c]);
        let mean_dy: [f32; C] = std::array::from_fn(|c| (sum_dy[c] / n) as f32);
        let mean_dy_xhat: [f32; C] = std::array::from_fn(|c| (sum_dy_xhat[c] / n) as f32);
        for ((dx, dy), h) in dx
            .chunks_exact_mut(C)
            .zip(pass.delta.chunks_exact(C))
            .zip(x_hat.chunks_exact(C))
        {
            for c in 0..C {
                dx[c] = scale[c] * (dy[c] - mean_dy[c] - h[c] * mean_dy_xhat[c]);
            }
        }
    }

    fn forward_one(&self, weights: Weights<'_>, x: &[f32], y: &mut [f32]) {
        self.forward_inference(weights, x, y);
    }

    /// The moving averages, from the statistics of the last training pass.
    fn update_state(&self, state: &mut [f32], scratch: &[f32], _rows: usize) {
        let (moving_mean, moving_var) = state.split_at_mut(C);
        let keep = self.momentum as f32;
        let take = (1.0 - self.momentum) as f32;
        for c in 0..C {
            moving_mean[c] = moving_mean[c] * keep + scratch[MEAN * C + c] * take;
            moving_var[c] = moving_var[c] * keep + scratch[VAR * C + c] * take;
        }
    }
}
