//! Callbacks: code `fit` calls at batch and epoch ends, with Keras' EarlyStopping,
//! ReduceLROnPlateau and TerminateOnNaN, and closures.

use super::history::Logs;
use super::monitor::{check_monitor, Mode, Monitor};
use crate::error::{Error, Result};

/// What a callback may read and change while `fit` runs.
#[derive(Debug)]
pub struct TrainState<'a> {
    /// The network's trainable parameters (EarlyStopping keeps and restores its best ones).
    pub params: &'a mut [f32],
    /// The network's non-trainable state (moving statistics), kept and restored with them.
    pub state: &'a mut [f32],
    /// The optimizer's learning rate; a change is applied before the next batch.
    pub learning_rate: f32,
    /// Set to end training after this epoch (or batch).
    pub stop_training: bool,
    /// Weight files to write once this hook's callbacks have run: the path, and whether the
    /// optimizer's state goes with the weights (`ModelCheckpoint`).
    pub save_requests: Vec<(std::path::PathBuf, bool)>,
}

/// Code run during `fit`. Every method has an empty default; an `Err` ends `fit` with it.
pub trait Callback {
    /// Called by `fit` before the first batch, with every name the run will log at epoch end
    /// (`loss`, the metrics, their `val_` forms when there is validation data, and what
    /// callbacks add, such as `learning_rate`): checks the callback's own arguments and the
    /// names it monitors, so a typo fails before anything is trained. Default: nothing to check.
    fn check(&self, _logged: &[String]) -> Result<()> {
        Ok(())
    }
    /// Names this callback adds to the epoch logs (ReduceLROnPlateau: `learning_rate`).
    fn logs_added(&self) -> &'static [&'static str] {
        &[]
    }
    /// Before the first epoch.
    fn on_train_begin(&mut self, _state: &mut TrainState<'_>) -> Result<()> {
        Ok(())
    }
    /// After each batch, with the epoch's running loss and metrics so far.
    fn on_batch_end(
        &mut self,
        _epoch: usize,
        _batch: usize,
        _logs: &Logs,
        _state: &mut TrainState<'_>,
    ) -> Result<()> {
        Ok(())
    }
    /// After each epoch, with its loss, metrics and validation values.
    fn on_epoch_end(
        &mut self,
        _epoch: usize,
        _logs: &mut Logs,
        _state: &mut TrainState<'_>,
    ) -> Result<()> {
        Ok(())
    }
    /// After the last epoch.
    fn on_train_end(&mut self, _state: &mut TrainState<'_>) -> Result<()> {
        Ok(())
    }
}

/// [`Error::InvalidArgument`] unless `value` is finite and ≥ 0.
fn check_non_negative(what: &'static str, value: f64) -> Result<()> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidArgument {
            what,
            expected: "a finite number ≥ 0",
            got: value.to_string(),
        })
    }
}

/// Keras' `EarlyStopping`: stop when `monitor` has not improved by more than `min_delta` for
/// `patience` epochs; optionally put back the best epoch's weights when it stops.
#[derive(Clone, Debug)]
pub struct EarlyStopping {
    /// The logged name watched (`val_loss`, `val_accuracy`, …).
    pub monitor: String,
    /// Least change that counts as an improvement (absolute value).
    pub min_delta: f64,
    /// Epochs without improvement before acting.
    pub patience: usize,
    /// Whether lower or higher is better; `Mode::Auto` decides from the name as Keras does.
    pub mode: Mode,
    /// A value the monitored quantity must beat, or `None`.
    pub baseline: Option<f64>,
    /// Put back the best epoch's weights when stopping.
    pub restore_best_weights: bool,
    /// Epochs to wait before watching at all (warm-up).
    pub start_from_epoch: usize,
    wait: usize,
    best: Option<f64>,
    /// The best epoch's trainable parameters and state.
    best_weights: Option<(Vec<f32>, Vec<f32>)>,
    /// The epoch training stopped at, if it did.
    pub stopped_epoch: Option<usize>,
    /// The epoch whose value was best.
    pub best_epoch: Option<usize>,
}

