//! `Dense(units, activation, use_bias)`: a flat input times the kernel, plus the bias, through
//! the activation. Runtime: `nn_core::layers::Dense`.

use super::{Built, Cx, Description};
use crate::args::{positive_int, Bound};
use crate::dims::{flat_width, shape_text, Dim};
use quote::quote;

pub const DENSE: Description = Description {
    keras: &nn_keras::layers::DENSE,
    computes: true,
    build,
};

fn build(cx: &mut Cx<'_>, args: &Bound<'_>, shape: Option<&[Dim]>) -> Option<Built> {
    let units = match args.get("units") {
        Some(u) => positive_int(cx.errors, u, "Dense units"),
        None => {
            cx.error("Dense needs its number of units, e.g. `Dense(64, activation = relu)`");
            None
        }
    };
    let activation = cx.activation(args);
    let use_bias = cx.flag(args, "use_bias");
    let shape = shape?;
    if shape.len() != 1 {
        cx.error(format!(
            "Dense expects a flat input but receives {}; insert Flatten before it",
            shape_text(shape)
        ));
        return None;
    }
    let units = units?;
    let width = flat_width(shape);
    if let Dim::Lit(w) = width {
        if w.checked_mul(units).is_none_or(|n| n > i32::MAX as usize) {
            cx.error(format!("Dense kernel of {w} × {units} is too large"));
            return None;
        }
    }
    let (a_ty, a_val) = cx.activation_tokens(&activation);
    let rt = cx.rt;
    Some(Built {
        ty: quote!(#rt::layers::Dense<#width, #units, #a_ty, #use_bias>),
        value: quote!(#rt::layers::Dense::new(#a_val)),
        output_shape: vec![Dim::Lit(units)],
        adapts: false,
    })
}
