//! The layer types `sequential!` instantiates, all on one trait, [`Layer`].
//!
//! A layer is a small `Copy` value (its activation, a dropout rate, a pooling window) whose type
//! carries every width as a const generic, so the kernels it calls are monomorphized for exactly
//! that layer. It owns no memory: its trainable weights are a slice of the model's flat
//! parameter buffer, its non-trainable state (BatchNormalization's moving statistics) a slice of
//! the model's state buffer, and what a forward pass keeps for the backward pass (pre-activations,
//! dropout masks, batch statistics, pooling arg-max) its scratch slice of the [`Tape`].
//!
//! The trait follows Keras' own `Layer`: `compute_output_shape` is the `OUTPUT_WIDTH` const (the
//! macro checks the multi-dimensional shape at compile time), `build` is [`Layer::init`], and
//! `call(inputs, training=…)` is [`Layer::forward`] with a [`Phase`].

mod activation;
mod batch_norm;
mod bidirectional;
mod conv;
mod conv1d;
mod dense;
mod dropout;
mod embedding;
mod layer_norm;
mod masking;
mod normalization;
mod per_step;
mod pooling;
mod recurrent;
mod rescaling;
mod reshape;

pub use activation::ActivationLayer;
pub use batch_norm::BatchNormalization;
pub use bidirectional::{merge_mode, Bidirectional};
pub use conv::Conv2D;
pub use conv1d::Conv1D;

/// Conv1D's `padding` as its const parameter `PAD`: Keras' "valid", "same" and "causal".
pub mod padding1d {
    pub use crate::kernels::conv1d::{CAUSAL, SAME, VALID};
}
pub use dense::Dense;
pub use dropout::Dropout;
pub use embedding::Embedding;
pub use layer_norm::LayerNormalization;
pub use masking::Masking;
pub use normalization::Normalization;
pub use per_step::PerStep;
pub use pooling::{
    AveragePooling1D, AveragePooling2D, GlobalAveragePooling1D, GlobalAveragePooling2D,
    GlobalMaxPooling1D, GlobalMaxPooling2D, MaxPooling1D, MaxPooling2D,
};
pub use recurrent::Recurrent;
/// A recurrent layer's kind, its const parameter `KIND`: Keras' class (and GRU's `reset_after`).
pub mod recurrent_kind {
    pub use super::recurrent::{GRU, GRU_V1, LSTM, SIMPLE_RNN};
}
pub use rescaling::Rescaling;
pub use reshape::{Flatten, Reshape};

pub use crate::pass::{Backward, Forward, Phase, Step, TrainingPass, Weights};

use crate::kernels::dense::Delta;
use crate::params::InitRng;
use crate::spec::{LayerSpec, WeightSpec};
use crate::tape::{Tape, TapeLayer};

