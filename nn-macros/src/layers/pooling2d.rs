//! `MaxPooling2D` and `AveragePooling2D(pool_size, strides, padding)`: a window's maximum or
//! mean, channel by channel; the strides default to the pool size. Runtime:
//! `nn_core::layers::{MaxPooling2D, AveragePooling2D}`.

use super::{Built, Cx, Description, MaskRule};
use crate::args::Bound;
use crate::dims::Dim;
use quote::quote;

pub const MAX_POOLING2D: Description = Description {
    keras: &nn_keras::layers::MAX_POOLING2D,
    computes: false,
    mask: MaskRule::Drops,
    build: |cx, args, shape| build(cx, args, shape, quote!(MaxPooling2D)),
};

pub const AVERAGE_POOLING2D: Description = Description {
    keras: &nn_keras::layers::AVERAGE_POOLING2D,
    computes: false,
    mask: MaskRule::Drops,
    build: |cx, args, shape| build(cx, args, shape, quote!(AveragePooling2D)),
};

fn build(
    cx: &mut Cx<'_>,
    args: &Bound<'_>,
    shape: Option<&[Dim]>,
    runtime: proc_macro2::TokenStream,
) -> Option<Built> {
    let pool = cx.pair(args, "pool_size");
    // Keras: strides default to the pool size.
    let strides = cx.pair_or(args, "strides", pool);
    let same = cx.padding(args);
    cx.only_values(args);
    let [h, w, c] = cx.image(shape?)?;
    let (pool, strides, same) = (pool?, strides?, same?);
    let (oh, ow) = cx.window_output("pool", (h, w), pool, strides, same)?;
    let ((ph, pw), (sh, sw), rt) = (pool, strides, cx.rt);
    Some(Built {
        ty: quote!(#rt::layers::#runtime<#h, #w, #c, #ph, #pw, #sh, #sw, #same>),
        value: quote!(#rt::layers::#runtime),
        output_shape: vec![Dim::Lit(oh), Dim::Lit(ow), Dim::Lit(c)],
        adapts: false,
    })
}
