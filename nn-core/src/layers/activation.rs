//! Keras' `Activation(name)` layer: an activation on its own, over the last axis for softmax.

use super::{Backward, Forward, Layer, Weights};
use crate::kernels::activations::Activation;
use crate::kernels::dense::Delta;
use crate::params::InitRng;
use crate::spec::WeightSpec;

/// `Activation(A)` over rows of `WIDTH` values whose last axis has `LAST` values (the units a
/// softmax normalises over: the channels of an image, or the whole row of a flat input).
#[derive(Clone, Copy, Debug)]
pub struct ActivationLayer<const WIDTH: usize, const LAST: usize, A: Activation> {
    /// The activation.
    pub activation: A,
}

impl<const WIDTH: usize, const LAST: usize, A: Activation> ActivationLayer<WIDTH, LAST, A> {
    /// The layer applying `activation`.
    pub const fn new(activation: A) -> Self {
        ActivationLayer { activation }
    }

    /// act over `values` in place, row-wise over runs of `LAST` for softmax. Element-wise
    /// activations run row by row, each from its column 0: the vector and scalar forms differ
    /// in the last bits (tanh, sigmoid, silu), so eight-lane chunks that ran across rows would
    /// make a row's output depend on where it sits in the batch.
    fn apply(&self, values: &mut [f32]) {
        if A::ROW_WISE {
            values
                .chunks_exact_mut(LAST)
                .for_each(|row| self.activation.apply_row(row));
        } else {
            values
                .chunks_exact_mut(WIDTH)
                .for_each(|row| self.activation.apply_slice(row));
        }
    }
}

impl<const WIDTH: usize, const LAST: usize, A: Activation> Layer
    for ActivationLayer<WIDTH, LAST, A>
{
    const CLASS_NAME: &'static str = "Activation";
    const INPUT_WIDTH: usize = WIDTH;
    const OUTPUT_WIDTH: usize = WIDTH;
    const PARAMS: usize = 0;
    const OUTPUT_ACTIVATION: &'static str = A::NAME;

    fn activation_name(&self) -> Option<String> {
        Some(self.activation.describe())
    }

    fn weights(&self) -> Vec<WeightSpec> {
        Vec::new()
    }

    fn init(&self, _params: &mut [f32], _state: &mut [f32], _rng: &mut InitRng) {}

    fn forward(&self, _weights: Weights<'_>, pass: Forward<'_>) {
        pass.output.copy_from_slice(pass.input);
        self.apply(pass.output);
    }

    /// The input is the pre-activation, so nothing needs keeping.
    fn backward(&self, _weights: Weights<'_>, pass: Backward<'_>, _grads: &mut [f32]) {
        let Some(dx) = pass.input_delta else { return };
        if pass.start == Delta::Output {
            for ((z, y), d) in pass
                .input
                .chunks_exact(LAST)
                .zip(pass.output.chunks_exact(LAST))
                .zip(pass.delta.chunks_exact_mut(LAST))
            {
                self.activation.backward_row(z, y, d);
            }
        }
        dx.copy_from_slice(pass.delta);
    }

    fn forward_one(&self, _weights: Weights<'_>, x: &[f32], y: &mut [f32]) {
        y.copy_from_slice(x);
        self.apply(y);
    }

    fn logits<'a>(&self, input: &'a [f32], _scratch: &'a [f32], _rows: usize) -> &'a [f32] {
        input
    }
}
