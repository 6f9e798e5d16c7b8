//! `fit`: Keras' training loop. Per epoch: shuffle (seeded), then per batch gather the rows,
//! train one step, update the running loss and metrics, run batch callbacks; then validate,
//! run epoch callbacks, record the History.

use super::callbacks::{Callback, TrainState};
use super::history::{History, Logs};
use super::progress::EpochProgress;
use super::{row_range, Compiled};
use crate::error::{check_finite, Error, Result};
use crate::network::{InputOf, Network, Tape};
use crate::optim::Optimizer;
use crate::rows::Labels;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::collections::HashMap;

/// `fit`'s arguments, with Keras' defaults (`..Fit::default()`).
pub struct Fit<'a> {
    /// Last epoch (exclusive), as Keras counts: `initial_epoch..epochs`. Default 1.
    pub epochs: usize,
    /// Rows per gradient step. Default 32.
    pub batch_size: usize,
    /// Fraction of the rows, taken from the end before any shuffling, held out for validation.
    /// `f64`, as Python's float: in `f32`, 800 × (1 − 0.1) would floor to 719.
    pub validation_split: f64,
    /// Validation rows and labels, flat (`x.as_flattened()`); overrides `validation_split`.
    pub validation_data: Option<(&'a [f32], &'a [f32])>,
    /// Shuffle the training rows before each epoch. Default true.
    pub shuffle: bool,
    /// Seed of the shuffling, so a run can be repeated exactly.
    pub seed: u64,
    /// Per-class loss weights: class id → weight. Every class in the labels must be listed.
    pub class_weight: Option<HashMap<usize, f32>>,
    /// Epoch to start counting from (to resume a run). Default 0.
    pub initial_epoch: usize,
    /// 0 silent, 1 progress bar per epoch, 2 one line per epoch. Default 1.
    pub verbose: u8,
    /// Run in order at each batch and epoch end.
    pub callbacks: Vec<Box<dyn Callback + 'a>>,
}

impl Default for Fit<'_> {
    fn default() -> Self {
        Fit {
            epochs: 1,
            batch_size: 32,
            validation_split: 0.0,
            validation_data: None,
            shuffle: true,
            seed: 0,
            class_weight: None,
            initial_epoch: 0,
            verbose: 1,
            callbacks: Vec::new(),
        }
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
    /// Every argument is checked before the first batch, so these errors leave the model as it
    /// was: what [`validate`](Self::validate) returns for the optimizer, loss and metrics
    /// ([`Error::InvalidArgument`], [`Error::IncompatibleMetric`]); for the rows and labels
    /// (training and validation) [`Error::SizeMismatch`], [`Error::RaggedRows`],
    /// [`Error::NonFinite`], [`Error::LabelOutOfRange`], [`Error::InvalidLabel`];
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
    /// or batch left them.
    pub fn fit<R: InputOf<N>, Y: Labels + ?Sized>(
        &mut self,
        x: &[R],
        y: &Y,
        options: Fit<'_>,
    ) -> Result<History> {
        let Fit {
            epochs,
            batch_size,
            validation_split,
            validation_data,
            shuffle,
            seed,
            class_weight,
            initial_epoch,
            verbose,
            mut callbacks,
        } = options;
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
        let (train_rows, validation) = match validation_data {
            Some((vx, vy)) => {
                let vrows = crate::error::row_count("validation input", vx, N::INPUT_WIDTH)?;
                if vy.len() != vrows * label_width {
                    return Err(Error::SizeMismatch {
                        what: "validation label values (rows × labels per row)",
                        expected: vrows * label_width,
                        got: vy.len(),
                    });
                }
                if vrows == 0 {
                    return Err(Error::NotEnoughData {
                        what: "validation_data has no rows: give at least one row, or None to \
                               train without validation"
                            .into(),
                    });
                }
                check_finite("validation input", vx, N::INPUT_WIDTH)?;
                self.loss.check_labels(vy, N::OUTPUT_WIDTH)?;
                (rows, Some((vx, vy)))
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
        let weights = match &class_weight {
            Some(map) => Some(self.sample_weights(row_range(yf, 0..train_rows, label_width), map)?),
            None => None,
        };

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
        let mut history = History::default();
        let mut stop = false;

        self.run_callbacks(&mut callbacks, &mut stop, |cb, state| {
            cb.on_train_begin(state)
        })?;
        for epoch in initial_epoch..epochs {
            if shuffle {
                order.shuffle(&mut rng);
            }
            metrics.iter_mut().for_each(|m| m.reset());
            let progress = EpochProgress::start(verbose, epoch, epochs, steps);
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
                progress.batch_done(&logs);
                self.run_callbacks(&mut callbacks, &mut stop, |cb, state| {
                    cb.on_batch_end(epoch, b, &logs, state)
                })?;
                if stop {
                    break;
                }
            }
            logs.remove("batch_loss");

            if let Some((vx, vy)) = validation {
                let scores = self.evaluate_flat(vx, vy);
                logs.insert("val_loss".into(), scores.loss);
                for (name, v) in scores.metrics {
                    logs.insert(format!("val_{name}"), v);
                }
            }
            self.run_callbacks(&mut callbacks, &mut stop, |cb, state| {
                cb.on_epoch_end(epoch, &mut logs, state)
            })?;
            history.push(epoch, &logs);
            progress.finish(&logs);
            if stop {
                break;
            }
        }
        self.run_callbacks(&mut callbacks, &mut stop, |cb, state| {
            cb.on_train_end(state)
        })?;
        Ok(history)
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
                self.model.save_weights(&path)?;
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
