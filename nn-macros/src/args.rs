//! Argument values: binds a layer's positional and keyword arguments to Keras' parameter names
//! and reads each value (integers, floats, booleans, strings, shapes, pairs, padding,
//! activations), reporting a spanned error for anything else. Errors are collected, so one
//! compile shows every mistake.

use crate::parse::{Arg, LayerDecl};
use crate::suggest::did_you_mean;
use nn_keras::{LayerClass, Value};
use proc_macro2::Span;
use quote::ToTokens;
use std::collections::HashMap;
use syn::spanned::Spanned;
use syn::{BinOp, Expr, ExprLit, Lit, UnOp};

/// Errors collected while checking; reported together.
#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    pub fn push(&mut self, span: Span, message: impl std::fmt::Display) {
        let e = syn::Error::new(span, message);
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// How many errors so far (to tell whether a step added one).
    pub fn count(&self) -> usize {
        self.0.as_ref().map_or(0, |e| e.into_iter().count())
    }

    pub fn into_result<T>(self, value: T) -> syn::Result<T> {
        match self.0 {
            Some(e) => Err(e),
            None => Ok(value),
        }
    }
}

/// An activation as the runtime type `nn_core::activations::<ty>` built by `<ty> <init>`.
pub struct ActivationPlan {
    pub ty: &'static str,
    /// Field initialisers for activations with parameters (`{ negative_slope: 0.2 }`), or empty.
    pub init: proc_macro2::TokenStream,
}

/// A layer's arguments by Keras parameter name.
pub type Bound<'a> = HashMap<&'static str, &'a Expr>;

/// Matches a layer's arguments to its parameter names: positional ones in order, then keywords.
pub fn bind<'a>(
    errors: &mut Errors,
    layer: &'a LayerDecl,
    positional: &[&'static str],
    keywords: &[&'static str],
) -> Bound<'a> {
    let all: Vec<&'static str> = positional.iter().chain(keywords).copied().collect();
    let mut bound = HashMap::new();
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
                let Some(&p) = positional.get(next_positional) else {
                    continue;
                };
                next_positional += 1;
                p
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
pub fn int_value(expr: &Expr) -> Option<i128> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => i.base10_parse().ok(),
        Expr::Unary(u) if matches!(u.op, UnOp::Neg(_)) => int_value(&u.expr).map(|v| -v),
        Expr::Paren(p) => int_value(&p.expr),
        _ => None,
    }
}

/// A positive integer that fits Keras' int32 sizes.
pub fn positive_int(errors: &mut Errors, expr: &Expr, what: &str) -> Option<usize> {
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

/// A float or integer literal, possibly negated.
pub fn float_value(expr: &Expr) -> Option<f64> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Float(f), ..
        }) => f.base10_parse().ok(),
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => i.base10_parse().ok(),
        Expr::Unary(u) if matches!(u.op, UnOp::Neg(_)) => float_value(&u.expr).map(|v| -v),
        Expr::Paren(p) => float_value(&p.expr),
        // Arithmetic of literals, as Keras' usual `Rescaling(1.0 / 255)` writes a scale.
        Expr::Binary(b) => {
            let (l, r) = (float_value(&b.left)?, float_value(&b.right)?);
            match b.op {
                BinOp::Add(_) => Some(l + r),
                BinOp::Sub(_) => Some(l - r),
                BinOp::Mul(_) => Some(l * r),
                BinOp::Div(_) => Some(l / r),
                _ => None,
            }
        }
        _ => None,
    }
}

/// A number the runtime can hold as an `f32`: finite, and not beyond `f32::MAX` (which would
/// become an infinity in the generated code).
pub fn fits_f32(v: f64) -> bool {
    v.is_finite() && (v as f32).is_finite()
}

/// A number in `range` (as the message states it), or an error naming `what`.
pub fn number_in(
    errors: &mut Errors,
    expr: &Expr,
    what: &str,
    range: impl Fn(f64) -> bool,
    expected: &str,
) -> Option<f64> {
    match float_value(expr) {
        Some(v) if fits_f32(v) && range(v) => Some(v),
        Some(v) => {
            errors.push(expr.span(), format!("{what} must be {expected}, got {v}"));
            None
        }
        None => {
            errors.push(
                expr.span(),
                format!(
                    "{what} must be a number {expected}, got `{}`",
                    expr.to_token_stream()
                ),
            );
            None
        }
    }
}

