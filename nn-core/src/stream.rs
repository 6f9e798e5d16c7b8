//! Streams: a sequence model fed one timestep at a time, keeping its state between calls —
//! Keras' `stateful = True`, for live data (audio frames, sensor readings, ticks).
//!
//! `model.stream()` gives a [`Stream`]: `step(&x_t)` returns the model's output for the
//! sequence so far, `reset()` starts a new sequence. `model.streams(n)` gives [`Streams`]: `n`
//! independent sequences (a server's sensors) stepping together as one batch. Feeding a
//! sequence step by step gives what `predict` gives for it, to float rounding (a step's
//! products run over one timestep, the whole-sequence pass's over all of them at once, so the
//! sums are grouped differently).
//!
//! Only a model whose every layer is causal streams: recurrent layers without `go_backwards`,
//! causal Conv1D, per-step layers, Embedding, Masking, and any layer after the time axis has
//! ended (a recurrent layer without `return_sequences`). The macro implements [`Stepper`] for
//! those; for any other, asking for a stream is a compile error whose message names the
//! layer and why ([`why`]).
//!
//! A step allocates nothing: the state and the workspace are allocated when the stream is
//! made (and the model's packed weights, if they were stale). The model is borrowed, so a
//! stream is `Send` and a model can have many. A step that fails (a NaN or an unknown token id
//! in, a non-finite output) changes no state.

use crate::error::{check_finite, check_input, Error, Result};
use crate::network::Network;
use crate::rows::Row;

/// A model that streams (implemented by `sequential!` for models whose layers are all causal).
pub trait Stepper: Network {
    /// One timestep's input: `[f32; F]` for a sequence of F features per step, `[i32; 1]` for
    /// a token id.
    type StepRow: Row;
    /// Values a stream carries between steps, all layers together.
    const STREAM_STATE: usize;

    /// Workspace values for `rows` streams stepping together.
    fn step_workspace_len(rows: usize) -> usize;

    /// Makes the model's packed weights now if they are stale, so that no step allocates
    /// them (streams are made before they step; the weights cannot change while one lives).
    fn pack_for_steps(&self);

    /// One timestep of `rows` streams: `x` (`rows` step rows), `state` (`rows ×
    /// STREAM_STATE`, updated), `workspace` (`step_workspace_len(rows)`), `y` (`rows` output
    /// rows, written). Unchecked: [`Stream`] and [`Streams`] check around it.
    fn step_rows(
        &self,
        x: &[f32],
        state: &mut [f32],
        rows: usize,
        workspace: &mut [f32],
        y: &mut [f32],
    );
}

/// Why a model has no stream: the type named in the compile error.
///
/// `sequential!` names one of these as the model's [`Streaming::Blocker`]; a causal model's is
/// [`Causal`](why::Causal), the only one [`CanStream`] holds for.
pub mod why {
    /// Every layer is causal: the model streams.
    #[derive(Debug)]
    pub struct Causal;
    /// Keras' Bidirectional runs a copy of its layer from the sequence's end.
    #[allow(non_camel_case_types)]
    #[derive(Debug)]
    pub struct Bidirectional_reads_each_sequence_from_its_end;
    /// `go_backwards = true`.
    #[allow(non_camel_case_types)]
    #[derive(Debug)]
    pub struct a_recurrent_layer_with_go_backwards_reads_each_sequence_from_its_end;
    /// "same" or "valid" padding, or a stride: an output step reads later input steps.
    #[allow(non_camel_case_types)]
    #[derive(Debug)]
    pub struct Conv1D_without_causal_padding_reads_later_steps;
    /// MaxPooling1D, AveragePooling1D, GlobalAveragePooling1D, GlobalMaxPooling1D.
    #[allow(non_camel_case_types)]
    #[derive(Debug)]
    pub struct a_pooling_layer_pools_over_time;
    /// Flatten or Reshape of a (steps, features) input.
    #[allow(non_camel_case_types)]
    #[derive(Debug)]
    pub struct Flatten_or_Reshape_mixes_the_time_axis_into_the_features;
    /// A layer over the steps that the macro has no one-step form for (none of Keras' per-step
    /// layers: those step; this names anything else a future layer might be).
    #[allow(non_camel_case_types)]
    #[derive(Debug)]
    pub struct a_layer_over_the_steps_that_seqnet_does_not_step;
    /// Flat or image input.
    #[allow(non_camel_case_types)]
    #[derive(Debug)]
    pub struct the_input_is_not_a_sequence_of_timesteps;
}

/// Holds for a model that streams: `Why` is [`why::Causal`]. Any other `Why` is a compile
/// error naming it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no stream: {Why}",
    label = "this model cannot run one timestep at a time",
    note = "a stream needs every layer causal: recurrent layers without go_backwards, causal \
            Conv1D, per-step layers, and any layer after the time axis has ended"
)]
pub trait CanStream<Why>: Network + Sized {
    /// `n` streams of `model`.
    fn open(model: &Self, n: usize) -> Streams<'_, Self>;
}

impl<N: Stepper> CanStream<why::Causal> for N {
    fn open(model: &Self, n: usize) -> Streams<'_, Self> {
        Streams::new(model, n)
    }
}

/// `stream()` and `streams(n)` on every model (`seqnet::prelude`); they compile for a model
/// whose layers are all causal, and are a compile error naming the layer for any other.
pub trait Streaming: Network + Sized {
    /// Why the model cannot stream ([`why`]), or [`why::Causal`].
    type Blocker;

    /// One stream: feed a sequence one timestep at a time with [`Stream::step`].
    fn stream(&self) -> Stream<'_, Self>
    where
        Self: CanStream<Self::Blocker>,
    {
        Stream {
            inner: <Self as CanStream<Self::Blocker>>::open(self, 1),
        }
    }

