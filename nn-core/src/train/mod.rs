//! Training: `compile` turns a network into a [`Compiled`] model that has `fit`, `evaluate` and
//! `train_on_batch`; a network that was not compiled has none of them, so fitting it is a type
//! error.
//!
//! This file is the [`Compiled`] value itself: what `compile` keeps (network, optimizer, loss,
//! metrics, the buffers reused from step to step), its accessors and weight files, and the checks
//! of labels and rows every entry point makes. What it does is one module per idea:
//! `step.rs` (one training step, `train_on_batch`, `loss_and_gradients`), `chunks.rs` (a batch cut
//! into row chunks that run in parallel), `divergence.rs` (a step that overflows is undone and
//! named), `evaluate.rs` (`evaluate`, `predict_classes`), `fit.rs` (the loop), and the callbacks.

mod callbacks;
mod checkpoint;
mod chunks;
mod divergence;
mod evaluate;
mod fit;
mod history;
mod monitor;
mod progress;
mod scoring;
mod step;

pub use callbacks::{
    Callback, EarlyStopping, LambdaCallback, ReduceLROnPlateau, TerminateOnNaN, TrainState,
};
pub use checkpoint::ModelCheckpoint;
pub use chunks::TRAIN_CHUNK_ROWS;
pub use fit::Fit;
pub use history::{History, Logs};
pub use monitor::Mode;
pub use progress::{ProgressEvent, Verbose};
pub use scoring::Scores;
pub(crate) use scoring::Scoring;

use crate::error::Result;
use crate::loss::{Loss, LossBatch};
use crate::metrics::{Metric, MetricState};
use crate::network::{Network, Tape};
use crate::optim::Optimizer;
use crate::params::AlignedBuf;
use chunks::Chunk;
use divergence::{Place, Snapshot};

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
    /// outputs and labels ([`Metric::check`]). Errors: [`Error::InvalidArgument`](crate::Error::InvalidArgument),
    /// [`Error::IncompatibleMetric`](crate::Error::IncompatibleMetric).
    pub fn validate(&self) -> Result<()> {
        self.optimizer.validate()?;
        self.scoring().validate()
    }

    /// The network with the loss and metrics it was compiled with.
    pub(crate) fn scoring(&self) -> scoring::Scoring<'_, N> {
        scoring::Scoring {
            model: &self.model,
            loss: &self.loss,
            metrics: &self.metrics,
        }
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

    /// The metrics it was compiled with.
    pub fn metrics(&self) -> &[Metric] {
        &self.metrics
    }

    /// The gradient of the last training step, laid out like the trainable parameters.
    pub fn gradients(&self) -> &[f32] {
        &self.grads
    }

    /// Label values per row this model's loss takes.
    pub fn label_width(&self) -> usize {
        self.loss.label_width(N::OUTPUT_WIDTH)
    }

    /// The kept training tape if it holds `rows` rows, else a new one.
    pub(super) fn take_tape(&mut self, rows: usize) -> Tape {
        match self.tape.take() {
            Some(tape) if tape.capacity_rows() >= rows => tape,
            _ => Tape::for_network::<N>(rows, true),
        }
    }

    /// Checks inputs and labels once (see `Scoring::checked`).
    pub(super) fn checked<'a>(
        &self,
        xf: &'a [f32],
        y: &'a [f32],
    ) -> Result<(&'a [f32], &'a [f32])> {
        self.scoring().checked(xf, y)
    }

    /// Labels for `rows` rows (see `Scoring::check_label_shape`).
    pub(crate) fn check_label_shape(
        &self,
        what: (&'static str, &'static str),
        rows: usize,
        labels: &[f32],
    ) -> Result<()> {
        self.scoring().check_label_shape(what, rows, labels)
    }

    pub(super) fn metric_states(&self) -> Vec<MetricState> {
        self.scoring().metric_states()
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
