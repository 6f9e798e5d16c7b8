//! The macro never panics: generated layer lists go through parse → check → expand, and each
//! ends either in spanned `syn::Error`s or in code that parses as a Rust file. Half the inputs
//! are wild (known, Keras-only and random layer names, unicode identifiers, any number of
//! arguments, keyword or positional, ints past every integer type, floats, strings, nested
//! tuples and calls), half are plausible models with small numbers (0 included), so that
//! expansion is reached as often as the checks.
//!
//! `SEQNET_MACRO_CASES` sets the number of cases (default 2,000, a few seconds); the counts
//! of what ran are printed (`cargo test -p nn-macros -- --nocapture props`).

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Layer names beside the macro's own lists (`layers::known_names`, the Keras-only ones): near misses,
/// unicode, raw identifiers, keywords.
const OTHER_NAMES: &[&str] = &[
    "InputLayer",
    "dense",
    "Dénse",
    "Плотный",
    "密集",
    "r#Dense",
    "_",
    "self",
];

/// Every layer name the macro knows or refuses by name, and the others above.
fn names() -> &'static [&'static str] {
    static ALL: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        crate::layers::known_names()
            .into_iter()
            .chain(crate::layers::keras_only_names())
            .chain(OTHER_NAMES.iter().copied())
            .collect()
    })
}

/// Argument names beside every parameter nn-keras lists for seqnet's layers: Input's, names
/// Keras has that seqnet does not take, unicode, raw identifiers.
const OTHER_KEYS: &[&str] = &[
    "shape",
    "input_shape",
    "input_dim",
    "name",
    "batch_size",
    "kernel_initializer",
    "größe",
    "r#type",
];

/// Every argument name the layers take, and the others above.
fn keys() -> &'static [&'static str] {
    static ALL: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        let mut keys: Vec<&'static str> = nn_keras::layers::ALL
            .iter()
            .flat_map(|l| l.params.iter().map(|p| p.name))
            .chain(OTHER_KEYS.iter().copied())
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    })
}

/// Values that are not numbers: activations, paddings, Python's words.
const WORDS: &[&str] = &[
    "relu", "sigmoid", "softmax", "tanh", "linear", "same", "valid", "None", "True", "true",
    "false", "gelu", "relu6", "Relu", "inf", "NaN", "x",
];

fn pick(list: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::sample::select(list).prop_map(String::from)
}

/// An argument value, nested up to three levels (tuples, lists, calls, negation).
fn value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(|v| v.to_string()),
        any::<u128>().prop_map(|v| v.to_string()),
        Just("99999999999999999999999999999999999999999".to_string()),
        any::<f64>()
            .prop_filter("finite", |v| v.is_finite())
            .prop_map(|v| format!("{v:?}")),
        "[0-9]{1,3}\\.[0-9]{0,3}(e[+-]?[0-9]{1,3})?(f32|f64)?",
        "[0-9]{1,4}(u8|i32|usize)?",
        pick(WORDS),
        "\"[a-zé€ _😀]{0,6}\"",
        Just("b'x'".to_string()),
        Just("'r'".to_string()),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("({})", v.join(", "))),
            inner.clone().prop_map(|v| format!("({v},)")),
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
            (pick(names()), prop::collection::vec(inner.clone(), 0..3))
                .prop_map(|(n, v)| format!("{n}({})", v.join(", "))),
            inner.clone().prop_map(|v| format!("-{v}")),
            (inner.clone(), inner).prop_map(|(a, b)| format!("{a} * {b}")),
        ]
    })
}

/// One argument, keyword or positional.
fn arg() -> impl Strategy<Value = String> {
    prop_oneof![
        value(),
        (pick(keys()), value()).prop_map(|(k, v)| format!("{k} = {v}")),
        (pick(keys()), value()).prop_map(|(k, v)| format!("{k}: {v}")),
    ]
}

/// One layer entry: a bare name or a call.
fn layer() -> impl Strategy<Value = String> {
    prop_oneof![
        pick(names()),
        (pick(names()), prop::collection::vec(arg(), 0..5))
            .prop_map(|(n, args)| format!("{n}({})", args.join(", "))),
        "[A-Za-z_][A-Za-z0-9_]{0,8}",
        (pick(names()), pick(names())).prop_map(|(a, b)| format!("{a}::{b}")),
    ]
}

