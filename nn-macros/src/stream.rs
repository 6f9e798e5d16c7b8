//! Streaming: whether a model can run one timestep at a time (Keras' `stateful = True`), and
//! the layers a stream steps.
//!
//! A stream steps each layer built for one timestep: the same builder, given the layer's input
//! shape with its steps set to 1 (`(1, F)`, or `(1,)` for token ids), which gives the same
//! weights in the same layout. A layer after the time axis has ended (after a recurrent layer
//! without `return_sequences`) is stepped as it is. The first layer that reads other timesteps
//! than the current and earlier ones blocks the stream, and its reason becomes the type the
//! compile error names (`nn_core::stream::why`).

use crate::args::{Bound, Errors};
use crate::dims::Dim;
use crate::layers::{Built, Cx, Description};
use proc_macro2::TokenStream;
use syn::{Expr, Lit};

/// What the macro knows of a model's stream so far, layer by layer.
pub struct StreamCheck {
    /// The current shape has a time axis (its first dimension).
    timed: bool,
    /// Why the model cannot stream: a type in `nn_core::stream::why`.
    pub blocker: Option<&'static str>,
    /// Each layer built for one step: type and value.
    pub steps: Vec<(TokenStream, TokenStream)>,
}

/// Layers that act on each step alone, so that their one-step build steps them.
const PER_STEP: &[&str] = &[
    "Embedding",
    "Masking",
    "Dense",
    "Dropout",
    "Activation",
    "LayerNormalization",
    "BatchNormalization",
    "Rescaling",
    "Normalization",
];

impl StreamCheck {
    /// Before the first layer: a sequence input, `(T, F)`, or token ids `(T,)` into
    /// Embedding, streams; a flat row or an image does not.
    pub fn new(input_shape: &[Dim], token_ids: bool) -> Self {
        let timed = match input_shape {
            [_, Dim::Lit(_)] => true,
            [Dim::Lit(_) | Dim::Steps(_)] => token_ids,
            _ => false,
        };
        StreamCheck {
            timed,
            blocker: (!timed).then_some("the_input_is_not_a_sequence_of_timesteps"),
            steps: Vec::new(),
        }
    }

    /// One layer, built as `built` from `shape`.
    pub fn layer(
        &mut self,
        cx: &mut Cx<'_>,
        description: &Description,
        args: &Bound<'_>,
        shape: &[Dim],
        built: &Built,
    ) {
        if self.blocker.is_some() {
            return;
        }
        if !self.timed {
            self.steps.push((built.ty.clone(), built.value.clone()));
            return;
        }
        let class = description.keras.class;
        if let Some(why) = blocker(class, args) {
            self.blocker = Some(why);
            return;
        }
        // The same layer, built for one step.
        let mut one = shape.to_vec();
        if let Some(steps) = one.first_mut() {
            *steps = Dim::Lit(1);
        }
        let mut errors = Errors::default();
        let mut step_cx = Cx {
            errors: &mut errors,
            layer: cx.layer,
            class: cx.class,
            index: cx.index,
            rt: cx.rt,
        };
        match (description.build)(&mut step_cx, args, Some(&one)) {
            Some(step) if errors.is_empty() => {
                self.steps.push((step.ty, step.value));
                self.timed = built.output_shape.len() == 2;
            }
            _ => self.blocker = Some("a_layer_over_the_steps_that_seqnet_does_not_step"),
        }
    }
}

/// Why a layer over the steps cannot be stepped, if it cannot.
fn blocker(class: &str, args: &Bound<'_>) -> Option<&'static str> {
    match class {
        "SimpleRNN" | "LSTM" | "GRU" if flag(args, "go_backwards") => {
            Some("a_recurrent_layer_with_go_backwards_reads_each_sequence_from_its_end")
        }
        "SimpleRNN" | "LSTM" | "GRU" => None,
        "Bidirectional" => Some("Bidirectional_reads_each_sequence_from_its_end"),
        "Conv1D" if word(args, "padding").as_deref() == Some("causal") && stride_one(args) => None,
        "Conv1D" => Some("Conv1D_without_causal_padding_reads_later_steps"),
        "MaxPooling1D" | "AveragePooling1D" | "GlobalAveragePooling1D" | "GlobalMaxPooling1D" => {
            Some("a_pooling_layer_pools_over_time")
        }
        "Flatten" | "Reshape" => Some("Flatten_or_Reshape_mixes_the_time_axis_into_the_features"),
        c if PER_STEP.contains(&c) => None,
        _ => Some("a_layer_over_the_steps_that_seqnet_does_not_step"),
    }
}

/// A boolean argument as written (`true`), false when absent.
fn flag(args: &Bound<'_>, name: &str) -> bool {
    matches!(args.get(name), Some(Expr::Lit(l)) if matches!(&l.lit, Lit::Bool(b) if b.value))
}

/// A word argument (`"causal"` or `causal`).
fn word(args: &Bound<'_>, name: &str) -> Option<String> {
    match args.get(name)? {
        Expr::Lit(l) => match &l.lit {
            Lit::Str(s) => Some(s.value()),
            _ => None,
        },
        Expr::Path(p) => p.path.get_ident().map(|i| i.to_string()),
        _ => None,
    }
}

/// Conv1D's `strides` absent or 1 (`1` or `(1,)`).
fn stride_one(args: &Bound<'_>) -> bool {
    match args.get("strides") {
        None => true,
        Some(e) => {
            crate::args::int_value(e) == Some(1) || {
                matches!(e, Expr::Tuple(t) if t.elems.len() == 1
                && t.elems.first().and_then(crate::args::int_value) == Some(1))
            }
        }
    }
}
