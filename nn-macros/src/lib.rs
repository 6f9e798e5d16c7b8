//! `sequential!`: Keras' Sequential model as a Rust type.
//!
//! The macro reads a layer list, checks every shape and argument at compile time (errors point at
//! the offending token), and expands into a struct implementing `seqnet::Network` whose layers
//! are `nn-core` types with literal widths. Three stages: `parse` (syntax), `shape` (meaning and
//! errors; each layer's own description in `layers/`, argument values in `args`, what Keras says
//! about each layer in the shared `nn_keras` crate), `expand` (code).

#![warn(missing_docs)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod args;
mod dims;
mod expand;
mod layers;
mod parse;
#[cfg(test)]
mod props;
mod shape;
mod stream;
mod suggest;

use proc_macro::TokenStream;

/// The proc macro behind `seqnet::sequential!`. That `macro_rules!` wrapper calls it as
/// `sequential! { $crate; <the model> }`, so the generated code names the runtime through
/// `$crate`, which resolves to the facade under whatever name the caller's Cargo.toml gives it
/// (`nn = { package = "seqnet" }`), with no manifest reading at build time. Called without that
/// prefix, it names the facade `::seqnet`. See the `seqnet` crate for the syntax and examples.
#[proc_macro]
pub fn sequential(input: TokenStream) -> TokenStream {
    expand_tokens(input.into()).into()
}

/// The whole macro on `proc_macro2` tokens: the generated code, or the errors as
/// `compile_error!` invocations. Separate from the `proc_macro` entry so that tests can run
/// it outside a compiler (`props.rs` feeds it generated layer lists).
fn expand_tokens(input: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    let (facade, input) = facade_prefix(input);
    pipeline(input, &facade).unwrap_or_else(|e| e.to_compile_error())
}

/// parse → check → expand: the code, or every error found, each spanned on its token.
fn pipeline(
    input: proc_macro2::TokenStream,
    facade: &proc_macro2::TokenStream,
) -> syn::Result<proc_macro2::TokenStream> {
    let model: parse::ModelDecl = syn::parse2(input)?;
    let rt = quote::quote!(#facade::__private);
    let plan = shape::check(&model, &rt)?;
    expand::expand(&model, &plan, &rt)
}

/// Splits `$crate ;` (the facade's path, as seqnet's wrapper passes it) off the front of the
/// input; without it, the facade is `::seqnet` and the input is all model.
fn facade_prefix(
    input: proc_macro2::TokenStream,
) -> (proc_macro2::TokenStream, proc_macro2::TokenStream) {
    use proc_macro2::TokenTree;
    let tokens: Vec<TokenTree> = input.clone().into_iter().collect();
    match tokens.as_slice() {
        [TokenTree::Ident(krate), TokenTree::Punct(semi), rest @ ..]
            if krate == "$crate" && semi.as_char() == ';' =>
        {
            (
                TokenTree::Ident(krate.clone()).into(),
                rest.iter().cloned().collect(),
            )
        }
        _ => (quote::quote!(::seqnet), input),
    }
}
