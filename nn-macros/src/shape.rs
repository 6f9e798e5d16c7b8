//! Meaning: turns the parsed layer list into a checked plan. Every rule a Keras user would hit at
//! `model.build()` time is checked here (each layer's own rules are in its file under
//! `layers/`), and each violation becomes a compile error on the token that caused it, in Keras'
//! words. All errors are collected, not just the first; after a layer that could not be built,
//! the shapes that follow are unknown, so no later layer gets shape advice built on a guess.

use crate::args::{bind, positive_int, string_value, tuple_elements, Errors};
use crate::dims::{has_steps, shape_text, too_large, Dim};
use crate::layers::{self, Cx, MaskRule};
use crate::parse::ModelDecl;
use crate::suggest::did_you_mean;
use proc_macro2::TokenStream;
use syn::spanned::Spanned;
use syn::Expr;

/// The checked model.
pub struct Plan {
    pub input: InputPlan,
    pub layers: Vec<LayerPlan>,
    /// Why the model cannot stream, or `Causal` when it can (then each layer's `step` is set):
    /// a type of `nn_core::stream::why`.
    pub stream_blocker: &'static str,
}

pub struct InputPlan {
    pub name: String,
    pub shape: Vec<Dim>,
    pub explicit: bool,
    /// The model's first layer is Embedding: its rows are token ids (`[i32; T]`).
    pub token_ids: bool,
}

pub struct LayerPlan {
    pub name: String,
    /// The runtime type (every width a const generic) and the expression of its value.
    pub ty: TokenStream,
    pub value: TokenStream,
    /// Its state comes from data: the model gets `adapt`.
    pub adapts: bool,
    pub output_shape: Vec<Dim>,
    /// It makes a mask (`Layer::MASK_STEPS` may be > 0): `predict_one` keeps it.
    pub makes_mask: bool,
    /// The layer whose mask it uses, for a layer that uses one and is reached by one.
    pub mask_from: Option<usize>,
    /// The layer a stream steps (built for one timestep), type and value; `None` in a model
    /// that cannot stream.
    pub step: Option<(TokenStream, TokenStream)>,
}

impl Plan {
    /// Flat width of the network input.
    pub fn input_width(&self) -> Dim {
        crate::dims::flat_width(&self.input.shape)
    }
}

