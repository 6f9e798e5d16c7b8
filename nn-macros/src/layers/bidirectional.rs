//! `Bidirectional(layer, merge_mode = "concat")`: a recurrent layer (SimpleRNN, LSTM, GRU,
//! written as in the list) and its go-backwards copy over the same sequence, their outputs
//! merged. The copy is built as Keras builds it: the layer's own arguments with
//! `go_backwards` flipped, both with `zero_output_for_mask` set to `return_sequences`.
//! Runtime: `nn_core::layers::Bidirectional` over two `Recurrent`s.

use super::{recurrent, Built, Cx, Description, MaskRule};
use crate::args::{bind, is_none, word_in, Bound};
use crate::dims::Dim;
use crate::parse::layer_entry;
use quote::{format_ident, quote};

pub const BIDIRECTIONAL: Description = Description {
    keras: &nn_keras::layers::BIDIRECTIONAL,
    computes: true,
    mask: MaskRule::Recurrent,
    build,
};

/// The recurrent layers Bidirectional wraps, with their runtime kinds.
const WRAPPED: &[(&str, &str)] = &[
    ("SimpleRNN", "SIMPLE_RNN"),
    ("LSTM", "LSTM"),
    ("GRU", "GRU"),
];

fn build(cx: &mut Cx<'_>, args: &Bound<'_>, shape: Option<&[Dim]>) -> Option<Built> {
    let inner = cx.required(args, "layer", "Bidirectional(LSTM(64))");
    let merge = match args.get("merge_mode") {
        Some(m) if is_none(m) => {
            cx.error(
                "Bidirectional(merge_mode = None) returns the two layers' outputs apart, which \
                 a Sequential model has no place for (it has one output); merge them with \
                 \"concat\", \"sum\", \"mul\" or \"ave\"",
            );
            None
        }
        Some(m) => word_in(
            cx.errors,
            m,
            "Bidirectional's merge_mode",
            &["concat", "sum", "mul", "ave"],
        ),
        None => Some("concat"),
    };
    let decl = match inner.cloned().map(layer_entry) {
        Some(Ok(decl)) => decl,
        Some(Err(e)) => {
            cx.errors.push(e.span(), e);
            return None;
        }
        None => return None,
    };
    let class = decl.kind.to_string();
    let Some((_, kind)) = WRAPPED.iter().find(|(c, _)| *c == class) else {
        cx.errors.push(
            decl.kind.span(),
            format!(
                "Bidirectional wraps a recurrent layer (SimpleRNN, LSTM or GRU), not {class}: \
                 e.g. `Bidirectional(LSTM(64))`"
            ),
        );
        return None;
    };
    let description = super::get(&class)?;
    let inner_class = description.keras;
    let positional: Vec<&'static str> = inner_class.positional().collect();
    // `name` is accepted as Keras does; seqnet names the two copies after their owner groups.
    let keywords: Vec<&'static str> = inner_class.keywords().chain(["name"]).collect();
    let inner_args = bind(cx.errors, &decl, &positional, &keywords);
    let mut inner_cx = Cx {
        errors: &mut *cx.errors,
        layer: &decl,
        class: inner_class,
        index: cx.index,
        rt: cx.rt,
    };
    let plan = recurrent::plan(&mut inner_cx, &inner_args, shape, kind)?;
    let merge = merge?;
    // Keras forces `zero_output_for_mask = return_sequences` on both copies.
    let zero = plan.sequences;
    let (fw_ty, bw_ty) = (
        plan.ty(&inner_cx, plan.backwards),
        plan.ty(&inner_cx, !plan.backwards),
    );
    // Each copy draws its own dropout masks, as Keras' two layers do.
    let salt = 2 * cx.index as u64;
    let (fw_val, bw_val) = (
        plan.value(&inner_cx, zero, salt),
        plan.value(&inner_cx, zero, salt + 1),
    );
    let rt = cx.rt;
    let mode = format_ident!("{}", merge.to_uppercase());
    let steps = plan.steps();
    let sequences = plan.sequences;
    let mut output_shape = plan.output_shape();
    if merge == "concat" {
        if let Some(Dim::Lit(units)) = output_shape.last_mut() {
            *units *= 2;
        }
    }
    Some(Built {
        ty: quote!(#rt::layers::Bidirectional<
            #fw_ty, #bw_ty, #steps, { #rt::layers::merge_mode::#mode }, #sequences
        >),
        value: quote!(#rt::layers::Bidirectional::new(#fw_val, #bw_val)),
        output_shape,
        adapts: false,
    })
}
