//! `GlobalAveragePooling1D` and `GlobalMaxPooling1D(data_format, keepdims)`: each feature's
//! mean or maximum over all timesteps. Runtime:
//! `nn_core::layers::{GlobalAveragePooling1D, GlobalMaxPooling1D}`.

use super::{Built, Cx, Description, MaskRule};
use crate::args::Bound;
use crate::dims::Dim;
use quote::quote;

pub const GLOBAL_AVERAGE_POOLING1D: Description = Description {
    keras: &nn_keras::layers::GLOBAL_AVERAGE_POOLING1D,
    computes: false,
    mask: MaskRule::Consumes,
    build: |cx, args, shape| build(cx, args, shape, quote!(GlobalAveragePooling1D)),
};

pub const GLOBAL_MAX_POOLING1D: Description = Description {
    keras: &nn_keras::layers::GLOBAL_MAX_POOLING1D,
    computes: false,
    mask: MaskRule::Drops,
    build: |cx, args, shape| build(cx, args, shape, quote!(GlobalMaxPooling1D)),
};

fn build(
    cx: &mut Cx<'_>,
    args: &Bound<'_>,
    shape: Option<&[Dim]>,
    runtime: proc_macro2::TokenStream,
) -> Option<Built> {
    cx.only_values(args);
    let keepdims = cx.flag(args, "keepdims");
    let (steps, features) = cx.steps(shape?)?;
    let rt = cx.rt;
    Some(Built {
        ty: quote!(#rt::layers::#runtime<#steps, #features>),
        value: quote!(#rt::layers::#runtime),
        output_shape: if keepdims {
            vec![Dim::Lit(1), Dim::Lit(features)]
        } else {
            vec![Dim::Lit(features)]
        },
        adapts: false,
    })
}
