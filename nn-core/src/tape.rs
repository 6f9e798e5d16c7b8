//! The [`Tape`]: the per-layer buffers of a forward pass (each computing layer's output, for
//! training its gradient, every layer's scratch), sized once for a number of rows and reused.
//!
//! It knows layers only through [`TapeLayer`], what one layer needs on it, and hands each layer
//! its buffers as the pass structs of [`crate::pass`]; so the layers' chain helpers can run a
//! layer over a tape and the `Network` trait can name tapes in its passes, with this module
//! below both. `TapeLayer::of` (from a `Layer`) is written beside the `Layer` trait, and
//! `Tape::for_network` beside the `Network` trait. Re-exported from [`crate::network`].

use crate::error::{Error, Result};
use crate::kernels::dense::Delta;
use crate::params::AlignedBuf;
use crate::pass::{Backward, Forward, Phase};

/// What one layer needs on a tape: its output width, whether it only reshapes (then it shares
/// its input's buffer), and how much scratch it keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TapeLayer {
    /// Values per output row.
    pub width: usize,
    /// The layer's output is its input's buffer (Flatten, Reshape).
    pub reshape_only: bool,
    /// Scratch values for the whole pass.
    pub scratch: usize,
    /// Mask values per row the layer makes (Keras' `compute_mask`: Embedding with
    /// `mask_zero`, Masking), kept for the layers after it that use the mask; 0 for the rest.
    pub mask_steps: usize,
}

/// One buffer of layer outputs, and its gradient on a training tape.
#[derive(Debug)]
struct Slot {
    width: usize,
    output: AlignedBuf,
    delta: AlignedBuf,
}

impl Slot {
    /// The output's first `rows` rows (empty past the buffer).
    fn rows(&self, rows: usize) -> &[f32] {
        self.output
            .get(..rows.saturating_mul(self.width))
            .unwrap_or(&[])
    }

    /// The output's and the gradient's first `rows` rows (the gradient empty on an inference
    /// tape; either empty past its buffer).
    fn rows_mut(&mut self, rows: usize) -> (&mut [f32], &mut [f32]) {
        let len = rows.saturating_mul(self.width);
        let output = self.output.get_mut(..len).unwrap_or(&mut []);
        let delta = self.delta.get_mut(..len).unwrap_or(&mut []);
        (output, delta)
    }
}

/// Layer `layer`'s scratch (empty for no such layer).
/// The mask layer `from` made for `rows` rows (empty for `None`, or a layer that makes none).
fn mask_of<'a>(
    layout: &[TapeLayer],
    masks: &'a [AlignedBuf],
    from: Option<usize>,
    rows: usize,
) -> &'a [f32] {
    let Some(from) = from else { return &[] };
    let steps = layout.get(from).map_or(0, |l| l.mask_steps);
    masks
        .get(from)
        .and_then(|m| m.get(..rows.saturating_mul(steps)))
        .unwrap_or(&[])
}

fn scratch_mut(scratch: &mut [AlignedBuf], layer: usize) -> &mut [f32] {
    scratch.get_mut(layer).map_or(&mut [][..], |s| &mut s[..])
}

/// The per-layer buffers a forward pass writes: each computing layer's output and, for
/// training, a gradient buffer of the same size, plus every layer's scratch. Sized once for a
/// number of rows and reused, so a pass allocates nothing. Layers that only reshape have no
/// buffer of their own: they read and write their input's.
#[derive(Debug)]
pub struct Tape {
    capacity_rows: usize,
    training: bool,
    /// What it was made for, so a pass can check that the tape is its network's.
    layout: Vec<TapeLayer>,
    /// Per layer, the slot holding its output; `None` for the network input itself (a model
    /// that starts with Flatten).
    out_slot: Vec<Option<usize>>,
    slots: Vec<Slot>,
    scratch: Vec<AlignedBuf>,
    masks: Vec<AlignedBuf>,
}

/// What a loss reads and writes after a forward pass.
#[derive(Debug)]
pub struct LossView<'a> {
    /// The model's output, `rows × OUTPUT_WIDTH`.
    pub output: &'a [f32],
    /// The last layer's pre-activation (logits), or empty.
    pub logits: &'a [f32],
    /// Where dL/d(output) goes (a training tape), or empty.
    pub delta: &'a mut [f32],
}

