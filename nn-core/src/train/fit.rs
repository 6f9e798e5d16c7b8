//! `fit`: Keras' training loop. Per epoch: shuffle (seeded), then per batch gather the rows,
//! train one step, update the running loss and metrics, run batch callbacks; then validate,
//! run epoch callbacks, record the History.

use super::callbacks::{Callback, TrainState};
use super::history::{History, Logs};
use super::progress::{EpochProgress, ProgressEvent, Verbose};
use super::{row_range, Compiled};
use crate::error::{Error, Result};
use crate::network::{InputOf, Network, Tape};
use crate::optim::Optimizer;
use crate::rows::Labels;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::collections::HashMap;

/// `fit`'s arguments, with Keras' defaults (`..Fit::default()`).
///
/// `R` and `Y` are the types of `fit`'s rows and labels, so `validation_data` takes rows and
/// labels of the same types as the training data; the compiler infers both from the `fit`
/// call, including for options bound to a variable first:
///
/// ```
/// # use nn_core::train::{Fit, Verbose};
/// let x_val: Vec<[f32; 10]> = vec![[0.0; 10]; 4];
/// let y_val: Vec<f32> = vec![0.0, 1.0, 1.0, 0.0];
/// let options = Fit {
///     epochs: 10,
///     validation_data: Some((&x_val, &y_val)), // rows and labels typed as fit's x and y
///     verbose: 2.into(),
///     ..Fit::default()
/// };
/// assert_eq!(options.verbose, Verbose::EpochLines);
/// // model.fit(&x_train, &y_train, options)?; with x_train: Vec<[f32; 10]>, y_train: Vec<f32>
/// # let _: Fit<'_, [f32; 10], Vec<f32>> = options;
/// ```
///
/// A helper that builds options for several calls names them as `Fit<'a, [f32; 10], [f32]>`
/// (or stays generic: `fn quiet<'a, R, Y: ?Sized>() -> Fit<'a, R, Y>`); the defaults of `R`
/// and `Y` only fill a bare `Fit<'a>` written in a type.
pub struct Fit<'a, R = [f32; 0], Y: ?Sized = [f32]> {
    /// Last epoch (exclusive), as Keras counts: `initial_epoch..epochs`. Default 1.
    pub epochs: usize,
    /// Rows per gradient step. Default 32.
    pub batch_size: usize,
    /// Fraction of the rows, taken from the end before any shuffling, held out for validation.
    /// `f64`, as Python's float: in `f32`, 800 × (1 − 0.1) would floor to 719.
    pub validation_split: f64,
    /// Validation rows and labels, of the types `fit`'s `x` and `y` have (Keras'
    /// `validation_data=(x_val, y_val)`); overrides `validation_split`. Evaluated after each
    /// epoch in inference mode, unweighted.
    pub validation_data: Option<(&'a [R], &'a Y)>,
    /// Shuffle the training rows before each epoch. Default true.
    pub shuffle: bool,
    /// Seed of the shuffling, so a run can be repeated exactly.
    pub seed: u64,
    /// Per-class loss weights: class id → weight. Every class in the labels must be listed.
    pub class_weight: Option<HashMap<usize, f32>>,
    /// One loss weight per row of `x` (Keras' `sample_weight`): each row's loss is multiplied
    /// by it (and by its class weight when `class_weight` is given too), and the batch loss is
    /// the sum of the weighted row losses divided by the batch's row count, as Keras reduces
    /// it. The reported `loss` is that weighted loss; metrics stay unweighted (Keras passes
    /// sample weights only to `weighted_metrics`, which seqnet does not have). With
    /// `validation_split` the held-out rows' weights weight `val_loss`, as Keras 3 slices
    /// `sample_weight` with the rows. Weights must be finite and ≥ 0.
    pub sample_weight: Option<&'a [f32]>,
    /// Epoch to start counting from (to resume a run). Default 0.
    pub initial_epoch: usize,
    /// What to report per epoch: [`Verbose::Silent`], [`Verbose::ProgressBar`] (the default)
    /// or [`Verbose::EpochLines`]; Keras' numbers convert, so `verbose: 2.into()` works.
    pub verbose: Verbose,
    /// Where the report goes: `None` prints Keras' lines to stdout; a sink receives them as
    /// [`ProgressEvent`]s instead (its `Display` is the line), for apps without a terminal, a
    /// GUI or a logger, with no live bar. `verbose` still decides what is reported:
    /// [`Verbose::Silent`] sends nothing.
    ///
    /// ```
    /// # use nn_core::train::{Fit, ProgressEvent};
    /// let mut lines = Vec::new();
    /// let options: Fit<'_, [f32; 10], [f32]> = Fit {
    ///     epochs: 2,
    ///     // or `log::info!("{event}")`, a channel, a GUI's label…
    ///     progress: Some(Box::new(|event: &ProgressEvent| lines.push(event.to_string()))),
    ///     ..Fit::default()
    /// };
    /// # drop(options);
    /// ```
    #[allow(clippy::type_complexity)]
    pub progress: Option<Box<dyn FnMut(&ProgressEvent<'_>) + 'a>>,
    /// Run in order at each batch and epoch end.
    pub callbacks: Vec<Box<dyn Callback + 'a>>,
}

