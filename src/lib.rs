#![doc = include_str!("../README.md")]
//!
//! ## The guide
//!
//! [`guide`] walks the Keras tutorial end to end, one step per section: data, the model,
//! `summary`, `compile`, `fit` with validation, `History`, `evaluate`, `predict`, saving and
//! loading, and what a mistake looks like at compile time and at run time.
//!
//! ## What is reproducible
//!
//! - **Threads**: on one machine and one instruction-set path, every result — `predict`,
//!   `evaluate`, each training step, the trained weights — is bit-identical whatever the thread
//!   count (rayon's pool size or `RAYON_NUM_THREADS`). Batches are cut into chunks and image
//!   groups whose sizes depend on the shapes only, and partial sums are added in chunk order
//!   (tested on 1 and 2 threads for Dense, Conv2D + Dropout and BatchNormalization models).
//! - **Seeds**: `Model::new(seed)` draws the same initial weights on every platform (ChaCha8),
//!   `Fit::seed` the same shuffles, and Dropout the same masks (a hash of seed, optimizer step,
//!   row and column), so a run repeats exactly, and a run resumed from a `.safetensors`
//!   checkpoint equals the uninterrupted one bit for bit.
//! - **Machines**: the same binary on another CPU with the same instruction-set path (AVX-512,
//!   AVX2 or portable, chosen at run time; `SEQNET_ISA` forces a lower one) gives the same bits:
//!   cache blocking is fixed, not tuned to the machine.
//! - **Not bit-identical**: different instruction-set paths (their register tiles group the
//!   sums differently), `predict_one` against `predict` (it runs independent FMA chains), and
//!   seqnet against Keras. These agree to float rounding — Keras parity is tested to 1e-6 on
//!   every path — but not to the bit.
//!
//! ## Errors
//!
//! Every fallible entry point returns [`Result`] with one [`Error`] enum; nothing in the
//! library panics on bad input, and a failed call leaves the model's weights as they were.
//! Each function's docs list the errors it returns; in short:
//!
//! | entry point | errors |
//! | --- | --- |
//! | `predict`, `predict_one`, `predict_flat`, `predict_classes` | `NonFinite` (input, or an output that overflowed), `RaggedRows` (flat slices) |
//! | `evaluate` | the settings' errors below, `SizeMismatch`, `NonFinite` (input, or an output that overflowed, as `predict`), `LabelOutOfRange`, `InvalidLabel`, `NotEnoughData` |
//! | `fit`, `train_on_batch`, `loss_and_gradients` | `InvalidArgument` (optimizer, loss, `Fit` options, callback settings, more than one kind of gradient clipping), `IncompatibleMetric`, `UnknownMonitor`, the data errors of `evaluate`, `Diverged` (weights left at the last finite state), `NonFinite` (a validation output that overflowed; `history()` keeps the finished epochs), `Io` (a checkpoint that cannot be written) |
//! | `set_weights`, `set_params` | `SizeMismatch`, `NonFinite`, `InvalidArgument` (a non-integer value for an integer weight, Normalization's `count`) |
//! | `adapt` (a model with a Normalization to adapt) | `InvalidArgument` (no rows), `NonFinite` (input, or what reaches a layer); nothing changes on an error |
//! | `save_weights`, `load_weights`, `load_weights_bytes` | `Io`, `BadWeightsFile`, `WeightsMismatch` (nothing is set unless all of it fits) |
//! | `load_csv`, `train_test_split`, `StandardScaler`, `one_hot` | `Io`, `Parse`, `SizeMismatch`, `InvalidArgument`, `NotEnoughData`, `NonFinite`, `LabelOutOfRange` |

#![warn(missing_docs)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub use nn_core::*;
/// Declares a network: a Keras layer list, checked at compile time, expanded into a struct.
///
/// See the crate docs (the layer list) and [`guide`] for the syntax.
///
///
/// ```
/// use seqnet::prelude::*;
///
/// sequential! {
///     /// Three classes from four features.
///     pub struct IrisNet {
///         Dense(16, activation = relu, input_shape = (4,)),
///         Dropout(0.1),
///         Dense(3, activation = softmax),
///     }
/// }
///
/// let model = IrisNet::new(3);
/// assert_eq!(model.count_params(), 4 * 16 + 16 + 16 * 3 + 3);
/// let p = model.predict_one(&[5.1, 3.5, 1.4, 0.2])?;
/// assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
/// # Ok::<(), seqnet::Error>(())
/// ```
///
/// A thin wrapper: it hands the model, with `$crate` (this crate's path as the caller names it,
/// so a renamed dependency works), to the proc macro in `nn-macros`, which checks every shape
/// and expands the struct.
#[macro_export]
macro_rules! sequential {
    ($($model:tt)*) => {
        $crate::__private::sequential! { $crate; $($model)* }
    };
}

#[doc = include_str!("../docs/guide.md")]
pub mod guide {}

/// Keras 3's files (feature `keras`): [`keras::sequential_source`] prints the `sequential!`
/// declaration of a `.keras` model; `load_weights` reads `.keras` and `.weights.h5`,
/// `save_weights` writes `.weights.h5`.
#[cfg(feature = "keras")]
pub mod keras {
    pub use nn_core::io::keras::*;
}

/// What a program using seqnet needs in scope: the macro, the `Network` and `Model` traits,
/// losses, metrics, optimizers, `fit` options and callbacks, and the data helpers.
pub mod prelude {
    pub use crate::sequential;
    #[cfg(feature = "data")]
    pub use nn_core::data::{
        load_csv, one_hot, pad_sequences, train_test_split, Padding, StandardScaler,
    };
    pub use nn_core::habits::CompileFirst;
    pub use nn_core::optim::Optimizer;
    pub use nn_core::quantized::TrainFloatFirst;
    pub use nn_core::stream::{Stream, Streaming, Streams};
    pub use nn_core::train::{ProgressEvent, Verbose};
    pub use nn_core::{
        accuracy_score, Adagrad, Adam, AdamW, Callback, EarlyStopping, Error, Fit, History,
        Int8QuantizationConfig, LambdaCallback, Loss, Metric, Model, ModelCheckpoint, Network,
        Quantized, RMSprop, ReduceLROnPlateau, Result, Scores, TerminateOnNaN, SGD,
    };
}

/// Paths the code generated by `sequential!` names. Not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use nn_core::*;
    pub use nn_macros::sequential;
}
