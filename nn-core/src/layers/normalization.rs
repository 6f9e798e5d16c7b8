//! Keras' `Normalization`: each feature of the last axis standardised,
//! `(x − mean) / max(√variance, ε)` with ε = 1e-7 (Keras' `backend.epsilon()`), or with
//! `invert` the reverse, `mean + x · max(√variance, ε)` (a model's output back in the data's
//! units). Computed as Keras computes it in float32: subtract, square root, maximum, divide.
//!
//! The mean and variance are either the layer's arguments (`mean=`, `variance=`: constants, no
//! weights, as in Keras) or data-dependent state: then the layer has Keras' three
//! non-trainable weights `mean`, `variance` and an integer `count` (which Keras 3 keeps for old
//! files and never changes), set by the model's `adapt` from the rows that reach the layer
//! ([`Layer::adapt_rows`]): the population mean and variance per feature, as Keras' `adapt`.

use super::{weight, Backward, Forward, Layer, Weights};
use crate::params::InitRng;
use crate::spec::{Dtype, WeightSpec};

/// Keras' `backend.epsilon()`: the smallest standard deviation the layer divides by.
const EPSILON: f32 = 1e-7;

/// `Normalization` over rows of `WIDTH` values whose last axis has `F` values. `ADAPTS`: the
/// statistics are state that `adapt` sets (Keras' weights `mean`, `variance`, `count`); else
/// the constants in the value. `INVERT`: Keras' `invert=True`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Normalization<const WIDTH: usize, const F: usize, const INVERT: bool, const ADAPTS: bool>
{
    /// The given means (unused when `ADAPTS`).
    pub mean: [f32; F],
    /// The given variances (unused when `ADAPTS`).
    pub variance: [f32; F],
}

impl<const WIDTH: usize, const F: usize, const INVERT: bool>
    Normalization<WIDTH, F, INVERT, false>
{
    /// The layer with Keras' `mean=` and `variance=` arguments, one per feature.
    pub const fn fixed(mean: [f32; F], variance: [f32; F]) -> Self {
        Normalization { mean, variance }
    }
}

impl<const WIDTH: usize, const F: usize, const INVERT: bool> Normalization<WIDTH, F, INVERT, true> {
    /// The layer whose statistics `adapt` computes (mean 0, variance 1 until then).
    pub const fn adapted() -> Self {
        Normalization {
            mean: [0.0; F],
            variance: [1.0; F],
        }
    }
}

/// Where `adapt`'s accumulator keeps its running statistics (f64): the values seen per
/// feature, then per feature the mean and the sum of squared deviations (Chan's parallel form).
const SEEN: usize = 0;

impl<const WIDTH: usize, const F: usize, const INVERT: bool, const ADAPTS: bool>
    Normalization<WIDTH, F, INVERT, ADAPTS>
{
    /// The mean and variance in use: the state's when adapted, else the arguments.
    fn moments<'a>(&'a self, weights: &Weights<'a>) -> (&'a [f32], &'a [f32]) {
        if ADAPTS {
            let (mean, rest) = weights.state.split_at(F.min(weights.state.len()));
            (mean, rest.get(..F).unwrap_or_default())
        } else {
            (&self.mean, &self.variance)
        }
    }

    /// Each feature's divisor, max(√variance, ε): once per pass, not per value.
    fn stds(variance: &[f32]) -> [f32; F] {
        let mut std = [EPSILON; F];
        for (s, &v) in std.iter_mut().zip(variance) {
            *s = v.sqrt().max(EPSILON);
        }
        std
    }

    fn rows(&self, weights: &Weights<'_>, input: &[f32], output: &mut [f32]) {
        let (mean, variance) = self.moments(weights);
        let std = Self::stds(variance);
        for (y, x) in output.chunks_exact_mut(F).zip(input.chunks_exact(F)) {
            for (((y, &x), &m), &s) in y.iter_mut().zip(x).zip(mean).zip(&std) {
                *y = if INVERT { m + x * s } else { (x - m) / s };
            }
        }
    }
}

