//! Keras 3's `quantize("int8")` against seqnet's (`tests/reference/int8.json`, made by
//! `tools/make_int8_golden.py` with Keras 3.15.1 on JAX): the same float weights quantize to
//! the same int8 tensors and scales (exactly: one IEEE formula), and the quantized models give
//! Keras' outputs to 1e-5 relative (measured: at most 1.2e-7), batched and one row at a time,
//! for Dense with its inputs quantized (small kernels, which run as exact f32 products, and a
//! 1100-input one on the int8 tiles), weight-only Dense, a Dense without bias, Embedding +
//! per-step Dense, and a Conv2D model whose Conv2D stays float32 as in Keras.

mod common;

use common::{assert_close, flat, rows_of, tensors};
use seqnet::prelude::*;
use seqnet::Row;
use serde_json::Value;

sequential! {
    pub struct Mlp {
        Input(shape = (20,)),
        Dense(16, activation = relu),
        Dense(8, activation = tanh),
        Dense(3, activation = softmax),
    }
}

sequential! {
    /// Deep and large enough for the int8 tiles (k > 1024: the exact f32 path does not apply).
    pub struct Wide {
        Input(shape = (1100,)),
        Dense(16, activation = relu),
        Dense(3, activation = softmax),
    }
}

sequential! {
    pub struct NoBias {
        Input(shape = (12,)),
        Dense(5, use_bias = false),
    }
}

sequential! {
    pub struct Text {
        Input(shape = (6,), dtype = "int32"),
        Embedding(25, 8),
        Dense(8, activation = relu),
        GlobalAveragePooling1D,
        Dense(2, activation = softmax),
    }
}

sequential! {
    pub struct Conv {
        Input(shape = (6, 6, 1)),
        Conv2D(3, 3, activation = relu),
        Flatten,
        Dense(4, activation = softmax),
    }
}

fn golden() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/reference/int8.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Checks one case on `float` (a new model of the case's architecture): the quantized
/// tensors equal Keras', the outputs are within 1e-5 of Keras', batched and row by row.
fn check<N: Network>(mut float: N, name: &str, config: Int8QuantizationConfig) -> Quantized<N> {
    let doc = golden();
    let case = &doc["cases"][name];
    float.set_weights(&tensors(&case["float_weights"])).unwrap();
    let q = float.quantize_with(config).unwrap();
    // The int8 tensors and scales, in Keras' file order, exactly; the float ones as given.
    let want = case["quantized"].as_array().unwrap();
    let got = q.file_tensors();
    assert_eq!(got.len(), want.len(), "{name}: tensor count");
    for ((tensor, shape, values, dtype), w) in got.iter().zip(want) {
        assert_eq!(
            dtype.name(),
            w["dtype"].as_str().unwrap(),
            "{name}: {tensor}"
        );
        let keras_shape: Vec<usize> = serde_json::from_value(w["shape"].clone()).unwrap();
        assert_eq!(shape, &keras_shape, "{name}: {tensor}");
        assert_eq!(
            values,
            &flat(&w["values"]),
            "{name}: {tensor} differs from Keras'"
        );
    }
    let x = rows_of::<N>(&case["inputs"]);
    let want = flat(&case["outputs"]);
    let mut out = q.predict(&x).unwrap();
    let out = Row::flat_mut(&mut out).to_vec();
    assert_close(name, &out, &want, 1e-5, 1e-6);
    for (row, want) in x.iter().zip(want.chunks(N::OUTPUT_WIDTH)) {
        let one = q.predict_one(row).unwrap();
        assert_close(name, one.as_flat(), want, 1e-5, 1e-6);
    }
    // The quantized outputs differ from the float ones (the test would pass on a float pass
    // otherwise).
    let float_out = flat(&case["float_outputs"]);
    let moved = out
        .iter()
        .zip(&float_out)
        .any(|(a, b)| (a - b).abs() > 1e-4);
    assert!(moved, "{name}: the int8 outputs equal the float ones");
    q
}

#[test]
fn dense_with_quantized_inputs_matches_keras() {
    let q = check(Mlp::new(0), "mlp", Int8QuantizationConfig::default());
    assert!(q.int8_weights(0).unwrap().quantizes_inputs());
}

#[test]
fn the_int8_tiles_match_keras() {
    check(Wide::new(0), "wide", Int8QuantizationConfig::default());
}

#[test]
fn weight_only_dense_matches_keras() {
    let q = check(
        Mlp::new(0),
        "mlp_weight_only",
        Int8QuantizationConfig::weight_only(),
    );
    assert!(!q.int8_weights(0).unwrap().quantizes_inputs());
}

#[test]
fn dense_without_bias_matches_keras() {
    check(NoBias::new(0), "no_bias", Int8QuantizationConfig::default());
}

#[test]
fn embedding_and_per_step_dense_match_keras() {
    check(Text::new(0), "text", Int8QuantizationConfig::default());
}

#[test]
fn conv2d_stays_float_and_dense_matches_keras() {
    let q = check(Conv::new(0), "conv", Int8QuantizationConfig::default());
    assert!(q.int8_weights(0).is_none(), "Conv2D is not quantized");
    assert!(q.int8_weights(2).is_some(), "the Dense layer is");
}

/// Keras' summary of the quantized `mlp` (printed by Keras 3.15.1): each Dense layer's int8
/// kernel, bias and kernel_scale; the int8 values one byte each.
#[test]
fn summary_counts_as_keras() {
    let q = Mlp::new(0).quantize("int8").unwrap();
    let text = q.summary_string();
    // dense: 20·16 + 16 + 16; dense_1: 16·8 + 8 + 8; dense_2: 8·3 + 3 + 3.
    for count in ["352", "144", "30"] {
        assert!(text.contains(count), "{text}");
    }
    // Total 526: 472 int8 values (472 B) + 54 float32 (216 B) = 688 B; trainable: the biases.
    assert!(text.contains("Total params: 526 (688.00 B)"), "{text}");
    assert!(text.contains("Trainable params: 27 (108.00 B)"), "{text}");
    assert!(
        text.contains("Non-trainable params: 499 (580.00 B)"),
        "{text}"
    );
    assert_eq!(q.count_params(), 526);
}

#[test]
fn modes_keras_has_but_seqnet_does_not_build_are_named() {
    let err = Mlp::new(0).quantize("int4").unwrap_err().to_string();
    assert!(err.contains("int4") && err.contains("int8"), "{err}");
    let err = Mlp::new(0).quantize("int9").unwrap_err().to_string();
    assert!(err.contains("int9"), "{err}");
}
