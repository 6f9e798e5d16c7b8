//! Keras' `ModelCheckpoint`: saves the weights at the end of epochs, every time or only when a
//! monitored value improved, through `save_weights` (so `.safetensors` or, with the `keras`
//! feature, `.weights.h5`, written atomically).

use super::callbacks::{Callback, TrainState};
use super::history::Logs;
use super::monitor::{check_monitor, Mode, Monitor};
use crate::error::{Error, Result};
use std::path::PathBuf;

/// Keras' `ModelCheckpoint(filepath, monitor, save_best_only, save_weights_only)`.
///
/// `filepath` may hold Keras' placeholders, formatted as Python's `str.format` does:
/// `{epoch}` (counted from 1, as Keras does) and any logged value (`{val_loss:.4f}`,
/// `{epoch:02d}`). With `save_weights_only = false` the optimizer's state is saved too (in a
/// `.safetensors` file), so training can resume from the file; seqnet never writes Keras'
/// `.keras` archive.
#[derive(Clone, Debug)]
pub struct ModelCheckpoint {
    /// Where to save, with Keras' placeholders (`{epoch}`, `{val_loss:.4f}`, …).
    pub filepath: String,
    /// The logged name that decides the best epoch (`val_loss` by default).
    pub monitor: String,
    /// Whether lower or higher is better.
    pub mode: Mode,
    /// Save only when `monitor` improves.
    pub save_best_only: bool,
    /// Only the weights; when false (the default) the optimizer's state is saved too.
    pub save_weights_only: bool,
    best: Option<f64>,
}

impl ModelCheckpoint {
    /// Saves after every epoch, monitoring `val_loss` for `save_best_only`, as Keras defaults.
    pub fn new(filepath: impl Into<String>) -> Self {
        ModelCheckpoint {
            filepath: filepath.into(),
            monitor: "val_loss".into(),
            mode: Mode::Auto,
            save_best_only: false,
            save_weights_only: false,
            best: None,
        }
    }
    /// The logged value `save_best_only` compares.
    #[must_use = "a builder method returns the changed value"]
    pub fn monitor(mut self, monitor: &str) -> Self {
        self.monitor = monitor.to_string();
        self
    }
    /// Whether larger or smaller is better (Auto: decided from the name).
    #[must_use = "a builder method returns the changed value"]
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }
    /// Save only when `monitor` improved on the best so far.
    #[must_use = "a builder method returns the changed value"]
    pub fn save_best_only(mut self, on: bool) -> Self {
        self.save_best_only = on;
        self
    }
    /// Save the weights alone, without the optimizer's state.
    #[must_use = "a builder method returns the changed value"]
    pub fn save_weights_only(mut self, on: bool) -> Self {
        self.save_weights_only = on;
        self
    }

    /// The file name for `epoch` (0-based) and `logs`.
    pub fn path_for(&self, epoch: usize, logs: &Logs) -> Result<PathBuf> {
        format_path(&self.filepath, epoch + 1, logs).map(PathBuf::from)
    }
}

impl Callback for ModelCheckpoint {
    /// The file's format known from its name and every placeholder a logged name
    /// ([`Error::InvalidArgument`]); with `save_best_only`, `monitor` logged
    /// ([`Error::UnknownMonitor`]).
    fn check(&self, logged: &[String]) -> Result<()> {
        crate::io::Format::from_path(std::path::Path::new(&self.filepath))?;
        let mut logs = Logs::new();
        for name in logged {
            logs.insert(name.clone(), 0.0);
        }
        format_path(&self.filepath, 1, &logs)?;
        if self.save_best_only {
            check_monitor("ModelCheckpoint", &self.monitor, logged)?;
        }
        Ok(())
    }

    fn on_train_begin(&mut self, _state: &mut TrainState<'_>) -> Result<()> {
        self.best = None;
        crate::io::Format::from_path(std::path::Path::new(&self.filepath))?;
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        state: &mut TrainState<'_>,
    ) -> Result<()> {
        if self.save_best_only {
            // Keras' `MonitorCallback` with no min_delta; the first value must be finite (Keras
            // starts from ±inf, which neither NaN nor an infinity beats).
            let watch = Monitor {
                monitor: &self.monitor,
                mode: self.mode,
                min_delta: 0.0,
            };
            let current = watch.current("ModelCheckpoint monitor", logs)?;
            let improved = match self.best {
                None => current.is_finite(),
                best => watch.is_improvement(current, best),
            };
            if !improved {
                return Ok(());
            }
            self.best = Some(current);
        }
        let path = self.path_for(epoch, logs)?;
        state.save_requests.push((path, !self.save_weights_only));
        Ok(())
    }
}

/// Python's `str.format` for a checkpoint path: `{name}`, `{name:02d}`, `{name:.3f}` with
/// `epoch` and the logged values; `{{` and `}}` are literal braces.
fn format_path(template: &str, epoch: usize, logs: &Logs) -> Result<String> {
    let bad = |got: String| Error::InvalidArgument {
        what: "ModelCheckpoint filepath",
        expected: "placeholders such as {epoch:02d} or {val_loss:.4f} naming logged values",
        got,
    };
    let mut out = String::new();
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        let Some(end) = tail.find('}').filter(|_| tail.starts_with('{')) else {
            return Err(bad(template.to_string()));
        };
        let field = &tail[1..end];
        let (name, spec) = field.split_once(':').unwrap_or((field, ""));
        let value = match name {
            "epoch" => epoch as f64,
            _ => *logs
                .get(name)
                .ok_or_else(|| bad(format!("{{{field}}} in {template}")))?,
        };
        let text = if let Some(width) = spec.strip_suffix('d') {
            let width: usize = width.trim_start_matches('0').parse().unwrap_or(0);
            format!("{:0width$}", value as i64)
        } else if let Some(precision) = spec.strip_prefix('.').and_then(|p| p.strip_suffix('f')) {
            let precision: usize = precision.parse().map_err(|_| bad(field.to_string()))?;
            format!("{value:.precision$}")
        } else if spec.is_empty() {
            if name == "epoch" {
                format!("{}", value as i64)
            } else {
                format!("{value}")
            }
        } else {
            return Err(bad(field.to_string()));
        };
        out.push_str(&text);
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}
