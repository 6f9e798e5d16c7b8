//! Each layer's own rules: its Keras parameter names (positional order and keywords, defaults),
//! what each value must be, and its output shape with the shape errors Keras would raise, in
//! Keras' words with the fix.
//!
//! A builder validates every argument first, then, when the input shape is known, the shape
//! rules; it returns the layer and its output shape, or `None` after reporting why not.

use crate::args::{
    activation, bool_value, int_value, is_none, number_in, only_value, padding_value, pair_value,
    positive_int, ActivationPlan, Bound, Errors,
};
use crate::parse::LayerDecl;
use crate::shape::{flat_width, shape_text, Dim, Kind};
use syn::spanned::Spanned;

/// A built layer and its output shape.
pub type Built = Option<(Kind, Vec<Dim>)>;

/// A layer's builder: its arguments, checked against its input shape (`None` when unknown
/// after an earlier error).
pub type Builder = fn(&mut Errors, &LayerDecl, &Bound<'_>, Option<&[Dim]>) -> Built;

/// A layer seqnet builds.
pub struct Rule {
    /// Keras' snake_case class name, which default layer names count (`conv2d`, `conv2d_1`).
    pub class_key: &'static str,
    /// Parameters that may be given by position, in Keras' order.
    pub positional: &'static [&'static str],
    /// Keyword-only parameters (besides `name` and `input_shape`, which every layer takes).
    pub keywords: &'static [&'static str],
    /// Checks the arguments and builds the layer.
    pub build: Builder,
}

/// Every layer name the macro knows, for "did you mean" and the error listings.
pub const KNOWN_LAYERS: &[&str] = &[
    "Input",
    "Dense",
    "Conv2D",
    "MaxPooling2D",
    "AveragePooling2D",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling2D",
    "Dropout",
    "BatchNormalization",
    "Flatten",
    "Reshape",
    "Activation",
];

/// The rule for a layer name.
pub fn rule(name: &str) -> Option<&'static Rule> {
    Some(match name {
        "Dense" => &Rule {
            class_key: "dense",
            positional: &["units", "activation", "use_bias"],
            keywords: &[],
            build: dense,
        },
        "Conv2D" => &Rule {
            class_key: "conv2d",
            positional: &["filters", "kernel_size", "strides", "padding"],
            keywords: &[
                "activation",
                "use_bias",
                "data_format",
                "dilation_rate",
                "groups",
            ],
            build: conv2d,
        },
        "MaxPooling2D" => &Rule {
            class_key: "max_pooling2d",
            positional: &["pool_size", "strides", "padding"],
            keywords: &["data_format"],
            build: |e, l, a, s| pooling2d(e, l, a, s, true),
        },
        "AveragePooling2D" => &Rule {
            class_key: "average_pooling2d",
            positional: &["pool_size", "strides", "padding"],
            keywords: &["data_format"],
            build: |e, l, a, s| pooling2d(e, l, a, s, false),
        },
        "GlobalAveragePooling2D" => &Rule {
            class_key: "global_average_pooling2d",
            positional: &["data_format", "keepdims"],
            keywords: &[],
            build: |e, l, a, s| global_pooling2d(e, l, a, s, false),
        },
        "GlobalMaxPooling2D" => &Rule {
            class_key: "global_max_pooling2d",
            positional: &["data_format", "keepdims"],
            keywords: &[],
            build: |e, l, a, s| global_pooling2d(e, l, a, s, true),
        },
        "Dropout" => &Rule {
            class_key: "dropout",
            positional: &["rate"],
            keywords: &["seed"],
            build: dropout,
        },
        "BatchNormalization" => &Rule {
            class_key: "batch_normalization",
            positional: &["axis", "momentum", "epsilon", "center", "scale"],
            keywords: &[],
            build: batch_normalization,
        },
        "Flatten" => &Rule {
            class_key: "flatten",
            positional: &["data_format"],
            keywords: &[],
            build: flatten,
        },
        "Reshape" => &Rule {
            class_key: "reshape",
            positional: &["target_shape"],
            keywords: &[],
            build: reshape,
        },
        "Activation" => &Rule {
            class_key: "activation",
            positional: &["activation"],
            keywords: &[],
            build: activation_layer,
        },
        _ => return None,
    })
}

