//! `LayerNormalization` against Keras (`tests/reference/layer_norm.json`, made by
//! `tools/make_layer_norm_golden.py`): predictions, then three Adam(0.01) `train_on_batch`
//! steps' losses and weights, on a flat input between Dense layers and on a (steps, features)
//! input without β.

mod common;

use common::adam_steps_as_keras;
use seqnet::prelude::*;
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

/// A case replayed on `model` (see `common::adam_steps_as_keras`).
fn steps<N: Network>(name: &str, model: N, loss: Loss) {
    adam_steps_as_keras(name, &golden()["cases"][name], model, loss);
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
