//! Shapes as the macro checks them: a dimension is a number, or the input width of a model
//! declared without an input shape; Keras' way of printing a shape; the int32 size limit.

use proc_macro2::TokenStream;
use quote::quote;

/// One dimension: a number, or the input width of a model declared without an input shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dim {
    Lit(usize),
    /// The struct's `const IN: usize`.
    Generic,
}

impl quote::ToTokens for Dim {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.extend(match self {
            Dim::Lit(n) => quote!(#n),
            Dim::Generic => quote!(IN),
        });
    }
}

/// More values than Keras' int32 sizes allow.
pub fn too_large(shape: &[Dim]) -> bool {
    let total = shape.iter().try_fold(1usize, |acc, d| match d {
        Dim::Lit(n) => acc.checked_mul(*n),
        Dim::Generic => Some(acc),
    });
    total.is_none_or(|t| t > i32::MAX as usize)
}

/// Product of a shape's dimensions (a generic dimension stays generic).
pub fn flat_width(shape: &[Dim]) -> Dim {
    let mut product = 1;
    for d in shape {
        match d {
            Dim::Lit(n) => product *= n,
            Dim::Generic => return Dim::Generic,
        }
    }
    Dim::Lit(product)
}

/// `(28, 28)` as Keras prints a shape without its batch dimension.
pub fn shape_text(shape: &[Dim]) -> String {
    let dims: Vec<String> = shape
        .iter()
        .map(|d| match d {
            Dim::Lit(n) => n.to_string(),
            Dim::Generic => "IN".into(),
        })
        .collect();
    match dims.as_slice() {
        [one] => format!("({one},)"),
        _ => format!("({})", dims.join(", ")),
    }
}