impl Tape {
    /// Buffers for up to `capacity_rows` rows through layers described by `layout`; gradient
    /// buffers only for `training` (the layout's scratch sizes should say the same).
    ///
    /// # Panics
    ///
    /// When a buffer's size (capacity × width) overflows `usize` or cannot be allocated, as
    /// `Vec::with_capacity` does.
    pub fn new(capacity_rows: usize, training: bool, layout: &[TapeLayer]) -> Self {
        let mut out_slot = Vec::with_capacity(layout.len());
        let mut slots: Vec<Slot> = Vec::new();
        for layer in layout {
            if layer.reshape_only {
                out_slot.push(out_slot.last().copied().flatten());
            } else {
                let len = layer.width.saturating_mul(capacity_rows);
                slots.push(Slot {
                    width: layer.width,
                    output: AlignedBuf::zeros(len),
                    delta: AlignedBuf::zeros(if training { len } else { 0 }),
                });
                out_slot.push(Some(slots.len() - 1));
            }
        }
        Tape {
            capacity_rows,
            training,
            layout: layout.to_vec(),
            out_slot,
            slots,
            scratch: layout
                .iter()
                .map(|l| AlignedBuf::zeros(l.scratch))
                .collect(),
            masks: layout
                .iter()
                .map(|l| AlignedBuf::zeros(l.mask_steps.saturating_mul(capacity_rows)))
                .collect(),
        }
    }

    /// The largest number of rows one pass may carry.
    pub fn capacity_rows(&self) -> usize {
        self.capacity_rows
    }

    /// True for a tape that keeps what a backward pass needs.
    pub fn is_training(&self) -> bool {
        self.training
    }

    /// The checks every generated `forward` and `backward` makes before touching a buffer, so
    /// that a tape, row count or input that does not fit is an error rather than a slice out of
    /// range: `expected` gives the layout the network needs at this tape's capacity and mode
    /// (the generated code passes its layers' [`TapeLayer::of`], an array on the stack), which
    /// must be the one the tape was made with; `rows` at most the capacity; `x` exactly `rows`
    /// rows of `input_width`; a training tape when `training` (a training pass, or backward).
    ///
    /// Errors: [`Error::InvalidArgument`] (`what` = `"tape"`) for a tape made for another
    /// network or an inference tape where a training one is needed; [`Error::SizeMismatch`]
    /// for the rows or the input.
    pub fn check_pass<const LAYERS: usize>(
        &self,
        expected: impl FnOnce(usize, bool) -> [TapeLayer; LAYERS],
        x: &[f32],
        input_width: usize,
        rows: usize,
        training: bool,
    ) -> Result<()> {
        if self.layout.as_slice() != expected(self.capacity_rows, self.training).as_slice() {
            return Err(Error::InvalidArgument {
                what: "tape",
                expected: "one made for this network (Tape::for_network::<Model>(rows, training))",
                got: format!(
                    "a tape laid out for another network ({} layers)",
                    self.layout.len()
                ),
            });
        }
        if training && !self.training {
            return Err(Error::InvalidArgument {
                what: "tape",
                expected: "a training tape (Tape::for_network::<Model>(rows, true)) for a \
                           training pass or backward",
                got: "an inference tape".into(),
            });
        }
        if rows > self.capacity_rows {
            return Err(Error::SizeMismatch {
                what: "rows for this tape (at most its capacity)",
                expected: self.capacity_rows,
                got: rows,
            });
        }
        if x.len() != rows * input_width {
            return Err(Error::SizeMismatch {
                what: "input values (rows × input width)",
                expected: rows * input_width,
                got: x.len(),
            });
        }
        Ok(())
    }

    /// The slot holding the input of layer `layer` (`None`: the network input).
    fn input_slot(&self, layer: usize) -> Option<usize> {
        let previous = layer.checked_sub(1)?;
        self.out_slot.get(previous).copied().flatten()
    }

    /// The slot holding layer `layer`'s own output (`None`: it only reshapes the network input,
    /// or there is no such layer).
    fn own_slot(&self, layer: usize) -> Option<usize> {
        self.out_slot.get(layer).copied().flatten()
    }

