//! Training: `compile` turns a network into a [`Compiled`] model that has `fit`, `evaluate` and
//! `train_on_batch`; a network that was not compiled has none of them, so fitting it is a type
//! error. The loop itself is in `fit.rs`.

mod callbacks;
mod checkpoint;
mod fit;
mod history;
mod progress;

pub use callbacks::{
    Callback, EarlyStopping, LambdaCallback, Mode, ReduceLROnPlateau, TerminateOnNaN, TrainState,
};
pub use checkpoint::ModelCheckpoint;
pub use fit::Fit;
pub use history::{History, Logs};
pub use progress::{ProgressEvent, Verbose};

use crate::error::{all_finite, check_finite, first_non_finite, Error, Result};
use crate::kernels::gemm::PARALLEL_MIN_MACS;
use crate::layers::{Phase, TrainingPass};
use crate::loss::{Loss, LossBatch};
use crate::metrics::{Metric, MetricState};
use crate::network::{InputOf, Network, Tape};
use crate::optim::{Optimizer, OptimizerState};
use crate::par::prelude::*;
use crate::params::AlignedBuf;
use crate::rows::Labels;
use std::collections::BTreeMap;

/// Rows per forward pass in `evaluate` (Keras' default batch size); the result does not depend
/// on it.
const EVALUATE_BATCH: usize = 32;

/// Rows per chunk when a training batch is cut into row chunks (see [`Compiled::chunk_count`]).
/// Fixed, never derived from the thread count, so the gradient sums are the same on any pool.
pub const TRAIN_CHUNK_ROWS: usize = 64;

/// Least forward work (rows × parameters) for which a batch is cut into chunks: below it,
/// waking a second thread costs more than the chunk saves.
const CHUNK_MIN_WORK: usize = 1 << 18;

/// Most chunk workspaces a model keeps (and chunks run at once): bounds the memory a huge batch
/// takes to 16 tapes and gradient buffers.
const CHUNKS_AT_ONCE: usize = 16;

/// One row chunk's workspace: its own tape and gradient buffer, kept between steps.
struct Chunk {
    tape: Tape,
    grads: AlignedBuf,
    loss: f64,
}

/// Where one weight tensor lives, for naming the layer in [`Error::Diverged`].
struct Place {
    layer: String,
    weight: String,
    trainable: bool,
    range: std::ops::Range<usize>,
}

/// The model's and the optimizer's state before an update, put back when the update
/// overflows. The buffers are reused from step to step.
#[derive(Default)]
struct Snapshot {
    params: Vec<f32>,
    state: Vec<f32>,
    optimizer: OptimizerState,
}

/// A network with its optimizer, loss and metrics: what Keras' `model.compile` makes.
/// Dereferences to the network, so `predict`, `summary` and the weights stay at hand.
pub struct Compiled<N: Network, O: Optimizer> {
    model: N,
    optimizer: O,
    loss: Loss,
    metrics: Vec<Metric>,
    grads: AlignedBuf,
    /// Length of each weight tensor, for per-tensor gradient clipping.
    tensors: Vec<usize>,
    /// The training tape of the last `train_on_batch`, kept so the next one allocates nothing.
    tape: Option<Tape>,
    /// Workspaces of the row chunks (at most CHUNKS_AT_ONCE), kept between steps.
    chunks: Vec<Chunk>,
    /// Every weight tensor's layer, name and range, in `get_weights()` order.
    places: Vec<Place>,
    /// The state before the last update, to undo one that overflows.
    snapshot: Snapshot,
    /// The last `fit`'s record (Keras' `model.history`), kept when the run ends with an error.
    history: History,
}

/// The model by its type name, the optimizer by Keras' name and learning rate; buffers left out.
impl<N: Network, O: Optimizer> std::fmt::Debug for Compiled<N, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiled")
            .field("model", &std::any::type_name::<N>())
            .field("optimizer", &self.optimizer.name())
            .field("learning_rate", &self.optimizer.learning_rate())
            .field("loss", &self.loss)
            .field("metrics", &self.metrics)
            .finish_non_exhaustive()
    }
}

