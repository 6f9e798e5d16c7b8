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
        /// What the slice is (`input`, `validation input`).
        what: &'static str,
        /// Its length.
        len: usize,
        /// The row width it must be a multiple of.
        width: usize,
        /// Whole rows in it.
        full: usize,
        /// Values left over after the whole rows.
        rest: usize,
    },

    /// Two things that must agree in size do not.
    #[error("{what}: expected {expected}, got {got}")]
    SizeMismatch {
        /// The two things that disagree (`labels for 40 rows`).
        what: &'static str,
        /// The size the model or the other argument requires.
        expected: usize,
        /// The size given.
        got: usize,
    },

    /// A value that must be finite is NaN or infinite.
    #[error("{what} contains a non-finite value ({value}) at row {row}, column {column}")]
    NonFinite {
        /// `input`, `output`, `labels`, `weights`, … where the value is.
        what: &'static str,
        /// Its row (0-based).
        row: usize,
        /// Its column within the flat row (0-based).
        column: usize,
        /// The value: NaN or ±infinity.
        value: f32,
    },

    /// A token id outside the Embedding's vocabulary (`0..input_dim`), in the input of a model
    /// whose first layer is Embedding. Nothing is computed or changed.
    #[error(
        "{what} row {row}, position {position}: token id {id} is outside the Embedding's \
         vocabulary 0..{input_dim} (its input_dim is {input_dim})"
    )]
    TokenId {
        /// `input`, `validation input`.
        what: &'static str,
        /// Its row (0-based).
        row: usize,
        /// Its position (timestep) within the row (0-based).
        position: usize,
        /// The id.
        id: i64,
        /// The Embedding's `input_dim`.
        input_dim: usize,
    },

    /// A class label that is not one of the model's classes.
    #[error(
        "label {label} at row {row} is not a class id: the model has {classes} outputs, so labels \
         must be whole numbers from 0 to {max}",
        max = classes.saturating_sub(1)
    )]
    LabelOutOfRange {
        /// The row (0-based).
        row: usize,
        /// The label given.
        label: f32,
        /// The model's number of outputs (classes).
        classes: usize,
    },

    /// The loss became NaN or infinite during training (reported by `TerminateOnNaN`).
    #[error(
        "the loss became {loss} at epoch {epoch}, batch {batch}: training diverged \
         (try a lower learning rate, standardised inputs, or gradient clipping)"
    )]
    NonFiniteLoss {
        /// The epoch (0-based).
        epoch: usize,
        /// The batch within the epoch (0-based).
        batch: usize,
        /// The loss value: NaN or ±infinity.
        loss: f64,
    },

    /// Training produced a NaN or infinity (loss, gradient, or weights after an update): `fit`,
    /// `train_on_batch` and `loss_and_gradients` stop at once and leave the weights, moving
    /// statistics and optimizer state as they were before the failing batch.
    #[error(
        "training diverged at epoch {epoch}, batch {batch}: {what} (layer `{layer}`); the \
         weights are kept as they were before this batch (try a lower learning rate, \
         standardised inputs, or gradient clipping)"
    )]
    Diverged {
        /// The epoch (0 for `train_on_batch`).
        epoch: usize,
        /// The batch within the epoch (0 for `train_on_batch`).
        batch: usize,
        /// The first layer, in model order, whose gradient (or updated weights) holds the
        /// non-finite value; the output layer when only the loss is non-finite.
        layer: String,
        /// What became non-finite, naming the weight (`NaN in the gradient of dense_1/kernel`).
        what: String,
    },

    /// A label value that the loss cannot take (a binary or categorical cross-entropy target
    /// outside [0, 1]).
    #[error(
        "label {label} at row {row}, column {column} is outside {expected}, which {loss} \
         requires{hint}",
        hint = label_hint(.loss)
    )]
    InvalidLabel {
        /// The compiled loss, Keras' name.
        loss: &'static str,
        /// The row (0-based).
        row: usize,
        /// The column within the label row (0-based).
        column: usize,
        /// The label given.
        label: f32,
        /// The range the loss takes (`[0, 1]`).
        expected: &'static str,
    },

    /// Labels of another shape than the loss takes: one-hot rows for
    /// `sparse_categorical_crossentropy`, class ids for `categorical_crossentropy` or for
    /// `binary_crossentropy` on several outputs, one-hot rows for a one-output model. The
    /// message names the loss and the fix.
    #[error("{loss} takes {expected}, but the {what} have {got}: {fix}")]
    LabelShape {
        /// The compiled loss, Keras' name.
        loss: &'static str,
        /// `labels` or `validation labels`.
        what: &'static str,
        /// What the loss takes per row (`one class id per row`).
        expected: String,
        /// What the labels hold per row, with the likely cause (`3 values per row (one-hot?)`).
        got: String,
        /// What to change.
        fix: String,
    },

    /// A compiled metric that does not apply to the model's output and labels.
    #[error("metric `{metric}` does not fit this model: {reason}")]
    IncompatibleMetric {
        /// The metric's name.
        metric: &'static str,
        /// Why it does not apply, and the fix.
        reason: String,
    },

    /// A callback monitors a name the run will not log.
    #[error(
        "{callback} monitors {monitor:?}, which this run does not log (it logs: {logged}){hint}",
        hint = did_you_mean(.suggestion.as_deref())
    )]
    UnknownMonitor {
        /// The callback (`EarlyStopping`, …).
        callback: &'static str,
        /// The name it monitors.
        monitor: String,
        /// The names the run logs, comma-separated.
        logged: String,
        /// The logged name closest to `monitor`, if one is close.
        suggestion: Option<String>,
    },

    /// Not enough rows for what was asked (a validation split that leaves nothing to train on).
    #[error("{what}")]
    NotEnoughData {
        /// What is missing, with the numbers.
        what: String,
    },

    /// Reading or writing a file failed.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// The operating system's message.
        message: String,
    },

    /// A data file that does not have the expected form.
    #[error("{path}, line {line}: {message}")]
    Parse {
        /// The file (or `bytes`).
        path: String,
        /// The line, counted from 1 as an editor does.
        line: usize,
        /// What is wrong there.
        message: String,
    },

    /// An argument outside the range where it means anything.
    #[error("{what} must be {expected}, got {got}")]
    InvalidArgument {
        /// The argument (`batch_size`, `learning_rate`, `loss name`).
        what: &'static str,
        /// What it must be.
        expected: &'static str,
        /// What it was.
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

/// `; did you mean "…"?` for [`Error::UnknownMonitor`], or nothing.
fn did_you_mean(suggestion: Option<&str>) -> String {
    suggestion.map_or_else(String::new, |s| format!("; did you mean {s:?}?"))
}

/// The usual cause of an [`Error::InvalidLabel`] for this loss, or nothing.
fn label_hint(loss: &str) -> &'static str {
    if loss == "binary_crossentropy" {
        " (class ids 0, 1, 2, … need a softmax output with \
         Loss::sparse_categorical_crossentropy(), or one_hot labels with \
         Loss::categorical_crossentropy())"
    } else {
        ""
    }
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
        /// Shape the model expects.
        expected: Vec<usize>,
        /// Shape in the file.
        got: Vec<usize>,
    },
    /// Values of another type than the model's.
    Dtype {
        /// The model's dtype.
        expected: String,
        /// The file's dtype.
        got: String,
    },
    /// An int8 kernel (a file of a model Keras' `quantize("int8")` made) where the model is
    /// float32, or the reverse.
    Quantization {
        /// True when the file is the quantized one.
        file_quantized: bool,
    },
    /// A NaN or infinite value.
    NonFinite {
        /// The value's index in the flat tensor.
        index: usize,
        /// The value: NaN or ±infinity.
        value: f32,
    },
    /// The file was saved from a model whose layer here is of another class or name.
    Layer {
        /// The model's layer here, `name (Class)`.
        expected: String,
        /// The file's layer here.
        got: String,
    },
}

