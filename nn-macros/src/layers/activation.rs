//! `Activation(activation)`: an activation on its own, applied to each row (softmax over the
//! last axis). Runtime: `nn_core::layers::ActivationLayer`.

use super::{per_step, row_width, Built, Cx, Description, MaskRule};
use crate::args::{activation, Bound};
use crate::dims::Dim;
use quote::quote;

pub const ACTIVATION: Description = Description {
    keras: &nn_keras::layers::ACTIVATION,
    computes: false,
    mask: MaskRule::Passes,
    build,
};

fn build(cx: &mut Cx<'_>, args: &Bound<'_>, shape: Option<&[Dim]>) -> Option<Built> {
    let act = cx
        .required(args, "activation", "Activation(relu)")
        .map(|a| activation(cx.errors, a));
    let shape = shape?;
    let act = act?;
    let ((width, steps), last) = (row_width(shape), *shape.last()?);
    let (a_ty, a_val) = cx.activation_tokens(&act);
    let rt = cx.rt;
    let (ty, value) = per_step(
        rt,
        steps,
        quote!(#rt::layers::ActivationLayer<#width, #last, #a_ty>),
        quote!(#rt::layers::ActivationLayer::new(#a_val)),
    );
    Some(Built {
        ty,
        value,
        output_shape: shape.to_vec(),
        adapts: false,
    })
}