impl EarlyStopping {
    /// Keras' defaults (`patience` 0, `min_delta` 0) on `monitor`.
    pub fn new(monitor: &str) -> Self {
        EarlyStopping {
            monitor: monitor.to_string(),
            min_delta: 0.0,
            patience: 0,
            mode: Mode::Auto,
            baseline: None,
            restore_best_weights: false,
            start_from_epoch: 0,
            wait: 0,
            best: None,
            best_weights: None,
            stopped_epoch: None,
            best_epoch: None,
        }
    }
    /// Sets `patience` (see the field).
    #[must_use = "a builder method returns the changed value"]
    pub fn patience(mut self, patience: usize) -> Self {
        self.patience = patience;
        self
    }
    /// Sets `min_delta` (see the field).
    #[must_use = "a builder method returns the changed value"]
    pub fn min_delta(mut self, min_delta: f64) -> Self {
        self.min_delta = min_delta.abs();
        self
    }
    /// Sets `mode` (see the field).
    #[must_use = "a builder method returns the changed value"]
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }
    /// Sets `baseline` (see the field).
    #[must_use = "a builder method returns the changed value"]
    pub fn baseline(mut self, baseline: f64) -> Self {
        self.baseline = Some(baseline);
        self
    }
    /// Sets `restore_best_weights` (see the field).
    #[must_use = "a builder method returns the changed value"]
    pub fn restore_best_weights(mut self, on: bool) -> Self {
        self.restore_best_weights = on;
        self
    }
    /// Sets `start_from_epoch` (see the field).
    #[must_use = "a builder method returns the changed value"]
    pub fn start_from_epoch(mut self, epoch: usize) -> Self {
        self.start_from_epoch = epoch;
        self
    }

    /// The watched value's settings, for the shared rules.
    fn watch(&self) -> Monitor<'_> {
        Monitor {
            monitor: &self.monitor,
            mode: self.mode,
            min_delta: self.min_delta,
        }
    }
}

impl Callback for EarlyStopping {
    /// `monitor` logged ([`Error::UnknownMonitor`]), `min_delta` finite and ≥ 0, `baseline`
    /// finite ([`Error::InvalidArgument`]).
    fn check(&self, logged: &[String]) -> Result<()> {
        check_non_negative("EarlyStopping min_delta", self.min_delta)?;
        if let Some(b) = self.baseline.filter(|b| !b.is_finite()) {
            return Err(Error::InvalidArgument {
                what: "EarlyStopping baseline",
                expected: "a finite number",
                got: b.to_string(),
            });
        }
        check_monitor("EarlyStopping", &self.monitor, logged)
    }

    fn on_train_begin(&mut self, _state: &mut TrainState<'_>) -> Result<()> {
        self.wait = 0;
        self.best = None;
        self.best_weights = None;
        self.stopped_epoch = None;
        self.best_epoch = None;
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        state: &mut TrainState<'_>,
    ) -> Result<()> {
        let current = self.watch().current("EarlyStopping monitor", logs)?;
        if epoch < self.start_from_epoch {
            return Ok(());
        }
        if self.restore_best_weights && self.best_weights.is_none() {
            self.best_weights = Some((state.params.to_vec(), state.state.to_vec()));
        }
        self.wait += 1;
        if self.watch().is_improvement(current, self.best) {
            self.best = Some(current);
            self.best_epoch = Some(epoch);
            if self.restore_best_weights {
                self.best_weights = Some((state.params.to_vec(), state.state.to_vec()));
            }
            if self.baseline.is_none() || self.watch().is_improvement(current, self.baseline) {
                self.wait = 0;
                return Ok(());
            }
        }
        if self.wait >= self.patience && epoch > 0 {
            self.stopped_epoch = Some(epoch);
            state.stop_training = true;
            if let Some(best) = self
                .best_weights
                .as_ref()
                .filter(|_| self.restore_best_weights)
            {
                state.params.copy_from_slice(&best.0);
                state.state.copy_from_slice(&best.1);
            }
        }
        Ok(())
    }
}