/// A whole macro input, sometimes with attributes, another struct name or trailing tokens.
fn model() -> impl Strategy<Value = String> {
    let layers = prop::collection::vec(layer(), 0..8);
    let separator = prop_oneof![Just(", "), Just(", "), Just("; "), Just(" ")];
    let head = prop_oneof![
        Just("pub struct Model".to_string()),
        Just("struct Model".to_string()),
        Just("#[derive(Clone)] pub(crate) struct Ünïcode".to_string()),
        Just("/// Docs.\nstruct M<T>".to_string()),
        Just("pub Model".to_string()),
        Just("enum Model".to_string()),
    ];
    let tail = prop_oneof![Just(""), Just(""), Just(","), Just(" extra"), Just(" ;")];
    (head, layers, separator, tail)
        .prop_map(|(head, layers, sep, tail)| format!("{head} {{ {} }}{tail}", layers.join(sep)))
}

/// A layer as a Keras user writes it, with small numbers (0 included) and the usual words: so
/// that a good share of the generated models check and expand, and the rest fail on a shape.
fn plausible_layer() -> impl Strategy<Value = String> {
    let n = || prop_oneof![8 => 1usize..7, 1 => Just(0usize)];
    let act = || {
        pick(&[
            "relu", "sigmoid", "softmax", "tanh", "linear", "gelu", "relu6",
        ])
    };
    let padding = || pick(&["\"same\"", "\"valid\"", "same"]);
    prop_oneof![
        (n(), act()).prop_map(|(u, a)| format!("Dense({u}, activation = {a})")),
        n().prop_map(|u| format!("Dense(units = {u})")),
        (n(), n(), padding(), act()).prop_map(|(f, k, p, a)| {
            format!("Conv2D({f}, ({k}, {k}), padding = {p}, activation = {a})")
        }),
        (n(), padding()).prop_map(|(k, p)| format!("MaxPooling2D(({k}, {k}), padding = {p})")),
        n().prop_map(|k| format!("AveragePooling2D(pool_size = {k})")),
        pick(&[
            "Flatten",
            "BatchNormalization",
            "GlobalAveragePooling2D",
            "GlobalMaxPooling2D",
            "Dropout(0.5)",
            "Dropout(rate = 1.0)",
            "BatchNormalization(momentum = 0.9)",
        ]),
        act().prop_map(|a| format!("Activation({a})")),
        (n(), n()).prop_map(|(a, b)| format!("Reshape(({a}, {b}))")),
        // Sequences and text.
        (
            n(),
            n(),
            pick(&["\"same\"", "\"valid\"", "\"causal\""]),
            n()
        )
            .prop_map(|(f, k, p, s)| format!("Conv1D({f}, {k}, padding = {p}, strides = {s})")),
        (n(), n()).prop_map(|(v, d)| format!("Embedding({v}, {d}, mask_zero = true)")),
        n().prop_map(|k| format!("MaxPooling1D({k})")),
        pick(&[
            "Masking",
            "Masking(mask_value = -1.0)",
            "LayerNormalization",
            "GlobalAveragePooling1D",
            "GlobalMaxPooling1D(keepdims = true)",
        ]),
        // Recurrent layers, alone and wrapped.
        (n(), pick(&["true", "false"]))
            .prop_map(|(u, s)| format!("LSTM({u}, return_sequences = {s})")),
        n().prop_map(|u| format!("GRU({u}, reset_after = false, go_backwards = true)")),
        (
            n(),
            pick(&["true", "false"]),
            pick(&["\"concat\"", "\"sum\"", "\"mul\"", "\"ave\"", "None"])
        )
            .prop_map(|(u, s, m)| {
                format!("Bidirectional(SimpleRNN({u}, return_sequences = {s}), merge_mode = {m})")
            }),
        pick(&[
            "Bidirectional(Dense(2))",
            "Bidirectional(GRU(3))",
            "Bidirectional",
            "LSTM(2, dropout = 0.5, recurrent_dropout = 0.2, seed = 3)",
        ]),
    ]
}

