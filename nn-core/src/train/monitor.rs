//! Keras 3's `MonitorCallback`, the part EarlyStopping, ReduceLROnPlateau and ModelCheckpoint
//! share: which direction of the watched value is better ([`Mode`]), that the watched name is
//! one `fit` logs (checked before training, with a "did you mean"), reading it at an epoch's end,
//! and whether a value improves on a reference by more than `min_delta`.
//!
//! Each callback keeps its settings as its own public fields (`monitor`, `mode`, `min_delta`),
//! as Keras' attributes are, and hands them to a [`Monitor`] when it decides, so the rules are
//! written here once.

use super::history::Logs;
use crate::error::{Error, Result};
use crate::metrics::Metric;

/// Whether a smaller or a larger monitored value is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Decided from the name: accuracy, precision, recall and AUC go up; everything else down.
    Auto,
    /// Lower is better (losses, errors).
    Min,
    /// Higher is better (accuracy, AUC).
    Max,
}

impl Mode {
    pub(crate) fn higher_is_better(self, monitor: &str) -> bool {
        match self {
            Mode::Auto => Metric::higher_is_better(monitor),
            Mode::Min => false,
            Mode::Max => true,
        }
    }
}

/// [`Error::UnknownMonitor`] unless `monitor` is one of `logged`, with the closest logged name
/// as a suggestion when one is close.
pub(crate) fn check_monitor(
    callback: &'static str,
    monitor: &str,
    logged: &[String],
) -> Result<()> {
    if logged.iter().any(|name| name == monitor) {
        return Ok(());
    }
    let suggestion = logged
        .iter()
        .map(|name| (edit_distance(monitor, name), name))
        .filter(|(d, name)| *d <= 2.max(name.chars().count() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, name)| name.clone());
    Err(Error::UnknownMonitor {
        callback,
        monitor: monitor.to_string(),
        logged: logged.join(", "),
        suggestion,
    })
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = i;
        let mut left = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let up = row.get(j + 1).copied().unwrap_or(usize::MAX - 1);
            let value = (diagonal + usize::from(ca != cb)).min(up + 1).min(left + 1);
            diagonal = up;
            if let Some(slot) = row.get_mut(j + 1) {
                *slot = value;
            }
            left = value;
        }
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
    }
    row.last().copied().unwrap_or(0)
}

/// A monitoring callback's settings, borrowed: what Keras' `MonitorCallback` holds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Monitor<'a> {
    /// The logged name watched.
    pub monitor: &'a str,
    /// Which direction is better.
    pub mode: Mode,
    /// Least change that counts as an improvement (≥ 0).
    pub min_delta: f64,
}

impl Monitor<'_> {
    /// Whether a higher value is better (`Mode::Auto` decides from the name).
    pub(crate) fn higher_is_better(&self) -> bool {
        self.mode.higher_is_better(self.monitor)
    }

    /// Keras' `MonitorCallback._is_improvement`: anything improves on no reference; otherwise
    /// `value`, moved by `min_delta` against the better direction, must be strictly better than
    /// `reference`.
    pub(crate) fn is_improvement(&self, value: f64, reference: Option<f64>) -> bool {
        match reference {
            None => true,
            Some(r) if self.higher_is_better() => value - self.min_delta > r,
            Some(r) => value + self.min_delta < r,
        }
    }

    /// The watched value in `logs`. `fit` checked the name before training
    /// ([`check_monitor`]), so only a callback driven by hand meets the error:
    /// [`Error::InvalidArgument`] (`what`, e.g. `"EarlyStopping monitor"`) with the logged names.
    pub(crate) fn current(&self, what: &'static str, logs: &Logs) -> Result<f64> {
        logs.get(self.monitor)
            .copied()
            .ok_or_else(|| Error::InvalidArgument {
                what,
                expected: "one of the logged names",
                got: format!(
                    "{:?} (logged: {})",
                    self.monitor,
                    logs.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            })
    }
}
