//! `BatchNormalization(axis, momentum, epsilon, center, scale)` over the last axis: batch
//! statistics in training (folded into moving ones), the moving ones in inference. Runtime:
//! `nn_core::layers::BatchNormalization`.

use super::{Built, Cx, Description, MaskRule};
use crate::args::{int_value, Bound};
use crate::dims::{flat_width, shape_text, Dim};
use quote::quote;
use syn::spanned::Spanned;

pub const BATCH_NORMALIZATION: Description = Description {
    keras: &nn_keras::layers::BATCH_NORMALIZATION,
    computes: false,
    mask: MaskRule::Unbuilt,
    build,
};

fn build(cx: &mut Cx<'_>, args: &Bound<'_>, shape: Option<&[Dim]>) -> Option<Built> {
    let momentum = cx.number(args, "momentum", |v| (0.0..=1.0).contains(&v), "in [0, 1]");
    let epsilon = cx.number(args, "epsilon", |v| v > 0.0, "greater than 0");
    let center = cx.flag(args, "center");
    let scale = cx.flag(args, "scale");
    let shape = shape?;
    if let Some(axis) = args.get("axis") {
        // Keras counts the batch axis: the last axis of an (h, w, c) input is -1 or 3.
        let last = shape.len() as i128;
        if !matches!(int_value(axis), Some(a) if a == -1 || a == last) {
            cx.errors.push(
                axis.span(),
                format!(
                    "seqnet's BatchNormalization normalises the last axis: axis = -1 (or {last}) \
                     for an input of shape {}",
                    shape_text(shape)
                ),
            );
            return None;
        }
    }
    let (momentum, epsilon) = (momentum?, epsilon? as f32);
    let width = flat_width(shape);
    let features = *shape.last()?;
    let rt = cx.rt;
    Some(Built {
        ty: quote!(#rt::layers::BatchNormalization<#width, #features, #center, #scale>),
        value: quote!(#rt::layers::BatchNormalization::new(#momentum, #epsilon)),
        output_shape: shape.to_vec(),
        adapts: false,
    })
}
