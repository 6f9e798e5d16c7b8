//! `Dense(units, activation, use_bias)`: a flat input times the kernel, plus the bias, through
//! the activation; on a sequence (T, F), the same on each step, as Keras does. Runtime:
//! `nn_core::layers::Dense` (in `PerStep` on a sequence).

use super::{Built, Cx, Description, MaskRule};
use crate::args::{positive_int, Bound};
use crate::dims::{shape_text, Dim};
use quote::quote;

pub const DENSE: Description = Description {
    keras: &nn_keras::layers::DENSE,
    computes: true,
    mask: MaskRule::Passes,
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
    // A sequence (T, F): Keras applies Dense to each step, giving (T, units).
    let (steps, width) = match shape {
        [Dim::Steps(_)] => {
            cx.error(
                "Dense needs a fixed last dimension, but its input is (None,): the number of \
                 token ids varies; add Embedding first",
            );
            return None;
        }
        [width] => (None, *width),
        [t @ (Dim::Lit(_) | Dim::Steps(1)), f @ Dim::Lit(_)] => (Some(*t), *f),
        _ => {
            cx.error(format!(
                "Dense expects a flat input but receives {}; insert Flatten before it",
                shape_text(shape)
            ));
            return None;
        }
    };
    let units = units?;
    if let Dim::Lit(w) = width {
        if w.checked_mul(units).is_none_or(|n| n > i32::MAX as usize) {
            cx.error(format!("Dense kernel of {w} × {units} is too large"));
            return None;
        }
    }
    let (a_ty, a_val) = cx.activation_tokens(&activation);
    let rt = cx.rt;
    let ty = quote!(#rt::layers::Dense<#width, #units, #a_ty, #use_bias>);
    let value = quote!(#rt::layers::Dense::new(#a_val));
    Some(match steps {
        None => Built {
            ty,
            value,
            output_shape: vec![Dim::Lit(units)],
            adapts: false,
        },
        Some(t) => Built {
            ty: quote!(#rt::layers::PerStep<#ty, #t>),
            value: quote!(#rt::layers::PerStep::new(#value)),
            output_shape: vec![t, Dim::Lit(units)],
            adapts: false,
        },
    })
}
