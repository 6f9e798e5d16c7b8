//! The one error type of the public API. Every variant names what was wrong with the caller's data
//! and what was expected, so a message alone is enough to fix the call.

use thiserror::Error;

/// Everything that can go wrong with data handed to seqnet at run time.
///
/// Shape mistakes that the type already rules out (a `[f32; 11]` row for a 10-wide model) are
/// compile errors and never reach this type.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A flat slice whose length is not a whole number of rows.
    #[error(
        "{what} has {len} values, which is not a whole number of rows of width {width} \
         ({full} full rows and {rest} values left over)"
    )]
    RaggedRows {
        what: &'static str,
        len: usize,
        width: usize,
        full: usize,
        rest: usize,
    },

    /// Two things that must agree in size do not.
    #[error("{what}: expected {expected}, got {got}")]
    SizeMismatch {
        what: &'static str,
        expected: usize,
        got: usize,
    },

    /// A value that must be finite is NaN or infinite.
    #[error("{what} contains a non-finite value ({value}) at row {row}, column {column}")]
    NonFinite {
        what: &'static str,
        row: usize,
        column: usize,
        value: f32,
    },

    /// A class label that is not one of the model's classes.
    #[error(
        "label {label} at row {row} is not a class id: the model has {classes} outputs, so labels \
         must be whole numbers from 0 to {max}",
        max = classes - 1
    )]
    LabelOutOfRange {
        row: usize,
        label: f32,
        classes: usize,
    },

    /// The loss became NaN or infinite during training (reported by `TerminateOnNaN`).
    #[error(
        "the loss became {loss} at epoch {epoch}, batch {batch}: training diverged \
         (try a lower learning rate, standardised inputs, or gradient clipping)"
    )]
    NonFiniteLoss {
        epoch: usize,
        batch: usize,
        loss: f64,
    },

    /// Not enough rows for what was asked (a validation split that leaves nothing to train on).
    #[error("{what}")]
    NotEnoughData { what: String },

    /// Reading or writing a file failed.
    #[error("{path}: {message}")]
    Io { path: String, message: String },

    /// A data file that does not have the expected form.
    #[error("{path}, line {line}: {message}")]
    Parse {
        path: String,
        line: usize,
        message: String,
    },

    /// An argument outside the range where it means anything.
    #[error("{what} must be {expected}, got {got}")]
    InvalidArgument {
        what: &'static str,
        expected: &'static str,
        got: String,
    },

    /// Bytes that are not a weights file seqnet reads: unknown format, truncated or corrupted.
    #[error("{source_name}: not a readable weights file: {message}")]
    BadWeightsFile {
        /// The file's path, or `bytes` for `load_weights_bytes`.
        source_name: String,
        /// What is wrong, as the format's reader said it.
        message: String,
    },

    /// A weights file whose tensors do not fit this model: the first tensor that differs.
    #[error("{source_name}: weight `{tensor}` {mismatch}")]
    WeightsMismatch {
        /// The file's path, or `bytes`.
        source_name: String,
        /// The tensor, as `layer/weight` (`dense_1/kernel`, `batch_normalization/moving_mean`).
        tensor: String,
        /// How it differs.
        mismatch: Mismatch,
    },
}

/// How a tensor in a weights file differs from what the model expects.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Mismatch {
    /// The model has the weight; the file does not.
    Missing,
    /// The file has a weight the model does not.
    Unexpected,
    /// Another shape.
    Shape {
        expected: Vec<usize>,
        got: Vec<usize>,
    },
    /// Values of a type other than float32.
    Dtype { got: String },
    /// A NaN or infinite value.
    NonFinite { index: usize, value: f32 },
    /// The file was saved from a model whose layer here is of another class or name.
    Layer { expected: String, got: String },
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mismatch::Missing => write!(f, "is missing from the file"),
            Mismatch::Unexpected => write!(f, "is in the file but not in this model"),
            Mismatch::Shape { expected, got } => {
                write!(
                    f,
                    "has shape {got:?} in the file; the model's is {expected:?}"
                )
            }
            Mismatch::Dtype { got } => write!(f, "holds {got} values; the model needs float32"),
            Mismatch::NonFinite { index, value } => {
                write!(f, "holds a non-finite value ({value}) at index {index}")
            }
            Mismatch::Layer { expected, got } => write!(
                f,
                "belongs to layer {got} in the file; the model's layer there is {expected} \
                 (the file was saved from another architecture)"
            ),
        }
    }
}

/// Checks that every value is finite, naming the first that is not.
pub fn check_finite(what: &'static str, data: &[f32], width: usize) -> Result<()> {
    match data.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(Error::NonFinite {
            what,
            row: i / width.max(1),
            column: i % width.max(1),
            value: data[i],
        }),
    }
}

/// `Result` with seqnet's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Checks that `data` is a whole number of rows of `width` values and returns the row count.
pub fn row_count(what: &'static str, data: &[f32], width: usize) -> Result<usize> {
    if width == 0 {
        return Err(Error::InvalidArgument {
            what: "row width",
            expected: "at least 1",
            got: "0".into(),
        });
    }
    if !data.len().is_multiple_of(width) {
        return Err(Error::RaggedRows {
            what,
            len: data.len(),
            width,
            full: data.len() / width,
            rest: data.len() % width,
        });
    }
    Ok(data.len() / width)
}
