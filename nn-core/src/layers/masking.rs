//! Keras' `Masking(mask_value)`: a step whose every feature equals `mask_value` is masked for
//! the layers after it that use a mask, and its output is zeros (Keras 3 writes
//! `where(mask, x, 0)`); the other steps pass through.

use super::{Backward, Forward, Layer, Weights};
use crate::params::InitRng;
use crate::spec::WeightSpec;

/// `Masking(mask_value)` over (T, F) sequences.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Masking<const T: usize, const F: usize> {
    /// The value a masked step holds in every feature (Keras' default 0.0).
    pub mask_value: f32,
}

impl<const T: usize, const F: usize> Masking<T, F> {
    /// The layer for this mask value.
    pub const fn new(mask_value: f32) -> Self {
        Masking { mask_value }
    }

    /// Keras' rule: a step is kept when any feature differs from the mask value.
    fn keeps(&self, step: &[f32]) -> bool {
        step.iter().any(|&v| v != self.mask_value)
    }

    /// `where(keep, v, 0)` step by step: the output, or the gradient from dL/dy.
    fn gate(&self, input: &[f32], v: &[f32], out: &mut [f32]) {
        for ((step, v), out) in input
            .chunks_exact(F)
            .zip(v.chunks_exact(F))
            .zip(out.chunks_exact_mut(F))
        {
            if self.keeps(step) {
                out.copy_from_slice(v);
            } else {
                out.fill(0.0);
            }
        }
    }
}

impl<const T: usize, const F: usize> Layer for Masking<T, F> {
    const CLASS_NAME: &'static str = "Masking";
    const INPUT_WIDTH: usize = T * F;
    const OUTPUT_WIDTH: usize = T * F;
    const PARAMS: usize = 0;
    const MASK_STEPS: usize = T;

    fn weights(&self) -> Vec<WeightSpec> {
        Vec::new()
    }

    fn init(&self, _params: &mut [f32], _state: &mut [f32], _rng: &mut InitRng) {}

    fn forward(&self, _weights: Weights<'_>, pass: Forward<'_>) {
        self.gate(pass.input, pass.input, pass.output);
    }

    fn backward(&self, _weights: Weights<'_>, pass: Backward<'_>, _grads: &mut [f32]) {
        if let Some(dx) = pass.input_delta {
            self.gate(pass.input, pass.delta, dx);
        }
    }

    fn forward_one(&self, _weights: Weights<'_>, x: &[f32], y: &mut [f32]) {
        self.gate(x, x, y);
    }

    fn compute_mask(&self, input: &[f32], mask: &mut [f32]) {
        for (m, step) in mask.iter_mut().zip(input.chunks_exact(F)) {
            *m = if self.keeps(step) { 1.0 } else { 0.0 };
        }
    }
}