/// `evaluate`'s result: the loss and each metric by name.
#[derive(Clone, Debug, PartialEq)]
pub struct Scores {
    /// Mean loss over all rows.
    pub loss: f64,
    /// Each compiled metric by its name.
    pub metrics: BTreeMap<String, f64>,
}

impl Scores {
    /// `"loss"` or a metric's name.
    pub fn get(&self, name: &str) -> Option<f64> {
        match name {
            "loss" => Some(self.loss),
            _ => self.metrics.get(name).copied(),
        }
    }
}

impl<N: Network, O: Optimizer> Compiled<N, O> {
    /// Keras' `compile(optimizer, loss, metrics)`. Returns no error: the arguments are checked
    /// by [`validate`](Self::validate), which `fit`, `train_on_batch`, `evaluate` and
    /// `loss_and_gradients` call before anything changes.
    #[must_use = "`Compiled::new` returns the trainable model; the network it was given is moved"]
    pub fn new(
        model: N,
        optimizer: O,
        loss: Loss,
        metrics: impl IntoIterator<Item = Metric>,
    ) -> Self {
        let tensors: Vec<usize> = N::spec()
            .weights()
            .filter(|(_, w)| w.trainable)
            .map(|(_, w)| w.len())
            .collect();
        let spec = N::spec();
        let places = spec
            .weight_places()
            .iter()
            .map(|p| Place {
                layer: p.layer.name.clone(),
                weight: format!("{}/{}", p.layer.name, p.weight.name),
                trainable: p.trainable,
                range: p.range(),
            })
            .collect();
        Compiled {
            model,
            optimizer,
            loss,
            metrics: metrics.into_iter().collect(),
            grads: AlignedBuf::zeros(N::TRAINABLE_COUNT),
            tensors,
            tape: None,
            chunks: Vec::new(),
            places,
            snapshot: Snapshot::default(),
            history: History::default(),
        }
    }

    /// Checks what `compile` was given, as Keras constrains it: the optimizer's settings
    /// ([`Optimizer::validate`]: learning rate finite and ≥ 0, betas in [0, 1), epsilon and
    /// clip values > 0, …), the loss's (Huber's delta > 0), each metric's fit to the model's
    /// outputs and labels ([`Metric::check`]). Errors: [`Error::InvalidArgument`],
    /// [`Error::IncompatibleMetric`].
    pub fn validate(&self) -> Result<()> {
        self.optimizer.validate()?;
        self.loss.validate()?;
        let label_width = self.label_width();
        for m in &self.metrics {
            m.check(N::OUTPUT_WIDTH, label_width)?;
        }
        Ok(())
    }

    /// Keras' `model.history`: the record of the last [`fit`](Self::fit), one entry per epoch
    /// that finished. When `fit` ends with an error (a divergence, a validation pass whose
    /// outputs overflowed, a callback's error) it returns only the error; the epochs that
    /// finished before it are here. Empty before the first `fit`, and after a `fit` that its
    /// argument checks refused.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// The network.
    pub fn model(&self) -> &N {
        &self.model
    }

    /// The network, mutable.
    pub fn model_mut(&mut self) -> &mut N {
        &mut self.model
    }

    /// The network, giving up the optimizer state.
    pub fn into_model(self) -> N {
        self.model
    }

    /// The optimizer (its learning rate, iterations).
    pub fn optimizer(&self) -> &O {
        &self.optimizer
    }

    /// The optimizer, mutable.
    pub fn optimizer_mut(&mut self) -> &mut O {
        &mut self.optimizer
    }

    /// The loss.
    pub fn loss(&self) -> Loss {
        self.loss
    }

    /// `save_weights` with the optimizer's state (`.safetensors`), so training resumed from the
    /// file continues exactly as it would have; a `.weights.h5` holds the model's weights only.
    pub fn save_weights(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        let path = path.as_ref();
        match crate::io::Format::from_path(path)? {
            crate::io::Format::SafeTensors => {
                crate::io::save(&self.model, Some(&self.optimizer), path)
            }
            _ => crate::io::save(&self.model, None, path),
        }
    }

