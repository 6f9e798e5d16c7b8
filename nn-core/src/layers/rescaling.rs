//! Keras' `Rescaling(scale, offset)`: `x · scale + offset`, a preprocessing step a model can
//! carry into an app (pixels 0–255 to 0–1). `scale` and `offset` are numbers or one per
//! feature of the last axis. Computed as Keras computes it in float32: a multiply, then an add
//! (two roundings, no fused multiply-add). No weights; the gradient passes back times `scale`.

use super::{Backward, Forward, Layer, Weights};
use crate::params::InitRng;
use crate::spec::WeightSpec;

/// `Rescaling` over rows of `WIDTH` values whose last axis has `F` values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rescaling<const WIDTH: usize, const F: usize> {
    /// Per feature of the last axis (a single number broadcast by the macro).
    pub scale: [f32; F],
    /// Per feature of the last axis.
    pub offset: [f32; F],
}

impl<const WIDTH: usize, const F: usize> Rescaling<WIDTH, F> {
    /// The layer computing `x · scale + offset` per feature.
    pub const fn new(scale: [f32; F], offset: [f32; F]) -> Self {
        Rescaling { scale, offset }
    }

    fn rows(&self, input: &[f32], output: &mut [f32]) {
        for (y, x) in output.chunks_exact_mut(F).zip(input.chunks_exact(F)) {
            for (((y, &x), &s), &o) in y.iter_mut().zip(x).zip(&self.scale).zip(&self.offset) {
                *y = x * s + o;
            }
        }
    }
}

impl<const WIDTH: usize, const F: usize> Layer for Rescaling<WIDTH, F> {
    const CLASS_NAME: &'static str = "Rescaling";
    const INPUT_WIDTH: usize = WIDTH;
    const OUTPUT_WIDTH: usize = WIDTH;
    const PARAMS: usize = 0;
    const MACS_PER_ROW: usize = WIDTH;

    fn weights(&self) -> Vec<WeightSpec> {
        Vec::new()
    }

    fn init(&self, _params: &mut [f32], _state: &mut [f32], _rng: &mut InitRng) {}

    fn forward(&self, _weights: Weights<'_>, pass: Forward<'_>) {
        self.rows(pass.input, pass.output);
    }

    fn backward(&self, _weights: Weights<'_>, pass: Backward<'_>, _grads: &mut [f32]) {
        if let Some(dx) = pass.input_delta {
            for (dx, dy) in dx.chunks_exact_mut(F).zip(pass.delta.chunks_exact(F)) {
                for ((dx, &dy), &s) in dx.iter_mut().zip(dy).zip(&self.scale) {
                    *dx = dy * s;
                }
            }
        }
    }

    fn forward_one(&self, _weights: Weights<'_>, x: &[f32], y: &mut [f32]) {
        self.rows(x, y);
    }
}
