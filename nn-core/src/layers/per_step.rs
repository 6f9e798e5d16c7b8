//! A layer of flat rows applied to every step of a sequence, as Keras applies `Dense` to a
//! (T, F) input: the same weights on each of the T steps, giving (T, units). A batch of `rows`
//! sequences is `rows × T` rows of F values laid end to end, so the inner layer runs once over
//! all of them: one GEMM for the whole batch, not one per step.

use super::{Backward, Forward, Layer, Phase, Weights};
use crate::kernels::isa::Isa;
use crate::params::InitRng;
use crate::spec::WeightSpec;

/// `L` on each of `T` steps. Keras' summary and files see `L` itself (a `Dense` whose output
/// shape has the steps in front).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PerStep<L: Layer, const T: usize> {
    /// The layer each step goes through.
    pub inner: L,
}

impl<L: Layer, const T: usize> PerStep<L, T> {
    /// `inner` on every step.
    pub const fn new(inner: L) -> Self {
        PerStep { inner }
    }
}

/// The phase for the inner layer's rows: row r of the batch is rows r·T … r·T + T − 1.
fn step_phase(phase: Phase, steps: usize) -> Phase {
    match phase {
        Phase::Training(mut pass) => {
            pass.first_row *= steps;
            Phase::Training(pass)
        }
        Phase::Inference => Phase::Inference,
    }
}

impl<L: Layer, const T: usize> Layer for PerStep<L, T> {
    const CLASS_NAME: &'static str = L::CLASS_NAME;
    const INPUT_WIDTH: usize = T * L::INPUT_WIDTH;
    const OUTPUT_WIDTH: usize = T * L::OUTPUT_WIDTH;
    const PARAMS: usize = L::PARAMS;
    const STATE: usize = L::STATE;
    const MACS_PER_ROW: usize = T * L::MACS_PER_ROW;
    const COUPLES_ROWS: bool = L::COUPLES_ROWS;
    const OUTPUT_ACTIVATION: &'static str = L::OUTPUT_ACTIVATION;
    const PACKED: usize = L::PACKED;
    const QUANTIZE: crate::spec::Quantize = L::QUANTIZE;

    fn activation_name(&self) -> Option<String> {
        self.inner.activation_name()
    }

    fn weights(&self) -> Vec<WeightSpec> {
        self.inner.weights()
    }

    fn init(&self, params: &mut [f32], state: &mut [f32], rng: &mut InitRng) {
        self.inner.init(params, state, rng);
    }

    fn scratch_len(&self, rows: usize, training: bool) -> usize {
        self.inner.scratch_len(rows * T, training)
    }

    fn pack(&self, params: &[f32], isa: Isa, out: &mut [f32]) {
        self.inner.pack(params, isa, out);
    }

    fn forward(&self, weights: Weights<'_>, pass: Forward<'_>) {
        self.inner.forward(
            weights,
            Forward {
                rows: pass.rows * T,
                phase: step_phase(pass.phase, T),
                mask: &[],
                ..pass
            },
        );
    }

    fn backward(&self, weights: Weights<'_>, pass: Backward<'_>, grads: &mut [f32]) {
        self.inner.backward(
            weights,
            Backward {
                rows: pass.rows * T,
                mask: &[],
                ..pass
            },
            grads,
        );
    }

    fn forward_one(&self, weights: Weights<'_>, x: &[f32], y: &mut [f32]) {
        for (x, y) in x
            .chunks_exact(L::INPUT_WIDTH)
            .zip(y.chunks_exact_mut(L::OUTPUT_WIDTH))
        {
            self.inner.forward_one(weights, x, y);
        }
    }

    fn update_state(&self, state: &mut [f32], scratch: &[f32], rows: usize) {
        self.inner.update_state(state, scratch, rows * T);
    }

    fn logits<'a>(&self, input: &'a [f32], scratch: &'a [f32], rows: usize) -> &'a [f32] {
        self.inner.logits(input, scratch, rows * T)
    }
}
