//! `Rescaling(scale, offset = 0.0)`: `x · scale + offset`, each a number or one per feature of
//! the last axis. Runtime: `nn_core::layers::Rescaling`.

use super::{per_feature, Built, Cx, Description, MaskRule};
use crate::args::{numbers, Bound};
use crate::dims::{flat_width, Dim};
use quote::quote;

pub const RESCALING: Description = Description {
    keras: &nn_keras::layers::RESCALING,
    computes: false,
    mask: MaskRule::Passes,
    build,
};

fn build(cx: &mut Cx<'_>, args: &Bound<'_>, shape: Option<&[Dim]>) -> Option<Built> {
    let scale = cx
        .required(args, "scale", "Rescaling(1.0 / 255)")
        .and_then(|s| numbers(cx.errors, s, "Rescaling's scale"));
    let offset = match args.get("offset") {
        Some(o) => numbers(cx.errors, o, "Rescaling's offset"),
        None => match cx.default("offset") {
            Some(nn_keras::Value::Float(o)) => Some(vec![o]),
            _ => Some(vec![0.0]),
        },
    };
    let shape = shape?;
    let (scale, offset) = (scale?, offset?);
    let (features, scale) = per_feature(cx, "scale", &scale, shape)?;
    let (_, offset) = per_feature(cx, "offset", &offset, shape)?;
    let (width, rt) = (flat_width(shape), cx.rt);
    Some(Built {
        ty: quote!(#rt::layers::Rescaling<#width, #features>),
        value: quote!(#rt::layers::Rescaling::new(#scale, #offset)),
        output_shape: shape.to_vec(),
        adapts: false,
    })
}
