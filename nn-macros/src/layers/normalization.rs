//! `Normalization(axis = -1, mean = …, variance = …, invert = false)`: each feature of the last
//! axis standardised with the given statistics (constants, no weights) or, without them, with
//! those the model's `adapt` computes (Keras' weights `mean`, `variance`, `count`). Runtime:
//! `nn_core::layers::Normalization`.

use super::{per_feature, Built, Cx, Description, MaskRule};
use crate::args::{numbers, Bound};
use crate::dims::{flat_width, Dim};
use quote::quote;
use syn::spanned::Spanned;

pub const NORMALIZATION: Description = Description {
    keras: &nn_keras::layers::NORMALIZATION,
    computes: false,
    mask: MaskRule::Passes,
    build,
};

fn build(cx: &mut Cx<'_>, args: &Bound<'_>, shape: Option<&[Dim]>) -> Option<Built> {
    cx.only_values(args);
    let given = |cx: &mut Cx<'_>, param: &str| match args.get(param) {
        Some(v) if !crate::args::is_none(v) => {
            numbers(cx.errors, v, &format!("Normalization's {param}")).map(Some)
        }
        _ => Some(None),
    };
    let mean = given(cx, "mean");
    let variance = given(cx, "variance");
    let invert = cx.flag(args, "invert");
    let (mean, variance) = (mean?, variance?);
    if let Some(v) = variance.iter().flatten().find(|v| **v < 0.0) {
        let at = args
            .get("variance")
            .map_or(cx.layer.kind.span(), |e| e.span());
        cx.errors
            .push(at, format!("Normalization's variance must be ≥ 0, got {v}"));
        return None;
    }
    if mean.is_some() != variance.is_some() {
        // Keras: "both `mean` and `variance` must be set".
        cx.error(
            "Normalization takes `mean` and `variance` together (or neither, and the model's \
             `adapt` computes them); give both",
        );
        return None;
    }
    let shape = shape?;
    let width = flat_width(shape);
    let rt = cx.rt;
    let (features, value, adapts) = match (mean, variance) {
        (Some(mean), Some(variance)) => {
            let (features, mean) = per_feature(cx, "mean", &mean, shape)?;
            let (_, variance) = per_feature(cx, "variance", &variance, shape)?;
            (
                features,
                quote!(#rt::layers::Normalization::fixed(#mean, #variance)),
                false,
            )
        }
        (None, None) => (
            match shape.last() {
                Some(Dim::Lit(n)) => quote!(#n),
                _ => {
                    cx.error(
                        "Normalization needs its input's shape to hold a mean and variance per \
                         feature: give the model one with `Input(shape = (…))` or `input_shape`",
                    );
                    return None;
                }
            },
            quote!(#rt::layers::Normalization::adapted()),
            true,
        ),
        // Checked above: given together or not at all.
        _ => return None,
    };
    Some(Built {
        ty: quote!(#rt::layers::Normalization<#width, #features, #invert, #adapts>),
        value,
        output_shape: shape.to_vec(),
        adapts,
    })
}