    /// `n` independent streams stepping together ([`Streams::step`] takes one step row for
    /// each), one batched pass per step.
    fn streams(&self, n: usize) -> Streams<'_, Self>
    where
        Self: CanStream<Self::Blocker>,
    {
        <Self as CanStream<Self::Blocker>>::open(self, n)
    }
}

/// `n` streams of one model: their state, and the buffers a step needs.
#[derive(Debug)]
pub struct Streams<'m, N: Network> {
    model: &'m N,
    n: usize,
    state: Vec<f32>,
    /// The state a step writes, kept only once the step's output is checked.
    next: Vec<f32>,
    workspace: Vec<f32>,
    outputs: Vec<N::OutputRow>,
}

impl<'m, N: Stepper> Streams<'m, N> {
    /// `n` streams of `model`, each at the start of a sequence.
    pub fn new(model: &'m N, n: usize) -> Self {
        model.pack_for_steps();
        Streams {
            model,
            n,
            state: vec![0.0; n * N::STREAM_STATE],
            next: vec![0.0; n * N::STREAM_STATE],
            workspace: vec![0.0; N::step_workspace_len(n)],
            outputs: vec![N::OutputRow::zeros(); n],
        }
    }

    /// How many streams step together.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True for none.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// One timestep of every stream: `x[i]` is stream `i`'s; the output of each for its
    /// sequence so far.
    ///
    /// # Errors
    ///
    /// Checked before anything runs: [`Error::SizeMismatch`] when `x` does not hold one row per
    /// stream; [`Error::NonFinite`] (`what` = `"input"`, `row` = the stream) for a NaN or
    /// infinity, or [`Error::TokenId`] for an id outside the Embedding's `input_dim`. After the
    /// step, [`Error::NonFinite`] (`what` = `"output"`) for an output that is not finite, and
    /// then no stream's state changes.
    pub fn step(&mut self, x: &[N::StepRow]) -> Result<&[N::OutputRow]> {
        if x.len() != self.n {
            return Err(Error::SizeMismatch {
                what: "step rows",
                expected: self.n,
                got: x.len(),
            });
        }
        let x = N::StepRow::flat(x);
        check_input(crate::batch::INPUT, x, N::StepRow::WIDTH, N::INPUT_IDS)?;
        self.next.copy_from_slice(&self.state);
        let y = N::OutputRow::flat_mut(&mut self.outputs);
        self.model
            .step_rows(x, &mut self.next, self.n, &mut self.workspace, y);
        check_finite(crate::batch::OUTPUT, y, N::OutputRow::WIDTH)?;
        std::mem::swap(&mut self.state, &mut self.next);
        Ok(&self.outputs)
    }

    /// Every stream back to the start of a sequence.
    pub fn reset(&mut self) {
        self.state.fill(0.0);
    }

    /// Stream `i` back to the start of a sequence; the others go on.
    ///
    /// # Errors
    ///
    /// [`Error::SizeMismatch`] for `i` ≥ the number of streams.
    pub fn reset_stream(&mut self, i: usize) -> Result<()> {
        let width = N::STREAM_STATE;
        match self.state.get_mut(i * width..(i + 1) * width) {
            Some(state) if i < self.n => {
                state.fill(0.0);
                Ok(())
            }
            _ => Err(Error::SizeMismatch {
                what: "stream index",
                expected: self.n,
                got: i,
            }),
        }
    }

    /// The state every stream carries (`STREAM_STATE` values each, stream after stream), to
    /// save and restore with [`set_state`](Self::set_state).
    pub fn state(&self) -> &[f32] {
        &self.state
    }

    /// Restores a state [`state`](Self::state) gave, for as many streams.
    ///
    /// # Errors
    ///
    /// [`Error::SizeMismatch`] for another length, [`Error::NonFinite`] (`what` = `"state"`)
    /// for a value that is not finite; the state is then unchanged.
    pub fn set_state(&mut self, state: &[f32]) -> Result<()> {
        if state.len() != self.state.len() {
            return Err(Error::SizeMismatch {
                what: "stream state",
                expected: self.state.len(),
                got: state.len(),
            });
        }
        check_finite("state", state, N::STREAM_STATE.max(1))?;
        self.state.copy_from_slice(state);
        Ok(())
    }
}

/// One stream of a model: [`step`](Self::step) takes one timestep and returns the model's
/// output for the sequence so far.
#[derive(Debug)]
pub struct Stream<'m, N: Network> {
    inner: Streams<'m, N>,
}

impl<N: Stepper> Stream<'_, N> {
    /// One timestep; the model's output for the sequence so far.
    ///
    /// # Errors
    ///
    /// As [`Streams::step`]: a NaN or an id out of range in `x`, before anything runs; an
    /// output that is not finite, and then the state is unchanged.
    pub fn step(&mut self, x: &N::StepRow) -> Result<N::OutputRow> {
        let y = self.inner.step(std::slice::from_ref(x))?;
        Ok(y.first().copied().unwrap_or_else(N::OutputRow::zeros))
    }

    /// Back to the start of a sequence.
    pub fn reset(&mut self) {
        self.inner.reset();
    }

    /// The state the stream carries, to save and restore with [`set_state`](Self::set_state).
    pub fn state(&self) -> &[f32] {
        self.inner.state()
    }

    /// Restores a state [`state`](Self::state) gave.
    ///
    /// # Errors
    ///
    /// As [`Streams::set_state`].
    pub fn set_state(&mut self, state: &[f32]) -> Result<()> {
        self.inner.set_state(state)
    }
}