impl<R, Y: ?Sized> Default for Fit<'_, R, Y> {
    fn default() -> Self {
        Fit {
            epochs: 1,
            batch_size: 32,
            validation_split: 0.0,
            validation_data: None,
            shuffle: true,
            seed: 0,
            class_weight: None,
            sample_weight: None,
            initial_epoch: 0,
            verbose: Verbose::ProgressBar,
            progress: None,
            callbacks: Vec::new(),
        }
    }
}

impl<R: std::fmt::Debug, Y: std::fmt::Debug + ?Sized> std::fmt::Debug for Fit<'_, R, Y> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fit")
            .field("epochs", &self.epochs)
            .field("batch_size", &self.batch_size)
            .field("validation_split", &self.validation_split)
            .field("validation_data", &self.validation_data)
            .field("shuffle", &self.shuffle)
            .field("seed", &self.seed)
            .field("class_weight", &self.class_weight)
            .field("sample_weight", &self.sample_weight)
            .field("initial_epoch", &self.initial_epoch)
            .field("verbose", &self.verbose)
            .field("progress", &self.progress.as_ref().map(|_| "sink"))
            .field("callbacks", &self.callbacks.len())
            .finish()
    }
}

/// [`Error::SizeMismatch`] unless there is one weight per row, [`Error::InvalidArgument`] for a
/// weight that is negative or not finite.
fn check_sample_weight(weights: &[f32], rows: usize) -> Result<()> {
    if weights.len() != rows {
        return Err(Error::SizeMismatch {
            what: "sample_weight (one weight per row of x)",
            expected: rows,
            got: weights.len(),
        });
    }
    match weights
        .iter()
        .enumerate()
        .find(|(_, w)| !(w.is_finite() && **w >= 0.0))
    {
        Some((row, w)) => Err(Error::InvalidArgument {
            what: "sample_weight",
            expected: "finite weights ≥ 0",
            got: format!("{w} at row {row}"),
        }),
        None => Ok(()),
    }
}

/// Sets a running value, allocating its name only the first time (this runs every batch).
fn set_log(logs: &mut Logs, name: &str, value: f64) {
    match logs.get_mut(name) {
        Some(slot) => *slot = value,
        None => {
            logs.insert(name.to_string(), value);
        }
    }
}

