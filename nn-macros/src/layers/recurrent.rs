//! `SimpleRNN`, `LSTM` and `GRU(units, activation, recurrent_activation, use_bias, …,
//! return_sequences, go_backwards)`: a sequence in, the last state out, or every step's with
//! `return_sequences`. Runtime: `nn_core::layers::Recurrent`.

use super::{Built, Cx, Description, MaskRule};
use crate::args::{positive_int, ActivationPlan, Bound};
use crate::dims::Dim;
use proc_macro2::TokenStream;
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
    let plan = plan(cx, args, shape, kind)?;
    Some(Built {
        ty: plan.ty(cx, plan.backwards),
        value: plan.value(cx, plan.zero_output_for_mask, 2 * cx.index as u64),
        output_shape: plan.output_shape(),
        adapts: false,
    })
}

/// A recurrent layer as its arguments and input shape decide it, for its own entry or inside
/// Bidirectional (which builds two from one).
pub struct Plan {
    kind: proc_macro2::Ident,
    steps: Dim,
    features: usize,
    pub units: usize,
    activation: (TokenStream, TokenStream),
    recurrent: (TokenStream, TokenStream),
    use_bias: bool,
    pub sequences: bool,
    pub backwards: bool,
    unit_forget_bias: bool,
    zero_output_for_mask: bool,
    dropout: f64,
    recurrent_dropout: f64,
    seed: TokenStream,
}

impl Plan {
    /// The runtime type, going backwards or not.
    pub fn ty(&self, cx: &Cx<'_>, backwards: bool) -> TokenStream {
        let rt = cx.rt;
        let Plan {
            kind,
            steps,
            features,
            units,
            use_bias,
            sequences,
            ..
        } = self;
        let (a_ty, r_ty) = (&self.activation.0, &self.recurrent.0);
        quote!(#rt::layers::Recurrent<
            { #rt::layers::recurrent_kind::#kind }, #steps, #features, #units, #a_ty, #r_ty,
            #sequences, #backwards, #use_bias
        >)
    }

    /// The runtime value, with `zero_output_for_mask` as given; `salt` keeps its dropout
    /// masks apart from every other layer's (its place in the model).
    pub fn value(&self, cx: &Cx<'_>, zero_output_for_mask: bool, salt: u64) -> TokenStream {
        let rt = cx.rt;
        let (a_val, r_val) = (&self.activation.1, &self.recurrent.1);
        let Plan {
            unit_forget_bias,
            dropout,
            recurrent_dropout,
            seed,
            ..
        } = self;
        quote!(#rt::layers::Recurrent::new(#a_val, #r_val, #unit_forget_bias)
            .zero_output_for_mask(#zero_output_for_mask)
            .dropout(#dropout, #recurrent_dropout, #seed, #salt))
    }

    /// (steps, units) returning sequences, else (units).
    pub fn output_shape(&self) -> Vec<Dim> {
        if self.sequences {
            vec![self.steps, Dim::Lit(self.units)]
        } else {
            vec![Dim::Lit(self.units)]
        }
    }

    /// The steps of its input.
    pub fn steps(&self) -> Dim {
        self.steps
    }
}

/// Checks a recurrent layer's arguments and input shape (`kind`: SIMPLE_RNN, LSTM or GRU).
pub fn plan(cx: &mut Cx<'_>, args: &Bound<'_>, shape: Option<&[Dim]>, kind: &str) -> Option<Plan> {
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
    let zero_output_for_mask = cx.flag(args, "zero_output_for_mask");
    let rate = |cx: &mut Cx<'_>, param| {
        cx.number(
            args,
            param,
            |v| (0.0..1.0).contains(&v),
            "in [0, 1) (the fraction of values dropped)",
        )
    };
    let (dropout, recurrent_dropout) = (rate(cx, "dropout"), rate(cx, "recurrent_dropout"));
    let seed = cx.seed(args);
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
    let (units, dropout, recurrent_dropout, seed) = (units?, dropout?, recurrent_dropout?, seed?);
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
    Some(Plan {
        kind: format_ident!("{kind}"),
        steps,
        features,
        units,
        activation: cx.activation_tokens(&activation),
        recurrent: cx.activation_tokens(&recurrent),
        use_bias,
        sequences,
        backwards,
        unit_forget_bias,
        zero_output_for_mask,
        dropout,
        recurrent_dropout,
        seed,
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