impl Mismatch {
    /// A tensor of dtype `got` where the model has `expected`: [`Mismatch::Quantization`] when
    /// one is a quantized kernel (int8) and the other float32, else [`Mismatch::Dtype`].
    pub fn dtype(expected: crate::spec::Dtype, got: crate::spec::Dtype) -> Mismatch {
        use crate::spec::Dtype::{Float32, Int8};
        match (expected, got) {
            (Float32, Int8) => Mismatch::Quantization {
                file_quantized: true,
            },
            (Int8, Float32) => Mismatch::Quantization {
                file_quantized: false,
            },
            _ => Mismatch::Dtype {
                expected: expected.name().into(),
                got: got.name().into(),
            },
        }
    }
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
            Mismatch::Dtype { expected, got } => {
                write!(f, "holds {got} values; the model needs {expected}")
            }
            Mismatch::Quantization {
                file_quantized: true,
            } => write!(
                f,
                "is int8 in the file, a model quantized with quantize(\"int8\"); this model is \
                 float32: load the file into the quantized model \
                 (`Model::new(0).quantize(\"int8\")?.load_weights(path)`, a `Quantized<Model>`)"
            ),
            Mismatch::Quantization {
                file_quantized: false,
            } => write!(
                f,
                "is float32 in the file, a float model's; this quantized model needs int8: load \
                 the file into the float model, then call `quantize(\"int8\")`"
            ),
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

/// Checks that every value is finite, naming the first that is not (its row and column in rows
/// of `width` values). Allocates nothing; the scan has no branch per value, so it vectorizes,
/// and only a block holding a bad value is searched again.
pub fn check_finite(what: &'static str, data: &[f32], width: usize) -> Result<()> {
    match first_non_finite(data) {
        None => Ok(()),
        Some((i, value)) => Err(Error::NonFinite {
            what,
            row: i / width.max(1),
            column: i % width.max(1),
            value,
        }),
    }
}

/// The input check of a model: finite values for a float input (`ids` = 0, see
/// [`check_finite`]), and for a model whose first layer is Embedding (`ids` its `input_dim`),
/// every token id in `0..ids`, naming the first that is not ([`Error::TokenId`]).
pub fn check_input(what: &'static str, data: &[f32], width: usize, ids: usize) -> Result<()> {
    if ids == 0 {
        return check_finite(what, data, width);
    }
    let outside =
        |(_, v): &(usize, &f32)| usize::try_from(token_id(**v)).map_or(true, |id| id >= ids);
    match data.iter().enumerate().find(outside) {
        None => Ok(()),
        Some((i, v)) => Err(Error::TokenId {
            what,
            row: i / width.max(1),
            position: i % width.max(1),
            id: i64::from(token_id(*v)),
            input_dim: ids,
        }),
    }
}

/// A token id as the flat input carries it: an `i32`'s bits in an `f32` slot. A row of ids
/// `[i32; T]` is read as `f32`s without a copy (see `rows::Row`), so every id is exact whatever
/// the `input_dim`; no arithmetic ever touches these slots, only this reading.
#[inline(always)]
pub fn token_id(v: f32) -> i32 {
    v.to_bits() as i32
}

/// The index and value of the first NaN or infinity in `data`.
#[inline]
pub(crate) fn first_non_finite(data: &[f32]) -> Option<(usize, f32)> {
    /// Values per block: the exact search runs again only over a block that failed.
    const BLOCK: usize = 256;
    data.chunks(BLOCK).enumerate().find_map(|(k, block)| {
        if all_finite(block) {
            return None;
        }
        block
            .iter()
            .enumerate()
            .find(|(_, v)| !v.is_finite())
            .map(|(i, v)| (k * BLOCK + i, *v))
    })
}

/// True when no value is NaN or infinite: `v · 0` is ±0 for a finite `v` and NaN otherwise, so
/// the lane-wise sums stay zero exactly when every value is finite. No branch per value, so it
/// vectorizes (a multiply and an add per vector of values, four independent sums) on every
/// x86-64; inlined, so a length known at compile time (`predict_one`'s row) unrolls completely.
#[inline(always)]
pub fn all_finite(block: &[f32]) -> bool {
    const LANES: usize = 16;
    let mut lanes = [0.0f32; LANES];
    let mut chunks = block.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (sum, v) in lanes.iter_mut().zip(chunk) {
            *sum += v * 0.0;
        }
    }
    let tail = chunks
        .remainder()
        .iter()
        .fold(0.0f32, |sum, v| sum + v * 0.0);
    lanes.iter().fold(tail, |all, sum| all + sum) == 0.0
}

/// `Result` with seqnet's [`Error`](enum@Error).
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