impl<N: Network, O: Optimizer> Compiled<N, O> {
    /// Keras' `fit`: trains on `x` and `y` and returns the per-epoch History.
    ///
    /// Keras' keyword arguments are the fields of [`Fit`]: `fit(x, y, epochs=10,
    /// batch_size=32)` is `fit(&x, &y, Fit { epochs: 10, batch_size: 32, ..Fit::default() })`.
    ///
    /// Every argument is checked before the first batch, so these errors leave the model as it
    /// was: what [`validate`](Self::validate) returns for the optimizer, loss and metrics
    /// ([`Error::InvalidArgument`], [`Error::IncompatibleMetric`]); for the rows and labels
    /// (training and validation) [`Error::LabelShape`] for labels of another shape than the
    /// loss takes (one-hot rows for a sparse loss, class ids for categorical cross-entropy:
    /// the message names the loss and the fix), [`Error::SizeMismatch`] for a label count that
    /// is no whole number per row, [`Error::NonFinite`], [`Error::LabelOutOfRange`],
    /// [`Error::InvalidLabel`]; for `sample_weight` [`Error::SizeMismatch`] (not one weight per
    /// row) and [`Error::InvalidArgument`] (negative or not finite);
    /// [`Error::InvalidArgument`] for `batch_size` 0, `validation_split` outside [0, 1), a
    /// class weight that is negative or not finite, a class without a weight or a label that is
    /// no class id; [`Error::NotEnoughData`] for no training rows, a split that leaves one side
    /// empty, or empty `validation_data`; a callback's own check ([`Callback::check`]:
    /// [`Error::UnknownMonitor`] for a monitored name the run will not log, with a suggestion,
    /// or [`Error::InvalidArgument`]); the checkpoint's file name.
    ///
    /// During training: [`Error::Diverged`] (epoch, batch, layer) as soon as a loss or gradient
    /// is not finite or an update would make a weight non-finite; the weights, moving
    /// statistics and optimizer state are then those before that batch (the last finite state),
    /// with or without `TerminateOnNaN`. A callback may also end the run with its error (a
    /// weights file that cannot be written: [`Error::Io`]); the weights are then as that epoch
    /// or batch left them. The validation pass at an epoch's end keeps `predict`'s rule: finite
    /// validation rows whose outputs overflow end the run with [`Error::NonFinite`] (`what` =
    /// `"output"`, the validation row and column), the weights as that epoch's last finite step
    /// left them. After any of these errors, [`history`](Self::history) holds the epochs that
    /// finished.
    pub fn fit<R: InputOf<N>, Y: Labels + ?Sized>(
        &mut self,
        x: &[R],
        y: &Y,
        options: Fit<'_, R, Y>,
    ) -> Result<History> {
        let Fit {
            epochs,
            batch_size,
            validation_split,
            validation_data,
            shuffle,
            seed,
            class_weight,
            sample_weight,
            initial_epoch,
            verbose,
            mut progress,
            mut callbacks,
        } = options;
        // This run's record from the start (Keras' model.history): filled epoch by epoch, so an
        // error leaves the epochs that finished, and a run refused by its checks, none.
        self.history = History::default();
        self.validate()?;
        let (xf, yf) = self.checked(R::flat(x), y.values())?;
        let label_width = self.label_width();
        if batch_size == 0 {
            return Err(Error::InvalidArgument {
                what: "batch_size",
                expected: "at least 1",
                got: "0".into(),
            });
        }
        if !(0.0..1.0).contains(&validation_split) {
            return Err(Error::InvalidArgument {
                what: "validation_split",
                expected: "in [0, 1)",
                got: validation_split.to_string(),
            });
        }

        // Validation rows: given, or the last fraction of the data as Keras takes it.
        let rows = x.len();
        if let Some(weights) = sample_weight {
            check_sample_weight(weights, rows)?;
        }
        let (train_rows, validation) = match validation_data {
            Some((vx, vy)) => {
                let (vx, vy) = (R::flat(vx), vy.values());
                let vrows = crate::error::row_count("validation input", vx, N::INPUT_WIDTH)?;
                self.check_label_shape(
                    (
                        "validation labels",
                        "validation label values (rows × labels per row)",
                    ),
                    vrows,
                    vy,
                )?;
                if vrows == 0 {
                    return Err(Error::NotEnoughData {
                        what: "validation_data has no rows: give at least one row, or None to \
                               train without validation"
                            .into(),
                    });
                }
                N::check_input("validation input", vx)?;
                self.loss.check_labels(vy, N::OUTPUT_WIDTH)?;
                (rows, Some((vx, vy, None)))
            }
            None if validation_split > 0.0 => {
                let split_at = (rows as f64 * (1.0 - validation_split)).floor() as usize;
                if split_at == 0 || split_at == rows {
                    return Err(Error::NotEnoughData {
                        what: format!(
                            "{rows} rows cannot be split into training and validation rows \
                             with validation_split = {validation_split}"
                        ),
                    });
                }
                let v = (
                    row_range(xf, split_at..rows, N::INPUT_WIDTH),
                    row_range(yf, split_at..rows, label_width),
                    sample_weight.map(|w| row_range(w, split_at..rows, 1)),
                );
                (split_at, Some(v))
            }
            None => (rows, None),
        };
        if train_rows == 0 {
            return Err(Error::NotEnoughData {
                what: "fit needs at least one training row".into(),
            });
        }
        // One weight per training row: the sample weight times the class weight, as Keras
        // multiplies them.
        let mut weights = match &class_weight {
            Some(map) => Some(self.sample_weights(row_range(yf, 0..train_rows, label_width), map)?),
            None => None,
        };
        if let Some(given) = sample_weight.map(|w| row_range(w, 0..train_rows, 1)) {
            weights = Some(match weights {
                Some(classes) => classes.iter().zip(given).map(|(c, s)| c * s).collect(),
                None => given.to_vec(),
            });
        }

        // Every name the epoch logs will hold, for the callbacks' checks.
        let mut logged = vec!["loss".to_string()];
        logged.extend(self.metrics.iter().map(|m| m.name().to_string()));
        if validation.is_some() {
            let val: Vec<String> = logged.iter().map(|n| format!("val_{n}")).collect();
            logged.extend(val);
        }
        for cb in &callbacks {
            logged.extend(cb.logs_added().iter().map(|n| n.to_string()));
        }
        for cb in &callbacks {
            cb.check(&logged)?;
        }

        let batch = batch_size.min(train_rows);
        let steps = train_rows.div_ceil(batch);
        // A training tape only for batches that run whole (the last one may be shorter); a
        // batch cut into row chunks runs on the chunks' own tapes, so memory stays bounded by
        // the chunk workspaces however large `batch_size` is.
        let tape_rows = self
            .whole_rows(batch)
            .max(self.whole_rows(train_rows % batch));
        let mut tape = Tape::for_network::<N>(tape_rows, true);
        let mut xb = vec![0.0f32; batch * N::INPUT_WIDTH];
        let mut yb = vec![0.0f32; batch * label_width];
        let mut wb = vec![0.0f32; batch];
        let mut order: Vec<usize> = (0..train_rows).collect();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut metrics = self.metric_states();
        let mut stop = false;

        self.run_callbacks(&mut callbacks, &mut stop, |cb, state| {
            cb.on_train_begin(state)
        })?;
        for epoch in initial_epoch..epochs {
            if shuffle {
                order.shuffle(&mut rng);
            }
            metrics.iter_mut().for_each(|m| m.reset());
            let display =
                EpochProgress::start(verbose, progress.as_deref_mut(), epoch, epochs, steps);
            let (mut loss_sum, mut seen) = (0.0f64, 0usize);
            let mut logs = Logs::new();

            for (b, indices) in order.chunks(batch).enumerate() {
                let r = indices.len();
                let (w, lw) = (N::INPUT_WIDTH, label_width);
                // `order` holds training rows only, `batch` at a time: every copy is in range.
                for (&i, to) in indices.iter().zip(xb.chunks_exact_mut(w.max(1))) {
                    to.copy_from_slice(row_range(xf, i..i + 1, w));
                }
                for (&i, to) in indices.iter().zip(yb.chunks_exact_mut(lw.max(1))) {
                    to.copy_from_slice(row_range(yf, i..i + 1, lw));
                }
                if let Some(weights) = &weights {
                    for (&i, to) in indices.iter().zip(wb.iter_mut()) {
                        *to = row_range(weights, i..i + 1, 1)
                            .first()
                            .copied()
                            .unwrap_or(1.0);
                    }
                }
                let sample_weight = weights.as_ref().map(|_| row_range(&wb, 0..r, 1));
                let loss = self.train_step(
                    row_range(&xb, 0..r, N::INPUT_WIDTH),
                    row_range(&yb, 0..r, label_width),
                    sample_weight,
                    r,
                    &mut tape,
                    &mut metrics,
                    (epoch, b),
                )?;
                loss_sum += loss * r as f64;
                seen += r;
                set_log(&mut logs, "loss", loss_sum / seen as f64);
                for m in &metrics {
                    set_log(&mut logs, m.name(), m.result());
                }
                set_log(&mut logs, "batch_loss", loss);
                display.batch_done(&logs);
                self.run_callbacks(&mut callbacks, &mut stop, |cb, state| {
                    cb.on_batch_end(epoch, b, &logs, state)
                })?;
                if stop {
                    break;
                }
            }
            logs.remove("batch_loss");

            if let Some((vx, vy, vw)) = validation {
                let scores = self.evaluate_flat(vx, vy, vw)?;
                logs.insert("val_loss".into(), scores.loss);
                for (name, v) in scores.metrics {
                    logs.insert(format!("val_{name}"), v);
                }
            }
            self.run_callbacks(&mut callbacks, &mut stop, |cb, state| {
                cb.on_epoch_end(epoch, &mut logs, state)
            })?;
            self.history.push(epoch, &logs);
            display.finish(progress.as_deref_mut(), &logs);
            if stop {
                break;
            }
        }
        self.run_callbacks(&mut callbacks, &mut stop, |cb, state| {
            cb.on_train_end(state)
        })?;
        Ok(self.history.clone())
    }

