//! `Reshape(target_shape)`: the same values in another shape, one `-1` inferred from the
//! input's size as Keras infers it. Costs nothing at run time. Runtime:
//! `nn_core::layers::Reshape`.

use super::{Built, Cx, Description, MaskRule};
use crate::args::{int_value, positive_int, tuple_elements, Bound};
use crate::dims::{flat_width, shape_text, Dim};
use quote::quote;
use syn::spanned::Spanned;

pub const RESHAPE: Description = Description {
    keras: &nn_keras::layers::RESHAPE,
    computes: false,
    mask: MaskRule::Drops,
    build,
};

fn build(cx: &mut Cx<'_>, args: &Bound<'_>, shape: Option<&[Dim]>) -> Option<Built> {
    let target = cx.required(args, "target_shape", "Reshape((28, 28, 1))")?;
    let elems = tuple_elements(cx.errors, target)?;
    if elems.is_empty() {
        cx.errors
            .push(target.span(), "Reshape's target_shape needs a dimension");
        return None;
    }
    // Positive sizes, and at most one -1 that Keras infers from the input's size.
    let mut dims: Vec<Option<usize>> = Vec::new();
    for e in &elems {
        match int_value(e) {
            Some(-1) if dims.iter().all(Option::is_some) => dims.push(None),
            Some(-1) => {
                cx.errors
                    .push(e.span(), "Reshape's target_shape may hold one -1 only");
                return None;
            }
            _ => dims.push(Some(positive_int(cx.errors, e, "every target dimension")?)),
        }
    }
    let shape = shape?;
    let Dim::Lit(total) = flat_width(shape) else {
        cx.error(
            "Reshape needs to know its input's size: give the model an input shape with \
             `Input(shape = (…))` or `input_shape`",
        );
        return None;
    };
    let known: usize = dims.iter().flatten().product();
    let text = |d: &[Option<usize>]| {
        let parts: Vec<String> = d
            .iter()
            .map(|v| v.map_or("-1".to_string(), |n| n.to_string()))
            .collect();
        match parts.as_slice() {
            [one] => format!("({one},)"),
            _ => format!("({})", parts.join(", ")),
        }
    };
    let fits = if dims.contains(&None) {
        total.is_multiple_of(known)
    } else {
        known == total
    };
    if !fits {
        cx.errors.push(
            target.span(),
            format!(
                "Reshape to {} cannot hold the {total} values of its input {}; the target \
                 shape must hold the same number of values",
                text(&dims),
                shape_text(shape)
            ),
        );
        return None;
    }
    let rt = cx.rt;
    Some(Built {
        ty: quote!(#rt::layers::Reshape<#total>),
        value: quote!(#rt::layers::Reshape),
        output_shape: dims
            .iter()
            .map(|d| Dim::Lit(d.unwrap_or(total / known)))
            .collect(),
        adapts: false,
    })
}
