//! The layers seqnet builds, one description per file: what Keras says about the layer (its
//! class, parameters and defaults, from [`nn_keras::layers`]), the checks of its argument values,
//! its output shape with the shape errors Keras would raise, in Keras' words with the fix, and
//! the runtime type it expands to. [`ALL`] lists them; every other list (the layer names in
//! error messages, the layers a model needs one of) is derived from it.
//!
//! A builder checks every argument first, then, when the input shape is known, the shape rules;
//! it returns the runtime type, its value and the output shape, or `None` after reporting why
//! not. Adding a layer: its file here, one line in [`ALL`], its `nn_keras` class, and its
//! runtime type in `nn-core/src/layers/` (ARCHITECTURE.md, "Adding a layer").

mod activation;
mod batch_normalization;
mod bidirectional;
mod conv1d;
mod conv2d;
mod dense;
mod dropout;
mod embedding;
mod flatten;
mod global_pooling1d;
mod global_pooling2d;
mod layer_normalization;
mod masking;
mod normalization;
mod pooling1d;
mod pooling2d;
mod recurrent;
mod rescaling;
mod reshape;

use crate::args::{
    activation, bool_value, number_in, padding_value, pair_value, ActivationPlan, Bound, Errors,
};
use crate::dims::{shape_text, Dim};
use crate::parse::LayerDecl;
use nn_keras::{DefaultValue, LayerClass, Value};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// What the macro knows about one layer class.
pub struct Description {
    /// What Keras says: class name, parameters in positional order, defaults, fixed settings.
    pub keras: &'static LayerClass,
    /// The layer computes its output from trainable weights (Dense, Conv2D): a model needs one.
    pub computes: bool,
    /// What it does with a mask that reaches it (Keras' `supports_masking`, `compute_mask`).
    pub mask: MaskRule,
    /// Checks the arguments against the input shape (`None` when unknown after an earlier
    /// error) and builds the layer.
    pub build: fn(&mut Cx<'_>, &Bound<'_>, Option<&[Dim]>) -> Option<Built>,
}

/// What a layer does with Keras' mask of the steps (made by `Embedding(mask_zero = true)` or
/// `Masking`), as Keras 3 defines it: the macro follows the mask from the layer that makes it
/// to the one that uses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaskRule {
    /// Passes it on unchanged (`supports_masking = True`: Dense, Dropout, Activation,
    /// LayerNormalization, Rescaling, Normalization).
    Passes,
    /// Makes a new one from its input (Embedding with `mask_zero`, Masking).
    Makes,
    /// Uses it and ends it (GlobalAveragePooling1D averages the unmasked steps).
    Consumes,
    /// Uses it (a masked step carries the state on) and passes it on when it returns
    /// sequences, as Keras' RNN `compute_mask` does; otherwise ends it.
    Recurrent,
    /// Has no mask support: Keras 3 drops the mask there (with a warning), and so does seqnet
    /// (Conv1D, Conv2D, pooling, Flatten, Reshape, GlobalMaxPooling1D).
    Drops,
    /// Keras uses the mask in a way seqnet does not build (BatchNormalization's masked batch
    /// statistics): a mask reaching it is a compile error.
    Unbuilt,
}

/// A built layer: its runtime type (every width a const generic), the expression of its
/// value, and its output shape.
pub struct Built {
    pub ty: TokenStream,
    pub value: TokenStream,
    pub output_shape: Vec<Dim>,
    /// Its state comes from data (`Layer::ADAPTS`): the model gets an `adapt` method.
    pub adapts: bool,
}

/// The width a layer of rows sees in `shape`, and the steps to run it over when it must run per
/// step: over a variable number of steps `(None, F)` a layer that works on rows (Dropout,
/// Activation, LayerNormalization) runs on each F-wide step in `PerStep` (its width T × F
/// cannot be a type); otherwise it takes the whole flat row.
pub fn row_width(shape: &[Dim]) -> (Dim, Option<Dim>) {
    match shape {
        [steps @ Dim::Steps(1), features] => (*features, Some(*steps)),
        _ => (crate::dims::flat_width(shape), None),
    }
}

