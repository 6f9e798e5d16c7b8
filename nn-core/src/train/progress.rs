//! Keras' per-epoch progress display. [`Verbose::ProgressBar`] (`verbose = 1`): a live bar with
//! ETA and running metrics (drawn by indicatif when stdout is a terminal), then Keras' closing
//! line for the epoch; [`Verbose::EpochLines`] (`verbose = 2`): the closing line only. Each
//! epoch also starts with Keras' `Epoch i/n` line. The lines go to stdout, or, as
//! [`ProgressEvent`]s, to the sink in [`Fit::progress`](super::Fit::progress).

use super::history::Logs;
use std::fmt;
use std::time::Duration;

/// How much `fit` reports, as Keras' `verbose`: `0`, `1` or `2` convert to it, so
/// `verbose: 2.into()` works as well as `verbose: Verbose::EpochLines`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Verbose {
    /// `verbose=0`: nothing.
    Silent,
    /// `verbose=1`, the default: `Epoch i/n`, a live progress bar while the epoch runs (when
    /// stdout is a terminal and no sink is given), then the epoch's closing line.
    #[default]
    ProgressBar,
    /// `verbose=2`: `Epoch i/n` and the closing line, nothing while the epoch runs.
    EpochLines,
}

impl From<u8> for Verbose {
    /// Keras' numbers: 0 [`Silent`](Verbose::Silent), 1 [`ProgressBar`](Verbose::ProgressBar),
    /// 2 (and anything above) [`EpochLines`](Verbose::EpochLines).
    fn from(verbose: u8) -> Self {
        match verbose {
            0 => Verbose::Silent,
            1 => Verbose::ProgressBar,
            _ => Verbose::EpochLines,
        }
    }
}

/// What `fit` reports per epoch, as values: the sink in
/// [`Fit::progress`](super::Fit::progress) receives these instead of stdout receiving the
/// lines. `Display` writes the line Keras prints for the event.
///
/// ```
/// # use nn_core::train::{ProgressEvent, Logs};
/// # use std::time::Duration;
/// let logs: Logs = [("loss".to_string(), 0.25)].into_iter().collect();
/// let end = ProgressEvent::EpochEnd {
///     epoch: 0,
///     epochs: 2,
///     steps: 25,
///     elapsed: Duration::from_millis(50),
///     logs: &logs,
///     bar: false,
/// };
/// assert_eq!(end.to_string(), "25/25 - 0s 2ms/step - loss: 0.2500");
/// ```
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum ProgressEvent<'a> {
    /// An epoch starts: `Epoch 3/10` (`epoch` counts from 0, the line from 1).
    EpochBegin {
        /// The epoch, from 0.
        epoch: usize,
        /// `Fit::epochs`.
        epochs: usize,
    },
    /// An epoch ended (after validation and the callbacks): the closing line with the
    /// epoch's values, `25/25 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - accuracy: 0.9625 - loss: 0.1379`.
    EpochEnd {
        /// The epoch, from 0.
        epoch: usize,
        /// `Fit::epochs`.
        epochs: usize,
        /// Batches per epoch.
        steps: usize,
        /// Time the epoch took.
        elapsed: Duration,
        /// The epoch's values: `loss`, metrics, `val_…`, what callbacks add (e.g. `learning_rate`).
        logs: &'a Logs,
        /// Whether the line has Keras' full bar ([`Verbose::ProgressBar`]) or not.
        bar: bool,
    },
}

impl fmt::Display for ProgressEvent<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ProgressEvent::EpochBegin { epoch, epochs } => {
                write!(f, "Epoch {}/{}", epoch + 1, epochs)
            }
            ProgressEvent::EpochEnd {
                steps,
                elapsed,
                logs,
                bar,
                ..
            } => {
                let per_step = elapsed.as_secs_f64() / steps.max(1) as f64;
                let step_time = if per_step >= 1.0 {
                    format!("{per_step:.0}s/step")
                } else if per_step >= 1e-3 {
                    format!("{:.0}ms/step", per_step * 1e3)
                } else {
                    format!("{:.0}us/step", per_step * 1e6)
                };
                let bar = if bar {
                    " ━━━━━━━━━━━━━━━━━━━━"
                } else {
                    " -"
                };
                write!(
                    f,
                    "{steps}/{steps}{bar} {secs:.0}s {step_time} - {}",
                    format_logs(logs),
                    secs = elapsed.as_secs_f64().floor(),
                )
            }
        }
    }
}

/// Where the lines go: stdout (`None`), or the caller's sink.
pub(super) type Sink<'s, 'f> = Option<&'s mut (dyn FnMut(&ProgressEvent<'_>) + 'f)>;

