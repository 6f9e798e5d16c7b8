//! `LayerNormalization(axis = -1, epsilon = 1e-3, center = true, scale = true)`: each step
//! normalised over its last axis by its own statistics, then scaled by γ and shifted by β.
//! Runtime: `nn_core::layers::LayerNormalization`.

use super::{per_step, row_width, Built, Cx, Description, MaskRule};
use crate::args::Bound;
use crate::dims::Dim;
use quote::quote;

pub const LAYER_NORMALIZATION: Description = Description {
    keras: &nn_keras::layers::LAYER_NORMALIZATION,
    computes: false,
    mask: MaskRule::Passes,
    build,
};

fn build(cx: &mut Cx<'_>, args: &Bound<'_>, shape: Option<&[Dim]>) -> Option<Built> {
    cx.only_values(args);
    let epsilon = cx.number(args, "epsilon", |v| v > 0.0, "greater than 0");
    let center = cx.flag(args, "center");
    let scale = cx.flag(args, "scale");
    let shape = shape?;
    let epsilon = epsilon? as f32;
    let ((width, steps), features, rt) = (row_width(shape), *shape.last()?, cx.rt);
    let (ty, value) = per_step(
        rt,
        steps,
        quote!(#rt::layers::LayerNormalization<#width, #features, #center, #scale>),
        quote!(#rt::layers::LayerNormalization::new(#epsilon)),
    );
    Some(Built {
        ty,
        value,
        output_shape: shape.to_vec(),
        adapts: false,
    })
}
