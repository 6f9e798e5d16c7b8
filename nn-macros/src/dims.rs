//! Shapes as the macro checks them: a dimension is a number, the input width of a model
//! declared without an input shape, or the number of steps of a variable-length sequence
//! (`Input(shape = (None, F))`); Keras' way of printing a shape; the int32 size limit.

use proc_macro2::TokenStream;
use quote::quote;

/// One dimension: a number, or the input width of a model declared without an input shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dim {
    Lit(usize),
    /// The struct's `const IN: usize`.
    Generic,
    /// The struct's `const T: usize` (a sequence's steps, `None` in Keras' shape) times this
    /// factor: `Steps(1)` is the steps axis itself; a flat width over a sequence is
    /// `Steps(features)`, which generated code may compute with but a type cannot take (stable
    /// Rust has no generic const arithmetic in types), so layers that need it in their type
    /// refuse a variable number of steps.
    Steps(usize),
}

impl quote::ToTokens for Dim {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.extend(match self {
            Dim::Lit(n) => quote!(#n),
            Dim::Generic => quote!(IN),
            Dim::Steps(1) => quote!(T),
            Dim::Steps(k) => quote!((T * #k)),
        });
    }
}

/// More values than Keras' int32 sizes allow.
pub fn too_large(shape: &[Dim]) -> bool {
    let total = shape.iter().try_fold(1usize, |acc, d| match d {
        Dim::Lit(n) => acc.checked_mul(*n),
        Dim::Generic | Dim::Steps(_) => Some(acc),
    });
    total.is_none_or(|t| t > i32::MAX as usize)
}

/// Product of a shape's dimensions (a generic input width stays generic; a variable number of
/// steps times the rest is `Steps(rest)`).
pub fn flat_width(shape: &[Dim]) -> Dim {
    let mut product = 1;
    let mut steps = false;
    for d in shape {
        match d {
            Dim::Lit(n) => product *= n,
            Dim::Generic => return Dim::Generic,
            Dim::Steps(k) => {
                steps = true;
                product *= k;
            }
        }
    }
    if steps {
        Dim::Steps(product)
    } else {
        Dim::Lit(product)
    }
}

/// True when the shape has a variable number of steps.
pub fn has_steps(shape: &[Dim]) -> bool {
    shape.iter().any(|d| matches!(d, Dim::Steps(_)))
}

/// `(28, 28)` as Keras prints a shape without its batch dimension.
pub fn shape_text(shape: &[Dim]) -> String {
    let dims: Vec<String> = shape
        .iter()
        .map(|d| match d {
            Dim::Lit(n) => n.to_string(),
            Dim::Generic => "IN".into(),
            Dim::Steps(1) => "None".into(),
            Dim::Steps(k) => format!("None × {k}"),
        })
        .collect();
    match dims.as_slice() {
        [one] => format!("({one},)"),
        _ => format!("({})", dims.join(", ")),
    }
}