pub fn bool_value(errors: &mut Errors, expr: &Expr, what: &str) -> Option<bool> {
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

/// A string literal's value: `"dense"`, or `'dense'` as Python writes it (rustc has already
/// reported that token, with the fix; reading it here keeps the macro from a second error).
fn string_literal(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(s.value()),
        Expr::Lit(ExprLit { lit, .. }) => quoted_in_single_quotes(lit),
        _ => None,
    }
}

pub fn string_value(errors: &mut Errors, expr: &Expr, what: &str) -> Option<String> {
    match string_literal(expr) {
        Some(s) if !s.is_empty() => Some(s),
        _ => {
            errors.push(
                expr.span(),
                format!("{what} must be a non-empty string such as \"dense_in\""),
            );
            None
        }
    }
}

/// A word given as a string (`"same"`) or a bare identifier (`same`), as activations are.
fn word(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Path(p) => p.path.get_ident().map(|i| i.to_string()),
        _ => string_literal(expr),
    }
}

/// A 1-D size: a positive integer, or Keras' one-element tuple (`5`, `(5,)`, `[5]`).
pub fn size_value(errors: &mut Errors, expr: &Expr, what: &str) -> Option<usize> {
    let one = match expr {
        Expr::Tuple(t) if t.elems.len() == 1 => t.elems.first(),
        Expr::Array(a) if a.elems.len() == 1 => a.elems.first(),
        e => Some(e),
    };
    positive_int(errors, one.unwrap_or(expr), what)
}

/// A word among `choices` (`padding = "causal"`), given as a string or a bare name.
pub fn word_in(
    errors: &mut Errors,
    expr: &Expr,
    what: &str,
    choices: &[&'static str],
) -> Option<&'static str> {
    let given = word(expr);
    match choices.iter().find(|c| given.as_deref() == Some(**c)) {
        Some(c) => Some(c),
        None => {
            let hint = given.map(|w| did_you_mean(&w, choices)).unwrap_or_default();
            let quoted: Vec<String> = choices.iter().map(|c| format!("\"{c}\"")).collect();
            let listed = match quoted.split_last() {
                Some((last, [])) => last.clone(),
                Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
                None => String::new(),
            };
            errors.push(expr.span(), format!("{what} is {listed}{hint}"));
            None
        }
    }
}

/// `padding = "valid" | "same"`: true for same.
pub fn padding_value(errors: &mut Errors, expr: &Expr, layer: &str) -> Option<bool> {
    match word(expr).as_deref() {
        Some("valid") => Some(false),
        Some("same") => Some(true),
        other => {
            let hint = other
                .map(|w| did_you_mean(w, &["valid", "same"]))
                .unwrap_or_default();
            errors.push(
                expr.span(),
                format!("{layer}'s padding is \"valid\" or \"same\"{hint}"),
            );
            None
        }
    }
}

/// The settings seqnet builds one value of (`data_format = "channels_last"`, Keras'
/// [`Param::only`](nn_keras::Param)): each given one must have that value, else an error naming
/// the layer and the setting.
pub fn check_only_values(
    errors: &mut Errors,
    layer: &LayerDecl,
    class: &LayerClass,
    args: &Bound<'_>,
) {
    for param in class.params.iter().filter(|p| !p.only.is_empty()) {
        let Some(expr) = args.get(param.name) else {
            continue;
        };
        if !param.only.iter().any(|v| value_is(expr, v)) {
            let shown = param.only.first().map(value_text).unwrap_or_default();
            errors.push(
                expr.span(),
                format!(
                    "seqnet builds {} with {} = {shown} only; remove `{}` or set it so",
                    layer.kind, param.name, param.name
                ),
            );
        }
    }
}

/// Whether `expr` is Keras' `value` (an integer `n` is the pair `(n, n)`, as Keras reads it).
fn value_is(expr: &Expr, value: &Value) -> bool {
    match value {
        Value::Int(i) => int_value(expr) == Some(i128::from(*i)),
        Value::Float(f) => float_value(expr) == Some(*f),
        Value::Bool(b) => {
            matches!(expr, Expr::Lit(ExprLit { lit: Lit::Bool(v), .. }) if v.value == *b)
        }
        Value::Str(s) => word(expr).as_deref() == Some(*s),
        Value::Ints(list) => {
            let elems: Vec<&Expr> = match expr {
                Expr::Tuple(t) => t.elems.iter().collect(),
                Expr::Array(a) => a.elems.iter().collect(),
                // An integer `n` is the pair `(n, n)`, as Keras reads `dilation_rate = 1`.
                e => {
                    return list.len() == 2
                        && list.iter().all(|v| int_value(e) == Some(i128::from(*v)))
                }
            };
            elems.len() == list.len()
                && elems
                    .iter()
                    .zip(*list)
                    .all(|(e, v)| int_value(e) == Some(i128::from(*v)))
        }
        Value::Null => is_none(expr),
    }
}

