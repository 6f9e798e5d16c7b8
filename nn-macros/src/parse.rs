//! Syntax: reads `[attrs] vis struct Name { Layer(args), … }` into layer entries with their
//! arguments, keeping every token's span for the error messages of `shape.rs`. Nothing here knows
//! what a layer means; it only checks the form `Name`, `Name(positional, key = value)`.

use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{braced, Attribute, Expr, Ident, Token, Visibility};

/// The whole `sequential!` input.
pub struct ModelDecl {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    pub layers: Vec<LayerDecl>,
    /// The closing brace, where "the model has no layer" points.
    pub body_span: proc_macro2::Span,
}

/// One entry of the layer list: `Dense(64, activation = relu)` or `Flatten`.
pub struct LayerDecl {
    pub kind: Ident,
    pub args: Vec<Arg>,
}

/// One argument: positional (`64`) or keyword (`activation = relu`).
pub struct Arg {
    pub key: Option<Ident>,
    pub value: Expr,
}

impl Parse for ModelDecl {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        input.parse::<Token![struct]>()?;
        let name: Ident = input.parse()?;
        let content;
        let brace = braced!(content in input);
        let entries = Punctuated::<Expr, Token![,]>::parse_terminated(&content)?;
        let layers = entries
            .into_iter()
            .map(layer_entry)
            .collect::<syn::Result<Vec<_>>>()?;
        if !input.is_empty() {
            return Err(input.error("expected nothing after the model's closing brace"));
        }
        Ok(ModelDecl {
            attrs,
            vis,
            name,
            layers,
            body_span: brace.span.join(),
        })
    }
}

/// The path's single identifier (the callers' guards check there is one; the error is a fallback).
fn ident_of(path: &syn::Path) -> syn::Result<syn::Ident> {
    path.get_ident().cloned().ok_or_else(|| {
        syn::Error::new_spanned(path, "expected a layer name such as `Dense` or `Flatten`")
    })
}

/// One entry of the layer list (also Bidirectional's `layer` argument).
pub fn layer_entry(expr: Expr) -> syn::Result<LayerDecl> {
    match expr {
        Expr::Path(p) if p.path.get_ident().is_some() => Ok(LayerDecl {
            kind: ident_of(&p.path)?,
            args: Vec::new(),
        }),
        Expr::Call(call) => {
            let kind = match &*call.func {
                Expr::Path(p) if p.path.get_ident().is_some() => ident_of(&p.path)?,
                other => {
                    return Err(syn::Error::new_spanned(
                        other,
                        "expected a layer name such as `Dense` or `Flatten`",
                    ))
                }
            };
            let args = call
                .args
                .into_iter()
                .map(argument)
                .collect::<syn::Result<_>>()?;
            Ok(LayerDecl { kind, args })
        }
        other => Err(syn::Error::new_spanned(
            other,
            "expected a layer such as `Dense(64, activation = relu)` or `Flatten`",
        )),
    }
}

/// Splits `key = value` from a positional value.
pub fn argument(expr: Expr) -> syn::Result<Arg> {
    match ungroup(expr) {
        Expr::Assign(assign) => match *assign.left {
            Expr::Path(p) if p.path.get_ident().is_some() => Ok(Arg {
                key: p.path.get_ident().cloned(),
                value: *assign.right,
            }),
            other => Err(syn::Error::new_spanned(
                other,
                "expected an argument name such as `activation`",
            )),
        },
        value => Ok(Arg { key: None, value }),
    }
}

/// `expr` without the invisible groups a `macro_rules!` fragment arrives in (`$steps:literal`
/// passed to `sequential!` from another macro is `Expr::Group`), at any depth, so that the
/// checks see the literal the user wrote.
fn ungroup(expr: Expr) -> Expr {
    match expr {
        Expr::Group(g) => ungroup(*g.expr),
        Expr::Paren(mut p) => {
            *p.expr = ungroup(*p.expr);
            Expr::Paren(p)
        }
        Expr::Unary(mut u) => {
            *u.expr = ungroup(*u.expr);
            Expr::Unary(u)
        }
        Expr::Binary(mut b) => {
            *b.left = ungroup(*b.left);
            *b.right = ungroup(*b.right);
            Expr::Binary(b)
        }
        Expr::Assign(mut a) => {
            *a.left = ungroup(*a.left);
            *a.right = ungroup(*a.right);
            Expr::Assign(a)
        }
        Expr::Tuple(mut t) => {
            t.elems.iter_mut().for_each(ungroup_in_place);
            Expr::Tuple(t)
        }
        Expr::Array(mut a) => {
            a.elems.iter_mut().for_each(ungroup_in_place);
            Expr::Array(a)
        }
        Expr::Call(mut c) => {
            c.args.iter_mut().for_each(ungroup_in_place);
            Expr::Call(c)
        }
        other => other,
    }
}

/// [`ungroup`] on an expression in place.
fn ungroup_in_place(expr: &mut Expr) {
    let taken = std::mem::replace(expr, Expr::Verbatim(proc_macro2::TokenStream::new()));
    *expr = ungroup(taken);
}
