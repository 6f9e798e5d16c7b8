//! What `evaluate` needs of a model: its loss and metrics (`compile`'s), the checks of rows and
//! labels, and the loop over fixed batches in inference mode. Written once for the float model
//! ([`Compiled`](super::Compiled)) and the quantized one
//! ([`Quantized`](crate::quantized::Quantized)), which differ only in their forward pass.

use super::{loss_batch, row_range};
use crate::error::{first_non_finite, Error, Result};
use crate::loss::Loss;
use crate::metrics::{Metric, MetricState};
use crate::network::{Network, Tape};
use std::collections::BTreeMap;

/// Rows per forward pass in `evaluate` (Keras' default batch size); the result does not depend
/// on it.
const EVALUATE_BATCH: usize = 32;

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

/// A network with the loss and metrics it is scored by.
pub(crate) struct Scoring<'a, N> {
    pub model: &'a N,
    pub loss: &'a Loss,
    pub metrics: &'a [Metric],
}

impl<N: Network> Scoring<'_, N> {
    /// Label values per row the loss takes.
    pub fn label_width(&self) -> usize {
        self.loss.label_width(N::OUTPUT_WIDTH)
    }

    /// The loss's settings and each metric's fit to the outputs and labels.
    pub fn validate(&self) -> Result<()> {
        self.loss.validate()?;
        let label_width = self.label_width();
        for m in self.metrics {
            m.check(N::OUTPUT_WIDTH, label_width)?;
        }
        Ok(())
    }

    /// Checks inputs and labels once: labels the right count and finite (class ids in range),
    /// inputs finite.
    pub fn checked<'x>(&self, xf: &'x [f32], y: &'x [f32]) -> Result<(&'x [f32], &'x [f32])> {
        let rows = xf.len() / N::INPUT_WIDTH;
        self.check_label_shape(("labels", "label values (rows × labels per row)"), rows, y)?;
        N::check_input("input", xf)?;
        self.loss.check_labels(y, N::OUTPUT_WIDTH)?;
        Ok((xf, y))
    }

    /// Labels for `rows` rows: as many values per row as the loss takes. A whole number of
    /// values per row that is another count is a label-shape mistake ([`Error::LabelShape`]:
    /// one-hot rows for a sparse loss, class ids for categorical cross-entropy, …, naming the
    /// loss and the fix); any other count is [`Error::SizeMismatch`].
    ///
    /// `what` names the labels in a `LabelShape` message, `count` in a `SizeMismatch` one.
    pub fn check_label_shape(
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

    /// Each metric's running totals, empty.
    pub fn metric_states(&self) -> Vec<MetricState> {
        self.metrics
            .iter()
            .map(|&m| MetricState::new(m, N::OUTPUT_WIDTH, self.label_width()))
            .collect()
    }

    /// Loss and metrics over checked flat data, each batch run by `forward` (an inference pass
    /// on a training tape, which keeps the logits a loss reads); the loss weighted by
    /// `sample_weight` (one per row) when given, the metrics never.
    pub fn evaluate_flat(
        &self,
        x: &[f32],
        y: &[f32],
        sample_weight: Option<&[f32]>,
        mut forward: impl FnMut(&[f32], usize, &mut Tape) -> Result<()>,
    ) -> Result<Scores> {
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
            forward(xb, r, &mut tape)?;
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
}
