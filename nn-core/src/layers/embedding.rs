//! Keras' `Embedding(input_dim, output_dim, mask_zero)`: each token id of a row picks its row
//! of the embeddings matrix. It is a model's first layer, reading the ids of the input rows
//! (`[i32; T]`, their bits carried in the flat `f32` input: `error::token_id`); the model's
//! input check has put every id in `0..V` before any pass runs.
//!
//! The gradient is a scatter-add: each (row, step) adds its dL/dy into its id's row of the
//! gradient, in row order, so the sum for an id repeated in the batch is the same on every
//! run. Ids have no gradient.

use super::{head_mut, weight, Backward, Forward, Layer, Weights};
use crate::error::token_id;
use crate::params::InitRng;
use crate::spec::{Quantize, WeightSpec};

/// `Embedding(input_dim = V, output_dim = D, mask_zero = MASK_ZERO)` over rows of `T` ids:
/// output (T, D). With `MASK_ZERO`, id 0 is padding: Keras' mask marks those steps, and the
/// layers after it that use a mask skip them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Embedding<const T: usize, const V: usize, const D: usize, const MASK_ZERO: bool = false>;

impl<const T: usize, const V: usize, const D: usize, const MASK_ZERO: bool>
    Embedding<T, V, D, MASK_ZERO>
{
    /// Keras' `input_dim`: ids run from 0 to `V − 1` (the model's `Network::INPUT_IDS`).
    pub const INPUT_DIM: usize = V;

    /// The row of `embeddings` for the id in `slot`: empty for an id outside `0..V`, which
    /// the model's input check refuses before a pass (a raw pass given one writes zeros).
    fn row(embeddings: &[f32], slot: f32) -> &[f32] {
        usize::try_from(token_id(slot))
            .ok()
            .filter(|&id| id < V)
            .and_then(|id| embeddings.get(id * D..id * D + D))
            .unwrap_or_default()
    }
}

impl<const T: usize, const V: usize, const D: usize, const MASK_ZERO: bool> Layer
    for Embedding<T, V, D, MASK_ZERO>
{
    const CLASS_NAME: &'static str = "Embedding";
    const INPUT_WIDTH: usize = T;
    const OUTPUT_WIDTH: usize = T * D;
    const PARAMS: usize = V * D;
    const MACS_PER_ROW: usize = T * D;
    const MASK_STEPS: usize = if MASK_ZERO { T } else { 0 };
    const QUANTIZE: Quantize = Quantize::Embeddings;

    fn weights(&self) -> Vec<WeightSpec> {
        vec![weight("embeddings", vec![V, D], true)]
    }

    /// Keras' default initializer, "uniform": U(−0.05, 0.05).
    fn init(&self, params: &mut [f32], _state: &mut [f32], rng: &mut InitRng) {
        rng.uniform(params, -0.05, 0.05);
    }

    /// Each id's row; quantized, `int8 / embeddings_scale` (Keras' `_int8_call`).
    fn forward(&self, weights: Weights<'_>, pass: Forward<'_>) {
        if let Some(q) = weights.int8 {
            for (y, &slot) in pass.output.chunks_exact_mut(D).zip(pass.input) {
                let id = usize::try_from(token_id(slot)).ok().filter(|&id| id < V);
                if !id.is_some_and(|id| q.embed(id, y)) {
                    y.fill(0.0);
                }
            }
            return;
        }
        for (y, &id) in pass.output.chunks_exact_mut(D).zip(pass.input) {
            let row = Self::row(weights.params, id);
            if row.len() == D {
                y.copy_from_slice(row);
            } else {
                y.fill(0.0);
            }
        }
    }

    fn backward(&self, _weights: Weights<'_>, pass: Backward<'_>, grads: &mut [f32]) {
        let grads = head_mut(grads, V * D);
        grads.fill(0.0);
        for (dy, &slot) in pass.delta.chunks_exact(D).zip(pass.input) {
            let Some(id) = usize::try_from(token_id(slot)).ok().filter(|&id| id < V) else {
                continue;
            };
            if let Some(g) = grads.get_mut(id * D..id * D + D) {
                g.iter_mut().zip(dy).for_each(|(g, d)| *g += d);
            }
        }
        if let Some(dx) = pass.input_delta {
            dx.fill(0.0);
        }
    }

    fn forward_one(&self, weights: Weights<'_>, x: &[f32], y: &mut [f32]) {
        self.forward(
            weights,
            Forward {
                input: x,
                output: y,
                scratch: &mut [],
                rows: 1,
                phase: super::Phase::Inference,
                mask: &[],
            },
        );
    }

    /// Keras' `compute_mask` with `mask_zero`: 0 where the id is 0 (padding), 1 elsewhere.
    fn compute_mask(&self, input: &[f32], mask: &mut [f32]) {
        for (m, &slot) in mask.iter_mut().zip(input) {
            *m = if token_id(slot) == 0 { 0.0 } else { 1.0 };
        }
    }
}