/// One layer type of a Sequential model.
///
/// Widths are flat: a (26, 26, 32) output is a row of 21,632 values, row-major over (h, w, c)
/// as Keras' channels-last layout stores it, so a layer's rows follow each other in one slice.
///
/// # Panics
///
/// `forward`, `backward` and `forward_one` take their buffers as the generated code sizes them
/// (a network's passes check the tape first: [`Tape::check_pass`]).
/// Called directly with `Weights`, `Forward` or `Backward` slices of other lengths, they panic
/// in the kernels' length checks, which guard the unsafe SIMD code, rather than read out of
/// bounds. Go through a model's `predict`, `fit` or `Network` passes for checked errors.
pub trait Layer: Copy + Send + Sync + 'static {
    /// Keras' class name (`Dense`, `Conv2D`, …).
    const CLASS_NAME: &'static str;
    /// Values in one input row.
    const INPUT_WIDTH: usize;
    /// Values in one output row.
    const OUTPUT_WIDTH: usize;
    /// Trainable values (Keras' `trainable_weights`), consecutive in the parameter buffer.
    const PARAMS: usize;
    /// Non-trainable values (Keras' `non_trainable_weights`), consecutive in the state buffer.
    const STATE: usize = 0;
    /// Multiply-adds per row in a forward pass: what decides when work is worth threads.
    const MACS_PER_ROW: usize = 0;
    /// True when training mode mixes rows (BatchNormalization's batch statistics): such a
    /// batch cannot be cut into row chunks that run apart.
    const COUPLES_ROWS: bool = false;
    /// True when the output is the input's values unchanged, only shaped differently (Flatten,
    /// Reshape on seqnet's row-major rows): the layer is never run, and its output buffer is its
    /// input's.
    const RESHAPE_ONLY: bool = false;
    /// The activation a loss computed from logits looks for when this is the last layer
    /// (`"sigmoid"`, `"softmax"`); `"linear"` for layers without one.
    const OUTPUT_ACTIVATION: &'static str = "linear";
    /// Where Keras' weight files keep the layer's variables under its group: `vars`, or
    /// `cell/vars` for a recurrent layer (Keras 3 keeps them on the layer's cell).
    const KERAS_VARS: &'static str = "vars";
    /// Values the layer keeps packed for its inference kernels ([`crate::packed`]: a GEMM's
    /// panels, one row's recurrent blocks), room for any instruction set's layout; 0 for layers
    /// that read their weights as they are. A layer built for one step (streams) must have its
    /// model layer's `PACKED` and layout (the macro checks the length).
    const PACKED: usize = 0;
    /// What Keras' `quantize("int8")` does to the layer: nothing (the default), Dense's
    /// `kernel` or Embedding's `embeddings`. A layer that says so reads its int8 weights from
    /// `Weights::int8` when a quantized model runs it.
    const QUANTIZE: crate::spec::Quantize = crate::spec::Quantize::No;

    /// The activation as a Keras config names it, for layers that have one.
    fn activation_name(&self) -> Option<String> {
        None
    }

    /// Every weight tensor in Keras' `layer.weights` order, trainable or not.
    fn weights(&self) -> Vec<WeightSpec>;

    /// Keras' initial values (`build`): `params` is `PARAMS` long, `state` `STATE` long.
    fn init(&self, params: &mut [f32], state: &mut [f32], rng: &mut InitRng);

    /// Values of scratch the layer keeps per pass of `rows` rows (training: what the backward
    /// pass reads; otherwise what an evaluation needs, such as the logits). A tape is made for
    /// a number of rows and then runs passes of that many or fewer, and an inference pass may
    /// run on a training tape (`evaluate`): the length must not shrink as `rows` grows, and
    /// `scratch_len(n, true) ≥ scratch_len(r, false)` for every `r ≤ n`.
    fn scratch_len(&self, _rows: usize, _training: bool) -> usize {
        0
    }

    /// Writes the packed form of `params` (`PARAMS` long) into `out` (`PACKED` long) for the
    /// kernels of `isa`; [`Layer::forward`], [`Layer::forward_one`] and [`Layer::step`] find
    /// it in `Weights::packed` (empty on paths without the model's packs). Called once after
    /// each change of the weights, never for a layer whose `PACKED` is 0.
    fn pack(&self, _params: &[f32], _isa: crate::kernels::isa::Isa, _out: &mut [f32]) {}

    /// `call(inputs, training)` over `pass.rows` rows.
    fn forward(&self, weights: Weights<'_>, pass: Forward<'_>);

    /// Back-propagates: writes the gradient of every trainable value into `grads` (`PARAMS`
    /// long, laid out like the parameters) and dL/d(input) into `pass.input_delta`.
    fn backward(&self, weights: Weights<'_>, pass: Backward<'_>, grads: &mut [f32]);

    /// Inference on one row (`predict_one`), without allocating.
    fn forward_one(&self, weights: Weights<'_>, x: &[f32], y: &mut [f32]);

    /// Mask values per row the layer makes, Keras' `compute_mask` (Embedding with
    /// `mask_zero`, Masking): the number of its output's steps; 0 for a layer that makes none.
    /// Where the mask goes from there (which layers pass it on, use it or drop it) is Keras'
    /// rule, which the macro follows; see ARCHITECTURE.md, "Masks".
    const MASK_STEPS: usize = 0;

    /// Keras' `compute_mask` over whole rows of `input`: `mask` (`rows × MASK_STEPS`) gets 1
    /// for a step later layers use and 0 for a masked one.
    fn compute_mask(&self, _input: &[f32], _mask: &mut [f32]) {}

    /// [`forward_one`](Self::forward_one) for a layer that uses a mask, given the row's mask
    /// (one value per input step, as [`Forward::mask`]); other layers ignore it.
    fn forward_one_masked(&self, weights: Weights<'_>, x: &[f32], _mask: &[f32], y: &mut [f32]) {
        self.forward_one(weights, x, y);
    }

    /// Values a stream of this layer carries from one timestep to the next (Keras'
    /// `stateful = True`): a recurrent layer's state, a causal Conv1D's last inputs; 0 for a
    /// layer whose step reads only its input. Streams run the layer built for one step (its
    /// `T` = 1), which the macro makes beside the model's; see [`Layer::step`].
    const STREAM_STATE: usize = 0;

    /// Workspace of [`Layer::step`] for `rows` streams.
    fn step_scratch_len(&self, rows: usize) -> usize {
        self.scratch_len(rows, false)
    }

    /// One timestep of `pass.rows` streams, on the layer built for one step: the input, the
    /// state each stream carried in, the output. A layer without stream state runs its
    /// inference forward pass on the step.
    fn step(&self, weights: Weights<'_>, pass: Step<'_>) {
        self.forward(
            weights,
            Forward {
                input: pass.input,
                output: pass.output,
                scratch: pass.scratch,
                rows: pass.rows,
                phase: Phase::Inference,
                mask: pass.mask,
            },
        );
    }

    /// Folds what a training forward pass of `rows` rows left in `scratch` into the layer's
    /// non-trainable `state` (BatchNormalization's moving averages).
    fn update_state(&self, _state: &mut [f32], _scratch: &[f32], _rows: usize) {}

    /// The last layer's pre-activation, which a cross-entropy loss reads as logits after a
    /// sigmoid or softmax: `input` and `scratch` are the forward pass's. Empty for layers
    /// without an activation.
    fn logits<'a>(&self, _input: &'a [f32], _scratch: &'a [f32], _rows: usize) -> &'a [f32] {
        &[]
    }

    /// True for a layer whose non-trainable state Keras' `adapt` computes from data
    /// (Normalization's mean and variance): the model then has an `adapt` method, which runs
    /// the rows through the layers before this one and hands what reaches it, chunk by chunk,
    /// to [`Layer::adapt_rows`], then calls [`Layer::adapt_finish`].
    const ADAPTS: bool = false;
    /// `f64` values of the accumulator `adapt_rows` fills (`adapt` allocates it, zeroed).
    const ADAPT_LEN: usize = 0;

    /// Folds `rows` rows of input into `adapt`'s accumulator (`ADAPT_LEN` long). The result
    /// must not depend on how the rows were cut into chunks.
    fn adapt_rows(&self, _acc: &mut [f64], _input: &[f32], _rows: usize) {}

    /// Writes the state (`STATE` long) the accumulated rows give.
    fn adapt_finish(&self, _acc: &[f64], _state: &mut [f32]) {}

    /// The layer's row of Keras' summary and config: `name` and `output_shape` come from the
    /// macro, which computed the multi-dimensional shape.
    fn spec(&self, name: &str, output_shape: Vec<usize>) -> LayerSpec {
        LayerSpec {
            name: name.to_string(),
            class_name: Self::CLASS_NAME,
            output_shape,
            activation: self.activation_name(),
            weights: self.weights(),
            keras_vars: Self::KERAS_VARS,
            quantize: Self::QUANTIZE,
        }
    }
}

