//! Meaning: turns the parsed layer list into a checked plan. Every rule a Keras user would hit at
//! `model.build()` time is checked here, and each violation becomes a compile error on the token
//! that caused it, in Keras' words. All errors are collected, not just the first.

use crate::parse::{Arg, LayerDecl, ModelDecl};
use crate::suggest::did_you_mean;
use proc_macro2::Span;
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, UnOp};

/// Layers seqnet builds.
const KNOWN_LAYERS: &[&str] = &["Input", "Dense", "Flatten"];
/// Keras layers a user may reach for that seqnet does not build, so the error says so plainly
/// instead of suggesting a near-miss.
const KERAS_ONLY_LAYERS: &[&str] = &[
    "Dropout",
    "BatchNormalization",
    "Conv1D",
    "Conv2D",
    "Conv3D",
    "MaxPooling2D",
    "AveragePooling2D",
    "GlobalAveragePooling2D",
    "LSTM",
    "GRU",
    "Embedding",
    "Reshape",
    "Activation",
    "LayerNormalization",
];

/// Keras' activation names, with the aliases Keras accepts.
const ACTIVATIONS: &[&str] = &[
    "linear",
    "relu",
    "sigmoid",
    "tanh",
    "softmax",
    "leaky_relu",
    "elu",
    "selu",
    "gelu",
    "swish",
    "silu",
    "softplus",
    "softsign",
    "hard_sigmoid",
    "exponential",
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
    /// Flat width of the layer's input.
    pub input_width: Dim,
    pub output_shape: Vec<Dim>,
}

pub enum Kind {
    Dense {
        units: usize,
        activation: ActivationPlan,
        use_bias: bool,
    },
    Flatten,
}

impl Kind {
    pub fn class_name(&self) -> &'static str {
        match self {
            Kind::Dense { .. } => "Dense",
            Kind::Flatten => "Flatten",
        }
    }
}

/// An activation as the runtime type `nn_core::activations::<ty>` built by `<ty> <init>`.
pub struct ActivationPlan {
    pub ty: &'static str,
    /// Field initialisers for activations with parameters (`{ negative_slope: 0.2 }`), or empty.
    pub init: proc_macro2::TokenStream,
}

impl Plan {
    /// Flat width of the network input.
    pub fn input_width(&self) -> Dim {
        flat_width(&self.input.shape)
    }
}