/// Keras' `ReduceLROnPlateau`: multiply the learning rate by `factor` when `monitor` has not
/// improved by `min_delta` for `patience` epochs, then wait `cooldown` epochs.
#[derive(Clone, Debug)]
pub struct ReduceLROnPlateau {
    /// The logged name watched (`val_loss`, `val_accuracy`, …).
    pub monitor: String,
    /// What the learning rate is multiplied by, in (0, 1).
    pub factor: f32,
    /// Epochs without improvement before acting.
    pub patience: usize,
    /// Whether lower or higher is better; `Mode::Auto` decides from the name as Keras does.
    pub mode: Mode,
    /// Least change that counts as an improvement (absolute value).
    pub min_delta: f64,
    /// Epochs to wait after a reduction before watching again.
    pub cooldown: usize,
    /// The learning rate is never reduced below this.
    pub min_lr: f32,
    wait: usize,
    cooldown_counter: usize,
    best: Option<f64>,
}

impl ReduceLROnPlateau {
    /// Keras' defaults: factor 0.1, patience 10, min_delta 1e-4, cooldown 0, min_lr 0.
    pub fn new(monitor: &str) -> Self {
        ReduceLROnPlateau {
            monitor: monitor.to_string(),
            factor: 0.1,
            patience: 10,
            mode: Mode::Auto,
            min_delta: 1e-4,
            cooldown: 0,
            min_lr: 0.0,
            wait: 0,
            cooldown_counter: 0,
            best: None,
        }
    }
    /// Sets `factor` (see the field).
    #[must_use = "a builder method returns the changed value"]
    pub fn factor(mut self, factor: f32) -> Self {
        self.factor = factor;
        self
    }
    /// Sets `patience` (see the field).
    #[must_use = "a builder method returns the changed value"]
    pub fn patience(mut self, patience: usize) -> Self {
        self.patience = patience;
        self
    }
    /// Sets `min_delta` (see the field).
    #[must_use = "a builder method returns the changed value"]
    pub fn min_delta(mut self, min_delta: f64) -> Self {
        self.min_delta = min_delta;
        self
    }
    /// Sets `cooldown` (see the field).
    #[must_use = "a builder method returns the changed value"]
    pub fn cooldown(mut self, cooldown: usize) -> Self {
        self.cooldown = cooldown;
        self
    }
    /// Sets `min_lr` (see the field).
    #[must_use = "a builder method returns the changed value"]
    pub fn min_lr(mut self, min_lr: f32) -> Self {
        self.min_lr = min_lr;
        self
    }
}

impl Callback for ReduceLROnPlateau {
    /// `factor` in (0, 1), `min_delta` and `min_lr` finite and ≥ 0
    /// ([`Error::InvalidArgument`]), `monitor` logged ([`Error::UnknownMonitor`]).
    fn check(&self, logged: &[String]) -> Result<()> {
        if !(self.factor > 0.0 && self.factor < 1.0) {
            return Err(Error::InvalidArgument {
                what: "ReduceLROnPlateau factor",
                expected: "between 0 and 1 (exclusive)",
                got: self.factor.to_string(),
            });
        }
        check_non_negative("ReduceLROnPlateau min_delta", self.min_delta)?;
        check_non_negative("ReduceLROnPlateau min_lr", f64::from(self.min_lr))?;
        check_monitor("ReduceLROnPlateau", &self.monitor, logged)
    }

