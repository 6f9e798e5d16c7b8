//! Keras' metrics, accumulated over an epoch as Keras accumulates them (totals, not a mean of
//! batch means), plus `accuracy_score` for plain label arrays.

use crate::error::{Error, Result};
use crate::loss::EPSILON;

/// A metric, as `compile` takes it.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Metric {
    /// Keras' `"accuracy"`: binary, categorical or sparse categorical accuracy, chosen from the
    /// shapes as Keras chooses (one output → binary; one label per row and several outputs →
    /// sparse; otherwise categorical). Reported as `accuracy`.
    Accuracy,
    /// The fraction of outputs on the right side of `threshold` (Keras' default 0.5).
    BinaryAccuracy {
        /// Outputs above it count as 1 (Keras' default 0.5).
        threshold: f32,
    },
    /// argmax(output) == argmax(one-hot label).
    CategoricalAccuracy,
    /// argmax(output) == class id.
    SparseCategoricalAccuracy,
    /// TP / (TP + FP) at threshold 0.5 (0 when nothing is predicted positive).
    Precision,
    /// TP / (TP + FN) at threshold 0.5 (0 when there is no positive label).
    Recall,
    /// Area under the ROC curve, Keras' 200-threshold trapezoidal estimate.
    Auc,
    /// Mean |output − label|.
    MeanAbsoluteError,
    /// Mean (output − label)².
    MeanSquaredError,
}

/// Keras' default number of AUC thresholds.
const AUC_THRESHOLDS: usize = 200;

impl Metric {
    /// The name under which it is logged (`accuracy`, `val_accuracy`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::BinaryAccuracy { .. } => "binary_accuracy",
            Metric::CategoricalAccuracy => "categorical_accuracy",
            Metric::SparseCategoricalAccuracy => "sparse_categorical_accuracy",
            Metric::Precision => "precision",
            Metric::Recall => "recall",
            Metric::Auc => "auc",
            Metric::MeanAbsoluteError => "mean_absolute_error",
            Metric::MeanSquaredError => "mean_squared_error",
        }
    }

    /// Checks that the metric applies to a model with `outputs` outputs trained on
    /// `label_width` label values per row, and that its threshold is finite; otherwise
    /// [`Error::IncompatibleMetric`] (or [`Error::InvalidArgument`] for the threshold), naming
    /// the metric and the fix. `fit`, `evaluate` and `train_on_batch` call it first.
    ///
    /// The element-wise metrics (binary accuracy, precision, recall, AUC, mean squared and
    /// absolute error) compare each output with its own label, so they need a label per
    /// output: on a 3-class softmax with class-id labels they would compare class 2 with
    /// probabilities. The argmax accuracies need at least two outputs.
    pub fn check(&self, outputs: usize, label_width: usize) -> Result<()> {
        if let Metric::BinaryAccuracy { threshold } = self {
            if !threshold.is_finite() {
                return Err(Error::InvalidArgument {
                    what: "BinaryAccuracy threshold",
                    expected: "a finite number",
                    got: threshold.to_string(),
                });
            }
        }
        let element_wise = matches!(
            self,
            Metric::BinaryAccuracy { .. }
                | Metric::Precision
                | Metric::Recall
                | Metric::Auc
                | Metric::MeanAbsoluteError
                | Metric::MeanSquaredError
        );
        let argmax = matches!(
            self,
            Metric::CategoricalAccuracy | Metric::SparseCategoricalAccuracy
        );
        if element_wise && label_width != outputs {
            return Err(Error::IncompatibleMetric {
                metric: self.name(),
                reason: format!(
                    "it compares each of the model's {outputs} outputs with a label of its own, \
                     but the labels have {label_width} value(s) per row (class ids); use \
                     Metric::Accuracy or Metric::SparseCategoricalAccuracy with class ids, or \
                     one-hot labels (one_hot) with categorical_crossentropy"
                ),
            });
        }
        if argmax && outputs < 2 {
            return Err(Error::IncompatibleMetric {
                metric: self.name(),
                reason: "it takes the argmax of the outputs, and the model has one output \
                         (always class 0); use Metric::Accuracy or Metric::BinaryAccuracy"
                    .into(),
            });
        }
        Ok(())
    }

    /// True when a larger value is better (for EarlyStopping's `mode = auto`).
    pub fn higher_is_better(name: &str) -> bool {
        let base = name.strip_prefix("val_").unwrap_or(name);
        base.contains("accuracy") || ["precision", "recall", "auc"].contains(&base)
    }
}

/// A metric's running totals over an epoch.
#[derive(Clone, Debug)]
pub struct MetricState {
    metric: Metric,
    /// What `Accuracy` resolved to.
    resolved: Metric,
    total: f64,
    count: f64,
    /// Per threshold: true positives, false positives, true negatives, false negatives.
    confusion: Vec<[f64; 4]>,
}

impl MetricState {
    /// Totals for `metric` on a model with `outputs` outputs and `label_width` labels per row.
    pub fn new(metric: Metric, outputs: usize, label_width: usize) -> Self {
        let resolved = match metric {
            Metric::Accuracy if outputs == 1 => Metric::BinaryAccuracy { threshold: 0.5 },
            Metric::Accuracy if label_width == 1 => Metric::SparseCategoricalAccuracy,
            Metric::Accuracy => Metric::CategoricalAccuracy,
            m => m,
        };
        let buckets = match resolved {
            Metric::Auc => AUC_THRESHOLDS,
            Metric::Precision | Metric::Recall => 1,
            _ => 0,
        };
        MetricState {
            metric,
            resolved,
            total: 0.0,
            count: 0.0,
            confusion: vec![[0.0; 4]; buckets],
        }
    }