/// Errors collected while checking; reported together.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, span: Span, message: impl std::fmt::Display) {
        let e = syn::Error::new(span, message);
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
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
    let mut shape = input.shape.clone();
    let mut auto_names = std::collections::HashMap::<&str, usize>::new();
    // Every name so far, in order; index 0 is the input's when it is explicit.
    let mut names: Vec<String> = Vec::new();
    if input.explicit {
        names.push(input.name.clone());
    }

    for (index, layer) in entries.enumerate() {
        let kind_name = layer.kind.to_string();
        let (positional, keywords): (&[&str], &[&str]) = match kind_name.as_str() {
            "Dense" => (
                &["units", "activation", "use_bias"],
                &["name", "input_shape"],
            ),
            "Flatten" => (&[], &["name", "input_shape"]),
            "Input" => {
                errors.push(
                    layer.kind.span(),
                    "Input must be the first entry of a Sequential model, which has one input",
                );
                continue;
            }
            other => {
                unknown_layer(&mut errors, &layer.kind, other);
                continue;
            }
        };
        let args = bind(&mut errors, layer, positional, keywords);

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
            } else if let Some(s) = shape_value(&mut errors, given) {
                input.shape = s.clone();
                shape = s;
                input_shape_given = true;
            }
        }

        let class_key: &'static str = match kind_name.as_str() {
            "Dense" => "dense",
            _ => "flatten",
        };
        let (name, name_span) = match args.get("name") {
            Some(expr) => (
                string_value(&mut errors, expr, "name").unwrap_or_default(),
                expr.span(),
            ),
            None => {
                let n = auto_names.entry(class_key).or_insert(0);
                let name = match *n {
                    0 => class_key.to_string(),
                    k => format!("{class_key}_{k}"),
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

        let input_width = flat_width(&shape);
        let kind = match kind_name.as_str() {
            "Dense" => {
                if shape.len() != 1 {
                    errors.push(
                        layer.kind.span(),
                        format!(
                            "Dense expects a flat input but receives {}; insert Flatten before it",
                            shape_text(&shape)
                        ),
                    );
                }
                let units = match args.get("units") {
                    Some(u) => positive_int(&mut errors, u, "Dense units").unwrap_or(1),
                    None => {
                        errors.push(
                            layer.kind.span(),
                            "Dense needs its number of units, e.g. `Dense(64, activation = relu)`",
                        );
                        1
                    }
                };
                let activation = match args.get("activation") {
                    Some(a) => activation(&mut errors, a),
                    None => linear(),
                };
                let use_bias = match args.get("use_bias") {
                    Some(b) => bool_value(&mut errors, b, "use_bias").unwrap_or(true),
                    None => true,
                };
                if let Dim::Lit(w) = input_width {
                    if w.checked_mul(units).is_none_or(|n| n > i32::MAX as usize) {
                        errors.push(
                            layer.kind.span(),
                            format!("Dense kernel of {w} × {units} is too large"),
                        );
                    }
                }
                shape = vec![Dim::Lit(units)];
                Kind::Dense {
                    units,
                    activation,
                    use_bias,
                }
            }
            _ => {
                shape = vec![input_width];
                Kind::Flatten
            }
        };
        layers.push(LayerPlan {
            name,
            kind,
            input_width,
            output_shape: shape.clone(),
        });
    }

    if !layers.iter().any(|l| matches!(l.kind, Kind::Dense { .. })) && errors.0.is_none() {
        errors.push(
            model.body_span,
            "a Sequential model needs at least one Dense layer to compute its output",
        );
    }
    if let Some(last) = layers.last() {
        if last.output_shape.len() != 1 && errors.0.is_none() {
            errors.push(
                model.body_span,
                "the model's output must be flat; end it with Dense",
            );
        }
    }

    match errors.0 {
        Some(e) => Err(e),
        None => Ok(Plan { input, layers }),
    }
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

/// Matches a layer's arguments to its parameter names: positional ones in order, then keywords.
fn bind<'a>(
    errors: &mut Errors,
    layer: &'a LayerDecl,
    positional: &[&'static str],
    keywords: &[&'static str],
) -> std::collections::HashMap<&'static str, &'a Expr> {
    let all: Vec<&'static str> = positional.iter().chain(keywords).copied().collect();
    let mut bound = std::collections::HashMap::new();
    let mut next_positional = 0;
    for Arg { key, value } in &layer.args {
        let param = match key {
            None => {
                if next_positional == positional.len() {
                    errors.push(
                        value.span(),
                        format!(
                            "{} takes {} positional argument{}; name this one, e.g. `{} = …`",
                            layer.kind,
                            positional.len(),
                            if positional.len() == 1 { "" } else { "s" },
                            keywords.first().copied().unwrap_or("name"),
                        ),
                    );
                    continue;
                }
                next_positional += 1;
                positional[next_positional - 1]
            }
            Some(key) => match all.iter().find(|p| key == *p) {
                Some(p) => p,
                None => {
                    errors.push(
                        key.span(),
                        format!(
                            "{} has no argument `{key}`{}; its arguments are {}",
                            layer.kind,
                            did_you_mean(&key.to_string(), &all),
                            all.join(", ")
                        ),
                    );
                    continue;
                }
            },
        };
        if bound.insert(param, value).is_some() {
            errors.push(
                key.as_ref().map_or(value.span(), |k| k.span()),
                format!("`{param}` is given twice"),
            );
        }
    }
    bound
}

/// A signed integer literal (`64`, `-3`).
fn int_value(expr: &Expr) -> Option<i128> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => i.base10_parse().ok(),
        Expr::Unary(u) if matches!(u.op, UnOp::Neg(_)) => int_value(&u.expr).map(|v| -v),
        Expr::Paren(p) => int_value(&p.expr),
        _ => None,
    }
}

fn positive_int(errors: &mut Errors, expr: &Expr, what: &str) -> Option<usize> {
    match int_value(expr) {
        Some(v) if v >= 1 && v <= i32::MAX as i128 => Some(v as usize),
        Some(v) => {
            errors.push(
                expr.span(),
                format!("{what} must be a positive integer, got {v}"),
            );
            None
        }
        None => {
            errors.push(
                expr.span(),
                format!(
                    "{what} must be a positive integer, got `{}`",
                    expr.to_token_stream()
                ),
            );
            None
        }
    }
}

fn float_value(expr: &Expr) -> Option<f64> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Float(f), ..
        }) => f.base10_parse().ok(),
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => i.base10_parse().ok(),
        Expr::Unary(u) if matches!(u.op, UnOp::Neg(_)) => float_value(&u.expr).map(|v| -v),
        _ => None,
    }
}

fn bool_value(errors: &mut Errors, expr: &Expr, what: &str) -> Option<bool> {
    let value = match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(b), ..
        }) => Some(b.value),
        // Python's spelling, as a Keras user may write it.
        Expr::Path(p) if p.path.is_ident("True") => Some(true),
        Expr::Path(p) if p.path.is_ident("False") => Some(false),
        _ => None,
    };
    if value.is_none() {
        errors.push(expr.span(), format!("{what} must be `true` or `false`"));
    }
    value
}

fn string_value(errors: &mut Errors, expr: &Expr, what: &str) -> Option<String> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) if !s.value().is_empty() => Some(s.value()),
        _ => {
            errors.push(
                expr.span(),
                format!("{what} must be a non-empty string such as \"dense_in\""),
            );
            None
        }
    }
}

