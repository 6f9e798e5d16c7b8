//! `Conv1D(filters, kernel_size, strides, padding = "valid" | "same" | "causal", activation = …,
//! use_bias = …, dilation_rate = …)`: a 1-D convolution over (timesteps, features) sequences.
//! Runtime: `nn_core::layers::Conv1D`.

use super::{Built, Cx, Description, MaskRule};
use crate::args::{positive_int, word_in, Bound};
use crate::dims::Dim;
use quote::quote;

pub const CONV1D: Description = Description {
    keras: &nn_keras::layers::CONV1D,
    computes: true,
    mask: MaskRule::Drops,
    build,
};

fn build(cx: &mut Cx<'_>, args: &Bound<'_>, shape: Option<&[Dim]>) -> Option<Built> {
    let filters = cx
        .required(args, "filters", "Conv1D(32, 5)")
        .and_then(|f| positive_int(cx.errors, f, "Conv1D filters"));
    let kernel = match cx.required(args, "kernel_size", "Conv1D(32, 5)") {
        Some(_) => cx.size(args, "kernel_size"),
        None => None,
    };
    let stride = cx.size(args, "strides");
    let padding = match args.get("padding") {
        Some(p) => word_in(
            cx.errors,
            p,
            "Conv1D's padding",
            &["valid", "same", "causal"],
        ),
        None => Some("valid"),
    };
    let activation = cx.activation(args);
    let use_bias = cx.flag(args, "use_bias");
    cx.only_values(args);
    let dilation = cx.size(args, "dilation_rate");
    let (stride_v, dilation_v) = (stride?, dilation?);
    if stride_v > 1 && dilation_v > 1 {
        // Keras: "strides > 1 not supported in conjunction with dilation_rate > 1".
        cx.error(format!(
            "Conv1D's strides > 1 and dilation_rate > 1 do not go together (strides = \
             {stride_v}, dilation_rate = {dilation_v}), as in Keras; set one of them to 1"
        ));
        return None;
    }
    let (steps_dim, features) = cx.steps(shape?)?;
    let (filters, kernel, padding) = (filters?, kernel?, padding?);
    // Over a variable number of steps the output must keep it: its length is then the same
    // type parameter (stable Rust cannot compute another length in a type).
    if steps_dim == Dim::Steps(1) && (padding == "valid" || stride_v > 1) {
        cx.error(
            "Conv1D over a variable number of steps (None, …) must keep that number: use \
             padding = \"same\" or \"causal\" with strides = 1, or give Input a length",
        );
        return None;
    }
    // Every length works with 'same' and 'causal' padding at stride 1, so a variable length
    // needs no window check; the rules below are for a fixed one.
    let steps = match steps_dim {
        Dim::Lit(t) => t,
        _ => usize::MAX,
    };
    let span = dilation_v
        .checked_mul(kernel - 1)
        .and_then(|s| s.checked_add(1))
        .filter(|s| *s <= i32::MAX as usize);
    let Some(span) = span else {
        cx.error("Conv1D kernel is too large");
        return None;
    };
    let out_steps = match padding {
        "valid" if steps < span => {
            cx.error(format!(
                "Conv1D's kernel spans {span} steps, more than its input's {steps}, so 'valid' \
                 padding leaves no output; use a smaller kernel_size or dilation_rate, or \
                 padding = \"same\" or \"causal\""
            ));
            return None;
        }
        "valid" => (steps - span) / stride_v + 1,
        _ => steps.div_ceil(stride_v),
    };
    if kernel
        .checked_mul(features)
        .and_then(|n| n.checked_mul(filters))
        .is_none_or(|n| n > i32::MAX as usize)
    {
        cx.error("Conv1D kernel is too large");
        return None;
    }
    let (a_ty, a_val) = cx.activation_tokens(&activation);
    let rt = cx.rt;
    let pad = match padding {
        "same" => quote!(#rt::layers::padding1d::SAME),
        "causal" => quote!(#rt::layers::padding1d::CAUSAL),
        _ => quote!(#rt::layers::padding1d::VALID),
    };
    let output_steps = match steps_dim {
        Dim::Lit(_) => Dim::Lit(out_steps),
        steps => steps,
    };
    Some(Built {
        ty: quote!(#rt::layers::Conv1D<
            #steps_dim, #features, #filters, #kernel, #stride_v, #dilation_v, { #pad }, #a_ty, #use_bias
        >),
        value: quote!(#rt::layers::Conv1D::new(#a_val)),
        output_shape: vec![output_steps, Dim::Lit(filters)],
        adapts: false,
    })
}
