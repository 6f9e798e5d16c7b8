//! Training on Keras' own weights and data gives Keras' own numbers: the loss, every gradient,
//! the weights after optimizer steps, and the loss and outputs after them.

mod common;
use common::*;
use seqnet::prelude::*;
use seqnet::Row;
use serde_json::Value;

sequential! {
    struct BinaryMlp {
        Input(shape = (10,)),
        Dense(64, activation = relu),
        Dense(32, activation = relu),
        Dense(1, activation = sigmoid),
    }
}

sequential! {
    struct SoftmaxMlp {
        Input(shape = (10,)),
        Dense(16, activation = tanh),
        Dense(3, activation = softmax),
    }
}

sequential! {
    struct Regression {
        Input(shape = (5,)),
        Dense(8, activation = elu),
        Dense(8, activation = gelu),
        Dense(2, activation = linear),
    }
}

/// Flat weights of a `[{"kernel": …, "bias": …}, …]` list (golden_seed_mlp's layout).
fn kernel_bias(v: &Value) -> Vec<f32> {
    layer_weights(v).concat()
}

/// Loss, gradients, 1 and 5 Adam steps, and the state after them, for a golden_seed_mlp case.
fn golden_mlp_case<N: Network>(case: &Value, model: N, loss: Loss) {
    let x: Vec<N::InputRow> = rows_of::<N>(&case["inputs"]);
    let y = flat(&case["labels"]);
    let init = kernel_bias(&case["initial_weights"]);
    let mut model = model.compile(Adam::new(0.001), loss, []);
    model.set_params(&init).unwrap();

    let (l, grads) = model.loss_and_gradients(&x, &y).unwrap();
    let want_loss = case["loss"].as_f64().unwrap() as f32;
    assert_close("loss", &[l as f32], &[want_loss], 1e-5, 0.0);
    // Keras' float32 gradients are themselves up to `max_abs` away from the float64 truth (the
    // file's cross-check); small gradients summed with cancellation show it. Allow that much.
    let keras_error = case["crosscheck_vs_numpy_float64"]["gradients"]["max_abs"]
        .as_f64()
        .unwrap() as f32;
    assert_close(
        "gradients",
        grads,
        &kernel_bias(&case["gradients"]),
        1e-5,
        keras_error,
    );
    assert_eq!(
        model.params(),
        &init[..],
        "a gradient must not change the weights"
    );

    let adam = &case["adam"];
    let losses = flat(&adam["train_on_batch_losses"]);
    let mut got_losses = Vec::new();
    for step in 1..=5 {
        got_losses.push(model.train_on_batch(&x, &y).unwrap() as f32);
        if step == 1 {
            let want = kernel_bias(&adam["weights_after_1_step"]);
            assert_close(
                "weights after 1 Adam step",
                model.params(),
                &want,
                1e-5,
                1e-5,
            );
        }
    }
    assert_close("train_on_batch losses", &got_losses, &losses, 1e-5, 0.0);
    let want = kernel_bias(&adam["weights_after_5_steps"]);
    assert_close(
        "weights after 5 Adam steps",
        model.params(),
        &want,
        1e-4,
        1e-5,
    );
    let scores = model.evaluate(&x, &y).unwrap();
    let want_after = adam["loss_after_5_steps"].as_f64().unwrap() as f32;
    assert_close(
        "loss after 5 steps",
        &[scores.loss as f32],
        &[want_after],
        1e-4,
        0.0,
    );
    let out = model.predict_flat(N::InputRow::flat(&x)).unwrap();
    let want_out = flat(&adam["forward_output_after_5_steps"]);
    assert_close("outputs after 5 steps", &out, &want_out, 1e-4, 1e-6);
}

#[test]
fn binary_mlp_matches_keras() {
    let Some(r) = load_reference("golden_seed_mlp.json") else {
        return;
    };
    golden_mlp_case(
        &r["cases"]["binary_mlp"],
        BinaryMlp::new(0),
        Loss::binary_crossentropy(),
    );
}

#[test]
fn softmax_mlp_matches_keras() {
    let Some(r) = load_reference("golden_seed_mlp.json") else {
        return;
    };
    golden_mlp_case(
        &r["cases"]["softmax_mlp"],
        SoftmaxMlp::new(0),
        Loss::sparse_categorical_crossentropy(),
    );
}

