//! seqnet's runtime: everything the `sequential!` macro does not generate.
//!
//! The macro turns a Keras layer list into a struct implementing [`Network`]; this crate holds the
//! layer types it instantiates ([`layers`]), the kernels they call (`kernels`: packed GEMM with
//! run-time ISA dispatch, fused epilogues, GEMV), the flat parameter buffer ([`params`]), batch
//! inference ([`inference`]), Keras' summary table ([`summary`]), and training: [`loss`],
//! [`optim`], [`metrics`], [`train`] (compile, fit, evaluate, callbacks) and [`data`]. See
//! ARCHITECTURE.md at the repository root for how the pieces fit.

#![warn(missing_docs)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![warn(missing_debug_implementations)]

pub mod adapt;
mod batch;
#[cfg(feature = "data")]
pub mod data;
pub mod error;
pub mod habits;
pub mod inference;
pub mod int8;
pub mod io;
/// The compute kernels (packed GEMM and its microkernels, convolution, pooling, ISA dispatch, the
/// naive references): not API. Public only with feature `bench-internals`, for seqnet's own
/// benchmarks and kernel tests; [`activations`] and [`network::Delta`] are the parts user code sees.
#[cfg(feature = "bench-internals")]
#[doc(hidden)]
pub mod kernels;
#[cfg(not(feature = "bench-internals"))]
mod kernels;
pub mod layers;
pub mod loss;
pub mod metrics;
mod model;
mod names;
pub mod network;
pub mod optim;
pub mod packed;
mod par;
pub mod params;
mod pass;
pub mod quantized;
pub mod rows;
pub mod spec;
pub mod stream;
pub mod summary;
mod tape;
pub mod train;

pub use error::{Error, Mismatch, Result};
pub use kernels::activations;
pub use loss::Loss;
pub use metrics::{accuracy_score, Metric};
pub use model::Model;
pub use network::{Network, Tape};
pub use optim::{Adagrad, Adam, AdamW, Optimizer, RMSprop, SGD};
pub use params::{AlignedBuf, InitRng};
pub use quantized::{Int8QuantizationConfig, Quantized};
pub use rows::{Labels, Row};
pub use spec::{Dtype, InputSpec, LayerSpec, ModelSpec, Quantize, WeightSpec};
pub use train::{
    Callback, Compiled, EarlyStopping, Fit, History, LambdaCallback, Logs, ModelCheckpoint,
    ReduceLROnPlateau, Scores, TerminateOnNaN,
};