/// `TapeLayer` is defined with the [`Tape`]; what a layer needs on it is read from the `Layer`
/// trait here.
impl TapeLayer {
    /// What `layer` needs on a tape of `rows` rows.
    pub fn of<L: Layer>(layer: &L, rows: usize, training: bool) -> Self {
        TapeLayer {
            width: L::OUTPUT_WIDTH,
            reshape_only: L::RESHAPE_ONLY,
            scratch: if L::RESHAPE_ONLY {
                0
            } else {
                layer.scratch_len(rows, training)
            },
            mask_steps: L::MASK_STEPS,
        }
    }
}

/// Runs one layer of a forward chain over `tape` (generated code calls this per layer).
/// Layers that only reshape are skipped: their output is their input's buffer. A layer that
/// makes a mask makes it first; `mask_from` is the layer whose mask this one uses, if any (the
/// macro follows masks as Keras passes them).
#[inline]
#[allow(clippy::too_many_arguments)]
pub fn forward_layer<L: Layer>(
    layer: &L,
    index: usize,
    weights: Weights<'_>,
    x: &[f32],
    rows: usize,
    tape: &mut Tape,
    phase: Phase,
    mask_from: Option<usize>,
) {
    if L::MASK_STEPS > 0 {
        let (input, mask) = tape.mask_io(index, x, rows);
        layer.compute_mask(input, mask);
    }
    if !L::RESHAPE_ONLY {
        layer.forward(weights, tape.forward_io(index, x, rows, phase, mask_from));
    }
}

