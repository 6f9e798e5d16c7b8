//! Meaning: turns the parsed layer list into a checked plan. Every rule a Keras user would hit at
//! `model.build()` time is checked here (each layer's own rules are in `layers.rs`), and each
//! violation becomes a compile error on the token that caused it, in Keras' words. All errors
//! are collected, not just the first; after a layer that could not be built, the shapes that
//! follow are unknown, so no later layer gets shape advice built on a guess.

use crate::args::{bind, positive_int, string_value, tuple_elements, ActivationPlan, Errors};
use crate::layers::{self, KNOWN_LAYERS};
use crate::parse::ModelDecl;
use crate::suggest::did_you_mean;
use syn::spanned::Spanned;
use syn::Expr;

/// Keras layers a user may reach for that seqnet does not build, so the error says so plainly
/// instead of suggesting a near-miss.
pub(crate) const KERAS_ONLY_LAYERS: &[&str] = &[
    "Conv1D",
    "Conv3D",
    "Conv2DTranspose",
    "SeparableConv2D",
    "DepthwiseConv2D",
    "MaxPooling1D",
    "AveragePooling1D",
    "GlobalAveragePooling1D",
    "GlobalMaxPooling1D",
    "UpSampling2D",
    "ZeroPadding2D",
    "Cropping2D",
    "SpatialDropout2D",
    "GaussianNoise",
    "LSTM",
    "GRU",
    "SimpleRNN",
    "Bidirectional",
    "TimeDistributed",
    "Embedding",
    "LayerNormalization",
    "MultiHeadAttention",
    "Attention",
    "Lambda",
    "Masking",
    "Permute",
    "RepeatVector",
    "Rescaling",
    "Normalization",
];

/// One dimension: a number, or the input width of a model declared without an input shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dim {
    Lit(usize),
    /// The struct's `const IN: usize`.
    Generic,
}

/// The checked model.
pub struct Plan {
    pub input: InputPlan,
    pub layers: Vec<LayerPlan>,
}

pub struct InputPlan {
    pub name: String,
    pub shape: Vec<Dim>,
    pub explicit: bool,
}

pub struct LayerPlan {
    pub name: String,
    pub kind: Kind,
    pub input_shape: Vec<Dim>,
    pub output_shape: Vec<Dim>,
}

/// A layer as the runtime builds it; every number the type needs beyond its input shape.
pub enum Kind {
    Dense {
        units: usize,
        activation: ActivationPlan,
        use_bias: bool,
    },
    Conv2D {
        filters: usize,
        kernel: (usize, usize),
        strides: (usize, usize),
        same: bool,
        activation: ActivationPlan,
        use_bias: bool,
    },
    Pooling2D {
        max: bool,
        pool: (usize, usize),
        strides: (usize, usize),
        same: bool,
    },
    GlobalPooling2D {
        max: bool,
    },
    Dropout {
        rate: f64,
        seed: Option<u64>,
    },
    BatchNormalization {
        momentum: f64,
        epsilon: f64,
        center: bool,
        scale: bool,
    },
    Flatten,
    Reshape,
    Activation {
        activation: ActivationPlan,
    },
}

impl Plan {
    /// Flat width of the network input.
    pub fn input_width(&self) -> Dim {
        flat_width(&self.input.shape)
    }
}

