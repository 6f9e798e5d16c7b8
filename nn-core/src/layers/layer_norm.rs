//! Keras' `LayerNormalization` over the last axis: each step (each row of a flat input, each
//! timestep of a sequence) normalised by its own mean and biased variance, in Keras 3's form
//! `inv = γ / √(var + ε)`, `y = x·inv + (β − mean·inv)`, the same in training and inference.
//! The gradient: with x̂ = (x − mean)/√(var + ε) and g = dy·γ,
//! `dx = (1/√(var + ε)) · (g − mean(g) − x̂·mean(g·x̂))`, dγ = Σ dy·x̂, dβ = Σ dy.

use super::{head_mut, weight, Backward, Forward, Layer, Weights};
use crate::params::InitRng;
use crate::spec::WeightSpec;

/// `LayerNormalization(epsilon, center = CENTER, scale = SCALE)` over rows of `WIDTH` values
/// whose last axis has `F` values. Parameters: γ (`SCALE`), then β (`CENTER`), Keras' order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerNormalization<
    const WIDTH: usize,
    const F: usize,
    const CENTER: bool = true,
    const SCALE: bool = true,
> {
    /// Added to the variance before its square root (Keras' default 1e-3).
    pub epsilon: f32,
}

impl<const WIDTH: usize, const F: usize, const CENTER: bool, const SCALE: bool>
    LayerNormalization<WIDTH, F, CENTER, SCALE>
{
    /// The layer with this epsilon.
    pub const fn new(epsilon: f32) -> Self {
        LayerNormalization { epsilon }
    }

    /// γ and β from the parameters (ones and zeros for the ones the layer does not have).
    fn gamma_beta(params: &[f32]) -> (Option<&[f32]>, Option<&[f32]>) {
        let (gamma, rest) = if SCALE {
            let (g, rest) = params.split_at(F.min(params.len()));
            (Some(g), rest)
        } else {
            (None, params)
        };
        (gamma, CENTER.then(|| rest.get(..F).unwrap_or_default()))
    }

    /// One step: writes y and returns (mean, 1/√(var + ε)).
    fn step(&self, params: &[f32], x: &[f32], y: &mut [f32]) -> (f32, f32) {
        let n = x.len().max(1) as f32;
        let mean = x.iter().sum::<f32>() / n;
        let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
        let inv_std = 1.0 / (var + self.epsilon).sqrt();
        let (gamma, beta) = Self::gamma_beta(params);
        for (i, (y, &x)) in y.iter_mut().zip(x).enumerate() {
            let inv = inv_std * gamma.and_then(|g| g.get(i)).copied().unwrap_or(1.0);
            let offset = beta.and_then(|b| b.get(i)).copied().unwrap_or(0.0);
            *y = x * inv + (offset - mean * inv);
        }
        (mean, inv_std)
    }
}

impl<const WIDTH: usize, const F: usize, const CENTER: bool, const SCALE: bool> Layer
    for LayerNormalization<WIDTH, F, CENTER, SCALE>
{
    const CLASS_NAME: &'static str = "LayerNormalization";
    const INPUT_WIDTH: usize = WIDTH;
    const OUTPUT_WIDTH: usize = WIDTH;
    const PARAMS: usize = if SCALE { F } else { 0 } + if CENTER { F } else { 0 };
    const MACS_PER_ROW: usize = 3 * WIDTH;

    fn weights(&self) -> Vec<WeightSpec> {
        let mut w = Vec::new();
        if SCALE {
            w.push(weight("gamma", vec![F], true));
        }
        if CENTER {
            w.push(weight("beta", vec![F], true));
        }
        w
    }

    /// Keras: γ ones, β zeros.
    fn init(&self, params: &mut [f32], _state: &mut [f32], _rng: &mut InitRng) {
        let gammas = if SCALE { F } else { 0 };
        for (i, p) in params.iter_mut().enumerate() {
            *p = if i < gammas { 1.0 } else { 0.0 };
        }
    }

    /// Training: each step's 1/√(var + ε), then x̂ for every value.
    fn scratch_len(&self, rows: usize, training: bool) -> usize {
        if training {
            rows * (WIDTH / F.max(1) + WIDTH)
        } else {
            0
        }
    }

    fn forward(&self, weights: Weights<'_>, pass: Forward<'_>) {
        let steps = pass.rows * (WIDTH / F.max(1));
        let (inv_stds, x_hat) = pass.scratch.split_at_mut(steps.min(pass.scratch.len()));
        let keep = !x_hat.is_empty();
        let x_hat = head_mut(x_hat, if keep { pass.rows * WIDTH } else { 0 });
        for (s, (x, y)) in pass
            .input
            .chunks_exact(F.max(1))
            .zip(pass.output.chunks_exact_mut(F.max(1)))
            .enumerate()
        {
            let (mean, inv_std) = self.step(weights.params, x, y);
            if keep {
                if let Some(slot) = inv_stds.get_mut(s) {
                    *slot = inv_std;
                }
                if let Some(h) = x_hat.get_mut(s * F..(s + 1) * F) {
                    for (h, &x) in h.iter_mut().zip(x) {
                        *h = (x - mean) * inv_std;
                    }
                }
            }
        }
    }

    fn backward(&self, weights: Weights<'_>, pass: Backward<'_>, grads: &mut [f32]) {
        let steps = pass.rows * (WIDTH / F.max(1));
        let (inv_stds, x_hat) = pass.scratch.split_at(steps.min(pass.scratch.len()));
        let (gamma, _) = Self::gamma_beta(weights.params);
        grads.fill(0.0);
        let (d_gamma, d_beta) = grads.split_at_mut(if SCALE { F.min(grads.len()) } else { 0 });
        let mut input_delta = pass.input_delta;
        let n = F.max(1) as f32;
        for (s, (dy, h)) in pass
            .delta
            .chunks_exact(F.max(1))
            .zip(x_hat.chunks_exact(F.max(1)))
            .enumerate()
        {
            for (i, (&d, &h)) in dy.iter().zip(h).enumerate() {
                if let Some(g) = d_gamma.get_mut(i) {
                    *g += d * h;
                }
                if let Some(b) = d_beta.get_mut(i) {
                    *b += d;
                }
            }
            let Some(dx) = input_delta
                .as_deref_mut()
                .and_then(|dx| dx.get_mut(s * F..(s + 1) * F))
            else {
                continue;
            };
            let inv_std = inv_stds.get(s).copied().unwrap_or(0.0);
            let g = |i: usize, d: f32| d * gamma.and_then(|g| g.get(i)).copied().unwrap_or(1.0);
            let (mut sum, mut dot) = (0.0f32, 0.0f32);
            for (i, (&d, &h)) in dy.iter().zip(h).enumerate() {
                sum += g(i, d);
                dot += g(i, d) * h;
            }
            let (mean_g, mean_gh) = (sum / n, dot / n);
            for (i, (dx, (&d, &h))) in dx.iter_mut().zip(dy.iter().zip(h)).enumerate() {
                *dx = inv_std * (g(i, d) - mean_g - h * mean_gh);
            }
        }
    }

    fn forward_one(&self, weights: Weights<'_>, x: &[f32], y: &mut [f32]) {
        for (x, y) in x.chunks_exact(F.max(1)).zip(y.chunks_exact_mut(F.max(1))) {
            self.step(weights.params, x, y);
        }
    }
}
