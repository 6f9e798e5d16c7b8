//! `predict` on Keras' own weights and inputs gives Keras' own outputs.

mod common;
use common::*;
use seqnet::prelude::*;

sequential! {
    /// The tutorial model as `make_keras_files.py` trained it.
    struct SeedNet {
        Input(shape = (10,), name = "input_features"),
        Dense(64, activation = relu),
        Dense(32, activation = relu),
        Dense(1, activation = sigmoid),
    }
}

sequential! {
    /// `golden_seed_mlp.json`'s softmax case.
    struct SoftmaxMlp {
        Dense(16, activation = tanh, input_shape = (10,)),
        Dense(3, activation = softmax),
    }
}

#[test]
fn trained_tutorial_model_predicts_what_keras_predicts() {
    let Some(r) = load_reference("seed_model_predictions.json") else {
        return;
    };
    let mut model = SeedNet::new(0);
    let weights: Vec<Vec<f32>> = r["weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| flat(&w["values"]))
        .collect();
    model.set_weights(&weights).unwrap();
    let x: Vec<[f32; 10]> = rows(&r["inputs"]["values"]);
    let want = flat(&r["predictions"]["values"]);
    assert_eq!(x.len(), 16);

    let batch = model.predict(&x).unwrap();
    assert_close("predict", batch.as_flattened(), &want, 1e-5, 1e-6);
    let one: Vec<f32> = x
        .iter()
        .map(|row| model.predict_one(row).unwrap()[0])
        .collect();
    assert_close("predict_one", &one, &want, 1e-5, 1e-6);
    let flat_in: Vec<f32> = x.as_flattened().to_vec();
    let via_flat = model.predict_flat(&flat_in).unwrap();
    assert_eq!(via_flat, batch);
}

/// A golden_seed_mlp case's forward outputs from Keras' initial weights.
fn golden_forward<N: Network>(case_name: &str, mut model: N) {
    let Some(r) = load_reference("golden_seed_mlp.json") else {
        return;
    };
    let case = &r["cases"][case_name];
    assert_eq!(
        model.count_params() as u64,
        case["architecture"]["param_count"].as_u64().unwrap()
    );
    model
        .set_weights(&layer_weights(&case["initial_weights"]))
        .unwrap();
    let x = flat(&case["inputs"]);
    let want = flat(&case["forward_output"]);
    let got = model.predict_flat(&x).unwrap();
    assert_close(&format!("{case_name} forward"), &got, &want, 1e-5, 1e-6);
}

#[test]
fn golden_binary_mlp_forward_matches_keras() {
    golden_forward("binary_mlp", SeedNet::new(0));
}

#[test]
fn golden_softmax_mlp_forward_matches_keras() {
    golden_forward("softmax_mlp", SoftmaxMlp::new(0));
}
