//! The `mlp` case of `tests/reference/int8.json` as Keras saved it after `quantize("int8")`
//! (`int8_mlp.keras`, `int8_mlp.weights.h5`, made by `tools/make_int8_golden.py`): both files
//! load into the quantized seqnet model and predict Keras' outputs to 1e-5; the `.weights.h5`
//! seqnet writes for it has Keras' layout (kernel int8, bias, kernel_scale) and reads back bit
//! for bit; the float model refuses the quantized file, naming the int8 kernel.
#![cfg(feature = "keras")]

mod common;

use common::{assert_close, assert_other_precision, flat};
use seqnet::prelude::*;
use seqnet::Row;

sequential! {
    pub struct Mlp {
        Input(shape = (20,)),
        Dense(16, activation = relu),
        Dense(8, activation = tanh),
        Dense(3, activation = softmax),
    }
}

fn dir() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/reference")
}

fn case() -> (Vec<[f32; 20]>, Vec<f32>) {
    let text = std::fs::read_to_string(format!("{}/int8.json", dir())).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let case = &doc["cases"]["mlp"];
    let x = flat(&case["inputs"])
        .chunks(20)
        .map(|r| r.try_into().unwrap())
        .collect();
    (x, flat(&case["outputs"]))
}

#[test]
fn keras_quantized_files_load_and_predict_as_keras() {
    let (x, want) = case();
    for file in ["int8_mlp.keras", "int8_mlp.weights.h5"] {
        let mut q = Mlp::new(0).quantize("int8").unwrap();
        q.load_weights(format!("{}/{file}", dir())).unwrap();
        let mut got = q.predict(&x).unwrap();
        assert_close(file, Row::flat_mut(&mut got), &want, 1e-5, 1e-6);
    }
}

#[test]
fn a_keras_file_quantized_otherwise_is_refused() {
    // Keras quantized this model's Dense inputs (its config says so); a weight-only model
    // refuses it, naming how to make the model that reads it.
    let mut q = Mlp::new(0)
        .quantize_with(Int8QuantizationConfig::weight_only())
        .unwrap();
    let err = q
        .load_weights(format!("{}/int8_mlp.keras", dir()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("quantize(\"int8\")"), "{err}");
}

#[test]
fn seqnet_writes_keras_quantized_layout_and_reads_it_back() {
    let mut q = Mlp::new(0).quantize("int8").unwrap();
    q.load_weights(format!("{}/int8_mlp.weights.h5", dir()))
        .unwrap();
    let path = std::env::temp_dir().join(format!("seqnet-int8-{}.weights.h5", std::process::id()));
    q.save_weights(&path).unwrap();
    // Every layer's group as Keras writes it; the model's own (empty) `vars` group is named
    // after the model, `mlp` here and `sequential` in Keras' file.
    let layers = |path: &std::path::Path| -> Vec<String> {
        let all = seqnet::io::keras::weights_h5_layout(path).unwrap();
        all.into_iter()
            .filter(|l| l.starts_with("layers"))
            .collect()
    };
    let ours = layers(&path);
    let keras = layers(std::path::Path::new(&format!(
        "{}/int8_mlp.weights.h5",
        dir()
    )));
    assert_eq!(ours, keras);
    assert!(ours.iter().any(|l| l.contains("int8")), "{ours:?}");
    let mut back = Mlp::new(5).quantize("int8").unwrap();
    back.load_weights(&path).unwrap();
    assert_eq!(back.file_tensors(), q.file_tensors());

    // The float model refuses the quantized file, naming the int8 kernel.
    let keras_file = format!("{}/int8_mlp.weights.h5", dir());
    assert_other_precision(Mlp::new(0).load_weights(keras_file), true);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn keras2seqnet_says_how_a_quantized_file_loads() {
    let source =
        seqnet::keras::sequential_source(format!("{}/int8_mlp.keras", dir()), "Mlp").unwrap();
    assert_eq!(
        source,
        "// Quantized by Keras (`quantize(\"int8\")`): the file's weights load into\n\
         // `Mlp::new(0).quantize(\"int8\")?` with `load_weights`.\n\
         sequential! {\n    pub struct Mlp {\n        Input(shape = (20,)),\n        \
         Dense(16, activation = relu),\n        Dense(8, activation = tanh),\n        \
         Dense(3, activation = softmax),\n    }\n}\n"
    );
}

/// A Sequential config of two Dense layers, each with the dtype policy and quantization
/// config given.
fn config(layers: [(serde_json::Value, serde_json::Value); 2]) -> serde_json::Value {
    let dense = |name: &str, (dtype, quantization): (serde_json::Value, serde_json::Value)| {
        serde_json::json!({"class_name": "Dense", "config": {
            "name": name, "units": 4, "activation": "linear", "use_bias": true,
            "dtype": dtype, "quantization_config": quantization}})
    };
    let [a, b] = layers;
    serde_json::json!({"class_name": "Sequential", "config": {"layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [null, 3], "dtype": "float32"}},
        dense("dense", a), dense("dense_1", b)]}})
}

#[test]
fn keras2seqnet_names_quantizations_seqnet_does_not_build() {
    let int8 = serde_json::json!({"class_name": "QuantizedDTypePolicy",
        "config": {"mode": "int8", "source_name": "float32"}});
    let int4 = serde_json::json!({"class_name": "QuantizedDTypePolicy",
        "config": {"mode": "int4", "source_name": "float32"}});
    let float = serde_json::json!({"class_name": "DTypePolicy", "config": {"name": "float32"}});
    let weight_only = serde_json::json!({"class_name": "Int8QuantizationConfig",
        "config": {"weight_quantizer": null, "activation_quantizer": null}});
    let null = serde_json::Value::Null;
    let source = |c| seqnet::keras::source_from_config(&c, "Net");
    // Weight-only everywhere: the note names the config to quantize with.
    let ok = source(config([
        (int8.clone(), weight_only.clone()),
        (int8.clone(), weight_only.clone()),
    ]))
    .unwrap();
    assert!(ok.contains("Int8QuantizationConfig::weight_only()"), "{ok}");
    // int4, one layer quantized and one not, and two configs: errors naming the layer.
    let err = source(config([(int4, null.clone()), (int8.clone(), null.clone())])).unwrap_err();
    assert!(err.contains("int4"), "{err}");
    let err = source(config([
        (int8.clone(), null.clone()),
        (float, null.clone()),
    ]))
    .unwrap_err();
    assert!(err.contains("dense_1") && err.contains("filters"), "{err}");
    let err = source(config([(int8.clone(), null), (int8, weight_only)])).unwrap_err();
    assert!(err.contains("dense_1"), "{err}");
}
