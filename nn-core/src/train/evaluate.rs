//! Keras' `evaluate` (the loss and metrics over all rows, in inference mode, in fixed batches)
//! and `predict_classes`.

use super::scoring::Scores;
use super::Compiled;
use crate::error::{Error, Result};
use crate::network::{InputOf, Network};
use crate::optim::Optimizer;
use crate::pass::Phase;
use crate::rows::Labels;

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
        self.scoring()
            .evaluate_flat(x, y, sample_weight, |x, rows, tape| {
                self.model.forward(x, rows, tape, Phase::Inference)
            })
    }
}
