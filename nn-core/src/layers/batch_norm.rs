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
    /// The network gives the layer exactly `PARAMS` values; a shorter slice (a caller bug)
    /// yields an empty γ or β, which the per-channel zips below then treat as absent values.
    fn gamma_beta(params: &[f32]) -> (Option<&[f32]>, Option<&[f32]>) {
        debug_assert_eq!(
            params.len(),
            Self::PARAMS,
            "batch norm: parameters of another size"
        );
        let (gamma, rest) = params.split_at(if SCALE { C.min(params.len()) } else { 0 });
        let beta = rest.get(..C).unwrap_or(rest);
        (SCALE.then_some(gamma), CENTER.then_some(beta))
    }

    /// `y = x·inv + shift` per channel, for rows of `WIDTH`.
    fn normalise(input: &[f32], output: &mut [f32], inv: &[f32; C], shift: &[f32; C]) {
        for (x, y) in input.chunks_exact(C).zip(output.chunks_exact_mut(C)) {
            for (((y, x), inv), shift) in y.iter_mut().zip(x).zip(inv).zip(shift) {
                *y = x * inv + shift;
            }
        }
    }

    /// TensorFlow's `inv = γ·rsqrt(var + ε)` and `shift = β − mean·inv` for given statistics.
    fn affine(&self, params: &[f32], mean: &[f32], var: &[f32]) -> ([f32; C], [f32; C]) {
        let (gamma, beta) = Self::gamma_beta(params);
        let (mut inv, mut shift) = ([0.0f32; C], [0.0f32; C]);
        for (inv, var) in inv.iter_mut().zip(var) {
            *inv = 1.0 / (var + self.epsilon).sqrt();
        }
        if let Some(g) = gamma {
            for (inv, g) in inv.iter_mut().zip(g) {
                *inv *= g;
            }
        }
        for (c, ((shift, inv), mean)) in shift.iter_mut().zip(&inv).zip(mean).enumerate() {
            let b = beta.and_then(|b| b.get(c)).copied().unwrap_or(0.0);
            *shift = b - mean * inv;
        }
        (inv, shift)
    }

    /// Inference: the moving statistics.
    fn forward_inference(&self, weights: Weights<'_>, input: &[f32], output: &mut [f32]) {
        let (mean, var) = weights.state.split_at(C.min(weights.state.len()));
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
        let (gamma, beta) = params.split_at_mut(at.min(params.len()));
        gamma.fill(1.0);
        beta.fill(0.0);
        let (mean, var) = state.split_at_mut(C.min(state.len()));
        mean.fill(0.0);
        var.fill(1.0);
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
        // The tape gives a training pass `scratch_len(rows, true)` values: the statistics,
        // then x̂. The zips below stop at the shorter side should a caller break that.
        debug_assert!(
            pass.scratch.len() >= STATS * C + len,
            "batch norm: scratch too short"
        );
        let (stats, x_hat) = pass
            .scratch
            .split_at_mut((STATS * C).min(pass.scratch.len()));
        let n = (len / C) as f64;
        // Two passes, as TensorFlow's moments: the mean, then the mean squared difference.
        // Sums in f64 so the statistics do not depend on the batch size's rounding.
        let mut sum = [0.0f64; C];
        for x in pass.input.chunks_exact(C) {
            for (s, x) in sum.iter_mut().zip(x) {
                *s += f64::from(*x);
            }
        }
        let mean: [f32; C] = sum.map(|s| (s / n) as f32);
        let mut sq = [0.0f64; C];
        for x in pass.input.chunks_exact(C) {
            for ((s, x), m) in sq.iter_mut().zip(x).zip(&mean) {
                let d = f64::from(x - m);
                *s += d * d;
            }
        }
        let var: [f32; C] = sq.map(|s| (s / n) as f32);
        let inv_std: [f32; C] = var.map(|v| 1.0 / (v + self.epsilon).sqrt());
        for (k, values) in [(MEAN, &mean), (VAR, &var), (INV_STD, &inv_std)] {
            if let Some(slot) = stats.get_mut(k * C..(k + 1) * C) {
                slot.copy_from_slice(values);
            }
        }
        for (x, h) in pass
            .input
            .chunks_exact(C)
            .zip(x_hat.chunks_exact_mut(C))
            .take(len / C)
        {
            for (((h, x), m), s) in h.iter_mut().zip(x).zip(&mean).zip(&inv_std) {
                *h = (x - m) * s;
            }
        }
        let (inv, shift) = self.affine(weights.params, &mean, &var);
        Self::normalise(pass.input, pass.output, &inv, &shift);
    }

    fn backward(&self, weights: Weights<'_>, pass: Backward<'_>, grads: &mut [f32]) {
        let len = pass.rows * WIDTH;
        // As in `forward`: the statistics, then x̂, in a scratch the tape sized for them.
        debug_assert!(
            pass.scratch.len() >= STATS * C + len,
            "batch norm: scratch too short"
        );
        let (stats, x_hat) = pass.scratch.split_at((STATS * C).min(pass.scratch.len()));
        let inv_std = stats
            .get(INV_STD * C..(INV_STD + 1) * C)
            .unwrap_or_default();
        let (gamma, _) = Self::gamma_beta(weights.params);
        let mut sum_dy = [0.0f64; C];
        let mut sum_dy_xhat = [0.0f64; C];
        for (dy, h) in pass
            .delta
            .chunks_exact(C)
            .zip(x_hat.chunks_exact(C))
            .take(len / C)
        {
            for (((s, sx), dy), h) in sum_dy.iter_mut().zip(&mut sum_dy_xhat).zip(dy).zip(h) {
                *s += f64::from(*dy);
                *sx += f64::from(*dy) * f64::from(*h);
            }
        }
        // `grads` is the layer's `PARAMS` values: γ's gradient (when SCALE), then β's.
        let (d_gamma, d_beta) = grads.split_at_mut(if SCALE { C.min(grads.len()) } else { 0 });
        if SCALE {
            for (g, s) in d_gamma.iter_mut().zip(&sum_dy_xhat) {
                *g = *s as f32;
            }
        }
        if CENTER {
            for (g, s) in d_beta.iter_mut().zip(&sum_dy) {
                *g = *s as f32;
            }
        }
        let Some(dx) = pass.input_delta else { return };
        let n = (len / C) as f64;
        // dx = γ·inv_std · (dy − mean(dy) − x̂·mean(dy·x̂))
        let mut scale = [0.0f32; C];
        for (c, (s, inv)) in scale.iter_mut().zip(inv_std).enumerate() {
            let g = gamma.and_then(|g| g.get(c)).copied().unwrap_or(1.0);
            *s = g * inv;
        }
        let mean_dy: [f32; C] = sum_dy.map(|s| (s / n) as f32);
        let mean_dy_xhat: [f32; C] = sum_dy_xhat.map(|s| (s / n) as f32);
        for ((dx, dy), h) in dx
            .chunks_exact_mut(C)
            .zip(pass.delta.chunks_exact(C))
            .zip(x_hat.chunks_exact(C))
        {
            let per_channel = scale.iter().zip(&mean_dy).zip(&mean_dy_xhat);
            for (((dx, dy), h), ((s, m), mh)) in dx.iter_mut().zip(dy).zip(h).zip(per_channel) {
                *dx = s * (dy - m - h * mh);
            }
        }
    }

    fn forward_one(&self, weights: Weights<'_>, x: &[f32], y: &mut [f32]) {
        self.forward_inference(weights, x, y);
    }

    /// The moving averages, from the statistics of the last training pass.
    fn update_state(&self, state: &mut [f32], scratch: &[f32], _rows: usize) {
        let (moving_mean, moving_var) = state.split_at_mut(C.min(state.len()));
        let keep = self.momentum as f32;
        let take = (1.0 - self.momentum) as f32;
        let stat = |k: usize| scratch.get(k * C..(k + 1) * C).unwrap_or_default();
        for (m, s) in moving_mean.iter_mut().zip(stat(MEAN)) {
            *m = *m * keep + s * take;
        }
        for (v, s) in moving_var.iter_mut().zip(stat(VAR)) {
            *v = *v * keep + s * take;
        }
    }
}
