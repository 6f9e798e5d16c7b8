//! One training step on a batch: forward, loss, metrics, backward, moving statistics and the
//! optimizer's update (`train_on_batch`, and each batch of `fit`), or the same pass without the
//! update (`loss_and_gradients`). A batch runs whole on the model's kept tape or, when that is
//! faster, in row chunks (`chunks.rs`); every step is checked for divergence (`divergence.rs`).

use super::{loss_batch, Compiled};
use crate::error::{Error, Result};
use crate::metrics::MetricState;
use crate::network::{InputOf, Network, Tape};
use crate::optim::Optimizer;
use crate::pass::{Phase, TrainingPass};
use crate::rows::Labels;

impl<N: Network, O: Optimizer> Compiled<N, O> {
    /// Keras' `train_on_batch`: one optimizer step on these rows; returns the loss before it.
    ///
    /// The batch runs in training mode (Dropout drops, BatchNormalization normalises with the
    /// batch's statistics and updates its moving ones), as Keras' does.
    ///
    /// Errors, all before anything changes: what [`validate`](Self::validate) returns;
    /// [`Error::LabelShape`] for labels of another shape than the loss takes (one-hot rows for
    /// a sparse loss, class ids for categorical cross-entropy, one-hot rows for one output),
    /// naming the loss and the fix; [`Error::SizeMismatch`] for any other label count that is
    /// not rows × labels per row;
    /// [`Error::NonFinite`] for a NaN or infinity in the rows or labels;
    /// [`Error::LabelOutOfRange`] for a class id out of range; [`Error::InvalidLabel`] for a
    /// cross-entropy target outside [0, 1]; [`Error::NotEnoughData`] for no rows; and
    /// [`Error::Diverged`] (epoch 0, batch 0) when the loss or gradient is not finite or the
    /// update would make a weight or optimizer state non-finite: the weights, moving statistics
    /// and optimizer state are then left as they were.
    pub fn train_on_batch<R: InputOf<N>, Y: Labels + ?Sized>(
        &mut self,
        x: &[R],
        y: &Y,
    ) -> Result<f64> {
        self.one_batch(R::flat(x), y.values(), true)
    }

    /// The loss on these rows and its gradient for every parameter (laid out like the
    /// parameters, as `get_weights()` orders them), without changing the weights.
    ///
    /// The pass runs in training mode but leaves the model as it was: BatchNormalization's
    /// moving statistics are not updated.
    ///
    /// Errors: those of [`train_on_batch`](Self::train_on_batch), [`Error::Diverged`] included
    /// when the loss or a gradient is not finite (the gradients are then left as computed).
    pub fn loss_and_gradients<R: InputOf<N>, Y: Labels + ?Sized>(
        &mut self,
        x: &[R],
        y: &Y,
    ) -> Result<(f64, &[f32])> {
        let loss = self.one_batch(R::flat(x), y.values(), false)?;
        Ok((loss, &self.grads))
    }

    /// One batch through forward and backward (and the optimizer when `step`), on the kept tape.
    fn one_batch(&mut self, x: &[f32], y: &[f32], step: bool) -> Result<f64> {
        self.validate()?;
        let (xf, yf) = self.checked(x, y)?;
        let rows = xf.len() / N::INPUT_WIDTH;
        if rows == 0 {
            return Err(Error::NotEnoughData {
                what: "a training step needs at least one row".into(),
            });
        }
        // A batch that runs in row chunks uses the chunks' tapes only.
        let mut tape = self.take_tape(self.whole_rows(rows));
        let result = if step {
            self.train_step(xf, yf, None, rows, &mut tape, &mut [], (0, 0))
        } else {
            self.forward_backward(xf, yf, None, rows, &mut tape, &mut [])
                .and_then(|(loss, _)| self.check_gradients(loss, (0, 0)).map(|()| loss))
        };
        self.tape = Some(tape);
        result
    }

    /// The rows a training tape needs for a batch of `rows`: all of them when the batch runs
    /// whole, none when it runs in row chunks (each chunk has its own tape).
    pub(crate) fn whole_rows(&self, rows: usize) -> usize {
        if self.chunk_count(rows) == 1 {
            rows
        } else {
            0
        }
    }

    /// Forward, loss, metrics, backward, moving statistics, optimizer step on `rows` rows;
    /// returns the loss.
    ///
    /// A non-finite loss or gradient is [`Error::Diverged`] before anything changes; an update
    /// that makes a weight, a moving statistic or the optimizer's state non-finite is undone
    /// (from a copy taken before it) and reported the same way. `at` is (epoch, batch).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn train_step(
        &mut self,
        x: &[f32],
        y: &[f32],
        sample_weight: Option<&[f32]>,
        rows: usize,
        tape: &mut Tape,
        metrics: &mut [MetricState],
        at: (usize, usize),
    ) -> Result<f64> {
        let (loss, whole) = self.forward_backward(x, y, sample_weight, rows, tape, metrics)?;
        self.check_gradients(loss, at)?;
        self.keep_state();
        if N::STATE_COUNT > 0 && whole {
            self.model.update_state(tape, rows)?;
        }
        self.optimizer
            .step(self.model.params_mut(), &mut self.grads, &self.tensors);
        if let Err(e) = self.check_update(at) {
            self.restore_state();
            return Err(e);
        }
        Ok(loss)
    }

    /// The training pass for a batch's rows starting at `first_row`. Dropout masks are drawn
    /// per optimizer step, so a run resumed from a checkpoint (which restores the iterations)
    /// draws the masks the uninterrupted run would have.
    fn training_pass(&self, first_row: usize) -> Phase {
        Phase::Training(TrainingPass {
            seed: self.model.seed(),
            step: self.optimizer.iterations(),
            first_row,
        })
    }

    /// Forward, loss, metrics and backward into `self.grads`; returns the loss and whether the
    /// batch ran whole on `tape` (rather than in row chunks on their own tapes).
    fn forward_backward(
        &mut self,
        x: &[f32],
        y: &[f32],
        sample_weight: Option<&[f32]>,
        rows: usize,
        tape: &mut Tape,
        metrics: &mut [MetricState],
    ) -> Result<(f64, bool)> {
        let chunks = self.chunk_count(rows);
        let loss = if chunks > 1 {
            self.forward_backward_chunked(x, y, sample_weight, rows, chunks, metrics)?
        } else {
            self.model.forward(x, rows, tape, self.training_pass(0))?;
            let view = self.model.loss_view(x, rows, tape);
            let (loss, start) = self.loss.evaluate(
                loss_batch::<N>(view.output, view.logits, y, sample_weight),
                Some(view.delta),
            );
            for m in metrics.iter_mut() {
                m.update(view.output, y, N::OUTPUT_WIDTH);
            }
            self.model.backward(x, rows, tape, &mut self.grads, start)?;
            loss
        };
        Ok((loss, chunks == 1))
    }
}
