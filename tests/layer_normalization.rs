//! `LayerNormalization` against Keras (`tests/reference/layer_norm.json`, made by
//! `tools/make_layer_norm_golden.py`): predictions, then three Adam(0.01) `train_on_batch`
//! steps' losses and weights, on a flat input between Dense layers and on a (steps, features)
//! input without β.

mod common;

use common::{assert_close, flat, rows_of};
use seqnet::prelude::*;
use seqnet::Row;
use serde_json::Value;

sequential! {
    struct DenseLayerNorm {
        Input(shape = (5,)),
        Dense(6, activation = tanh),
        LayerNormalization,
        Dense(3, activation = softmax),
    }
}

sequential! {
    struct SequenceNoCenter {
        Input(shape = (4, 3)),
        LayerNormalization(epsilon = 1e-2, center = false),
        Flatten,
        Dense(1, activation = sigmoid),
    }
}

fn golden() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/reference/layer_norm.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("the committed reference"))
        .expect("valid JSON")
}

fn tensors(v: &Value) -> Vec<Vec<f32>> {
    v.as_array().unwrap().iter().map(flat).collect()
}

fn steps<N: Network>(name: &str, model: N, loss: Loss) {
    let g = golden();
    let case = &g["cases"][name];
    let mut model = model.compile(Adam::new(0.01), loss, []);
    model.set_weights(&tensors(&case["weights"])).unwrap();
    let x = rows_of::<N>(&case["inputs"]);
    let y = flat(&case["labels"]);
    let want = flat(&case["predictions"]);
    assert_close(
        "predictions",
        &model.predict_flat(N::InputRow::flat(&x)).unwrap(),
        &want,
        1e-5,
        1e-6,
    );
    let width = N::OUTPUT_WIDTH;
    for (row, want) in x.iter().zip(want.chunks(width)) {
        assert_close(
            "one row",
            &model.predict_flat(row.as_flat()).unwrap(),
            want,
            1e-5,
            1e-6,
        );
    }
    for (i, step) in case["steps"].as_array().unwrap().iter().enumerate() {
        let loss = model.train_on_batch(&x, &y[..]).unwrap();
        let keras = step["loss"].as_f64().unwrap();
        assert!(
            (loss - keras).abs() <= 1e-4 * keras.abs().max(1e-3),
            "{name} step {i}: loss {loss} vs Keras {keras}"
        );
        assert_close(
            &format!("{name} weights after step {i}"),
            &model.get_weights().concat(),
            &tensors(&step["weights"]).concat(),
            1e-4,
            1e-4,
        );
    }
}

#[test]
fn layer_normalization_between_dense_layers_trains_as_keras() {
    steps(
        "dense_layernorm",
        DenseLayerNorm::new(0),
        Loss::sparse_categorical_crossentropy(),
    );
}

#[test]
fn layer_normalization_per_step_without_beta_trains_as_keras() {
    steps(
        "sequence_no_center",
        SequenceNoCenter::new(0),
        Loss::binary_crossentropy(),
    );
}

#[test]
fn summary_counts_gamma_and_beta() {
    // Six features: γ and β, trainable.
    assert_eq!(
        DenseLayerNorm::new(0).count_params(),
        5 * 6 + 6 + 12 + 6 * 3 + 3
    );
    let s = SequenceNoCenter::new(0).summary_string();
    assert!(
        s.contains("layer_normalization (LayerNormalization)"),
        "{s}"
    );
    assert!(s.contains("Trainable params: 16"), "{s}");
}