/// A Keras value as `sequential!` writes it: `"channels_last"`, `(1, 1)`, `1`.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Str(s) => format!("\"{s}\""),
        Value::Ints(v) => {
            let parts: Vec<String> = v.iter().map(i64::to_string).collect();
            match parts.as_slice() {
                [one] => format!("({one},)"),
                _ => format!("({})", parts.join(", ")),
            }
        }
        Value::Null => "None".into(),
    }
}

/// Python's `None`.
pub fn is_none(expr: &Expr) -> bool {
    matches!(expr, Expr::Path(p) if p.path.is_ident("None"))
}

/// The two integers of a two-element tuple or array.
fn two_ints<P>(elems: &syn::punctuated::Punctuated<Expr, P>) -> Option<(i128, i128)> {
    let mut it = elems.iter();
    Some((int_value(it.next()?)?, int_value(it.next()?)?))
}

/// An integer `n` (meaning `(n, n)`) or a pair `(a, b)` of integers, unchecked.
fn pair(expr: &Expr) -> Option<(i128, i128)> {
    match expr {
        Expr::Tuple(t) if t.elems.len() == 2 => two_ints(&t.elems),
        Expr::Array(a) if a.elems.len() == 2 => two_ints(&a.elems),
        e => int_value(e).map(|v| (v, v)),
    }
}

/// Keras' `kernel_size`, `strides`, `pool_size`: an integer for both axes or a pair of positive
/// integers.
pub fn pair_value(errors: &mut Errors, expr: &Expr, what: &str) -> Option<(usize, usize)> {
    match pair(expr) {
        Some((a, b)) if a >= 1 && b >= 1 && a <= i32::MAX as i128 && b <= i32::MAX as i128 => {
            Some((a as usize, b as usize))
        }
        Some((a, b)) => {
            errors.push(
                expr.span(),
                format!("{what} must be positive integers, got ({a}, {b})"),
            );
            None
        }
        None => {
            errors.push(
                expr.span(),
                format!(
                    "{what} is an integer or a pair of integers such as `(3, 3)`, got `{}`",
                    expr.to_token_stream()
                ),
            );
            None
        }
    }
}

/// A number or a tuple of numbers, one per feature (`0.5`, `(0.1, 2.0)`, `[1, 2]`), as Keras'
/// array arguments take them.
pub fn numbers(errors: &mut Errors, expr: &Expr, what: &str) -> Option<Vec<f64>> {
    let elems: Vec<&Expr> = match expr {
        Expr::Tuple(t) => t.elems.iter().collect(),
        Expr::Array(a) => a.elems.iter().collect(),
        e => vec![e],
    };
    let values: Option<Vec<f64>> = elems
        .iter()
        .map(|e| float_value(e).filter(|v| fits_f32(*v)))
        .collect();
    match values {
        Some(v) if !v.is_empty() => Some(v),
        _ => {
            errors.push(
                expr.span(),
                format!(
                    "{what} must be a number or a tuple of numbers such as `(0.5, 2.0)`, got `{}`",
                    expr.to_token_stream()
                ),
            );
            None
        }
    }
}

/// The elements of a tuple or array expression, or an error saying what a shape looks like.
pub fn tuple_elements<'a>(errors: &mut Errors, expr: &'a Expr) -> Option<Vec<&'a Expr>> {
    match expr {
        Expr::Tuple(t) => Some(t.elems.iter().collect()),
        Expr::Array(a) => Some(a.elems.iter().collect()),
        Expr::Paren(p) if int_value(&p.expr).is_some() => {
            errors.push(
                expr.span(),
                format!(
                    "a shape is a tuple: write `({},)` with a trailing comma",
                    p.expr.to_token_stream()
                ),
            );
            None
        }
        _ => {
            errors.push(
                expr.span(),
                "a shape is a tuple of sizes such as `(10,)` or `(28, 28, 1)`",
            );
            None
        }
    }
}

fn linear() -> ActivationPlan {
    ActivationPlan {
        ty: "Linear",
        init: quote::quote!(),
    }
}