    /// Runs one hook of every callback with the model's state, applying learning-rate changes.
    fn run_callbacks(
        &mut self,
        callbacks: &mut [Box<dyn Callback + '_>],
        stop: &mut bool,
        mut hook: impl FnMut(&mut dyn Callback, &mut TrainState<'_>) -> Result<()>,
    ) -> Result<()> {
        if callbacks.is_empty() {
            return Ok(());
        }
        let (params, model_state) = self.model.params_and_state_mut();
        let mut state = TrainState {
            params,
            state: model_state,
            learning_rate: self.optimizer.learning_rate(),
            stop_training: *stop,
            save_requests: Vec::new(),
        };
        let mut result = Ok(());
        for cb in callbacks.iter_mut() {
            result = hook(cb.as_mut(), &mut state);
            if result.is_err() {
                break;
            }
        }
        *stop = state.stop_training;
        let lr = state.learning_rate;
        let saves = std::mem::take(&mut state.save_requests);
        result?;
        crate::optim::check_non_negative("learning_rate set by a callback", lr)?;
        self.optimizer.set_learning_rate(lr);
        // A callback may write the weights (EarlyStopping restores its best ones); one that
        // wrote a NaN would otherwise surface a batch later as a divergence it did not cause.
        for (trainable, values) in [(true, self.model.params()), (false, self.model.state())] {
            if let Some((i, value)) = crate::error::first_non_finite(values) {
                let (_, weight) = self.place_of(i, trainable);
                return Err(Error::InvalidArgument {
                    what: "weights written by a callback",
                    expected: "finite values",
                    got: format!("{value} in {weight}"),
                });
            }
        }
        for (path, with_optimizer) in saves {
            // Keras' ModelCheckpoint makes the file's folder when it is missing.
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| Error::Io {
                    path: dir.display().to_string(),
                    message: e.to_string(),
                })?;
            }
            if with_optimizer {
                self.save_weights(&path)?;
            } else {
                crate::io::save(&self.model, None, &path)?;
            }
        }
        Ok(())
    }