    fn logs_added(&self) -> &'static [&'static str] {
        &["learning_rate"]
    }

    fn on_train_begin(&mut self, _state: &mut TrainState<'_>) -> Result<()> {
        self.wait = 0;
        self.cooldown_counter = 0;
        self.best = None;
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        _epoch: usize,
        logs: &mut Logs,
        state: &mut TrainState<'_>,
    ) -> Result<()> {
        logs.insert("learning_rate".into(), state.learning_rate as f64);
        let Some(&current) = logs.get(&self.monitor) else {
            return Err(Error::InvalidArgument {
                what: "ReduceLROnPlateau monitor",
                expected: "one of the logged names",
                got: format!("{:?}", self.monitor),
            });
        };
        let higher = self.mode.higher_is_better(&self.monitor);
        // Keras' ReduceLROnPlateau compares with a threshold moved from the best value
        // (`current < best − min_delta`), not `MonitorCallback`'s moved current value: the two
        // round differently, so this one keeps its own form.
        let improved = match self.best {
            None => true,
            Some(b) if higher => current > b + self.min_delta,
            Some(b) => current < b - self.min_delta,
        };
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.wait = 0;
        }
        if improved {
            self.best = Some(current);
            self.wait = 0;
        } else if self.cooldown_counter == 0 {
            self.wait += 1;
            if self.wait >= self.patience && state.learning_rate > self.min_lr {
                state.learning_rate = (state.learning_rate * self.factor).max(self.min_lr);
                self.cooldown_counter = self.cooldown;
                self.wait = 0;
            }
        }
        Ok(())
    }
}

/// Keras' `TerminateOnNaN`: ends `fit` with [`Error::NonFiniteLoss`], naming the epoch and
/// batch, as soon as a batch loss is NaN or infinite.
///
/// `fit` itself now stops at the first non-finite loss, gradient or update with
/// [`Error::Diverged`] (keeping the last finite weights) before callbacks see the batch, so
/// this callback is kept for Keras' API and for losses a custom callback logs.
#[derive(Clone, Copy, Debug, Default)]
pub struct TerminateOnNaN;

impl Callback for TerminateOnNaN {
    fn on_batch_end(
        &mut self,
        epoch: usize,
        batch: usize,
        logs: &Logs,
        state: &mut TrainState<'_>,
    ) -> Result<()> {
        match logs.get("batch_loss") {
            Some(&loss) if !loss.is_finite() => {
                state.stop_training = true;
                Err(Error::NonFiniteLoss { epoch, batch, loss })
            }
            _ => Ok(()),
        }
    }
}

/// `f(epoch, logs)`.
type EpochFn<'a> = Box<dyn FnMut(usize, &Logs) + 'a>;
/// `f(epoch, batch, logs)`.
type BatchFn<'a> = Box<dyn FnMut(usize, usize, &Logs) + 'a>;

/// A closure run at each epoch end: `LambdaCallback::on_epoch_end(|epoch, logs| …)`.
pub struct LambdaCallback<'a> {
    epoch_end: Option<EpochFn<'a>>,
    batch_end: Option<BatchFn<'a>>,
}

impl<'a> LambdaCallback<'a> {
    /// Calls `f(epoch, logs)` after every epoch.
    pub fn on_epoch_end(f: impl FnMut(usize, &Logs) + 'a) -> Self {
        LambdaCallback {
            epoch_end: Some(Box::new(f)),
            batch_end: None,
        }
    }
    /// Calls `f(epoch, batch, logs)` after every batch.
    pub fn on_batch_end(f: impl FnMut(usize, usize, &Logs) + 'a) -> Self {
        LambdaCallback {
            epoch_end: None,
            batch_end: Some(Box::new(f)),
        }
    }
}

impl std::fmt::Debug for LambdaCallback<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LambdaCallback")
            .field("on_epoch_end", &self.epoch_end.is_some())
            .field("on_batch_end", &self.batch_end.is_some())
            .finish()
    }
}

impl Callback for LambdaCallback<'_> {
    fn on_batch_end(
        &mut self,
        epoch: usize,
        batch: usize,
        logs: &Logs,
        _: &mut TrainState<'_>,
    ) -> Result<()> {
        if let Some(f) = self.batch_end.as_mut() {
            f(epoch, batch, logs);
        }
        Ok(())
    }
    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        _: &mut TrainState<'_>,
    ) -> Result<()> {
        if let Some(f) = self.epoch_end.as_mut() {
            f(epoch, logs);
        }
        Ok(())
    }
}
