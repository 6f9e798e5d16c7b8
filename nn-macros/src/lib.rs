//! `sequential!`: Keras' Sequential model as a Rust type.
//!
//! The macro reads a layer list, checks every shape and argument at compile time (errors point at
//! the offending token), and expands into a struct implementing `seqnet::Network` whose layers
//! are `nn-core` types with literal widths. Three stages: `parse` (syntax), `shape` (meaning and
//! errors; each layer's own rules in `layers`, argument values in `args`), `expand` (code).

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod args;
mod expand;
mod layers;
mod parse;
mod shape;
mod suggest;

use proc_macro::TokenStream;

/// Declares a network as a struct. See the `seqnet` crate documentation for the full syntax.
///
/// ```ignore
/// sequential! {
///     /// The tutorial's classifier.
///     pub struct SeedNet {
///         Input(shape = (10,), name = "input_features"),
///         Dense(64, activation = relu),
///         Dense(32, activation = relu),
///         Dense(1, activation = sigmoid),
///     }
/// }
/// ```
#[proc_macro]
pub fn sequential(input: TokenStream) -> TokenStream {
    let model = syn::parse_macro_input!(input as parse::ModelDecl);
    match shape::check(&model) {
        Ok(plan) => match expand::expand(&model, &plan) {
            Ok(code) => code.into(),
            Err(e) => e.to_compile_error().into(),
        },
        Err(e) => e.to_compile_error().into(),
    }
}
