//! Keras' per-epoch progress display. `verbose = 1`: a live bar with ETA and running metrics
//! (drawn by indicatif when stdout is a terminal), then Keras' closing line for the epoch;
//! `verbose = 2`: the closing line only.

use super::history::Logs;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::time::Instant;

/// One epoch's display.
pub struct EpochProgress {
    verbose: u8,
    steps: usize,
    bar: Option<ProgressBar>,
    start: Instant,
}

impl EpochProgress {
    /// Prints `Epoch i/n` and starts the bar.
    pub fn start(verbose: u8, epoch: usize, epochs: usize, steps: usize) -> Self {
        if verbose > 0 {
            println!("Epoch {}/{}", epoch + 1, epochs);
        }
        let bar = (verbose == 1).then(|| {
            let bar =
                ProgressBar::with_draw_target(Some(steps as u64), ProgressDrawTarget::stdout());
            bar.set_style(
                ProgressStyle::with_template("{pos}/{len} {bar:20} ETA {eta} {msg}")
                    // A literal template that parses; the default style is a fallback never taken.
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("━━ "),
            );
            bar
        });
        EpochProgress {
            verbose,
            steps,
            bar,
            start: Instant::now(),
        }
    }

    /// After a batch: advances the bar and shows the running values.
    pub fn batch_done(&self, logs: &Logs) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
            // Formatting allocates: only when the bar is drawn (stdout is a terminal).
            if !bar.is_hidden() {
                bar.set_message(format_logs(logs));
            }
        }
    }

    /// Clears the bar and prints Keras' closing line with the epoch's values.
    pub fn finish(self, logs: &Logs) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if self.verbose == 0 {
            return;
        }
        let elapsed = self.start.elapsed();
        let per_step = elapsed.as_secs_f64() / self.steps.max(1) as f64;
        let step_time = if per_step >= 1.0 {
            format!("{per_step:.0}s/step")
        } else if per_step >= 1e-3 {
            format!("{:.0}ms/step", per_step * 1e3)
        } else {
            format!("{:.0}us/step", per_step * 1e6)
        };
        let bar = if self.verbose == 1 {
            " ━━━━━━━━━━━━━━━━━━━━"
        } else {
            " -"
        };
        println!(
            "{steps}/{steps}{bar} {secs:.0}s {step_time} - {}",
            format_logs(logs),
            steps = self.steps,
            secs = elapsed.as_secs_f64().floor(),
        );
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