/// Checks the whole model.
pub fn check(model: &ModelDecl) -> syn::Result<Plan> {
    let mut errors = Errors::default();
    let mut entries = model.layers.iter().peekable();

    // The input: an explicit `Input(...)` entry, `input_shape` on the first layer, or neither.
    let mut input = InputPlan {
        name: "input_layer".into(),
        shape: vec![Dim::Generic],
        explicit: false,
    };
    let mut input_shape_given = false;
    if let Some(first) = entries.peek() {
        if first.kind == "Input" {
            let args = bind(&mut errors, first, &["shape"], &["name", "batch_size"]);
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

    let mut layers = Vec::new();
    // The current shape; `None` once a layer could not be built.
    let mut shape = (errors.is_empty()).then(|| input.shape.clone());
    let mut auto_names = std::collections::HashMap::<&str, usize>::new();
    // Every name so far, in order; index 0 is the input's when it is explicit.
    let mut names: Vec<String> = Vec::new();
    if input.explicit {
        names.push(input.name.clone());
    }

    for (index, layer) in entries.enumerate() {
        let kind_name = layer.kind.to_string();
        let Some(rule) = layers::rule(&kind_name) else {
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
        let keywords: Vec<&'static str> = rule
            .keywords
            .iter()
            .copied()
            .chain(["name", "input_shape"])
            .collect();
        let args = bind(&mut errors, layer, rule.positional, &keywords);

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
            None => {
                let n = auto_names.entry(rule.class_key).or_insert(0);
                let name = match *n {
                    0 => rule.class_key.to_string(),
                    k => format!("{}_{k}", rule.class_key),
                };
                *n += 1;
                (name, layer.kind.span())
            }
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
        let built = (rule.build)(&mut errors, layer, &args, shape.as_deref());
        match (built, shape.take()) {
            (Some((kind, output_shape)), Some(input_shape)) if errors.count() == before => {
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
                layers.push(LayerPlan {
                    name,
                    kind,
                    input_shape,
                    output_shape,
                });
            }
            _ => shape = None,
        }
    }

    if errors.is_empty() {
        let computes = layers
            .iter()
            .any(|l| matches!(l.kind, Kind::Dense { .. } | Kind::Conv2D { .. }));
        if !computes {
            errors.push(
                model.body_span,
                "a Sequential model needs a layer with weights (Dense, Conv2D) to compute its output",
            );
        } else if let Some(last) = layers.last().filter(|l| l.output_shape.len() != 1) {
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
    errors.into_result(Plan { input, layers })
}

fn unknown_layer(errors: &mut Errors, kind: &syn::Ident, name: &str) {
    if KERAS_ONLY_LAYERS.contains(&name) {
        errors.push(
            kind.span(),
            format!(
                "`{name}` is a Keras layer that seqnet does not build; seqnet's layers are {}",
                KNOWN_LAYERS.join(", ")
            ),
        );
    } else {
        errors.push(
            kind.span(),
            format!(
                "unknown layer `{name}`{}; seqnet's layers are {}",
                did_you_mean(name, KNOWN_LAYERS),
                KNOWN_LAYERS.join(", ")
            ),
        );
    }
}

/// A shape: `(10,)`, `(28, 28, 1)` or `[10]`, every dimension a positive integer.
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
    for e in elems {
        dims.push(Dim::Lit(positive_int(errors, e, "every input dimension")?));
    }
    if too_large(&dims) {
        errors.push(expr.span(), "the input shape holds too many values");
        return None;
    }
    Some(dims)
}

/// More values than Keras' int32 sizes allow.
fn too_large(shape: &[Dim]) -> bool {
    let total = shape.iter().try_fold(1usize, |acc, d| match d {
        Dim::Lit(n) => acc.checked_mul(*n),
        Dim::Generic => Some(acc),
    });
    total.is_none_or(|t| t > i32::MAX as usize)
}

/// Product of a shape's dimensions (a generic dimension stays generic).
pub fn flat_width(shape: &[Dim]) -> Dim {
    let mut product = 1;
    for d in shape {
        match d {
            Dim::Lit(n) => product *= n,
            Dim::Generic => return Dim::Generic,
        }
    }
    Dim::Lit(product)
}

/// `(28, 28)` as Keras prints a shape without its batch dimension.
pub fn shape_text(shape: &[Dim]) -> String {
    let dims: Vec<String> = shape
        .iter()
        .map(|d| match d {
            Dim::Lit(n) => n.to_string(),
            Dim::Generic => "IN".into(),
        })
        .collect();
    match dims.as_slice() {
        [one] => format!("({one},)"),
        _ => format!("({})", dims.join(", ")),
    }
}
