//! Keras' string names for losses, metrics and optimizers, for code ported from
//! `model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])`:
//! `"adam".parse::<Adam>()?`, `"binary_crossentropy".parse::<Loss>()?`,
//! `"accuracy".parse::<Metric>()?`. Each name gives what Keras' string gives (its defaults);
//! an unknown name is [`Error::InvalidArgument`] listing the names there are.

use crate::error::{Error, Result};
use crate::loss::Loss;
use crate::metrics::Metric;
use crate::optim::{Adagrad, Adam, AdamW, RMSprop, SGD};
use std::str::FromStr;

/// Keras' names for the losses (and their short aliases), longest form first.
const LOSSES: &str = "binary_crossentropy, categorical_crossentropy, \
                      sparse_categorical_crossentropy, mean_squared_error (mse), \
                      mean_absolute_error (mae), huber";

/// Keras' names for the metrics seqnet computes.
const METRICS: &str = "accuracy (acc), binary_accuracy, categorical_accuracy, \
                       sparse_categorical_accuracy, precision, recall, auc, \
                       mean_absolute_error (mae), mean_squared_error (mse)";

/// Keras spells names in any case in some places (`"Adam"` in configs); seqnet accepts both.
fn normalized(name: &str) -> String {
    name.trim().to_ascii_lowercase()
}

fn unknown(what: &'static str, expected: &'static str, name: &str) -> Error {
    Error::InvalidArgument {
        what,
        expected,
        got: format!("{name:?}"),
    }
}

impl FromStr for Loss {
    type Err = Error;

    /// Keras' loss string: `"binary_crossentropy"`, `"categorical_crossentropy"`,
    /// `"sparse_categorical_crossentropy"` (all on probabilities, as the strings are in Keras),
    /// `"mean_squared_error"`/`"mse"`, `"mean_absolute_error"`/`"mae"`, `"huber"` (delta 1).
    ///
    /// ```
    /// use nn_core::Loss;
    /// assert_eq!("mse".parse::<Loss>()?, Loss::MeanSquaredError);
    /// assert!("crossentropy".parse::<Loss>().is_err());
    /// # Ok::<(), nn_core::Error>(())
    /// ```
    fn from_str(name: &str) -> Result<Self> {
        Ok(match normalized(name).as_str() {
            "binary_crossentropy" => Loss::binary_crossentropy(),
            "categorical_crossentropy" => Loss::categorical_crossentropy(),
            "sparse_categorical_crossentropy" => Loss::sparse_categorical_crossentropy(),
            "mean_squared_error" | "mse" => Loss::MeanSquaredError,
            "mean_absolute_error" | "mae" => Loss::MeanAbsoluteError,
            "huber" => Loss::huber(),
            _ => return Err(unknown("loss name", LOSSES, name)),
        })
    }
}

impl FromStr for Metric {
    type Err = Error;

    /// Keras' metric string: `"accuracy"` (or `"acc"`; binary, categorical or sparse chosen
    /// from the shapes, as Keras does), `"binary_accuracy"` (threshold 0.5),
    /// `"categorical_accuracy"`, `"sparse_categorical_accuracy"`, `"precision"`, `"recall"`,
    /// `"auc"`, `"mean_absolute_error"`/`"mae"`, `"mean_squared_error"`/`"mse"`.
    ///
    /// ```
    /// use nn_core::Metric;
    /// let metrics = ["accuracy", "auc"].map(str::parse::<Metric>);
    /// assert_eq!(metrics[0].as_ref().ok(), Some(&Metric::Accuracy));
    /// # Ok::<(), nn_core::Error>(())
    /// ```
    fn from_str(name: &str) -> Result<Self> {
        Ok(match normalized(name).as_str() {
            "accuracy" | "acc" => Metric::Accuracy,
            "binary_accuracy" => Metric::BinaryAccuracy { threshold: 0.5 },
            "categorical_accuracy" => Metric::CategoricalAccuracy,
            "sparse_categorical_accuracy" => Metric::SparseCategoricalAccuracy,
            "precision" => Metric::Precision,
            "recall" => Metric::Recall,
            "auc" => Metric::Auc,
            "mean_absolute_error" | "mae" => Metric::MeanAbsoluteError,
            "mean_squared_error" | "mse" => Metric::MeanSquaredError,
            _ => return Err(unknown("metric name", METRICS, name)),
        })
    }
}