/// A shape: `(10,)`, `(28, 28, 1)` or `[10]`, every dimension a positive integer.
fn shape_value(errors: &mut Errors, expr: &Expr) -> Option<Vec<Dim>> {
    let elems: Vec<&Expr> = match expr {
        Expr::Tuple(t) => t.elems.iter().collect(),
        Expr::Array(a) => a.elems.iter().collect(),
        Expr::Paren(p) if int_value(&p.expr).is_some() => {
            errors.push(
                expr.span(),
                format!(
                    "a shape is a tuple: write `({},)` with a trailing comma",
                    p.expr.to_token_stream()
                ),
            );
            return None;
        }
        _ => {
            errors.push(
                expr.span(),
                "a shape is a tuple of sizes such as `(10,)` or `(28, 28, 1)`",
            );
            return None;
        }
    };
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
    let total = dims.iter().try_fold(1usize, |acc, d| match d {
        Dim::Lit(n) => acc.checked_mul(*n),
        Dim::Generic => Some(acc),
    });
    if total.is_none_or(|t| t > i32::MAX as usize) {
        errors.push(expr.span(), "the input shape holds too many values");
        return None;
    }
    Some(dims)
}

fn linear() -> ActivationPlan {
    ActivationPlan {
        ty: "Linear",
        init: quote::quote!(),
    }
}

/// `relu`, `"relu"`, `None`, `leaky_relu(0.1)`, `leaky_relu(negative_slope = 0.1)`, `gelu(approximate = true)`.
fn activation(errors: &mut Errors, expr: &Expr) -> ActivationPlan {
    let (name, args, span): (String, Vec<Arg>, Span) = match expr {
        Expr::Path(p) if p.path.get_ident().is_some() => {
            let id = p.path.get_ident().expect("checked by the guard");
            (id.to_string(), Vec::new(), id.span())
        }
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => (s.value(), Vec::new(), s.span()),
        Expr::Call(call) => match &*call.func {
            Expr::Path(p) if p.path.get_ident().is_some() => {
                let id = p.path.get_ident().expect("checked by the guard");
                let args = call
                    .args
                    .iter()
                    .cloned()
                    .filter_map(|a| match crate::parse::argument(a) {
                        Ok(arg) => Some(arg),
                        Err(e) => {
                            errors.push(e.span(), e);
                            None
                        }
                    })
                    .collect();
                (id.to_string(), args, id.span())
            }
            other => {
                errors.push(other.span(), "expected an activation name such as `relu`");
                return linear();
            }
        },
        other => {
            errors.push(other.span(), "expected an activation name such as `relu`");
            return linear();
        }
    };

    let (ty, params): (&'static str, &[&'static str]) = match name.as_str() {
        "linear" | "None" => ("Linear", &[]),
        "relu" => ("Relu", &[]),
        "sigmoid" => ("Sigmoid", &[]),
        "tanh" => ("Tanh", &[]),
        "softmax" => ("Softmax", &[]),
        "leaky_relu" => ("LeakyRelu", &["negative_slope", "alpha"]),
        "elu" => ("Elu", &[]),
        "selu" => ("Selu", &[]),
        "gelu" => ("Gelu", &["approximate"]),
        "swish" | "silu" => ("Swish", &[]),
        "softplus" => ("Softplus", &[]),
        "softsign" => ("Softsign", &[]),
        "hard_sigmoid" => ("HardSigmoid", &[]),
        "exponential" => ("Exponential", &[]),
        _ => {
            errors.push(
                span,
                format!(
                    "unknown activation `{name}`{}; Keras' activations are {}",
                    did_you_mean(&name, ACTIVATIONS),
                    ACTIVATIONS.join(", ")
                ),
            );
            return linear();
        }
    };

    if args.len() > params.len().min(1) {
        errors.push(
            span,
            match params.len() {
                0 => format!("`{name}` takes no arguments"),
                _ => format!("`{name}` takes one argument, `{}`", params[0]),
            },
        );
        return linear();
    }
    let init = match (ty, args.first()) {
        ("LeakyRelu", arg) => {
            let slope = match arg {
                Some(Arg { key, value }) => {
                    if let Some(k) = key.as_ref().filter(|k| !params.iter().any(|p| *k == p)) {
                        errors.push(
                            k.span(),
                            "leaky_relu's argument is `negative_slope` (Keras 2's `alpha` also works)",
                        );
                    }
                    match float_value(value).filter(|v| v.is_finite() && *v >= 0.0) {
                        Some(v) => v as f32,
                        None => {
                            errors.push(
                                value.span(),
                                "leaky_relu's negative_slope must be a number ≥ 0, e.g. 0.2",
                            );
                            0.2
                        }
                    }
                }
                None => 0.2,
            };
            quote::quote!({ negative_slope: #slope })
        }
        ("Gelu", arg) => {
            let approximate = match arg {
                Some(Arg { key, value }) => {
                    if let Some(k) = key.as_ref().filter(|k| *k != "approximate") {
                        errors.push(k.span(), "gelu's argument is `approximate`");
                    }
                    bool_value(errors, value, "gelu's approximate").unwrap_or(false)
                }
                None => false,
            };
            quote::quote!({ approximate: #approximate })
        }
        _ => quote::quote!(),
    };
    ActivationPlan { ty, init }
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
fn shape_text(shape: &[Dim]) -> String {
    let dims: Vec<String> = shape
        .iter()
        .map(|d| match d {
            Dim::Lit(n) => n.to_string(),
            Dim::Generic => "IN".into(),
        })
        .collect();
    if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    }
}