/// `ty` and `value` run per step over `steps` (`PerStep`), when there are steps.
pub fn per_step(
    rt: &TokenStream,
    steps: Option<Dim>,
    ty: TokenStream,
    value: TokenStream,
) -> (TokenStream, TokenStream) {
    match steps {
        Some(t) => (
            quote!(#rt::layers::PerStep<#ty, #t>),
            quote!(#rt::layers::PerStep::new(#value)),
        ),
        None => (ty, value),
    }
}

/// Every layer `sequential!` builds, in the order its error messages list them.
pub const ALL: &[&Description] = &[
    &dense::DENSE,
    &conv2d::CONV2D,
    &pooling2d::MAX_POOLING2D,
    &pooling2d::AVERAGE_POOLING2D,
    &global_pooling2d::GLOBAL_AVERAGE_POOLING2D,
    &global_pooling2d::GLOBAL_MAX_POOLING2D,
    &dropout::DROPOUT,
    &batch_normalization::BATCH_NORMALIZATION,
    &flatten::FLATTEN,
    &reshape::RESHAPE,
    &activation::ACTIVATION,
    &rescaling::RESCALING,
    &normalization::NORMALIZATION,
    &conv1d::CONV1D,
    &pooling1d::MAX_POOLING1D,
    &pooling1d::AVERAGE_POOLING1D,
    &global_pooling1d::GLOBAL_AVERAGE_POOLING1D,
    &global_pooling1d::GLOBAL_MAX_POOLING1D,
    &layer_normalization::LAYER_NORMALIZATION,
    &embedding::EMBEDDING,
    &masking::MASKING,
    &recurrent::SIMPLE_RNN,
    &recurrent::LSTM,
    &recurrent::GRU,
    &bidirectional::BIDIRECTIONAL,
];

/// The description of a layer name.
pub fn get(name: &str) -> Option<&'static Description> {
    ALL.iter().copied().find(|d| d.keras.class == name)
}

/// Every layer name the macro knows, `Input` first, for "did you mean" and the error listings.
pub fn known_names() -> Vec<&'static str> {
    std::iter::once("Input")
        .chain(ALL.iter().map(|d| d.keras.class))
        .collect()
}

/// Keras layers a user may reach for that seqnet does not build, so the error says so plainly
/// instead of suggesting a near-miss: Keras' catalog less seqnet's layers.
pub fn keras_only_names() -> Vec<&'static str> {
    nn_keras::layers::KERAS_LAYERS
        .iter()
        .copied()
        .filter(|name| get(name).is_none())
        .collect()
}

/// The layers that compute from weights, for "a model needs one" (`Dense, Conv2D`).
pub fn computing_names() -> Vec<&'static str> {
    ALL.iter()
        .filter(|d| d.computes)
        .map(|d| d.keras.class)
        .collect()
}

/// A builder's context: where its errors go, the layer as written, its class, its place in the
/// model, and the path generated code names the runtime by.
pub struct Cx<'a> {
    pub errors: &'a mut Errors,
    pub layer: &'a LayerDecl,
    pub class: &'static LayerClass,
    /// The layer's index among the model's layers (Dropout salts its masks with it).
    pub index: usize,
    /// `$crate::__private`.
    pub rt: &'a TokenStream,
}

