//! `GlobalAveragePooling2D` and `GlobalMaxPooling2D(data_format, keepdims)`: each channel's
//! mean or maximum over the whole image. Runtime:
//! `nn_core::layers::{GlobalAveragePooling2D, GlobalMaxPooling2D}`.

use super::{Built, Cx, Description, MaskRule};
use crate::args::Bound;
use crate::dims::Dim;
use quote::quote;

pub const GLOBAL_AVERAGE_POOLING2D: Description = Description {
    keras: &nn_keras::layers::GLOBAL_AVERAGE_POOLING2D,
    computes: false,
    mask: MaskRule::Drops,
    build: |cx, args, shape| build(cx, args, shape, quote!(GlobalAveragePooling2D)),
};

pub const GLOBAL_MAX_POOLING2D: Description = Description {
    keras: &nn_keras::layers::GLOBAL_MAX_POOLING2D,
    computes: false,
    mask: MaskRule::Drops,
    build: |cx, args, shape| build(cx, args, shape, quote!(GlobalMaxPooling2D)),
};

fn build(
    cx: &mut Cx<'_>,
    args: &Bound<'_>,
    shape: Option<&[Dim]>,
    runtime: proc_macro2::TokenStream,
) -> Option<Built> {
    cx.only_values(args);
    let keepdims = cx.flag(args, "keepdims");
    let [h, w, c] = cx.image(shape?)?;
    let positions = h * w;
    let rt = cx.rt;
    Some(Built {
        ty: quote!(#rt::layers::#runtime<#positions, #c>),
        value: quote!(#rt::layers::#runtime),
        output_shape: if keepdims {
            vec![Dim::Lit(1), Dim::Lit(1), Dim::Lit(c)]
        } else {
            vec![Dim::Lit(c)]
        },
        adapts: false,
    })
}