/// `relu`, `"relu"`, `None`, `leaky_relu(0.1)`, `leaky_relu(negative_slope = 0.1)`, `gelu(approximate = true)`.
pub fn activation(errors: &mut Errors, expr: &Expr) -> ActivationPlan {
    let (name, args, span): (String, Vec<Arg>, Span) = match expr {
        // The guard checked `get_ident`; the `None` arm is unreachable.
        Expr::Path(p) if p.path.get_ident().is_some() => match p.path.get_ident() {
            Some(id) => (id.to_string(), Vec::new(), id.span()),
            None => return linear(),
        },
        // `"relu"`, or `'relu'` as Python allows (see `string_literal`).
        Expr::Lit(ExprLit { lit, .. }) if string_literal(expr).is_some() => {
            match string_literal(expr) {
                Some(name) => (name, Vec::new(), lit.span()),
                None => return linear(),
            }
        }
        Expr::Call(call) => match &*call.func {
            Expr::Path(p) if p.path.get_ident().is_some() => {
                // The guard checked it; the fallback is unreachable.
                let Some(id) = p.path.get_ident() else {
                    return linear();
                };
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

    // `None` is Python's way of saying linear.
    let lookup = if name == "None" {
        "linear"
    } else {
        name.as_str()
    };
    let Some(fact) = nn_keras::activations::get(lookup) else {
        errors.push(
            span,
            format!(
                "unknown activation `{name}`{}; Keras' activations are {}",
                did_you_mean(&name, &nn_keras::activations::NAMES),
                nn_keras::activations::NAMES.join(", ")
            ),
        );
        return linear();
    };
    let ty = fact.runtime;
    let Some(param) = fact.param else {
        if !args.is_empty() {
            errors.push(span, format!("`{name}` takes no arguments"));
            return linear();
        }
        return ActivationPlan {
            ty,
            init: quote::quote!(),
        };
    };
    if args.len() > 1 {
        errors.push(
            span,
            format!("`{name}` takes one argument, `{}`", param.name),
        );
        return linear();
    }
    let field = quote::format_ident!("{}", param.name);
    let value = match args.first() {
        Some(Arg { key, value }) => {
            let named_right =
                |k: &syn::Ident| *k == param.name || param.alias.is_some_and(|a| *k == a);
            if let Some(k) = key.as_ref().filter(|k| !named_right(k)) {
                errors.push(
                    k.span(),
                    match param.alias {
                        Some(alias) => format!(
                            "{name}'s argument is `{}` (Keras 2's `{alias}` also works)",
                            param.name
                        ),
                        None => format!("{name}'s argument is `{}`", param.name),
                    },
                );
            }
            activation_param_value(errors, &name, param, Some(value))
        }
        None => activation_param_value(errors, &name, param, None),
    };
    ActivationPlan {
        ty,
        init: quote::quote!({ #field: #value }),
    }
}

/// An activation parameter's value as a literal of the runtime field's type: a float (an `f32`
/// ≥ 0, leaky_relu's slope) or a bool (gelu's `approximate`); Keras' default when not given.
fn activation_param_value(
    errors: &mut Errors,
    name: &str,
    param: nn_keras::activations::ActivationParam,
    given: Option<&Expr>,
) -> proc_macro2::TokenStream {
    match param.default {
        Value::Bool(default) => {
            let what = format!("{name}'s {}", param.name);
            let v = given
                .and_then(|g| bool_value(errors, g, &what))
                .unwrap_or(default);
            quote::quote!(#v)
        }
        Value::Float(default) => {
            let v = match given {
                None => default,
                Some(g) => match float_value(g).filter(|v| fits_f32(*v) && *v >= 0.0) {
                    Some(v) => v,
                    None => {
                        errors.push(
                            g.span(),
                            format!(
                                "{name}'s {} must be a number ≥ 0, e.g. {default}",
                                param.name
                            ),
                        );
                        default
                    }
                },
            } as f32;
            quote::quote!(#v)
        }
        other => {
            errors.push(
                Span::call_site(),
                format!("sequential!: internal error (activation default {other:?})"),
            );
            quote::quote!(0.0)
        }
    }
}

/// The text of a literal written in single quotes with more than one character (`'relu'`), which
/// rustc's lexer has already reported; `None` for any other literal.
fn quoted_in_single_quotes(lit: &Lit) -> Option<String> {
    let text = quote::ToTokens::to_token_stream(lit).to_string();
    let inner = text.strip_prefix('\'')?.strip_suffix('\'')?;
    (inner.chars().count() > 1).then(|| inner.to_string())
}
