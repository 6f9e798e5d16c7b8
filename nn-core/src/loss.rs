//! Keras' losses, each giving the batch loss and its gradient in one pass over the outputs.
//!
//! Reduction is Keras' "sum_over_batch_size": per-row losses (mean over the last axis for the
//! element-wise losses, sum over classes for cross-entropies) times the row's sample weight,
//! summed, divided by the number of rows (not by the sum of weights).
//!
//! Cross-entropy after a matching output activation (binary after sigmoid, categorical or sparse
//! after softmax) is computed from the logits, as Keras on TensorFlow does: no clipping, exact for
//! saturated outputs, and the gradient with respect to the logits is simply p − y. Otherwise the
//! probabilities are clipped to [ε, 1 − ε] with Keras' ε = 1e-7, as Keras does.

use crate::error::{check_finite, Error, Result};
use crate::kernels::activations::{sigmoid, softplus};
use crate::kernels::dense::Delta;

/// Keras' `backend.epsilon()`.
pub const EPSILON: f32 = 1e-7;

/// A loss, as `compile` takes it. Non-exhaustive: Keras has more losses than seqnet builds
/// today, and adding one must not break a user's `match`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Loss {
    /// `binary_crossentropy`: labels 0/1 (or soft labels in [0, 1]), one per output.
    BinaryCrossentropy {
        /// Whether the outputs are logits (no sigmoid applied) rather than probabilities.
        from_logits: bool,
    },
    /// `categorical_crossentropy`: one-hot (or probability) labels, one per output.
    CategoricalCrossentropy {
        /// Whether the outputs are logits (no softmax applied) rather than probabilities.
        from_logits: bool,
    },
    /// `sparse_categorical_crossentropy`: one class id per row.
    SparseCategoricalCrossentropy {
        /// Whether the outputs are logits (no softmax applied) rather than probabilities.
        from_logits: bool,
    },
    /// `mean_squared_error`.
    MeanSquaredError,
    /// `mean_absolute_error`.
    MeanAbsoluteError,
    /// `huber` with its `delta` (Keras' default 1.0).
    Huber {
        /// Where the loss turns from quadratic to linear; finite and > 0.
        delta: f32,
    },
}

impl Loss {
    /// `binary_crossentropy` on probabilities.
    pub fn binary_crossentropy() -> Self {
        Loss::BinaryCrossentropy { from_logits: false }
    }
    /// `categorical_crossentropy` on probabilities.
    pub fn categorical_crossentropy() -> Self {
        Loss::CategoricalCrossentropy { from_logits: false }
    }
    /// `sparse_categorical_crossentropy` on probabilities.
    pub fn sparse_categorical_crossentropy() -> Self {
        Loss::SparseCategoricalCrossentropy { from_logits: false }
    }
    /// `huber` with Keras' default delta 1.0.
    pub fn huber() -> Self {
        Loss::Huber { delta: 1.0 }
    }