impl<const WIDTH: usize, const F: usize, const INVERT: bool, const ADAPTS: bool> Layer
    for Normalization<WIDTH, F, INVERT, ADAPTS>
{
    const CLASS_NAME: &'static str = "Normalization";
    const INPUT_WIDTH: usize = WIDTH;
    const OUTPUT_WIDTH: usize = WIDTH;
    const PARAMS: usize = 0;
    const STATE: usize = if ADAPTS { 2 * F + 1 } else { 0 };
    const MACS_PER_ROW: usize = WIDTH;
    const ADAPTS: bool = ADAPTS;
    const ADAPT_LEN: usize = if ADAPTS { 1 + 2 * F } else { 0 };

    fn weights(&self) -> Vec<WeightSpec> {
        if ADAPTS {
            let mut count = weight("count", Vec::new(), false);
            count.dtype = Dtype::Int32;
            vec![
                weight("mean", vec![F], false),
                weight("variance", vec![F], false),
                count,
            ]
        } else {
            Vec::new()
        }
    }

    fn init(&self, _params: &mut [f32], state: &mut [f32], _rng: &mut InitRng) {
        if ADAPTS {
            // Keras: mean zeros, variance ones, count zero.
            for (i, s) in state.iter_mut().enumerate() {
                *s = if (F..2 * F).contains(&i) { 1.0 } else { 0.0 };
            }
        }
    }

    fn forward(&self, weights: Weights<'_>, pass: Forward<'_>) {
        self.rows(&weights, pass.input, pass.output);
    }

    fn backward(&self, weights: Weights<'_>, pass: Backward<'_>, _grads: &mut [f32]) {
        let Some(dx) = pass.input_delta else { return };
        let std = Self::stds(self.moments(&weights).1);
        for (dx, dy) in dx.chunks_exact_mut(F).zip(pass.delta.chunks_exact(F)) {
            for ((dx, &dy), &s) in dx.iter_mut().zip(dy).zip(&std) {
                *dx = if INVERT { dy * s } else { dy / s };
            }
        }
    }

    fn forward_one(&self, weights: Weights<'_>, x: &[f32], y: &mut [f32]) {
        self.rows(&weights, x, y);
    }

    fn adapt_rows(&self, acc: &mut [f64], input: &[f32], rows: usize) {
        // Values per feature in this chunk: every row, and every position of an image.
        let per_feature = input.len() / F.max(1);
        if !ADAPTS || rows == 0 || per_feature == 0 {
            return;
        }
        let Some((seen, stats)) = acc.split_first_mut() else {
            return;
        };
        let (mean, m2) = stats.split_at_mut(F.min(stats.len()));
        // This chunk's own mean and squared deviations per feature, then Chan's merge with
        // what came before: in f64, so how the rows were cut changes only the last bits of an
        // f64, far below the f32 the statistics are stored in.
        let n = per_feature as f64;
        let before = *seen;
        for f in 0..F {
            let column = input.iter().skip(f).step_by(F).map(|&v| f64::from(v));
            let chunk_mean = column.clone().sum::<f64>() / n;
            let chunk_m2: f64 = column.map(|v| (v - chunk_mean) * (v - chunk_mean)).sum();
            if let (Some(m), Some(q)) = (mean.get_mut(f), m2.get_mut(f)) {
                let total = before + n;
                let delta = chunk_mean - *m;
                *m += delta * n / total;
                *q += chunk_m2 + delta * delta * before * n / total;
            }
        }
        *seen = before + n;
    }

    fn adapt_finish(&self, acc: &[f64], state: &mut [f32]) {
        if !ADAPTS {
            return;
        }
        let seen = acc.get(SEEN).copied().unwrap_or(0.0).max(1.0);
        let stats = acc.get(1..).unwrap_or_default();
        let (mean, m2) = stats.split_at(F.min(stats.len()));
        let (mean_out, rest) = state.split_at_mut(F.min(state.len()));
        let (var_out, _count) = rest.split_at_mut(F.min(rest.len()));
        for (o, &m) in mean_out.iter_mut().zip(mean) {
            *o = m as f32;
        }
        for (o, &q) in var_out.iter_mut().zip(m2) {
            *o = (q / seen) as f32;
        }
    }
}
