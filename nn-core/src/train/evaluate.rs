//! Keras' `evaluate` (the loss and metrics over all rows, in inference mode, in fixed batches)
//! and `predict_classes`.

use super::{loss_batch, row_range, Compiled};
use crate::error::{first_non_finite, Error, Result};
use crate::network::{InputOf, Network, Tape};
use crate::optim::Optimizer;
use crate::pass::Phase;
use crate::rows::Labels;
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

impl<N: Network, O: Optimizer> Compiled<N, O> {
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

    /// Loss and metrics over checked flat data; the loss weighted by `sample_weight` (one per
    /// row) when given, the metrics never.
    pub(super) fn evaluate_flat(
        &self,
        x: &[f32],
        y: &[f32],
        sample_weight: Option<&[f32]>,
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
}