    /// Layer `layer`'s input for `rows` rows of network input `x`, and its own mask buffer
    /// (`rows × mask_steps`), which Keras' `compute_mask` fills.
    pub fn mask_io<'a>(
        &'a mut self,
        layer: usize,
        x: &'a [f32],
        rows: usize,
    ) -> (&'a [f32], &'a mut [f32]) {
        let input = match self.input_slot(layer) {
            None => x,
            Some(s) => self.slots.get(s).map_or(&[][..], |slot| slot.rows(rows)),
        };
        let steps = self.layout.get(layer).map_or(0, |l| l.mask_steps);
        let mask = self
            .masks
            .get_mut(layer)
            .and_then(|m| m.get_mut(..rows.saturating_mul(steps)))
            .unwrap_or(&mut []);
        (input, mask)
    }

    /// Layer `layer`'s forward buffers for `rows` rows of network input `x`.
    ///
    /// Past the tape (more rows than it holds, a layer that only reshapes or that it does not
    /// have) the buffers are empty; the generated code asks only after
    /// [`check_pass`](Self::check_pass).
    ///
    /// `mask_from` is the layer whose mask reaches this one, for a layer that uses it.
    pub fn forward_io<'a>(
        &'a mut self,
        layer: usize,
        x: &'a [f32],
        rows: usize,
        phase: Phase,
        mask_from: Option<usize>,
    ) -> Forward<'a> {
        let mask = mask_of(&self.layout, &self.masks, mask_from, rows);
        let own = self.own_slot(layer);
        let input_slot = self.input_slot(layer);
        let (before, from) = self.slots.split_at_mut(own.unwrap_or(0));
        let input = match input_slot {
            None => x,
            Some(s) => before.get(s).map_or(&[][..], |slot| slot.rows(rows)),
        };
        let output = match (own, from.first_mut()) {
            (Some(_), Some(slot)) => slot.rows_mut(rows).0,
            _ => &mut [],
        };
        Forward {
            input,
            output,
            scratch: scratch_mut(&mut self.scratch, layer),
            rows,
            phase,
            mask,
        }
    }

    /// Layer `layer`'s backward buffers for `rows` rows of network input `x`.
    ///
    /// Past the tape (more rows than it holds, an inference tape, a layer that only reshapes)
    /// the buffers are empty; the generated code asks only after
    /// [`check_pass`](Self::check_pass).
    ///
    /// `mask_from` is as in [`forward_io`](Self::forward_io).
    pub fn backward_io<'a>(
        &'a mut self,
        layer: usize,
        x: &'a [f32],
        rows: usize,
        start: Delta,
        mask_from: Option<usize>,
    ) -> Backward<'a> {
        let mask = mask_of(&self.layout, &self.masks, mask_from, rows);
        let own = self.own_slot(layer);
        let input_slot = self.input_slot(layer);
        let (before, from) = self.slots.split_at_mut(own.unwrap_or(0));
        let (input, input_delta) = match input_slot.and_then(|s| before.get_mut(s)) {
            None if input_slot.is_none() => (x, None),
            None => (&[][..], None),
            Some(slot) => {
                let (output, delta) = slot.rows_mut(rows);
                (&*output, Some(delta))
            }
        };
        let (output, delta): (&[f32], &mut [f32]) = match (own, from.first_mut()) {
            (Some(_), Some(slot)) => {
                let (output, delta) = slot.rows_mut(rows);
                (output, delta)
            }
            _ => (&[], &mut []),
        };
        Backward {
            input,
            output,
            scratch: scratch_mut(&mut self.scratch, layer),
            delta,
            input_delta,
            rows,
            start,
            mask,
        }
    }

    /// Layer `layer`'s scratch as its last forward pass left it (empty for no such layer).
    pub fn scratch(&self, layer: usize) -> &[f32] {
        self.scratch.get(layer).map_or(&[][..], |s| &s[..])
    }

    /// Layer `layer`'s input and scratch, for reading its logits.
    pub fn input_and_scratch<'a>(
        &'a self,
        layer: usize,
        x: &'a [f32],
        rows: usize,
    ) -> (&'a [f32], &'a [f32]) {
        let input = match self.input_slot(layer) {
            None => x,
            Some(s) => self.slots.get(s).map_or(&[][..], |slot| slot.rows(rows)),
        };
        (input, self.scratch(layer))
    }

    /// Layer `layer`'s output for `rows` rows after a forward pass (`x` itself for a layer that
    /// only reshapes the network input).
    pub fn layer_output<'a>(&'a self, layer: usize, x: &'a [f32], rows: usize) -> &'a [f32] {
        match self.own_slot(layer) {
            None => x,
            Some(s) => self.slots.get(s).map_or(&[][..], |slot| slot.rows(rows)),
        }
    }

    /// The network's output for `rows` rows: the last layer's buffer (`x` itself for a model
    /// that only reshapes).
    pub fn output<'a>(&'a self, x: &'a [f32], rows: usize) -> &'a [f32] {
        self.layer_output(self.out_slot.len().saturating_sub(1), x, rows)
    }

    /// The output, `logits` and the output's gradient buffer, for the loss.
    pub fn loss_view<'a>(
        &'a mut self,
        x: &'a [f32],
        rows: usize,
        logits: impl FnOnce(&'a [f32], &'a [f32]) -> &'a [f32],
    ) -> LossView<'a> {
        let last = self.out_slot.len().saturating_sub(1);
        let input_slot = self.input_slot(last);
        let (Some(own), Some(scratch)) = (self.own_slot(last), self.scratch.get(last)) else {
            return LossView {
                output: x,
                logits: &[],
                delta: &mut [],
            };
        };
        let (before, from) = self.slots.split_at_mut(own);
        let input: &'a [f32] = match input_slot {
            Some(s) => before.get(s).map_or(&[][..], |slot| slot.rows(rows)),
            None => x,
        };
        let Some(slot) = from.first_mut() else {
            return LossView {
                output: x,
                logits: &[],
                delta: &mut [],
            };
        };
        let training = self.training;
        let (output, delta) = slot.rows_mut(rows);
        LossView {
            output,
            logits: logits(input, scratch),
            delta: if training { delta } else { &mut [] },
        }
    }
}