/// Checks the whole model; `rt` is the path generated code names the runtime by.
pub fn check(model: &ModelDecl, rt: &TokenStream) -> syn::Result<Plan> {
    let mut errors = Errors::default();
    let mut entries = model.layers.iter().peekable();

    // The input: an explicit `Input(...)` entry, `input_shape` on the first layer, or neither.
    let mut input = InputPlan {
        name: "input_layer".into(),
        shape: vec![Dim::Generic],
        explicit: false,
        token_ids: false,
    };
    // Input's dtype, checked once the first layer is known.
    let mut input_dtype: Option<(String, proc_macro2::Span)> = None;
    let mut input_shape_given = false;
    if let Some(first) = entries.peek() {
        if first.kind == "Input" {
            let args = bind(
                &mut errors,
                first,
                &["shape"],
                &["name", "batch_size", "dtype"],
            );
            if let Some(dtype) = args.get("dtype") {
                if let Some(d) = string_value(&mut errors, dtype, "dtype") {
                    input_dtype = Some((d, dtype.span()));
                }
            }
            match args.get("shape") {
                Some(shape) => {
                    if let Some(s) = shape_value(&mut errors, shape) {
                        input.shape = s;
                    }
                }
                None => errors.push(
                    first.kind.span(),
                    "Input needs a shape, e.g. `Input(shape = (10,))`",
                ),
            }
            if let Some(name) = args.get("name") {
                if let Some(n) = string_value(&mut errors, name, "name") {
                    input.name = n;
                }
            }
            if let Some(batch) = args.get("batch_size") {
                errors.push(
                    batch.span(),
                    "seqnet takes the batch size from the data; remove `batch_size` from Input",
                );
            }
            input.explicit = true;
            input_shape_given = true;
            entries.next();
        }
    }

    let mut layers: Vec<LayerPlan> = Vec::new();
    let first_is_embedding = entries.peek().is_some_and(|l| l.kind == "Embedding");
    let mut stream = crate::stream::StreamCheck::new(&input.shape, first_is_embedding);
    // The layer whose mask reaches the current layer, and its class, as Keras passes masks on.
    let mut live_mask: Option<(usize, &'static str)> = None;
    // The first Dense applied per step, and its input: where a model whose output stays a
    // sequence went per step (the tutorial's (28, 28) into Dense), for the output error.
    let mut first_per_step: Option<(proc_macro2::Span, String)> = None;
    // The current shape; `None` once a layer could not be built.
    let mut shape = (errors.is_empty()).then(|| input.shape.clone());
    let mut default_names = nn_keras::names::DefaultNames::default();
    // Every name so far, in order; index 0 is the input's when it is explicit.
    let mut names: Vec<String> = Vec::new();
    if input.explicit {
        names.push(input.name.clone());
    }

    for (index, layer) in entries.enumerate() {
        let kind_name = layer.kind.to_string();
        let Some(description) = layers::get(&kind_name) else {
            if kind_name == "Input" {
                errors.push(
                    layer.kind.span(),
                    "Input must be the first entry of a Sequential model, which has one input",
                );
            } else {
                unknown_layer(&mut errors, &layer.kind, &kind_name);
            }
            shape = None;
            continue;
        };
        let class = description.keras;
        let positional: Vec<&'static str> = class.positional().collect();
        let keywords: Vec<&'static str> = class.keywords().chain(["name", "input_shape"]).collect();
        let args = bind(&mut errors, layer, &positional, &keywords);

        if let Some(given) = args.get("input_shape") {
            if index > 0 {
                errors.push(
                    given.span(),
                    "input_shape is only read on the first layer; move it there or remove it",
                );
            } else if input_shape_given {
                errors.push(
                    given.span(),
                    "the input shape is given twice, by `Input(...)` and by `input_shape`; keep one",
                );
            } else {
                let s = shape_value(&mut errors, given);
                input_shape_given = true;
                if let Some(s) = &s {
                    input.shape = s.clone();
                }
                shape = s;
            }
        }

        let (name, name_span) = match args.get("name") {
            Some(expr) => (
                string_value(&mut errors, expr, "name").unwrap_or_default(),
                expr.span(),
            ),
            None => (default_names.next(class.class), layer.kind.span()),
        };
        if let Some(owner) = names.iter().position(|n| *n == name) {
            let owner = match (input.explicit, owner) {
                (true, 0) => "the Input".to_string(),
                (true, i) => format!("layer {i}"),
                (false, i) => format!("layer {}", i + 1),
            };
            errors.push(
                name_span,
                format!(
                    "duplicate layer name `{name}`, already used by {owner}; \
                     layer names must be unique in a model"
                ),
            );
        }
        names.push(name.clone());

        let before = errors.count();
        if let (MaskRule::Unbuilt, Some((_, source))) = (description.mask, live_mask) {
            errors.push(
                layer.kind.span(),
                format!(
                    "{} after {source}'s mask: Keras computes its batch statistics over the \
                     unmasked steps only, which seqnet does not build; put it before {source}, \
                     or use LayerNormalization, which needs no mask",
                    class.class
                ),
            );
        }
        if let Some(s) = shape
            .as_deref()
            .filter(|s| s.len() == 2 && class.class == "Dense")
        {
            first_per_step.get_or_insert((layer.kind.span(), shape_text(s)));
        }
        if let Some(s) = shape.as_deref().filter(|s| has_steps(s)) {
            if !STEP_LAYERS.contains(&class.class) {
                errors.push(
                    layer.kind.span(),
                    format!(
                        "{} needs a fixed number of steps, but its input is {}: give Input a \
                         length (`Input(shape = (100, {}))`), or end the steps first with \
                         GlobalAveragePooling1D or GlobalMaxPooling1D",
                        class.class,
                        shape_text(s),
                        s.last().map_or(String::from("…"), |d| shape_text(&[*d])
                            .trim_matches(|c| c == '(' || c == ')' || c == ',')
                            .to_string())
                    ),
                );
                shape = None;
                continue;
            }
        }
        let mut cx = Cx {
            errors: &mut errors,
            layer,
            class,
            index: layers.len(),
            rt,
        };
        let built = (description.build)(&mut cx, &args, shape.as_deref());
        if let (Some(b), Some(s)) = (&built, shape.as_deref()) {
            stream.layer(&mut cx, description, &args, s, b);
        }
        match (built, shape.take()) {
            (Some(built), Some(_)) if errors.count() == before => {
                let output_shape = built.output_shape;
                if too_large(&output_shape) {
                    errors.push(
                        layer.kind.span(),
                        format!(
                            "{kind_name}'s output {} holds too many values",
                            shape_text(&output_shape)
                        ),
                    );
                    continue;
                }
                shape = Some(output_shape.clone());
                let mask_from = match description.mask {
                    MaskRule::Consumes => live_mask.take().map(|(from, _)| from),
                    MaskRule::Recurrent => live_mask.map(|(from, _)| from),
                    _ => None,
                };
                match description.mask {
                    MaskRule::Makes => live_mask = Some((layers.len(), class.class)),
                    MaskRule::Drops | MaskRule::Unbuilt => live_mask = None,
                    // Keras passes the mask on with the sequence, and ends it with the sequence.
                    MaskRule::Recurrent if output_shape.len() != 2 => live_mask = None,
                    MaskRule::Passes | MaskRule::Consumes | MaskRule::Recurrent => {}
                }
                layers.push(LayerPlan {
                    name,
                    ty: built.ty,
                    value: built.value,
                    adapts: built.adapts,
                    output_shape,
                    makes_mask: description.mask == MaskRule::Makes,
                    mask_from,
                    step: None,
                });
            }
            _ => shape = None,
        }
    }

    input.token_ids = model
        .layers
        .iter()
        .find(|l| l.kind != "Input")
        .is_some_and(|l| l.kind == "Embedding");
    if let Some((dtype, span)) = input_dtype {
        check_dtype(&mut errors, &dtype, span, input.token_ids);
    }

    if errors.is_empty() {
        let computes = model
            .layers
            .iter()
            .any(|l| layers::get(&l.kind.to_string()).is_some_and(|d| d.computes));
        if !computes {
            errors.push(
                model.body_span,
                format!(
                    "a Sequential model needs a layer with weights ({}) to compute its output",
                    layers::computing_names().join(", ")
                ),
            );
        } else if let Some(last) = layers.last().filter(|l| has_steps(&l.output_shape)) {
            errors.push(
                model.body_span,
                format!(
                    "the model's output {} has as many values as the input has steps, which \
                     vary; end it with a global pooling layer (GlobalAveragePooling1D) and Dense",
                    shape_text(&last.output_shape)
                ),
            );
        } else if let Some(last) = layers.last().filter(|l| l.output_shape.len() != 1) {
            if let Some((span, input)) = first_per_step {
                errors.push(
                    span,
                    format!(
                        "Dense applies to each step of its {input} input, as in Keras, so the \
                         model's output is {}, one row per step; insert Flatten before this \
                         Dense (or a global pooling layer, e.g. GlobalAveragePooling1D) for one \
                         output per example",
                        shape_text(&last.output_shape)
                    ),
                );
            } else {
                errors.push(
                    model.body_span,
                    format!(
                        "the model's output must be flat, but it is {}; end it with Flatten and \
                         Dense, or with a global pooling layer",
                        shape_text(&last.output_shape)
                    ),
                );
            }
        }
    }
    let stream_blocker = match stream.blocker {
        Some(why) => why,
        None if stream.steps.len() == layers.len() => {
            for (layer, step) in layers.iter_mut().zip(stream.steps) {
                layer.step = Some(step);
            }
            "Causal"
        }
        None => "a_layer_over_the_steps_that_seqnet_does_not_step",
    };
    errors.into_result(Plan {
        input,
        layers,
        stream_blocker,
    })
}

/// Keras' dtypes an `Input` may name: any for token ids (Keras casts them to int32 in
/// Embedding), float32 otherwise (seqnet computes in float32).
fn check_dtype(errors: &mut Errors, dtype: &str, span: proc_macro2::Span, token_ids: bool) {
    const INTS: &[&str] = &[
        "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    ];
    const FLOATS: &[&str] = &["float16", "bfloat16", "float32", "float64"];
    let known = INTS.contains(&dtype) || FLOATS.contains(&dtype);
    if !known {
        errors.push(
            span,
            format!("unknown dtype \"{dtype}\"; Input takes Keras' dtypes, e.g. \"float32\" or \"int32\""),
        );
    } else if !token_ids && dtype != "float32" {
        let why = if INTS.contains(&dtype) {
            "integer inputs are token ids, which an Embedding layer reads first"
        } else {
            "seqnet computes in float32"
        };
        errors.push(
            span,
            format!("Input dtype \"{dtype}\": {why}; remove dtype (float32 is the default)"),
        );
    }
}

fn unknown_layer(errors: &mut Errors, kind: &syn::Ident, name: &str) {
    let known = layers::known_names();
    if let Some(activation) = ACTIVATION_LAYERS
        .iter()
        .find_map(|(class, activation)| (*class == name).then_some(*activation))
    {
        errors.push(
            kind.span(),
            format!(
                "`{name}` is a Keras layer that seqnet builds as `Activation({activation})` \
                 (or `activation = {activation}` on the layer before)"
            ),
        );
    } else if layers::keras_only_names().contains(&name) {
        errors.push(
            kind.span(),
            format!(
                "`{name}` is a Keras layer that seqnet does not build; seqnet's layers are {}",
                known.join(", ")
            ),
        );
    } else {
        errors.push(
            kind.span(),
            format!(
                "unknown layer `{name}`{}; seqnet's layers are {}",
                did_you_mean(name, &known),
                known.join(", ")
            ),
        );
    }
}

/// Keras' activation layers whose default form is an activation seqnet has.
const ACTIVATION_LAYERS: &[(&str, &str)] = &[
    ("ReLU", "relu"),
    // The layer's default slope is 0.3, the activation's 0.2.
    ("LeakyReLU", "leaky_relu(0.3)"),
    ("Softmax", "softmax"),
    ("ELU", "elu"),
];

/// `None`, Python's word for a dimension of any size.
fn is_none(e: &Expr) -> bool {
    matches!(e, Expr::Path(p) if p.path.is_ident("None"))
}

/// The layers that take a variable number of steps: each keeps it (per-step layers, causal or
/// 'same' Conv1D with stride 1) or ends it (the global poolings). Every other layer needs a
/// length in its type (a width of T × F, which stable Rust cannot compute in a type).
const STEP_LAYERS: &[&str] = &[
    "Embedding",
    "Masking",
    "Dense",
    "Dropout",
    "Activation",
    "LayerNormalization",
    "Conv1D",
    "GlobalAveragePooling1D",
    "GlobalMaxPooling1D",
    "SimpleRNN",
    "LSTM",
    "GRU",
    "Bidirectional",
];

/// A shape: `(10,)`, `(28, 28, 1)` or `[10]`, every dimension a positive integer, except a
/// sequence's steps, which may be `None`.
pub fn shape_value(errors: &mut Errors, expr: &Expr) -> Option<Vec<Dim>> {
    let elems = tuple_elements(errors, expr)?;
    if elems.is_empty() {
        errors.push(
            expr.span(),
            "a shape needs at least one dimension, e.g. `(10,)`",
        );
        return None;
    }
    let mut dims = Vec::with_capacity(elems.len());
    let count = elems.len();
    for (i, e) in elems.into_iter().enumerate() {
        // Keras' variable number of steps: `(None, F)` for sequences, `(None,)` for token ids.
        if is_none(e) {
            if i == 0 && count <= 2 {
                dims.push(Dim::Steps(1));
                continue;
            }
            errors.push(
                e.span(),
                "only the number of steps may be None, as the first of two dimensions: \
                 `(None, 8)` for sequences of 8 features, or `(None,)` for token ids",
            );
            return None;
        }
        dims.push(Dim::Lit(positive_int(errors, e, "every input dimension")?));
    }
    if too_large(&dims) {
        errors.push(expr.span(), "the input shape holds too many values");
        return None;
    }
    Some(dims)
}
