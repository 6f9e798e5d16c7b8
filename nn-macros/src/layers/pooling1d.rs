//! `MaxPooling1D` and `AveragePooling1D(pool_size, strides, padding)` over (timesteps, features):
//! a window's maximum or mean, feature by feature; the strides default to the pool size.
//! Runtime: `nn_core::layers::{MaxPooling1D, AveragePooling1D}` (the 2-D loops on one axis).

use super::{Built, Cx, Description, MaskRule};
use crate::args::Bound;
use crate::dims::Dim;
use quote::quote;

pub const MAX_POOLING1D: Description = Description {
    keras: &nn_keras::layers::MAX_POOLING1D,
    computes: false,
    mask: MaskRule::Drops,
    build: |cx, args, shape| build(cx, args, shape, quote!(MaxPooling1D)),
};

pub const AVERAGE_POOLING1D: Description = Description {
    keras: &nn_keras::layers::AVERAGE_POOLING1D,
    computes: false,
    mask: MaskRule::Drops,
    build: |cx, args, shape| build(cx, args, shape, quote!(AveragePooling1D)),
};

fn build(
    cx: &mut Cx<'_>,
    args: &Bound<'_>,
    shape: Option<&[Dim]>,
    runtime: proc_macro2::TokenStream,
) -> Option<Built> {
    let pool = cx.size(args, "pool_size");
    // Keras: strides default to the pool size.
    let stride = cx.size_or(args, "strides", pool);
    let same = cx.padding(args);
    cx.only_values(args);
    let [steps, features] = cx.sequence(shape?)?;
    let (pool, stride, same) = (pool?, stride?, same?);
    let out = if same {
        steps.div_ceil(stride)
    } else if steps >= pool {
        (steps - pool) / stride + 1
    } else {
        let name = cx.name();
        cx.error(format!(
            "{name}'s pool ({pool},) is larger than its input's {steps} steps, so 'valid' \
             padding leaves no output; use a smaller pool_size or padding = \"same\""
        ));
        return None;
    };
    let rt = cx.rt;
    Some(Built {
        ty: quote!(#rt::layers::#runtime<1, #steps, #features, 1, #pool, 1, #stride, #same>),
        value: quote!(#rt::layers::#runtime),
        output_shape: vec![Dim::Lit(out), Dim::Lit(features)],
        adapts: false,
    })
}
