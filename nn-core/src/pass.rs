//! What one layer's pass reads and writes: Keras' `training` argument ([`Phase`]), the layer's
//! slices of the model's weight buffers ([`Weights`]) and its buffers on the tape for a forward
//! or backward pass ([`Forward`], [`Backward`]), and a stream's step ([`Step`]).
//!
//! Plain data, below both the layers that take it and the [`Tape`](crate::network::Tape) that
//! hands it out, so neither has to name the other for it. Re-exported from [`crate::layers`],
//! where the `Layer` trait that takes them is.

use crate::kernels::dense::Delta;

/// Keras' `training` argument: which pass a forward is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// `predict`, `evaluate`: Dropout passes values through, BatchNormalization uses its moving
    /// statistics.
    Inference,
    /// `fit`, `train_on_batch`: Dropout drops, BatchNormalization uses the batch's statistics.
    Training(TrainingPass),
}

/// What a training pass needs to draw reproducible dropout masks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrainingPass {
    /// The model's seed (the one `new` was given).
    pub seed: u64,
    /// The optimizer's step count: each step draws new masks.
    pub step: u64,
    /// Position of this pass's first row in the whole batch. A batch cut into row chunks runs
    /// each chunk as its own pass; counting rows from the batch start keeps every row's mask the
    /// same however the batch was cut, and so on any number of threads.
    pub first_row: usize,
}

impl Phase {
    /// The training pass, if this is one.
    pub fn training(self) -> Option<TrainingPass> {
        match self {
            Phase::Training(pass) => Some(pass),
            Phase::Inference => None,
        }
    }
}

/// A layer's slices of the model's buffers.
#[derive(Clone, Copy, Debug)]
pub struct Weights<'a> {
    /// Trainable values, in Keras' `layer.trainable_weights` order.
    pub params: &'a [f32],
    /// Non-trainable values (moving statistics), in Keras' order.
    pub state: &'a [f32],
    /// The layer's [`Layer::PACKED`](crate::layers::Layer::PACKED) values made by
    /// [`Layer::pack`](crate::layers::Layer::pack) from `params` (empty for a layer that
    /// packs nothing, on the backward pass, and for the layers inside `Bidirectional`).
    pub packed: &'a [f32],
    /// The layer's int8 weights when a quantized model runs it (`Layer::QUANTIZE`): its
    /// kernel or table is then these, not `params`'s (which hold their dequantized values).
    /// `None` in a float model.
    pub int8: Option<&'a crate::int8::Int8Weights>,
}

/// The buffers of one layer's forward pass over `rows` rows.
#[derive(Debug)]
pub struct Forward<'a> {
    /// `rows × INPUT_WIDTH`.
    pub input: &'a [f32],
    /// `rows × OUTPUT_WIDTH`, written.
    pub output: &'a mut [f32],
    /// `scratch_len(rows, training)` values the layer may keep for its backward pass.
    pub scratch: &'a mut [f32],
    /// Rows in this pass.
    pub rows: usize,
    /// Training or inference.
    pub phase: Phase,
    /// Keras' mask of the input's steps, `rows × steps`, 1 for a step to use and 0 for a
    /// masked one: given to a layer that uses a mask (GlobalAveragePooling1D) when one reaches
    /// it; empty otherwise.
    pub mask: &'a [f32],
}

/// The buffers of one layer's backward pass, after a training forward pass on the same rows.
#[derive(Debug)]
pub struct Backward<'a> {
    /// The forward pass's input.
    pub input: &'a [f32],
    /// The forward pass's output.
    pub output: &'a [f32],
    /// What the forward pass left in the scratch.
    pub scratch: &'a mut [f32],
    /// dL/d(output) (or dL/d(pre-activation), see `start`); the layer may overwrite it.
    pub delta: &'a mut [f32],
    /// Where dL/d(input) goes; `None` when nothing before this layer needs it.
    pub input_delta: Option<&'a mut [f32]>,
    /// Rows in this pass.
    pub rows: usize,
    /// Whether `delta` is with respect to the output or, for the last layer when the loss was
    /// computed from logits, to the pre-activation.
    pub start: Delta,
    /// The forward pass's mask (see [`Forward::mask`]).
    pub mask: &'a [f32],
}

/// The buffers of one timestep of `rows` streams (a stream: Keras' `stateful = True`, one
/// step at a time), given to the layer built for one step.
#[derive(Debug)]
pub struct Step<'a> {
    /// `rows × INPUT_WIDTH`: this step's input of each stream.
    pub input: &'a [f32],
    /// `rows × OUTPUT_WIDTH`, written.
    pub output: &'a mut [f32],
    /// `rows × STREAM_STATE`: what each stream carries from its previous step (zero after a
    /// reset); the layer updates it.
    pub state: &'a mut [f32],
    /// `step_scratch_len(rows)` values of workspace.
    pub scratch: &'a mut [f32],
    /// Streams stepping together.
    pub rows: usize,
    /// Each stream's mask of this step (1 use, 0 masked), as [`Forward::mask`] for one step;
    /// empty when no mask reaches the layer.
    pub mask: &'a [f32],
}
