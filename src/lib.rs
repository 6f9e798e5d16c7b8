//! # seqnet
//!
//! Keras' Sequential model as a Rust type. [`sequential!`] reads a Keras layer list, checks every
//! shape at compile time and expands into a struct whose fused kernels are monomorphized for
//! exactly that network.
//!
//! ```
//! use seqnet::prelude::*;
//!
//! sequential! {
//!     /// The tutorial's classifier, with an explicit input layer.
//!     pub struct SeedNet {
//!         Input(shape = (10,), name = "input_features"),
//!         Dense(64, activation = relu),
//!         Dense(32, activation = relu),
//!         Dense(1, activation = sigmoid),
//!     }
//! }
//!
//! let model = SeedNet::new(42);
//! assert_eq!(model.count_params(), 2_817);
//! let p = model.predict_one(&[1.0; 10])?;
//! assert!(p[0] > 0.0 && p[0] < 1.0);
//!
//! // A NaN or infinity is an error naming where it is, never a finite answer.
//! let err = model.predict_one(&[1.0, 2.0, f32::NAN, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
//! assert!(matches!(err, Err(Error::NonFinite { what: "input", row: 0, column: 2, .. })));
//! # Ok::<(), seqnet::Error>(())
//! ```
//!
//! ## The layer list
//!
//! - `Input(shape = (10,), name = "…")` as the first entry, or `input_shape = (10,)` on the first
//!   layer, or neither: then the struct is generic, `Name<const IN: usize>`, and the width comes
//!   from the data it is given.
//! - `Dense(units, activation = relu, use_bias = true, name = "…")`; the activation may also be
//!   the second positional argument, or a string (`"relu"`). Activations: `linear`, `relu`,
//!   `sigmoid`, `tanh`, `softmax`, `leaky_relu` (`leaky_relu(negative_slope = 0.1)`, default
//!   0.2), `elu`, `selu`, `gelu` (exact; `gelu(approximate = true)` for the tanh form),
//!   `swish`/`silu`, `softplus`, `softsign`, `hard_sigmoid`, `exponential`.
//! - `Conv2D(filters, kernel_size, strides = (1, 1), padding = "valid" | "same", activation =
//!   …, use_bias = true)`, channels last.
//! - `MaxPooling2D(pool_size = (2, 2), strides = None, padding = "valid")`,
//!   `AveragePooling2D(…)`, `GlobalAveragePooling2D`, `GlobalMaxPooling2D`.
//! - `Dropout(rate, seed = …)`, `BatchNormalization(momentum = 0.99, epsilon = 1e-3, center =
//!   true, scale = true)`: training mode in `fit`, inference mode in `evaluate` and `predict`.
//! - `Flatten`: makes a multi-dimensional input flat (row-major, channels last);
//!   `Reshape(target_shape)`; `Activation(name)`.
//!
//! Layer names default as Keras names them (`dense`, `dense_1`, `conv2d`, …) and must be unique.
//!
//! An image model takes rows as a decoded image holds them:
//!
//! ```
//! use seqnet::prelude::*;
//!
//! sequential! {
//!     pub struct ConvNet {
//!         Conv2D(32, (3, 3), activation = relu, input_shape = (28, 28, 1)),
//!         MaxPooling2D((2, 2)),
//!         Flatten,
//!         Dense(10, activation = softmax),
//!     }
//! }
//!
//! let model = ConvNet::new(42);
//! assert_eq!(model.count_params(), 54_410);
//! let image = [[[0.5f32; 1]; 28]; 28];
//! let p = model.predict(&[image])?;
//! assert_eq!(p[0].len(), 10);
//! # Ok::<(), seqnet::Error>(())
//! ```
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
//! | `evaluate` | the settings' errors below, `SizeMismatch`, `NonFinite`, `LabelOutOfRange`, `InvalidLabel`, `NotEnoughData` |
//! | `fit`, `train_on_batch`, `loss_and_gradients` | `InvalidArgument` (optimizer, loss, `Fit` options, callback settings), `IncompatibleMetric`, `UnknownMonitor`, the data errors of `evaluate`, `Diverged` (weights left at the last finite state), `Io` (a checkpoint that cannot be written) |
//! | `set_weights`, `set_params` | `SizeMismatch`, `NonFinite` |
//! | `save_weights`, `load_weights`, `load_weights_bytes` | `Io`, `BadWeightsFile`, `WeightsMismatch` (nothing is set unless all of it fits) |
//! | `load_csv`, `train_test_split`, `StandardScaler`, `one_hot` | `Io`, `Parse`, `SizeMismatch`, `InvalidArgument`, `NotEnoughData`, `NonFinite`, `LabelOutOfRange` |

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub use nn_core::*;
pub use nn_macros::sequential;

/// Keras 3's files (feature `keras`): [`keras::sequential_source`] prints the `sequential!`
/// declaration of a `.keras` model; `load_weights` reads `.keras` and `.weights.h5`,
/// `save_weights` writes `.weights.h5`.
#[cfg(feature = "keras")]
pub mod keras {
    pub use nn_core::io::keras::*;
}

/// What a program using seqnet needs in scope: the macro, the `Network` trait, losses,
/// metrics, optimizers, `fit` options and callbacks, and the data helpers.
pub mod prelude {
    pub use crate::sequential;
    pub use nn_core::data::{load_csv, one_hot, train_test_split, StandardScaler};
    pub use nn_core::optim::Optimizer;
    pub use nn_core::{
        accuracy_score, Adagrad, Adam, AdamW, Callback, EarlyStopping, Error, Fit, History,
        LambdaCallback, Loss, Metric, ModelCheckpoint, Network, RMSprop, ReduceLROnPlateau, Result,
        Scores, TerminateOnNaN, SGD,
    };
}

/// Paths the code generated by `sequential!` names. Not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use nn_core::*;
}