/// `FromStr` for an optimizer: its Keras name gives it with Keras' default learning rate.
macro_rules! optimizer_name {
    ($ty:ident, $name:literal, $lr:literal) => {
        impl FromStr for $ty {
            type Err = Error;

            #[doc = concat!("Keras' `\"", $name, "\"`: `", stringify!($ty), "::new(", stringify!($lr),
                ")`, Keras' defaults.")]
            fn from_str(name: &str) -> Result<Self> {
                if normalized(name) == $name {
                    Ok($ty::new($lr))
                } else {
                    Err(unknown(
                        concat!(stringify!($ty), " name"),
                        concat!("\"", $name, "\" (another optimizer is another type: \
                                 \"adam\".parse::<Adam>(), \"sgd\".parse::<SGD>(), …)"),
                        name,
                    ))
                }
            }
        }
    };
}

optimizer_name!(Adam, "adam", 0.001);
optimizer_name!(AdamW, "adamw", 0.001);
optimizer_name!(SGD, "sgd", 0.01);
optimizer_name!(RMSprop, "rmsprop", 0.001);
optimizer_name!(Adagrad, "adagrad", 0.001);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::Optimizer;

    #[test]
    fn every_loss_name_round_trips_through_its_keras_name() {
        let all = [
            Loss::binary_crossentropy(),
            Loss::categorical_crossentropy(),
            Loss::sparse_categorical_crossentropy(),
            Loss::MeanSquaredError,
            Loss::MeanAbsoluteError,
            Loss::huber(),
        ];
        for loss in all {
            assert_eq!(loss.name().parse::<Loss>().ok(), Some(loss));
        }
        assert_eq!("MAE".parse::<Loss>().ok(), Some(Loss::MeanAbsoluteError));
    }

    #[test]
    fn every_metric_name_round_trips_through_its_keras_name() {
        let all = [
            Metric::Accuracy,
            Metric::BinaryAccuracy { threshold: 0.5 },
            Metric::CategoricalAccuracy,
            Metric::SparseCategoricalAccuracy,
            Metric::Precision,
            Metric::Recall,
            Metric::Auc,
            Metric::MeanAbsoluteError,
            Metric::MeanSquaredError,
        ];
        for metric in all {
            assert_eq!(metric.name().parse::<Metric>().ok(), Some(metric));
        }
    }

    #[test]
    fn optimizer_names_give_keras_default_learning_rates() {
        let adam: Adam = "Adam".parse().unwrap();
        assert_eq!(adam.learning_rate(), 0.001);
        let sgd: SGD = "sgd".parse().unwrap();
        assert_eq!(sgd.learning_rate(), 0.01);
        assert_eq!("rmsprop".parse::<RMSprop>().unwrap().learning_rate(), 0.001);
        assert_eq!("adagrad".parse::<Adagrad>().unwrap().learning_rate(), 0.001);
        assert_eq!("adamw".parse::<AdamW>().unwrap().learning_rate(), 0.001);
    }

    #[test]
    fn unknown_names_are_errors_listing_the_known_ones() {
        let err = "binary_cross_entropy".parse::<Loss>().unwrap_err();
        assert!(matches!(
            err,
            Error::InvalidArgument {
                what: "loss name",
                ..
            }
        ));
        assert!(err.to_string().contains("binary_crossentropy"), "{err}");
        let err = "sgd".parse::<Adam>().unwrap_err();
        assert!(err.to_string().contains("parse::<SGD>"), "{err}");
        assert!("accuracyy".parse::<Metric>().is_err());
    }
}