fn required<'a>(
    errors: &mut Errors,
    layer: &LayerDecl,
    args: &Bound<'a>,
    param: &str,
    example: &str,
) -> Option<&'a syn::Expr> {
    let value = args.get(param).copied();
    if value.is_none() {
        errors.push(
            layer.kind.span(),
            format!("{} needs its {param}, e.g. `{example}`", layer.kind),
        );
    }
    value
}

fn bool_arg(errors: &mut Errors, args: &Bound<'_>, param: &str, default: bool) -> bool {
    args.get(param)
        .and_then(|v| bool_value(errors, v, param))
        .unwrap_or(default)
}

fn activation_arg(errors: &mut Errors, args: &Bound<'_>) -> ActivationPlan {
    match args.get("activation") {
        Some(a) => activation(errors, a),
        None => activation(errors, &syn::parse_quote!(linear)),
    }
}

fn channels_last(errors: &mut Errors, layer: &LayerDecl, args: &Bound<'_>) {
    if let Some(v) = args.get("data_format") {
        only_value(
            errors,
            v,
            &layer.kind.to_string(),
            "data_format",
            "channels_last",
        );
    }
}

/// The (height, width, channels) of an image input, or an error saying what the layer needs.
fn image(errors: &mut Errors, layer: &LayerDecl, shape: &[Dim]) -> Option<[usize; 3]> {
    match shape {
        [Dim::Lit(h), Dim::Lit(w), Dim::Lit(c)] => Some([*h, *w, *c]),
        [Dim::Generic] => {
            errors.push(
                layer.kind.span(),
                format!(
                    "{} needs the image's shape: give the model one with \
                     `Input(shape = (28, 28, 1))` or `input_shape = (28, 28, 1)`",
                    layer.kind
                ),
            );
            None
        }
        [Dim::Lit(h), Dim::Lit(w)] => {
            errors.push(
                layer.kind.span(),
                format!(
                    "{} expects an image input (height, width, channels) but receives ({h}, {w}); \
                     add the channel axis: ({h}, {w}, 1)",
                    layer.kind
                ),
            );
            None
        }
        other => {
            errors.push(
                layer.kind.span(),
                format!(
                    "{} expects an image input (height, width, channels) but receives {}; \
                     give the input shape as (height, width, channels), e.g. (28, 28, 1), or \
                     add Reshape before it",
                    layer.kind,
                    shape_text(other)
                ),
            );
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

/// Both output axes of a window over an image, or the error Keras gives for a window larger
/// than its input.
fn window_output(
    errors: &mut Errors,
    layer: &LayerDecl,
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
            errors.push(
                layer.kind.span(),
                format!(
                    "{}'s {what} ({}, {}) is larger than its input ({h}, {w}), so 'valid' padding \
                     leaves no output; use a smaller {what} or padding = \"same\"",
                    layer.kind, window.0, window.1
                ),
            );
            None
        }
    }
}

fn dense(errors: &mut Errors, layer: &LayerDecl, args: &Bound<'_>, shape: Option<&[Dim]>) -> Built {
    let units = match args.get("units") {
        Some(u) => positive_int(errors, u, "Dense units"),
        None => {
            errors.push(
                layer.kind.span(),
                "Dense needs its number of units, e.g. `Dense(64, activation = relu)`",
            );
            None
        }
    };
    let activation = activation_arg(errors, args);
    let use_bias = bool_arg(errors, args, "use_bias", true);
    let shape = shape?;
    if shape.len() != 1 {
        errors.push(
            layer.kind.span(),
            format!(
                "Dense expects a flat input but receives {}; insert Flatten before it",
                shape_text(shape)
            ),
        );
        return None;
    }
    let units = units?;
    if let Some(&Dim::Lit(w)) = shape.first() {
        if w.checked_mul(units).is_none_or(|n| n > i32::MAX as usize) {
            errors.push(
                layer.kind.span(),
                format!("Dense kernel of {w} × {units} is too large"),
            );
            return None;
        }
    }
    Some((
        Kind::Dense {
            units,
            activation,
            use_bias,
        },
        vec![Dim::Lit(units)],
    ))
}

fn conv2d(
    errors: &mut Errors,
    layer: &LayerDecl,
    args: &Bound<'_>,
    shape: Option<&[Dim]>,
) -> Built {
    let filters = required(errors, layer, args, "filters", "Conv2D(32, (3, 3))")
        .and_then(|f| positive_int(errors, f, "Conv2D filters"));
    let kernel = required(errors, layer, args, "kernel_size", "Conv2D(32, (3, 3))")
        .and_then(|k| pair_value(errors, k, "Conv2D's kernel_size"));
    let strides = match args.get("strides") {
        Some(s) => pair_value(errors, s, "Conv2D's strides"),
        None => Some((1, 1)),
    };
    let same = match args.get("padding") {
        Some(p) => padding_value(errors, p, "Conv2D"),
        None => Some(false),
    };
    let activation = activation_arg(errors, args);
    let use_bias = bool_arg(errors, args, "use_bias", true);
    channels_last(errors, layer, args);
    if let Some(v) = args.get("dilation_rate") {
        only_value(errors, v, "Conv2D", "dilation_rate", "(1, 1)");
    }
    if let Some(v) = args.get("groups") {
        only_value(errors, v, "Conv2D", "groups", "1");
    }
    let [h, w, c] = image(errors, layer, shape?)?;
    let (filters, kernel, strides, same) = (filters?, kernel?, strides?, same?);
    let (oh, ow) = window_output(errors, layer, "kernel", (h, w), kernel, strides, same)?;
    let kernel_values = kernel
        .0
        .checked_mul(kernel.1)
        .and_then(|n| n.checked_mul(c));
    if kernel_values
        .and_then(|n| n.checked_mul(filters))
        .is_none_or(|n| n > i32::MAX as usize)
    {
        errors.push(layer.kind.span(), "Conv2D kernel is too large");
        return None;
    }
    Some((
        Kind::Conv2D {
            filters,
            kernel,
            strides,
            same,
            activation,
            use_bias,
        },
        vec![Dim::Lit(oh), Dim::Lit(ow), Dim::Lit(filters)],
    ))
}

fn pooling2d(
    errors: &mut Errors,
    layer: &LayerDecl,
    args: &Bound<'_>,
    shape: Option<&[Dim]>,
    max: bool,
) -> Built {
    let name = layer.kind.to_string();
    let pool = match args.get("pool_size") {
        Some(p) => pair_value(errors, p, &format!("{name}'s pool_size")),
        None => Some((2, 2)),
    };
    // Keras: strides default to the pool size.
    let strides = match args.get("strides") {
        Some(s) if !is_none(s) => pair_value(errors, s, &format!("{name}'s strides")),
        _ => pool,
    };
    let same = match args.get("padding") {
        Some(p) => padding_value(errors, p, &name),
        None => Some(false),
    };
    channels_last(errors, layer, args);
    let [h, w, c] = image(errors, layer, shape?)?;
    let (pool, strides, same) = (pool?, strides?, same?);
    let (oh, ow) = window_output(errors, layer, "pool", (h, w), pool, strides, same)?;
    Some((
        Kind::Pooling2D {
            max,
            pool,
            strides,
            same,
        },
        vec![Dim::Lit(oh), Dim::Lit(ow), Dim::Lit(c)],
    ))
}

fn global_pooling2d(
    errors: &mut Errors,
    layer: &LayerDecl,
    args: &Bound<'_>,
    shape: Option<&[Dim]>,
    max: bool,
) -> Built {
    channels_last(errors, layer, args);
    let keepdims = bool_arg(errors, args, "keepdims", false);
    let [_, _, c] = image(errors, layer, shape?)?;
    let out = if keepdims {
        vec![Dim::Lit(1), Dim::Lit(1), Dim::Lit(c)]
    } else {
        vec![Dim::Lit(c)]
    };
    Some((Kind::GlobalPooling2D { max }, out))
}

fn dropout(
    errors: &mut Errors,
    layer: &LayerDecl,
    args: &Bound<'_>,
    shape: Option<&[Dim]>,
) -> Built {
    let rate = required(errors, layer, args, "rate", "Dropout(0.5)").and_then(|r| {
        number_in(
            errors,
            r,
            "Dropout's rate",
            |v| (0.0..1.0).contains(&v),
            "in [0, 1) (the fraction of values dropped)",
        )
    });
    let seed = match args.get("seed") {
        Some(s) if !is_none(s) => match int_value(s) {
            Some(v) if (0..=u64::MAX as i128).contains(&v) => Some(Some(v as u64)),
            _ => {
                errors.push(s.span(), "Dropout's seed must be an integer ≥ 0");
                None
            }
        },
        _ => Some(None),
    };
    let shape = shape?;
    Some((
        Kind::Dropout {
            rate: rate?,
            seed: seed?,
        },
        shape.to_vec(),
    ))
}

fn batch_normalization(
    errors: &mut Errors,
    _layer: &LayerDecl,
    args: &Bound<'_>,
    shape: Option<&[Dim]>,
) -> Built {
    let momentum = match args.get("momentum") {
        Some(m) => number_in(
            errors,
            m,
            "BatchNormalization's momentum",
            |v| (0.0..=1.0).contains(&v),
            "in [0, 1]",
        ),
        None => Some(0.99),
    };
    let epsilon = match args.get("epsilon") {
        Some(e) => number_in(
            errors,
            e,
            "BatchNormalization's epsilon",
            |v| v > 0.0,
            "greater than 0",
        ),
        None => Some(1e-3),
    };
    let center = bool_arg(errors, args, "center", true);
    let scale = bool_arg(errors, args, "scale", true);
    let shape = shape?;
    if let Some(axis) = args.get("axis") {
        // Keras counts the batch axis: the last axis of an (h, w, c) input is -1 or 3.
        let last = shape.len() as i128;
        if !matches!(int_value(axis), Some(a) if a == -1 || a == last) {
            errors.push(
                axis.span(),
                format!(
                    "seqnet's BatchNormalization normalises the last axis: axis = -1 (or {last}) \
                     for an input of shape {}",
                    shape_text(shape)
                ),
            );
            return None;
        }
    }
    Some((
        Kind::BatchNormalization {
            momentum: momentum?,
            epsilon: epsilon?,
            center,
            scale,
        },
        shape.to_vec(),
    ))
}

fn flatten(
    errors: &mut Errors,
    layer: &LayerDecl,
    args: &Bound<'_>,
    shape: Option<&[Dim]>,
) -> Built {
    channels_last(errors, layer, args);
    Some((Kind::Flatten, vec![flat_width(shape?)]))
}

fn reshape(
    errors: &mut Errors,
    layer: &LayerDecl,
    args: &Bound<'_>,
    shape: Option<&[Dim]>,
) -> Built {
    let target = required(errors, layer, args, "target_shape", "Reshape((28, 28, 1))")?;
    let elems = crate::args::tuple_elements(errors, target)?;
    if elems.is_empty() {
        errors.push(target.span(), "Reshape's target_shape needs a dimension");
        return None;
    }
    // Positive sizes, and at most one -1 that Keras infers from the input's size.
    let mut dims: Vec<Option<usize>> = Vec::new();
    for e in &elems {
        match int_value(e) {
            Some(-1) if dims.iter().all(Option::is_some) => dims.push(None),
            Some(-1) => {
                errors.push(e.span(), "Reshape's target_shape may hold one -1 only");
                return None;
            }
            _ => dims.push(Some(positive_int(errors, e, "every target dimension")?)),
        }
    }
    let shape = shape?;
    let Dim::Lit(total) = flat_width(shape) else {
        errors.push(
            layer.kind.span(),
            "Reshape needs to know its input's size: give the model an input shape with \
             `Input(shape = (…))` or `input_shape`",
        );
        return None;
    };
    let known: usize = dims.iter().flatten().product();
    let text = |d: &[Option<usize>]| {
        let parts: Vec<String> = d
            .iter()
            .map(|v| v.map_or("-1".to_string(), |n| n.to_string()))
            .collect();
        match parts.as_slice() {
            [one] => format!("({one},)"),
            _ => format!("({})", parts.join(", ")),
        }
    };
    let fits = if dims.contains(&None) {
        total.is_multiple_of(known)
    } else {
        known == total
    };
    if !fits {
        errors.push(
            target.span(),
            format!(
                "Reshape to {} cannot hold the {total} values of its input {}; the target \
                 shape must hold the same number of values",
                text(&dims),
                shape_text(shape)
            ),
        );
        return None;
    }
    let out = dims
        .iter()
        .map(|d| Dim::Lit(d.unwrap_or(total / known)))
        .collect();
    Some((Kind::Reshape, out))
}

fn activation_layer(
    errors: &mut Errors,
    layer: &LayerDecl,
    args: &Bound<'_>,
    shape: Option<&[Dim]>,
) -> Built {
    let act = required(errors, layer, args, "activation", "Activation(relu)")
        .map(|a| activation(errors, a));
    let shape = shape?;
    Some((Kind::Activation { activation: act? }, shape.to_vec()))
}