impl Cx<'_> {
    /// The layer as written (`Conv2D`), for messages.
    pub fn name(&self) -> String {
        self.layer.kind.to_string()
    }

    /// An error on the layer's name.
    pub fn error(&mut self, message: impl std::fmt::Display) {
        self.errors.push(self.layer.kind.span(), message);
    }

    /// Keras' default of one of the class's parameters.
    fn default(&self, param: &str) -> Option<Value> {
        match self.class.param(param).map(|p| p.default) {
            Some(DefaultValue::Is(v)) => Some(v),
            _ => None,
        }
    }

    /// The settings seqnet builds one value of (nn-keras' `Param::only`: `data_format`,
    /// `dilation_rate`, `groups`, Normalization's `axis`), each checked where the builder calls
    /// this, so that its errors come in the order the layer's arguments are read and a wrong
    /// value stops the layer like any other bad argument.
    pub fn only_values(&mut self, args: &Bound<'_>) {
        crate::args::check_only_values(self.errors, self.layer, self.class, args);
    }

    /// A parameter without a default: its value, or an error with an example.
    pub fn required<'b>(
        &mut self,
        args: &Bound<'b>,
        param: &str,
        example: &str,
    ) -> Option<&'b syn::Expr> {
        let value = args.get(param).copied();
        if value.is_none() {
            self.error(format!(
                "{} needs its {param}, e.g. `{example}`",
                self.name()
            ));
        }
        value
    }

    /// A boolean parameter, Keras' default when not given.
    pub fn flag(&mut self, args: &Bound<'_>, param: &str) -> bool {
        let default = matches!(self.default(param), Some(Value::Bool(true)));
        args.get(param)
            .and_then(|v| bool_value(self.errors, v, param))
            .unwrap_or(default)
    }

    /// A number in `range` (`expected` says which in the message), Keras' default when not
    /// given.
    pub fn number(
        &mut self,
        args: &Bound<'_>,
        param: &str,
        range: impl Fn(f64) -> bool,
        expected: &str,
    ) -> Option<f64> {
        match args.get(param) {
            Some(v) => {
                let what = format!("{}'s {param}", self.name());
                number_in(self.errors, v, &what, range, expected)
            }
            None => match self.default(param) {
                Some(Value::Float(f)) => Some(f),
                Some(Value::Int(i)) => Some(i as f64),
                _ => None,
            },
        }
    }

    /// `seed` (an integer ≥ 0, or `None`: the model's seed) as the tokens of an
    /// `Option<u64>`, or `None` after an error.
    pub fn seed(&mut self, args: &Bound<'_>) -> Option<TokenStream> {
        match args.get("seed") {
            Some(s) if !crate::args::is_none(s) => match crate::args::int_value(s) {
                Some(v) if (0..=u64::MAX as i128).contains(&v) => {
                    let v = v as u64;
                    Some(quote!(::core::option::Option::Some(#v)))
                }
                _ => {
                    let message = format!("{}'s seed must be an integer ≥ 0", self.name());
                    self.errors.push(syn::spanned::Spanned::span(s), message);
                    None
                }
            },
            _ => Some(quote!(::core::option::Option::None)),
        }
    }

    /// An integer-or-pair parameter (`kernel_size`, `strides`), Keras' default when not given.
    pub fn pair(&mut self, args: &Bound<'_>, param: &str) -> Option<(usize, usize)> {
        match args.get(param) {
            Some(v) => {
                let what = format!("{}'s {param}", self.name());
                pair_value(self.errors, v, &what)
            }
            None => match self.default(param) {
                Some(Value::Ints(&[a, b])) => Some((a as usize, b as usize)),
                _ => None,
            },
        }
    }

    /// A pair parameter whose default is another's value (Keras' `SameAs`: pooling's strides
    /// default to its pool size): given and not `None`, else `fallback`.
    pub fn pair_or(
        &mut self,
        args: &Bound<'_>,
        param: &str,
        fallback: Option<(usize, usize)>,
    ) -> Option<(usize, usize)> {
        match args.get(param) {
            Some(v) if !crate::args::is_none(v) => {
                let what = format!("{}'s {param}", self.name());
                pair_value(self.errors, v, &what)
            }
            _ => fallback,
        }
    }

    /// `padding`: true for "same"; Keras' "valid" when not given.
    pub fn padding(&mut self, args: &Bound<'_>) -> Option<bool> {
        match args.get("padding") {
            Some(p) => padding_value(self.errors, p, &self.name()),
            None => Some(matches!(self.default("padding"), Some(Value::Str("same")))),
        }
    }

    /// `activation`: given, else Keras' default (linear).
    pub fn activation(&mut self, args: &Bound<'_>) -> ActivationPlan {
        self.activation_of(args, "activation")
    }

    /// An activation parameter other than `activation` (`recurrent_activation`), Keras'
    /// default when not given.
    pub fn activation_of(&mut self, args: &Bound<'_>, param: &str) -> ActivationPlan {
        match args.get(param) {
            Some(a) => activation(self.errors, a),
            None => {
                let name = match self.default(param) {
                    Some(Value::Str(s)) => s,
                    _ => "linear",
                };
                self.activation_named(args, name)
            }
        }
    }

    /// The activation called `name`, with its defaults.
    pub fn activation_named(&mut self, _args: &Bound<'_>, name: &str) -> ActivationPlan {
        let ident = format_ident!("{name}");
        activation(self.errors, &syn::parse_quote!(#ident))
    }

    /// An activation's runtime type and value.
    pub fn activation_tokens(&self, plan: &ActivationPlan) -> (TokenStream, TokenStream) {
        let rt = self.rt;
        let ty = format_ident!("{}", plan.ty);
        let init = &plan.init;
        (
            quote!(#rt::activations::#ty),
            quote!(#rt::activations::#ty #init),
        )
    }

    /// The (height, width, channels) of an image input, or an error saying what the layer
    /// needs.
    pub fn image(&mut self, shape: &[Dim]) -> Option<[usize; 3]> {
        let name = self.name();
        match shape {
            [Dim::Lit(h), Dim::Lit(w), Dim::Lit(c)] => return Some([*h, *w, *c]),
            [Dim::Generic] => self.error(format!(
                "{name} needs the image's shape: give the model one with \
                 `Input(shape = (28, 28, 1))` or `input_shape = (28, 28, 1)`"
            )),
            [Dim::Lit(h), Dim::Lit(w)] => self.error(format!(
                "{name} expects an image input (height, width, channels) but receives ({h}, {w}); \
                 add the channel axis: ({h}, {w}, 1)"
            )),
            other => self.error(format!(
                "{name} expects an image input (height, width, channels) but receives {}; \
                 give the input shape as (height, width, channels), e.g. (28, 28, 1), or \
                 add Reshape before it",
                shape_text(other)
            )),
        }
        None
    }

    /// The (steps, features) of a sequence input whose steps may be variable (`(None, F)`:
    /// steps `Dim::Steps(1)`), or an error saying what the layer needs.
    pub fn steps(&mut self, shape: &[Dim]) -> Option<(Dim, usize)> {
        match shape {
            [t @ Dim::Steps(1), Dim::Lit(f)] => Some((*t, *f)),
            _ => self.sequence(shape).map(|[t, f]| (Dim::Lit(t), f)),
        }
    }

    /// The (steps, features) of a sequence input, or an error saying what the layer needs.
    pub fn sequence(&mut self, shape: &[Dim]) -> Option<[usize; 2]> {
        let name = self.name();
        match shape {
            [Dim::Lit(t), Dim::Lit(f)] => return Some([*t, *f]),
            [Dim::Steps(_), f] => self.error(format!(
                "{name} needs a fixed number of steps, but its input is (None, {}): give \
                 Input a length, e.g. `Input(shape = (100, {0}))`",
                shape_text(&[*f]).trim_matches(|c| c == '(' || c == ')' || c == ',')
            )),
            [Dim::Generic] => self.error(format!(
                "{name} needs the sequence's shape: give the model one with \
                 `Input(shape = (24, 1))` (timesteps, features)"
            )),
            [Dim::Lit(n)] => self.error(format!(
                "{name} expects a sequence (timesteps, features) but receives ({n},); give the \
                 input shape as ({n}, 1) for one feature per step, or add Reshape before it"
            )),
            other => self.error(format!(
                "{name} expects a sequence (timesteps, features) but receives {}; use the \
                 2-D layer for images, or Reshape to (timesteps, features)",
                shape_text(other)
            )),
        }
        None
    }

    /// A 1-D size parameter (`kernel_size`, `strides`, `pool_size`): an integer or a
    /// one-element tuple; Keras' default when not given.
    pub fn size(&mut self, args: &Bound<'_>, param: &str) -> Option<usize> {
        match args.get(param) {
            Some(v) => {
                let what = format!("{}'s {param}", self.name());
                crate::args::size_value(self.errors, v, &what)
            }
            None => match self.default(param) {
                Some(Value::Int(n)) => usize::try_from(n).ok(),
                _ => None,
            },
        }
    }

    /// A 1-D size whose default is another's value (pooling's strides follow its pool size):
    /// given and not `None`, else `fallback`.
    pub fn size_or(
        &mut self,
        args: &Bound<'_>,
        param: &str,
        fallback: Option<usize>,
    ) -> Option<usize> {
        match args.get(param) {
            Some(v) if !crate::args::is_none(v) => self.size(args, param),
            _ => fallback,
        }
    }

    /// Both output axes of a window over an image, or the error Keras gives for a window
    /// larger than its input.
    pub fn window_output(
        &mut self,
        what: &str,
        (h, w): (usize, usize),
        window: (usize, usize),
        strides: (usize, usize),
        same: bool,
    ) -> Option<(usize, usize)> {
        match (
            out_len(h, window.0, strides.0, same),
            out_len(w, window.1, strides.1, same),
        ) {
            (Some(oh), Some(ow)) => Some((oh, ow)),
            _ => {
                let name = self.name();
                self.error(format!(
                    "{name}'s {what} ({}, {}) is larger than its input ({h}, {w}), so 'valid' \
                     padding leaves no output; use a smaller {what} or padding = \"same\"",
                    window.0, window.1
                ));
                None
            }
        }
    }
}

/// A number or one per feature, as Keras broadcasts an array argument over the last axis:
/// the feature count and the `[f32; F]` array expression (`[v; IN]` for a model whose width
/// comes from its data), or an error naming `param`.
fn per_feature(
    cx: &mut Cx<'_>,
    param: &str,
    values: &[f64],
    shape: &[Dim],
) -> Option<(TokenStream, TokenStream)> {
    let as_f32: Vec<f32> = values.iter().map(|&v| v as f32).collect();
    match (shape.last(), as_f32.as_slice()) {
        (Some(&Dim::Lit(f)), [one]) => Some((quote!(#f), quote!([#one; #f]))),
        (Some(&Dim::Lit(f)), many) if many.len() == f => Some((quote!(#f), quote!([#(#many),*]))),
        (Some(Dim::Generic), [one]) => Some((quote!(IN), quote!([#one; IN]))),
        (Some(Dim::Lit(f)), many) => {
            let name = cx.name();
            cx.error(format!(
                "{name}'s {param} has {} values, but the last axis of its input {} has {f} \
                 features; give one number, or one per feature",
                many.len(),
                shape_text(shape)
            ));
            None
        }
        (_, many) => {
            let name = cx.name();
            cx.error(format!(
                "{name}'s {param} has {} values, one per feature, but the model's width comes \
                 from its data; give the model an input shape with `Input(shape = (…))`, or \
                 give one number",
                many.len()
            ));
            None
        }
    }
}

/// Output cells of one axis (see `nn_core::kernels::conv::Axis`): `None` when a 'valid' window
/// does not fit.
fn out_len(input: usize, window: usize, stride: usize, same: bool) -> Option<usize> {
    if same {
        Some(input.div_ceil(stride))
    } else {
        (input >= window).then(|| (input - window) / stride + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_description_is_its_keras_class_once() {
        for d in ALL {
            assert_eq!(nn_keras::layers::get(d.keras.class), Some(d.keras));
            assert_eq!(
                ALL.iter()
                    .filter(|o| o.keras.class == d.keras.class)
                    .count(),
                1
            );
        }
        assert_eq!(ALL.len(), nn_keras::layers::ALL.len());
        assert_eq!(
            computing_names(),
            [
                "Dense",
                "Conv2D",
                "Conv1D",
                "Embedding",
                "SimpleRNN",
                "LSTM",
                "GRU",
                "Bidirectional"
            ]
        );
        assert!(known_names().contains(&"Normalization"));
        assert!(keras_only_names().contains(&"TimeDistributed"));
        assert!(!keras_only_names().contains(&"Bidirectional"));
        assert!(!keras_only_names().contains(&"LSTM"));
        assert!(!keras_only_names().contains(&"Dense"));
    }
}