/// Sends `event` to the sink, or prints its line.
fn emit(sink: &mut Sink<'_, '_>, event: ProgressEvent<'_>) {
    match sink {
        Some(sink) => sink(&event),
        None => println!("{event}"),
    }
}

/// One epoch's display.
pub(super) struct EpochProgress {
    verbose: Verbose,
    epoch: usize,
    epochs: usize,
    steps: usize,
    bar: Option<LiveBar>,
    start: Clock,
}

impl EpochProgress {
    /// Reports `Epoch i/n` and starts the bar (on stdout only: a sink gets no live bar).
    pub(super) fn start(
        verbose: Verbose,
        mut sink: Sink<'_, '_>,
        epoch: usize,
        epochs: usize,
        steps: usize,
    ) -> Self {
        if verbose != Verbose::Silent {
            emit(&mut sink, ProgressEvent::EpochBegin { epoch, epochs });
        }
        let bar = (verbose == Verbose::ProgressBar && sink.is_none()).then(|| LiveBar::new(steps));
        EpochProgress {
            verbose,
            epoch,
            epochs,
            steps,
            bar,
            start: Clock::now(),
        }
    }

    /// After a batch: advances the bar and shows the running values.
    pub(super) fn batch_done(&self, logs: &Logs) {
        if let Some(bar) = &self.bar {
            bar.advance(logs);
        }
    }

    /// Clears the bar and reports Keras' closing line with the epoch's values.
    pub(super) fn finish(self, mut sink: Sink<'_, '_>, logs: &Logs) {
        if let Some(bar) = &self.bar {
            bar.clear();
        }
        if self.verbose == Verbose::Silent {
            return;
        }
        let event = ProgressEvent::EpochEnd {
            epoch: self.epoch,
            epochs: self.epochs,
            steps: self.steps,
            elapsed: self.start.elapsed(),
            logs,
            bar: self.verbose == Verbose::ProgressBar,
        };
        emit(&mut sink, event);
    }
}

/// The live bar on stdout (indicatif; drawn only when stdout is a terminal).
#[cfg(all(
    feature = "progress",
    not(all(target_arch = "wasm32", target_os = "unknown"))
))]
struct LiveBar(indicatif::ProgressBar);

/// Without feature `progress` (no indicatif), and on `wasm32-unknown-unknown` (where indicatif's
/// clock would panic), there is no live bar: `verbose = 1` reports the same epoch lines as with
/// it, without the bar in between.
#[cfg(not(all(
    feature = "progress",
    not(all(target_arch = "wasm32", target_os = "unknown"))
)))]
struct LiveBar;

#[cfg(not(all(
    feature = "progress",
    not(all(target_arch = "wasm32", target_os = "unknown"))
)))]
impl LiveBar {
    fn new(_steps: usize) -> Self {
        LiveBar
    }

    fn advance(&self, _logs: &Logs) {}

    fn clear(&self) {}
}

#[cfg(all(
    feature = "progress",
    not(all(target_arch = "wasm32", target_os = "unknown"))
))]
impl LiveBar {
    fn new(steps: usize) -> Self {
        use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
        let bar = ProgressBar::with_draw_target(Some(steps as u64), ProgressDrawTarget::stdout());
        bar.set_style(
            ProgressStyle::with_template("{pos}/{len} {bar:20} ETA {eta} {msg}")
                // A literal template that parses; the default style is a fallback never taken.
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("━━ "),
        );
        LiveBar(bar)
    }

    fn advance(&self, logs: &Logs) {
        self.0.inc(1);
        // Formatting allocates: only when the bar is drawn (stdout is a terminal).
        if !self.0.is_hidden() {
            self.0.set_message(format_logs(logs));
        }
    }

    fn clear(&self) {
        self.0.finish_and_clear();
    }
}

/// `accuracy: 0.9625 - loss: 0.1379`, names in order, four decimals (scientific when tiny).
pub fn format_logs(logs: &Logs) -> String {
    logs.iter()
        .filter(|(name, _)| !name.starts_with("batch_"))
        .map(|(name, v)| {
            if *v != 0.0 && v.abs() < 1e-3 {
                format!("{name}: {v:.4e}")
            } else {
                format!("{name}: {v:.4}")
            }
        })
        .collect::<Vec<_>>()
        .join(" - ")
}

/// The epoch's stopwatch. `std::time::Instant` panics on `wasm32-unknown-unknown` (no clock
/// without a JavaScript host), so there the epoch reports zero time instead: `fit` must not
/// panic for a display detail.
#[derive(Clone, Copy, Debug)]
struct Clock {
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    started: std::time::Instant,
}

impl Clock {
    fn now() -> Self {
        Clock {
            #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
            started: std::time::Instant::now(),
        }
    }

    fn elapsed(&self) -> Duration {
        #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
        return self.started.elapsed();
        #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
        return Duration::ZERO;
    }
}