    /// One weight per row from Keras' `class_weight`: the class of a row is its label (one
    /// output or a class id, rounded) or the argmax of its one-hot label. Every weight must be
    /// finite and ≥ 0, and a one-value label a class id (not negative).
    fn sample_weights(
        &self,
        labels: &[f32],
        class_weight: &HashMap<usize, f32>,
    ) -> Result<Vec<f32>> {
        let mut classes: Vec<_> = class_weight.iter().collect();
        classes.sort_by_key(|(class, _)| **class);
        if let Some((class, weight)) = classes.iter().find(|(_, w)| !(w.is_finite() && **w >= 0.0))
        {
            return Err(Error::InvalidArgument {
                what: "class_weight",
                expected: "finite weights ≥ 0",
                got: format!("{weight} for class {class}"),
            });
        }
        let width = self.label_width();
        labels
            .chunks(width)
            .enumerate()
            .map(|(row, l)| {
                let class = match l {
                    [v] if v.round() < 0.0 => {
                        return Err(Error::InvalidArgument {
                            what: "class_weight",
                            expected: "labels that are class ids (whole numbers ≥ 0)",
                            got: format!("label {v} at row {row}"),
                        })
                    }
                    [v] => v.round() as usize,
                    _ => crate::metrics::argmax(l),
                };
                class_weight
                    .get(&class)
                    .copied()
                    .ok_or_else(|| Error::InvalidArgument {
                        what: "class_weight",
                        expected: "a weight for every class in the labels",
                        got: format!("no weight for class {class} (row {row})"),
                    })
            })
            .collect()
    }
}