/// `mse_regression` from golden_layers.json: elu and exact-gelu layers, MSE, and three
/// optimizers from the same start.
fn regression_steps<O: Optimizer>(name: &str, optimizer: O) {
    let Some(r) = load_reference("golden_layers.json") else {
        return;
    };
    let case = &r["cases"]["mse_regression"];
    let x: Vec<[f32; 5]> = rows(&case["inputs"]["values"]);
    let y: Vec<[f32; 2]> = rows(&case["labels"]["values"]);
    let init = weight_list(&case["initial_weights"]);
    let mut model = Regression::new(0).compile(optimizer, Loss::MeanSquaredError, []);
    model.set_params(&init).unwrap();

    let out = model.predict(&x).unwrap();
    assert_close(
        "inference",
        out.as_flattened(),
        &flat(&case["inference"]["output"]),
        1e-5,
        1e-6,
    );
    let (loss, grads) = model.loss_and_gradients(&x, &y).unwrap();
    let training = &case["training"];
    assert_close(
        "loss",
        &[loss as f32],
        &[training["loss"].as_f64().unwrap() as f32],
        1e-5,
        0.0,
    );
    assert_close(
        "gradients",
        grads,
        &weight_list(&training["gradients"]),
        1e-5,
        1e-7,
    );

    let spec = &case["optimizers"][name];
    let steps = spec["steps"].as_u64().unwrap() as usize;
    let mut losses = Vec::new();
    for step in 1..=steps {
        losses.push(model.train_on_batch(&x, &y).unwrap() as f32);
        let want = weight_list(&spec["weights_after_step"][step.to_string()]);
        assert_close(
            &format!("{name} weights after step {step}"),
            model.params(),
            &want,
            1e-4,
            1e-5,
        );
    }
    assert_close(
        &format!("{name} losses"),
        &losses,
        &flat(&spec["train_on_batch_losses"]),
        1e-5,
        0.0,
    );
}

#[test]
fn regression_adam_matches_keras() {
    regression_steps("adam", Adam::new(0.001));
}

#[test]
fn regression_sgd_nesterov_matches_keras() {
    regression_steps("sgd", SGD::new(0.01).momentum(0.9).nesterov(true));
}

#[test]
fn regression_rmsprop_matches_keras() {
    regression_steps("rmsprop", RMSprop::new(0.001));
}

#[test]
fn saturated_logits_give_keras_loss_not_the_clipped_one() {
    let Some(r) = load_reference("golden_seed_mlp.json") else {
        return;
    };
    use seqnet::loss::{LossBatch, Reads};
    let probe = &r["loss_probe"];
    let value = |v: &Value| v.as_f64().unwrap() as f32;
    // The values the issue quotes: Keras' from-logits losses, not the clipped ones.
    assert_eq!(probe["binary"]["keras_loss"].as_f64(), Some(13.4913588));
    assert_eq!(
        probe["sparse_categorical"]["keras_loss"].as_f64(),
        Some(15.1566305)
    );

    // Binary: three rows, one sigmoid output; the logits are the pre-activations.
    let logits = flat(&probe["binary"]["logits"]);
    let labels = flat(&probe["binary"]["labels"]);
    let probs: Vec<f32> = logits
        .iter()
        .map(|&z| seqnet::activations::sigmoid(z))
        .collect();
    let bce = Loss::binary_crossentropy();
    assert_eq!(bce.reads("sigmoid"), Reads::PreActivation);
    let batch = LossBatch {
        output: &probs,
        pre_activation: &logits,
        labels: &labels,
        sample_weight: None,
        output_activation: "sigmoid",
        width: 1,
    };
    let (loss, _) = bce.evaluate(batch, None);
    assert_close(
        "binary probe",
        &[loss as f32],
        &[value(&probe["binary"]["keras_loss"])],
        1e-6,
        0.0,
    );
    // The clipped formula is what a non-sigmoid output gets, and it is Keras' clipped value.
    let (clipped, _) = bce.evaluate(
        LossBatch {
            output_activation: "linear",
            ..batch
        },
        None,
    );
    assert_close(
        "binary probe clipped",
        &[clipped as f32],
        &[value(&probe["binary"]["clipped_probs_loss"])],
        1e-6,
        0.0,
    );

    // Sparse categorical: two rows of two softmax outputs.
    let logits = flat(&probe["sparse_categorical"]["logits"]);
    let labels = flat(&probe["sparse_categorical"]["labels"]);
    let mut probs = logits.clone();
    for row in probs.chunks_mut(2) {
        use seqnet::activations::Activation;
        seqnet::activations::Softmax.apply_row(row);
    }
    let scce = Loss::sparse_categorical_crossentropy();
    let batch = LossBatch {
        output: &probs,
        pre_activation: &logits,
        labels: &labels,
        sample_weight: None,
        output_activation: "softmax",
        width: 2,
    };
    let (loss, _) = scce.evaluate(batch, None);
    assert_close(
        "sparse probe",
        &[loss as f32],
        &[value(&probe["sparse_categorical"]["keras_loss"])],
        1e-6,
        0.0,
    );
    let (clipped, _) = scce.evaluate(
        LossBatch {
            output_activation: "linear",
            ..batch
        },
        None,
    );
    assert_close(
        "sparse probe clipped",
        &[clipped as f32],
        &[value(&probe["sparse_categorical"]["clipped_probs_loss"])],
        1e-6,
        0.0,
    );
}
