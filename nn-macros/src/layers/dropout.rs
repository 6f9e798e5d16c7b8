//! `Dropout(rate, seed = …)`: in training, zeroes a `rate` fraction of the values and scales
//! the rest by 1 / (1 − rate); the identity in inference. Runtime: `nn_core::layers::Dropout`.

use super::{per_step, row_width, Built, Cx, Description, MaskRule};
use crate::args::Bound;
use crate::dims::Dim;
use quote::quote;

pub const DROPOUT: Description = Description {
    keras: &nn_keras::layers::DROPOUT,
    computes: false,
    mask: MaskRule::Passes,
    build,
};

fn build(cx: &mut Cx<'_>, args: &Bound<'_>, shape: Option<&[Dim]>) -> Option<Built> {
    let rate = match cx.required(args, "rate", "Dropout(0.5)") {
        Some(_) => cx.number(
            args,
            "rate",
            |v| (0.0..1.0).contains(&v),
            "in [0, 1) (the fraction of values dropped)",
        ),
        None => None,
    };
    let seed = cx.seed(args);
    let shape = shape?;
    let ((width, steps), rate, rt) = (row_width(shape), rate?, cx.rt);
    let seed = seed?;
    // Each Dropout of a model draws its own masks: its index salts the stream.
    let salt = cx.index as u64;
    let (ty, value) = per_step(
        rt,
        steps,
        quote!(#rt::layers::Dropout<#width>),
        quote!(#rt::layers::Dropout::new(#rate, #seed, #salt)),
    );
    Some(Built {
        ty,
        value,
        output_shape: shape.to_vec(),
        adapts: false,
    })
}