/// Back-propagates one layer of a chain over `tape`; `start` applies to the last layer only.
/// `input_grad` says whether an earlier layer has trainable weights: without one, nothing
/// needs dL/d(input), and a layer without weights of its own has nothing to do at all.
#[inline]
#[allow(clippy::too_many_arguments)]
pub fn backward_layer<L: Layer>(
    layer: &L,
    index: usize,
    weights: Weights<'_>,
    x: &[f32],
    rows: usize,
    tape: &mut Tape,
    grads: &mut [f32],
    start: Delta,
    input_grad: bool,
    mask_from: Option<usize>,
) {
    if L::RESHAPE_ONLY || (L::PARAMS == 0 && !input_grad) {
        return;
    }
    let mut pass = tape.backward_io(index, x, rows, start, mask_from);
    if !input_grad {
        pass.input_delta = None;
    }
    layer.backward(weights, pass, grads);
}

/// `&s[..n]` for a layer's slice of a buffer the network sized from the layer's own consts
/// (`PARAMS`, `scratch_len`), so the prefix always fits. Should a caller break that, the whole
/// shorter slice comes back and the kernel's own length check (or a shorter zip) meets it.
#[inline]
pub(crate) fn head(s: &[f32], n: usize) -> &[f32] {
    debug_assert!(n <= s.len(), "a layer buffer shorter than its consts say");
    s.split_at(n.min(s.len())).0
}

/// `&mut s[..n]`, as [`head`].
#[inline]
pub(crate) fn head_mut(s: &mut [f32], n: usize) -> &mut [f32] {
    debug_assert!(n <= s.len(), "a layer buffer shorter than its consts say");
    let n = n.min(s.len());
    s.split_at_mut(n).0
}

/// `&s[from..from + n]` (a bias after a kernel), as [`head`]: empty when out of range.
#[inline]
pub(crate) fn part(s: &[f32], from: usize, n: usize) -> &[f32] {
    debug_assert!(
        from + n <= s.len(),
        "a layer buffer shorter than its consts say"
    );
    s.get(from..from + n).unwrap_or_default()
}

/// The largest of `values` (a const fn, for the generated `MAX_LAYER_MACS`).
pub const fn max_of(values: &[usize]) -> usize {
    let mut max = 0;
    let mut rest = values;
    while let [first, tail @ ..] = rest {
        if *first > max {
            max = *first;
        }
        rest = tail;
    }
    max
}

/// Folds one layer's training statistics into its state after a training forward pass.
#[inline]
pub fn update_layer_state<L: Layer>(
    layer: &L,
    index: usize,
    state: &mut [f32],
    tape: &Tape,
    rows: usize,
) {
    if L::STATE > 0 {
        layer.update_state(state, tape.scratch(index), rows);
    }
}

/// One weight tensor's description.
pub(crate) fn weight(name: &'static str, shape: Vec<usize>, trainable: bool) -> WeightSpec {
    WeightSpec {
        name,
        shape,
        trainable,
        dtype: crate::spec::Dtype::Float32,
        owner: "",
    }
}