/// A model that starts (usually) with an input shape and goes on with plausible layers.
fn plausible_model() -> impl Strategy<Value = String> {
    let input = prop_oneof![
        (1usize..12).prop_map(|w| format!("Input(shape = ({w},))")),
        (1usize..9, 1usize..9, 1usize..4)
            .prop_map(|(h, w, c)| format!("Input(shape = ({h}, {w}, {c}))")),
        Just("Input(shape = (0,))".to_string()),
        Just(String::new()),
        (1usize..9, 1usize..5).prop_map(|(t, f)| format!("Input(shape = ({t}, {f}))")),
        (1usize..5).prop_map(|f| format!("Input(shape = (None, {f}))")),
        Just("Input(shape = (None,), dtype = \"int32\")".to_string()),
        (1usize..9).prop_map(|t| format!("Input(shape = ({t},), dtype = \"int32\")")),
    ];
    // Image layers, then (usually) Flatten and Dense layers: the order Keras models have.
    let flat = prop_oneof![
        (1usize..6, pick(&["relu", "sigmoid", "softmax"]))
            .prop_map(|(u, a)| format!("Dense({u}, activation = {a})")),
        pick(&["Dropout(0.25)", "BatchNormalization", "Activation(tanh)"]),
    ];
    let end = prop_oneof![3 => Just("Flatten"), 1 => Just(""), 1 => Just("GlobalMaxPooling2D")];
    (
        input,
        prop::collection::vec(plausible_layer(), 0..4),
        end,
        prop::collection::vec(flat, 0..3),
    )
        .prop_map(|(input, image, end, flat)| {
            let all: Vec<String> = std::iter::once(input)
                .chain(image)
                .chain(std::iter::once(end.to_string()))
                .chain(flat)
                .chain(std::iter::once("Dense(2)".to_string()))
                .filter(|l| !l.is_empty())
                .collect();
            format!("pub struct Model {{ {} }}", all.join(", "))
        })
}

/// How the cases ended.
#[derive(Default)]
struct Counts {
    not_tokens: AtomicUsize,
    expanded: AtomicUsize,
    errors: AtomicUsize,
    error_messages: AtomicUsize,
}

#[test]
fn the_macro_never_panics_on_generated_layer_lists() {
    let cases = std::env::var("SEQNET_MACRO_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(2_000);
    let counts = Counts::default();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let facade = quote::quote!(::seqnet);
    let inputs = prop_oneof![model(), plausible_model()];
    let outcome = runner.run(&inputs, |text| {
        // Text the Rust lexer refuses never reaches a macro.
        let Ok(tokens) = text.parse::<proc_macro2::TokenStream>() else {
            counts.not_tokens.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        };
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            super::pipeline(tokens, &facade)
        }));
        let Ok(result) = result else {
            return Err(TestCaseError::fail(format!("panicked on: {text}")));
        };
        match result {
            Ok(code) => {
                counts.expanded.fetch_add(1, Ordering::Relaxed);
                prop_assert!(
                    syn::parse2::<syn::File>(code.clone()).is_ok(),
                    "the expansion of {text} is not a Rust file:\n{code}"
                );
            }
            Err(error) => {
                counts.errors.fetch_add(1, Ordering::Relaxed);
                for e in error.clone() {
                    counts.error_messages.fetch_add(1, Ordering::Relaxed);
                    prop_assert!(!e.to_string().is_empty(), "an empty message for {text}");
                    // Spanned: on a token of the input (lines count from 1; the call site,
                    // line 0 here, is only for syn's "unexpected end of input").
                    let at = e.span().start();
                    prop_assert!(
                        at.line >= 1 || e.to_string().contains("end of input"),
                        "`{e}` for {text} is not on a token"
                    );
                }
                // What the compiler is handed parses as items.
                prop_assert!(syn::parse2::<syn::File>(error.to_compile_error()).is_ok());
            }
        }
        Ok(())
    });
    let read = |c: &AtomicUsize| c.load(Ordering::Relaxed);
    eprintln!(
        "sequential! on {cases} generated inputs: {} not Rust tokens, {} expanded to code that \
         parses, {} ended in {} spanned errors, 0 panics",
        read(&counts.not_tokens),
        read(&counts.expanded),
        read(&counts.errors),
        read(&counts.error_messages),
    );
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

/// The generator reaches expansions: known-good inputs expand, so the property is not only
/// ever checking errors.
#[test]
fn known_models_expand_to_code_that_parses() {
    for text in [
        "pub struct M { Input(shape = (10,)), Dense(64, activation = relu), Dense(1) }",
        "struct C { Input(shape = (8, 8, 1)), Conv2D(4, (3, 3)), MaxPooling2D((2, 2)), Flatten, \
         Dense(10, activation = softmax) }",
        "struct W { Dense(3) }",
    ] {
        let tokens: proc_macro2::TokenStream = text.parse().expect("tokens");
        let code = super::pipeline(tokens, &quote::quote!(::seqnet))
            .unwrap_or_else(|e| panic!("{text}: {e}"));
        assert!(syn::parse2::<syn::File>(code).is_ok(), "{text}");
    }
}
