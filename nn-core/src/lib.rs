//! seqnet's runtime: everything the `sequential!` macro does not generate.
//!
//! The macro turns a Keras layer list into a struct implementing [`Network`]; this crate holds the
//! layer types it instantiates ([`layers`]), the fused kernels they call ([`kernels`]), the flat
//! parameter buffer ([`params`]), batch inference ([`inference`]) and Keras' summary table
//! ([`summary`]). See ARCHITECTURE.md at the repository root for how the pieces fit.

pub mod error;
pub mod inference;
pub mod kernels;
pub mod layers;
pub mod network;
pub mod params;
pub mod spec;
pub mod summary;

pub use error::{Error, Result};
pub use kernels::activations;
pub use network::{Network, Tape};
pub use params::{AlignedBuf, InitRng};
pub use spec::{InputSpec, LayerSpec, ModelSpec, WeightSpec};