    /// `load_weights`, also restoring the optimizer's state when the file holds one (saved by
    /// a compiled model with the same optimizer). Nothing changes unless all of it fits.
    pub fn load_weights(&mut self, path: impl AsRef<std::path::Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = crate::io::read_file(path)?;
        crate::io::load_with_optimizer(
            &mut self.model,
            &mut self.optimizer,
            &bytes,
            &path.display().to_string(),
        )
    }

    /// `load_weights` from bytes in memory, with the optimizer's state when they hold one.
    pub fn load_weights_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        crate::io::load_with_optimizer(&mut self.model, &mut self.optimizer, bytes, "bytes")
    }

    /// The gradient of the last training step, laid out like the trainable parameters.
    pub fn gradients(&self) -> &[f32] {
        &self.grads
    }

    /// Label values per row this model's loss takes.
    pub fn label_width(&self) -> usize {
        self.loss.label_width(N::OUTPUT_WIDTH)
    }

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

    /// Keras' `evaluate`: the loss and metrics over all rows, in inference mode.
    ///
    /// Errors: what [`validate`](Self::validate) returns; [`Error::LabelShape`],
    /// [`Error::SizeMismatch`], [`Error::NonFinite`], [`Error::LabelOutOfRange`] and [`Error::InvalidLabel`] for the
    /// rows and labels, as `train_on_batch`; [`Error::NotEnoughData`] for no rows; and, as
    /// `predict` gives for the same rows, [`Error::NonFinite`] with `what` = `"output"` when
    /// finite rows give a non-finite output (the pass overflowed), naming its row and column,
    /// rather than a loss of `inf` or NaN.
    pub fn evaluate<R: InputOf<N>, Y: Labels + ?Sized>(&self, x: &[R], y: &Y) -> Result<Scores> {
        self.validate()?;
        let (xf, yf) = self.checked(R::flat(x), y.values())?;
        if x.is_empty() {
            return Err(Error::NotEnoughData {
                what: "evaluate needs at least one row".into(),
            });
        }
        self.evaluate_flat(xf, yf, None)
    }

    /// Class predictions: output > 0.5 for a one-output model, else the argmax of each row.
    ///
    /// Errors, as `predict`'s: [`Error::NonFinite`] with `what` = `"input"` for a NaN or
    /// infinity in the rows (the first, by row and column; the error `evaluate` gives), or with
    /// `what` = `"output"` when finite rows give a non-finite output (the pass overflowed).
    pub fn predict_classes<R: InputOf<N>>(&self, x: &[R]) -> Result<Vec<usize>> {
        let mut out = vec![0.0; x.len() * N::OUTPUT_WIDTH];
        crate::inference::predict_into(&self.model, R::flat(x), &mut out)?;
        Ok(out
            .chunks(N::OUTPUT_WIDTH)
            .map(|row| match row {
                [p] => usize::from(*p > 0.5),
                _ => crate::metrics::argmax(row),
            })
            .collect())
    }

    /// The kept training tape if it holds `rows` rows, else a new one.
    fn take_tape(&mut self, rows: usize) -> Tape {
        match self.tape.take() {
            Some(tape) if tape.capacity_rows() >= rows => tape,
            _ => Tape::for_network::<N>(rows, true),
        }
    }

    /// Checks inputs and labels once: labels the right count and finite (class ids in range),
    /// inputs finite.
    fn checked<'a>(&self, xf: &'a [f32], y: &'a [f32]) -> Result<(&'a [f32], &'a [f32])> {
        let rows = xf.len() / N::INPUT_WIDTH;
        self.check_label_shape(("labels", "label values (rows × labels per row)"), rows, y)?;
        check_finite("input", xf, N::INPUT_WIDTH)?;
        self.loss.check_labels(y, N::OUTPUT_WIDTH)?;
        Ok((xf, y))
    }

    /// Labels for `rows` rows: as many values per row as the loss takes. A whole number of
    /// values per row that is another count is a label-shape mistake ([`Error::LabelShape`]:
    /// one-hot rows for a sparse loss, class ids for categorical cross-entropy, …, naming the
    /// loss and the fix); any other count is [`Error::SizeMismatch`].
    ///
    /// `what` names the labels in a `LabelShape` message, `count` in a `SizeMismatch` one.
    pub(crate) fn check_label_shape(
        &self,
        (what, count): (&'static str, &'static str),
        rows: usize,
        labels: &[f32],
    ) -> Result<()> {
        let width = self.label_width();
        if labels.len() == rows * width {
            return Ok(());
        }
        if rows > 0 && labels.len().is_multiple_of(rows) {
            return Err(self
                .loss
                .label_shape_error(what, labels.len() / rows, N::OUTPUT_WIDTH));
        }
        Err(Error::SizeMismatch {
            what: count,
            expected: rows * width,
            got: labels.len(),
        })
    }

    fn metric_states(&self) -> Vec<MetricState> {
        self.metrics
            .iter()
            .map(|&m| MetricState::new(m, N::OUTPUT_WIDTH, self.label_width()))
            .collect()
    }

    /// Loss and metrics over checked flat data; the loss weighted by `sample_weight` (one per
    /// row) when given, the metrics never.
    fn evaluate_flat(&self, x: &[f32], y: &[f32], sample_weight: Option<&[f32]>) -> Result<Scores> {
        let rows = x.len() / N::INPUT_WIDTH;
        let label_width = self.label_width();
        let mut tape = Tape::for_network::<N>(rows.min(EVALUATE_BATCH), true);
        let mut states = self.metric_states();
        let mut total = 0.0;
        for (b, (xb, yb)) in x
            .chunks(EVALUATE_BATCH * N::INPUT_WIDTH)
            .zip(y.chunks(EVALUATE_BATCH * label_width))
            .enumerate()
        {
            let r = xb.len() / N::INPUT_WIDTH;
            let first = b * EVALUATE_BATCH;
            let wb = sample_weight.map(|w| row_range(w, first..first + r, 1));
            self.model.forward(xb, r, &mut tape, Phase::Inference)?;
            let view = self.model.loss_view(xb, r, &mut tape);
            let output = view.output;
            // predict's rule: finite rows whose outputs overflowed are an error, not a loss.
            if let Some((i, value)) = first_non_finite(output) {
                return Err(Error::NonFinite {
                    what: crate::inference::OUTPUT,
                    row: first + i / N::OUTPUT_WIDTH,
                    column: i % N::OUTPUT_WIDTH,
                    value,
                });
            }
            let (loss, _) = self
                .loss
                .evaluate(loss_batch::<N>(output, view.logits, yb, wb), None);
            total += loss * r as f64;
            states
                .iter_mut()
                .for_each(|m| m.update(output, yb, N::OUTPUT_WIDTH));
        }
        Ok(Scores {
            loss: total / rows as f64,
            metrics: states
                .iter()
                .map(|m| (m.name().to_string(), m.result()))
                .collect(),
        })
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
    fn train_step(
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

    /// [`Error::Diverged`] when the loss or a gradient is not finite, naming the first layer
    /// (in model order) whose gradient holds a NaN or infinity.
    fn check_gradients(&self, loss: f64, (epoch, batch): (usize, usize)) -> Result<()> {
        if loss.is_finite() && all_finite(&self.grads) {
            return Ok(());
        }
        let loss_text = if loss.is_finite() {
            String::new()
        } else {
            format!("the loss is {loss}; ")
        };
        let (layer, what) = match first_non_finite(&self.grads) {
            Some((i, value)) => {
                let (layer, weight) = self.place_of(i, true);
                (
                    layer,
                    format!("{loss_text}{value} in the gradient of {weight}"),
                )
            }
            None => (
                N::spec()
                    .layers
                    .last()
                    .map_or_else(String::new, |l| l.name.clone()),
                format!("the loss is {loss}"),
            ),
        };
        Err(Error::Diverged {
            epoch,
            batch,
            layer,
            what,
        })
    }

    /// The layer and weight (`dense_1/kernel`) holding index `i` of the parameter buffer
    /// (`trainable`) or the state buffer.
    fn place_of(&self, i: usize, trainable: bool) -> (String, String) {
        self.places
            .iter()
            .find(|p| p.trainable == trainable && p.range.contains(&i))
            .map_or_else(
                || (String::new(), format!("value {i}")),
                |p| (p.layer.clone(), p.weight.clone()),
            )
    }

    /// Copies the parameters, moving statistics and optimizer state before an update.
    fn keep_state(&mut self) {
        let snapshot = &mut self.snapshot;
        snapshot.params.clear();
        snapshot.params.extend_from_slice(self.model.params());
        if N::STATE_COUNT > 0 {
            snapshot.state.clear();
            snapshot.state.extend_from_slice(self.model.state());
        }
        self.optimizer.save_state(&mut snapshot.optimizer);
    }

    /// Puts back what `keep_state` copied.
    fn restore_state(&mut self) {
        let (params, state) = self.model.params_and_state_mut();
        params.copy_from_slice(&self.snapshot.params);
        if N::STATE_COUNT > 0 {
            state.copy_from_slice(&self.snapshot.state);
        }
        self.optimizer.restore_state(&self.snapshot.optimizer);
    }

    /// [`Error::Diverged`] when the update left a non-finite weight, moving statistic or
    /// optimizer state value.
    fn check_update(&self, (epoch, batch): (usize, usize)) -> Result<()> {
        let params = self.model.params();
        let state = self.model.state();
        if all_finite(params)
            && (N::STATE_COUNT == 0 || all_finite(state))
            && self.optimizer.state_is_finite()
        {
            return Ok(());
        }
        let (layer, what) = if let Some((i, value)) = first_non_finite(params) {
            let (layer, weight) = self.place_of(i, true);
            (layer, format!("the update made {weight} {value}"))
        } else if let Some((i, value)) = first_non_finite(state) {
            let (layer, weight) = self.place_of(i, false);
            (layer, format!("the batch made {weight} {value}"))
        } else {
            self.optimizer
                .slots()
                .iter()
                .find_map(|(name, values)| {
                    first_non_finite(values).map(|(i, value)| {
                        let (layer, weight) = self.place_of(i, true);
                        (
                            layer,
                            format!("the update made the optimizer's {name} of {weight} {value}"),
                        )
                    })
                })
                .unwrap_or_default()
        };
        Err(Error::Diverged {
            epoch,
            batch,
            layer,
            what,
        })
    }

    /// How many row chunks a training batch of `rows` is cut into; 1 means it runs whole.
    ///
    /// Fixed-size row chunks run in parallel, each on its own tape and gradient buffer, and the
    /// chunk gradients are summed in chunk order. A batch runs whole instead when it is under
    /// two chunks or too little work to share, or when even one chunk's widest GEMM would be
    /// split among threads by the GEMM itself: for wide layers (784→512) that split measured
    /// faster than chunks, which repack the weights and reduce a large gradient per chunk. For
    /// small layers it is the other way round: the tutorial model at batch 1024 took 190–230 µs
    /// a step in chunks on two threads against 490–620 µs whole.
    ///
    /// A model whose training mode mixes rows (BatchNormalization's batch statistics) always
    /// runs the batch whole, as Keras computes those statistics over the whole batch.
    ///
    /// Nothing here depends on the thread count, so the weights a run trains are the same on
    /// one thread or many.
    pub fn chunk_count(&self, rows: usize) -> usize {
        let wide_layers = TRAIN_CHUNK_ROWS * N::MAX_LAYER_MACS >= PARALLEL_MIN_MACS;
        let small = rows.saturating_mul(N::MACS_PER_ROW) < CHUNK_MIN_WORK;
        if N::COUPLES_ROWS || wide_layers || small || rows < 2 * TRAIN_CHUNK_ROWS {
            1
        } else {
            rows.div_ceil(TRAIN_CHUNK_ROWS)
        }
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

impl<N: Network, O: Optimizer> Compiled<N, O> {
    /// `forward_backward` on `chunks` row chunks of TRAIN_CHUNK_ROWS in parallel; the chunk
    /// gradients and losses are summed in chunk order, the metrics updated in chunk order.
    fn forward_backward_chunked(
        &mut self,
        x: &[f32],
        y: &[f32],
        sample_weight: Option<&[f32]>,
        rows: usize,
        chunks: usize,
        metrics: &mut [MetricState],
    ) -> Result<f64> {
        let workspaces = chunks.min(CHUNKS_AT_ONCE);
        while self.chunks.len() < workspaces {
            self.chunks.push(Chunk {
                tape: Tape::for_network::<N>(TRAIN_CHUNK_ROWS, true),
                grads: AlignedBuf::zeros(N::TRAINABLE_COUNT),
                loss: 0.0,
            });
        }
        let label_width = self.label_width();
        debug_assert!(
            !N::COUPLES_ROWS,
            "a batch-coupled model runs its batches whole"
        );
        let (model, loss) = (&self.model, self.loss);
        let (seed, step) = (self.model.seed(), self.optimizer.iterations());
        let pass = |first_row: usize| {
            Phase::Training(TrainingPass {
                seed,
                step,
                first_row,
            })
        };
        let span = |c: usize| {
            let start = c * TRAIN_CHUNK_ROWS;
            start..(start + TRAIN_CHUNK_ROWS).min(rows)
        };
        let part = |c: usize| {
            let r = span(c);
            (
                row_range(x, r.clone(), N::INPUT_WIDTH),
                row_range(y, r.clone(), label_width),
                sample_weight.map(|w| row_range(w, r.clone(), 1)),
                r.len(),
            )
        };
        let mut total = 0.0;
        // Waves of at most CHUNKS_AT_ONCE chunks, so a huge batch does not keep a workspace
        // per chunk; each wave is folded into the gradient in chunk order, so the sums are the
        // same as one wave would give.
        for first in (0..chunks).step_by(CHUNKS_AT_ONCE) {
            let wave = CHUNKS_AT_ONCE.min(chunks - first);
            // `workspaces` chunks were made above, at least `wave`.
            debug_assert!(wave <= self.chunks.len());
            self.chunks
                .get_mut(..wave)
                .unwrap_or_default()
                .par_iter_mut()
                .enumerate()
                .try_for_each(|(i, chunk)| {
                    let (xc, yc, wc, r) = part(first + i);
                    model.forward(xc, r, &mut chunk.tape, pass(span(first + i).start))?;
                    let view = model.loss_view(xc, r, &mut chunk.tape);
                    let (chunk_loss, start) = loss.evaluate_part(
                        loss_batch::<N>(view.output, view.logits, yc, wc),
                        Some(view.delta),
                        rows,
                    );
                    chunk.loss = chunk_loss;
                    model.backward(xc, r, &mut chunk.tape, &mut chunk.grads, start)
                })?;
            for (i, chunk) in self.chunks.iter_mut().take(wave).enumerate() {
                let (xc, yc, _, r) = part(first + i);
                let output = chunk.tape.output(xc, r);
                for m in metrics.iter_mut() {
                    m.update(output, yc, N::OUTPUT_WIDTH);
                }
                total += chunk.loss;
                if first + i == 0 {
                    self.grads.copy_from_slice(&chunk.grads);
                } else {
                    self.grads
                        .iter_mut()
                        .zip(chunk.grads.iter())
                        .for_each(|(g, c)| *g += c);
                }
            }
        }
        Ok(total)
    }
}

/// Rows `rows` of `values`, `width` values each. Callers pass rows inside the buffer (their
/// sizes are checked on the way in; asserted in debug); past it, the slice is empty.
pub(crate) fn row_range(values: &[f32], rows: std::ops::Range<usize>, width: usize) -> &[f32] {
    let range = rows.start * width..rows.end * width;
    debug_assert!(range.end <= values.len(), "rows past the buffer");
    values.get(range).unwrap_or_default()
}

/// The last layer of `N` and its labels, as the loss reads them.
fn loss_batch<'a, N: Network>(
    output: &'a [f32],
    pre_activation: &'a [f32],
    labels: &'a [f32],
    sample_weight: Option<&'a [f32]>,
) -> LossBatch<'a> {
    LossBatch {
        output,
        pre_activation,
        labels,
        sample_weight,
        output_activation: N::OUTPUT_ACTIVATION,
        width: N::OUTPUT_WIDTH,
    }
}

impl<N: Network, O: Optimizer> std::ops::Deref for Compiled<N, O> {
    type Target = N;
    fn deref(&self) -> &N {
        &self.model
    }
}

impl<N: Network, O: Optimizer> std::ops::DerefMut for Compiled<N, O> {
    fn deref_mut(&mut self) -> &mut N {
        &mut self.model
    }
}
