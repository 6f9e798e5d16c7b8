//! `SimpleRNN`, `LSTM` and `GRU(units, activation, recurrent_activation, use_bias, …,
//! return_sequences, go_backwards)`: a sequence in, the last state out, or every step's with
//! `return_sequences`. Runtime: `nn_core::layers::Recurrent`.

use super::{Built, Cx, Description, MaskRule};
use crate::args::{positive_int, ActivationPlan, Bound};
use crate::dims::Dim;
use quote::{format_ident, quote};

pub const SIMPLE_RNN: Description = Description {
    keras: &nn_keras::layers::SIMPLE_RNN,
    computes: true,
    mask: MaskRule::Recurrent,
    build: |cx, args, shape| build(cx, args, shape, "SIMPLE_RNN"),
};

pub const LSTM: Description = Description {
    keras: &nn_keras::layers::LSTM,
    computes: true,
    mask: MaskRule::Recurrent,
    build: |cx, args, shape| build(cx, args, shape, "LSTM"),
};

pub const GRU: Description = Description {
    keras: &nn_keras::layers::GRU,
    computes: true,
    mask: MaskRule::Recurrent,
    build: |cx, args, shape| build(cx, args, shape, "GRU"),
};

fn build(cx: &mut Cx<'_>, args: &Bound<'_>, shape: Option<&[Dim]>, kind: &str) -> Option<Built> {
    let name = cx.name();
    let units = cx
        .required(args, "units", &format!("{name}(64)"))
        .and_then(|u| positive_int(cx.errors, u, &format!("{name} units")));
    let activation = cx.activation(args);
    // SimpleRNN has no gates; its type still names one (unused).
    let recurrent = if kind == "SIMPLE_RNN" {
        cx.activation_named(args, "sigmoid")
    } else {
        cx.activation_of(args, "recurrent_activation")
    };
    for plan in [&activation, &recurrent] {
        refuse_row_wise(cx, plan);
    }
    let use_bias = cx.flag(args, "use_bias");
    let sequences = cx.flag(args, "return_sequences");
    let backwards = cx.flag(args, "go_backwards");
    let unit_forget_bias = kind == "LSTM" && cx.flag(args, "unit_forget_bias");
    let kind = if kind == "GRU" && !cx.flag(args, "reset_after") {
        "GRU_V1"
    } else {
        kind
    };
    cx.only_values(args);
    if cx.flag(args, "return_state") {
        cx.error(format!(
            "{name}(return_state = true) returns its states beside its output, which a \
             Sequential model has no place for (it has one output); leave return_state out"
        ));
    }
    if cx.flag(args, "stateful") {
        cx.error(format!(
            "{name}(stateful = true) keeps its state between batches, which seqnet's models do \
             not: leave stateful out and run each sequence whole"
        ));
    }
    let (steps, features) = cx.steps(shape?)?;
    let units = units?;
    let gates = match kind {
        "SIMPLE_RNN" => 1,
        "LSTM" => 4,
        _ => 3,
    };
    if units
        .checked_mul(gates)
        .and_then(|g| g.checked_mul(features.max(units)))
        .is_none_or(|n| n > i32::MAX as usize)
    {
        cx.error(format!("{name} kernel is too large"));
        return None;
    }
    let (a_ty, a_val) = cx.activation_tokens(&activation);
    let (r_ty, r_val) = cx.activation_tokens(&recurrent);
    let rt = cx.rt;
    let kind = format_ident!("{kind}");
    Some(Built {
        ty: quote!(#rt::layers::Recurrent<
            { #rt::layers::recurrent_kind::#kind }, #steps, #features, #units, #a_ty, #r_ty,
            #sequences, #backwards, #use_bias
        >),
        value: quote!(#rt::layers::Recurrent::new(#a_val, #r_val, #unit_forget_bias)),
        output_shape: if sequences {
            vec![steps, Dim::Lit(units)]
        } else {
            vec![Dim::Lit(units)]
        },
        adapts: false,
    })
}

/// A recurrent layer's activations act on each unit: softmax (over a whole row) is refused.
fn refuse_row_wise(cx: &mut Cx<'_>, plan: &ActivationPlan) {
    if plan.ty == "Softmax" {
        let name = cx.name();
        cx.error(format!(
            "{name}'s activations apply to each unit of the state; softmax spans a row, so \
             use it on a Dense layer after {name}"
        ));
    }
}
