//! `Conv2D(filters, kernel_size, strides, padding, activation = …, use_bias = …)`: a 2-D
//! convolution over a channels-last image. Runtime: `nn_core::layers::Conv2D`.

use super::{Built, Cx, Description, MaskRule};
use crate::args::{positive_int, Bound};
use crate::dims::Dim;
use quote::quote;

pub const CONV2D: Description = Description {
    keras: &nn_keras::layers::CONV2D,
    computes: true,
    mask: MaskRule::Drops,
    build,
};

fn build(cx: &mut Cx<'_>, args: &Bound<'_>, shape: Option<&[Dim]>) -> Option<Built> {
    let filters = cx
        .required(args, "filters", "Conv2D(32, (3, 3))")
        .and_then(|f| positive_int(cx.errors, f, "Conv2D filters"));
    let kernel = match cx.required(args, "kernel_size", "Conv2D(32, (3, 3))") {
        Some(_) => cx.pair(args, "kernel_size"),
        None => None,
    };
    let strides = cx.pair(args, "strides");
    let same = cx.padding(args);
    let activation = cx.activation(args);
    let use_bias = cx.flag(args, "use_bias");
    cx.only_values(args);
    let [h, w, c] = cx.image(shape?)?;
    let (filters, kernel, strides, same) = (filters?, kernel?, strides?, same?);
    let (oh, ow) = cx.window_output("kernel", (h, w), kernel, strides, same)?;
    let kernel_values = kernel
        .0
        .checked_mul(kernel.1)
        .and_then(|n| n.checked_mul(c));
    if kernel_values
        .and_then(|n| n.checked_mul(filters))
        .is_none_or(|n| n > i32::MAX as usize)
    {
        cx.error("Conv2D kernel is too large");
        return None;
    }
    let (a_ty, a_val) = cx.activation_tokens(&activation);
    let ((kh, kw), (sh, sw), rt) = (kernel, strides, cx.rt);
    Some(Built {
        ty: quote!(#rt::layers::Conv2D<
            #h, #w, #c, #filters, #kh, #kw, #sh, #sw, #same, #a_ty, #use_bias
        >),
        value: quote!(#rt::layers::Conv2D::new(#a_val)),
        output_shape: vec![Dim::Lit(oh), Dim::Lit(ow), Dim::Lit(filters)],
        adapts: false,
    })
}
