//! What Keras says about the layers seqnet builds, in one place both halves of seqnet read:
//! the `sequential!` macro binds and checks a layer list with these tables, and the runtime
//! writes and reads Keras files with the same ones, so a parameter, a default or an activation
//! name is written down once.
//!
//! - [`layers`]: each layer class: Keras' class name, its parameters in Keras' positional order
//!   with their defaults, the settings seqnet builds one value of, and the Keras settings it
//!   does not build; [`layers::KERAS_LAYERS`], Keras' catalog, from which the macro tells a
//!   Keras layer seqnet lacks from a typo.
//! - [`activations`]: Keras' activation names and aliases, their parameters, and the runtime
//!   type each one is.
//! - [`names`]: Keras' `snake_case` of a class name and its default layer names.
//!
//! Nothing here depends on `syn` or on the runtime: plain data and two small functions.

#![warn(missing_docs)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![warn(missing_debug_implementations)]

pub mod activations;
pub mod layers;
pub mod names;

pub use layers::{DefaultValue, Form, LayerClass, Param, Value};