    /// Keras' name.
    pub fn name(&self) -> &'static str {
        match self {
            Loss::BinaryCrossentropy { .. } => "binary_crossentropy",
            Loss::CategoricalCrossentropy { .. } => "categorical_crossentropy",
            Loss::SparseCategoricalCrossentropy { .. } => "sparse_categorical_crossentropy",
            Loss::MeanSquaredError => "mean_squared_error",
            Loss::MeanAbsoluteError => "mean_absolute_error",
            Loss::Huber { .. } => "huber",
        }
    }

    /// Label values per row for a model with `outputs` outputs.
    pub fn label_width(&self, outputs: usize) -> usize {
        match self {
            Loss::SparseCategoricalCrossentropy { .. } => 1,
            _ => outputs,
        }
    }

    /// Checks the loss's own setting: Huber's `delta` finite and > 0
    /// ([`Error::InvalidArgument`]). `fit`, `evaluate` and `train_on_batch` call it first.
    pub fn validate(&self) -> Result<()> {
        match self {
            Loss::Huber { delta } => crate::optim::check_positive("Huber delta", *delta),
            _ => Ok(()),
        }
    }

    /// Checks labels once, before training: finite ([`Error::NonFinite`]), class ids in range
    /// for the sparse loss ([`Error::LabelOutOfRange`]), and targets in [0, 1] for binary and
    /// categorical cross-entropy ([`Error::InvalidLabel`]: a target of 2 or −1 trains to a
    /// negative loss, and class ids 0/1/2 with binary cross-entropy are the same mistake).
    pub fn check_labels(&self, labels: &[f32], outputs: usize) -> Result<()> {
        let width = self.label_width(outputs);
        check_finite("labels", labels, width)?;
        if let Loss::BinaryCrossentropy { .. } | Loss::CategoricalCrossentropy { .. } = self {
            if let Some((i, &label)) = labels
                .iter()
                .enumerate()
                .find(|(_, &l)| !(0.0..=1.0).contains(&l))
            {
                return Err(Error::InvalidLabel {
                    loss: self.name(),
                    row: i / width.max(1),
                    column: i % width.max(1),
                    label,
                    expected: "[0, 1]",
                });
            }
        }
        if let Loss::SparseCategoricalCrossentropy { .. } = self {
            if let Some((row, &label)) = labels
                .iter()
                .enumerate()
                .find(|(_, &l)| l < 0.0 || l.fract() != 0.0 || l as usize >= outputs)
            {
                return Err(Error::LabelOutOfRange {
                    row,
                    label,
                    classes: outputs,
                });
            }
        }
        Ok(())
    }

    /// [`Error::LabelShape`] for labels with `per_row` values per row where this loss, on a
    /// model with `outputs` outputs, takes [`label_width`](Self::label_width): what it takes,
    /// the likely mistake (one-hot rows, class ids) and the fix. `what` names the labels
    /// (`labels`, `validation labels`).
    pub fn label_shape_error(&self, what: &'static str, per_row: usize, outputs: usize) -> Error {
        let values = |k: usize| {
            if k == 1 {
                "1 value per row".to_string()
            } else {
                format!("{k} values per row")
            }
        };
        let plain = values(per_row);
        let one_hot = format!("{plain} (one-hot?)");
        let class_ids = format!("{plain} (class ids?)");
        let softmax = format!("Dense({per_row}, activation = softmax)");
        let (expected, got, fix) = match self {
            Loss::SparseCategoricalCrossentropy { .. } => (
                "one class id per row".to_string(),
                if per_row == outputs { one_hot } else { plain },
                if per_row == outputs {
                    "use Loss::categorical_crossentropy(), or give class ids (the argmax of each \
                     one-hot row)"
                        .to_string()
                } else {
                    format!(
                        "give one class id (0 to {}) per row",
                        outputs.saturating_sub(1)
                    )
                },
            ),
            Loss::CategoricalCrossentropy { .. } => (
                format!("one-hot rows of {outputs} values (one per output)"),
                if per_row == 1 { class_ids } else { plain },
                if per_row == 1 {
                    format!(
                        "use Loss::sparse_categorical_crossentropy(), or make one-hot rows with \
                         one_hot::<{outputs}>(&labels)"
                    )
                } else {
                    format!("give {outputs} values per row, or end the model with {softmax}")
                },
            ),
            Loss::BinaryCrossentropy { .. } if outputs == 1 => (
                "one 0/1 label per row (the model has 1 output)".to_string(),
                one_hot,
                format!(
                    "for {per_row} classes end the model with {softmax} and use \
                     Loss::categorical_crossentropy() (or class ids with \
                     Loss::sparse_categorical_crossentropy()); for two classes give the 0/1 \
                     label of the positive class"
                ),
            ),
            Loss::BinaryCrossentropy { .. } => (
                format!("{outputs} 0/1 labels per row (one per output)"),
                if per_row == 1 { class_ids } else { plain },
                if per_row == 1 {
                    format!(
                        "for class ids use a softmax output with \
                         Loss::sparse_categorical_crossentropy(), or one_hot::<{outputs}>(&labels) \
                         with Loss::categorical_crossentropy()"
                    )
                } else {
                    format!("give {outputs} labels per row, one per output")
                },
            ),
            Loss::MeanSquaredError | Loss::MeanAbsoluteError | Loss::Huber { .. } => (
                format!(
                    "{} per row (one per output)",
                    values(outputs).trim_end_matches(" per row")
                ),
                plain,
                format!(
                    "give {outputs} target{s} per row, or end the model with a Dense layer of \
                     {per_row} units",
                    s = if outputs == 1 { "" } else { "s" }
                ),
            ),
        };
        Error::LabelShape {
            loss: self.name(),
            what,
            expected,
            got,
            fix,
        }
    }

    /// How this loss reads a model's output: from the pre-activation logits (when the output
    /// activation is the one the loss pairs with), from the output taken as logits
    /// (`from_logits`), or from clipped probabilities.
    pub fn reads(&self, output_activation: &str) -> Reads {
        let (from_logits, pair) = match self {
            Loss::BinaryCrossentropy { from_logits } => (*from_logits, "sigmoid"),
            Loss::CategoricalCrossentropy { from_logits }
            | Loss::SparseCategoricalCrossentropy { from_logits } => (*from_logits, "softmax"),
            _ => return Reads::Output,
        };
        if output_activation == pair {
            Reads::PreActivation
        } else if from_logits {
            Reads::OutputAsLogits
        } else {
            Reads::ClippedProbabilities
        }
    }

    /// The batch loss and, when `grad` is given, its gradient, written into `grad` (with respect
    /// to the output, or to the pre-activation: the returned `Delta` says which).
    ///
    /// `batch.output` and `batch.pre_activation` are the model's last layer, `rows × width`;
    /// `batch.labels` is `rows × label_width`. Labels are assumed checked by `check_labels`.
    pub fn evaluate(&self, batch: LossBatch<'_>, grad: Option<&mut [f32]>) -> (f64, Delta) {
        let rows = batch.output.len() / batch.width;
        self.evaluate_part(batch, grad, rows)
    }

    /// As [`evaluate`](Self::evaluate) for `batch`, a run of rows out of a batch of
    /// `batch_rows`: the loss and gradient are this part's share of the batch mean, so the
    /// parts' losses and gradients add up to the whole batch's.
    pub fn evaluate_part(
        &self,
        batch: LossBatch<'_>,
        grad: Option<&mut [f32]>,
        batch_rows: usize,
    ) -> (f64, Delta) {
        let LossBatch {
            output,
            pre_activation,
            labels,
            sample_weight,
            output_activation,
            width,
        } = batch;
        let rows = output.len() / width;
        let reads = self.reads(output_activation);
        let source = match reads {
            Reads::PreActivation => pre_activation,
            _ => output,
        };
        let label_width = self.label_width(width);
        // The callers size every buffer for `rows` rows.
        debug_assert!(
            source.len() >= rows * width,
            "loss input shorter than the batch"
        );
        debug_assert!(
            labels.len() >= rows * label_width,
            "labels shorter than the batch"
        );
        debug_assert!(sample_weight.is_none_or(|w| w.len() >= rows));
        debug_assert!(grad.as_ref().is_none_or(|g| g.len() >= rows * width));
        let mut weights = sample_weight.map(|w| w.iter());
        let mut grads = grad.map(|g| g.chunks_exact_mut(width));
        let mut total = 0.0f64;
        for (v, t) in source
            .chunks_exact(width)
            .zip(labels.chunks_exact(label_width))
            .take(rows)
        {
            let weight = weights
                .as_mut()
                .map_or(1.0, |w| w.next().copied().unwrap_or(1.0));
            let scale = weight / batch_rows as f32;
            let g = grads.as_mut().and_then(Iterator::next);
            total += weight as f64 * self.row(reads, v, t, g, scale) as f64;
        }
        let delta = match reads {
            Reads::PreActivation => Delta::PreActivation,
            _ => Delta::Output,
        };
        (total / batch_rows.max(1) as f64, delta)
    }

    /// One row's loss; its gradient times `scale` into `g`.
    fn row(&self, reads: Reads, v: &[f32], t: &[f32], g: Option<&mut [f32]>, scale: f32) -> f32 {
        let n = v.len() as f32;
        match (self, reads) {
            (Loss::BinaryCrossentropy { .. }, Reads::PreActivation | Reads::OutputAsLogits) => {
                if let Some(g) = g {
                    for ((g, &z), &t) in g.iter_mut().zip(v).zip(t) {
                        *g = (sigmoid(z) - t) * scale / n;
                    }
                }
                // max(z, 0) − z·t + ln(1 + e^−|z|), TensorFlow's sigmoid_cross_entropy_with_logits.
                v.iter()
                    .zip(t)
                    .map(|(&z, &t)| softplus(z) - z * t)
                    .sum::<f32>()
                    / n
            }
            (Loss::BinaryCrossentropy { .. }, _) => {
                if let Some(g) = g {
                    for ((g, &y), &t) in g.iter_mut().zip(v).zip(t) {
                        let inside = (EPSILON..=1.0 - EPSILON).contains(&y);
                        *g = if inside {
                            (y - t) / (y * (1.0 - y)) * scale / n
                        } else {
                            0.0
                        };
                    }
                }
                let sum: f32 = v
                    .iter()
                    .zip(t)
                    .map(|(&y, &t)| {
                        let p = y.clamp(EPSILON, 1.0 - EPSILON);
                        -(t * p.ln() + (1.0 - t) * (1.0 - p).ln())
                    })
                    .sum();
                sum / n
            }
            (
                Loss::CategoricalCrossentropy { .. } | Loss::SparseCategoricalCrossentropy { .. },
                Reads::PreActivation | Reads::OutputAsLogits,
            ) => {
                let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let sum_exp: f32 = v.iter().map(|&z| (z - max).exp()).sum();
                let lse = max + sum_exp.ln();
                let label = t.first().map(|&l| l as usize);
                let target = |j: usize| -> f32 {
                    match self {
                        Loss::SparseCategoricalCrossentropy { .. } => f32::from(label == Some(j)),
                        // `t` is one label per output.
                        _ => t.get(j).copied().unwrap_or(0.0),
                    }
                };
                let target_sum: f32 = (0..v.len()).map(target).sum();
                if let Some(g) = g {
                    for (j, (g, &z)) in g.iter_mut().zip(v).enumerate() {
                        let p = (z - max).exp() / sum_exp;
                        *g = (target_sum * p - target(j)) * scale;
                    }
                }
                v.iter()
                    .enumerate()
                    .map(|(j, &z)| target(j) * (lse - z))
                    .sum()
            }
            (Loss::SparseCategoricalCrossentropy { .. }, _) => {
                // TensorFlow: sparse softmax cross-entropy of log(clip(p)), which renormalises.
                let label = t.first().map_or(usize::MAX, |&l| l as usize);
                let clipped = |y: f32| y.clamp(EPSILON, 1.0 - EPSILON);
                let sum: f32 = v.iter().map(|&y| clipped(y)).sum();
                if let Some(g) = g {
                    for (j, (g, &y)) in g.iter_mut().zip(v).enumerate() {
                        let inside = (EPSILON..=1.0 - EPSILON).contains(&y);
                        let own = if j == label { 1.0 / clipped(y) } else { 0.0 };
                        *g = if inside {
                            (1.0 / sum - own) * scale
                        } else {
                            0.0
                        };
                    }
                }
                // `check_labels` keeps class ids below the width; NaN marks a label it refused.
                debug_assert!(label < v.len(), "class id out of range");
                sum.ln() - v.get(label).map_or(f32::NAN, |&y| clipped(y)).ln()
            }
            (Loss::CategoricalCrossentropy { .. }, _) => {
                // Keras: normalise the row to sum 1, clip, then −Σ t·ln q.
                let s: f32 = v.iter().sum();
                let q = |y: f32| (y / s).clamp(EPSILON, 1.0 - EPSILON);
                if let Some(g) = g {
                    // dL/dq_i = −t_i/q_i where unclipped; dq_i/dy_j = δ_ij/s − y_i/s².
                    let dq = |y: f32, t: f32| {
                        let raw = y / s;
                        if (EPSILON..=1.0 - EPSILON).contains(&raw) {
                            -t / q(y)
                        } else {
                            0.0
                        }
                    };
                    let weighted: f32 =
                        v.iter().zip(t).map(|(&y, &t)| dq(y, t) * y).sum::<f32>() / (s * s);
                    for ((g, &y), &t) in g.iter_mut().zip(v).zip(t) {
                        *g = (dq(y, t) / s - weighted) * scale;
                    }
                }
                -v.iter().zip(t).map(|(&y, &t)| t * q(y).ln()).sum::<f32>()
            }
            (Loss::MeanSquaredError, _) => {
                if let Some(g) = g {
                    for ((g, &y), &t) in g.iter_mut().zip(v).zip(t) {
                        *g = 2.0 * (y - t) * scale / n;
                    }
                }
                v.iter()
                    .zip(t)
                    .map(|(&y, &t)| (y - t) * (y - t))
                    .sum::<f32>()
                    / n
            }
            (Loss::MeanAbsoluteError, _) => {
                if let Some(g) = g {
                    for ((g, &y), &t) in g.iter_mut().zip(v).zip(t) {
                        let e = y - t;
                        let sign = if e > 0.0 {
                            1.0
                        } else if e < 0.0 {
                            -1.0
                        } else {
                            0.0
                        };
                        *g = sign * scale / n;
                    }
                }
                v.iter().zip(t).map(|(&y, &t)| (y - t).abs()).sum::<f32>() / n
            }
            (Loss::Huber { delta }, _) => {
                let d = *delta;
                if let Some(g) = g {
                    for ((g, &y), &t) in g.iter_mut().zip(v).zip(t) {
                        let e = y - t;
                        // max/min rather than clamp: never a panic, even on a delta
                        // `validate` refuses.
                        *g = e.max(-d).min(d) * scale / n;
                    }
                }
                let sum: f32 = v
                    .iter()
                    .zip(t)
                    .map(|(&y, &t)| {
                        let e = (y - t).abs();
                        if e <= d {
                            0.5 * e * e
                        } else {
                            d * e - 0.5 * d * d
                        }
                    })
                    .sum();
                sum / n
            }
        }
    }
}

/// What a loss reads from the last layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reads {
    /// The pre-activation, as logits (cross-entropy after its matching activation).
    PreActivation,
    /// The output, taken as logits (`from_logits = true`).
    OutputAsLogits,
    /// The output, as probabilities clipped to [ε, 1 − ε].
    ClippedProbabilities,
    /// The output as it is (regression losses).
    Output,
}

/// One batch as a loss sees it.
#[derive(Clone, Copy, Debug)]
pub struct LossBatch<'a> {
    /// The model's outputs, `rows × width`.
    pub output: &'a [f32],
    /// The last layer's pre-activation, `rows × width` (read only after a matching activation).
    pub pre_activation: &'a [f32],
    /// Labels, `rows × label_width`.
    pub labels: &'a [f32],
    /// One weight per row (class weights), or `None` for 1.
    pub sample_weight: Option<&'a [f32]>,
    /// Keras' name of the output activation.
    pub output_activation: &'a str,
    /// Outputs per row.
    pub width: usize,
}