    /// The name it is logged under.
    pub fn name(&self) -> &'static str {
        self.metric.name()
    }

    /// Starts a new epoch.
    pub fn reset(&mut self) {
        self.total = 0.0;
        self.count = 0.0;
        self.confusion.iter_mut().for_each(|c| *c = [0.0; 4]);
    }

    /// Adds a batch: `output` is `rows × outputs`, `labels` is `rows × label_width`.
    pub fn update(&mut self, output: &[f32], labels: &[f32], outputs: usize) {
        let rows = output.len() / outputs;
        if rows == 0 {
            return;
        }
        let label_width = labels.len() / rows;
        debug_assert!(self.resolved != Metric::Accuracy, "resolved in new()");
        match self.resolved {
            Metric::BinaryAccuracy { threshold } => {
                for (&p, &t) in output.iter().zip(labels) {
                    self.total += f64::from(f32::from(p > threshold) == t);
                }
                self.count += output.len() as f64;
            }
            Metric::CategoricalAccuracy | Metric::SparseCategoricalAccuracy => {
                let truths = labels.chunks_exact(label_width.max(1));
                for (row, truth) in output.chunks_exact(outputs).zip(truths) {
                    let predicted = argmax(row);
                    let actual = match truth {
                        [class] => *class as usize,
                        _ => argmax(truth),
                    };
                    self.total += f64::from(predicted == actual);
                }
                self.count += rows as f64;
            }
            Metric::MeanAbsoluteError | Metric::MeanSquaredError => {
                let square = self.resolved == Metric::MeanSquaredError;
                for (&p, &t) in output.iter().zip(labels) {
                    let e = (p - t) as f64;
                    self.total += if square { e * e } else { e.abs() };
                }
                self.count += output.len() as f64;
            }
            Metric::Precision | Metric::Recall | Metric::Auc => {
                let n = self.confusion.len();
                for (&p, &t) in output.iter().zip(labels) {
                    let positive = t > 0.5;
                    for (i, c) in self.confusion.iter_mut().enumerate() {
                        let threshold = if n == 1 { 0.5 } else { auc_threshold(i, n) };
                        let predicted = p > threshold;
                        let [tp, fp, tn, fn_] = c;
                        let slot = match (predicted, positive) {
                            (true, true) => tp,
                            (true, false) => fp,
                            (false, false) => tn,
                            (false, true) => fn_,
                        };
                        *slot += 1.0;
                    }
                }
            }
            // `new` resolves Accuracy to one of the above (asserted on entry).
            Metric::Accuracy => {}
        }
    }

    /// The value over everything added since the last reset.
    pub fn result(&self) -> f64 {
        let ratio = |a: f64, b: f64| if b == 0.0 { 0.0 } else { a / b };
        match self.resolved {
            Metric::Precision => {
                let [tp, fp, _, _] = self.confusion.first().copied().unwrap_or_default();
                ratio(tp, tp + fp)
            }
            Metric::Recall => {
                let [tp, _, _, fn_] = self.confusion.first().copied().unwrap_or_default();
                ratio(tp, tp + fn_)
            }
            Metric::Auc => {
                // Trapezoids between consecutive thresholds of (false positive rate, recall).
                let points: Vec<(f64, f64)> = self
                    .confusion
                    .iter()
                    .map(|&[tp, fp, tn, fn_]| (ratio(fp, fp + tn), ratio(tp, tp + fn_)))
                    .collect();
                points
                    .iter()
                    .zip(points.iter().skip(1))
                    .map(|(a, b)| (a.0 - b.0) * (a.1 + b.1) / 2.0)
                    .sum()
            }
            _ => ratio(self.total, self.count),
        }
    }
}

/// Index of the largest value (the first one on ties), as NumPy's `argmax`.
pub fn argmax(row: &[f32]) -> usize {
    row.iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 {
                (i, v)
            } else {
                best
            }
        })
        .0
}

/// Keras' AUC thresholds: just below 0, (i)/(n − 1) for the inner ones, just above 1.
fn auc_threshold(i: usize, n: usize) -> f32 {
    if i == 0 {
        -EPSILON
    } else if i == n - 1 {
        1.0 + EPSILON
    } else {
        i as f32 / (n - 1) as f32
    }
}

/// scikit-learn's `accuracy_score`: the fraction of positions where the labels agree.
pub fn accuracy_score<T: PartialEq>(y_true: &[T], y_pred: &[T]) -> Result<f64> {
    if y_true.len() != y_pred.len() {
        return Err(Error::SizeMismatch {
            what: "accuracy_score: predictions for the labels",
            expected: y_true.len(),
            got: y_pred.len(),
        });
    }
    if y_true.is_empty() {
        return Err(Error::NotEnoughData {
            what: "accuracy_score of no labels is undefined".into(),
        });
    }
    let agree = y_true.iter().zip(y_pred).filter(|(a, b)| a == b).count();
    Ok(agree as f64 / y_true.len() as f64)
}
