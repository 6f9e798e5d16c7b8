//! Conv2D, pooling, BatchNormalization and Dropout on Keras' own weights and data give Keras' own
//! numbers (`../shared/reference/golden_layers.json`): every layer's output in inference and in
//! training mode, the logits, the loss in both modes, every gradient, BatchNormalization's moving
//! statistics after a training pass, and the weights after an Adam step.

mod common;
use common::*;
use seqnet::layers::{Phase, TrainingPass};
use seqnet::prelude::*;
use seqnet::{Row, Tape};
use serde_json::Value;

sequential! {
    /// `conv_small`: valid 3×3 conv + relu, 2×2 max pool, softmax.
    struct ConvSmall {
        Input(shape = (8, 8, 1)),
        Conv2D(4, (3, 3), activation = relu),
        MaxPooling2D((2, 2)),
        Flatten,
        Dense(3, activation = softmax),
    }
}

sequential! {
    /// `conv_same_stride`: strided 'same' conv + tanh (9×9 → 5×5, pads 1 and 1), 2×2 average
    /// pool of an odd size (5×5 → 2×2), sigmoid.
    struct ConvSameStride {
        Input(shape = (9, 9, 2)),
        Conv2D(3, (3, 3), strides = (2, 2), padding = "same", activation = tanh),
        AveragePooling2D((2, 2)),
        Flatten,
        Dense(1, activation = sigmoid),
    }
}

sequential! {
    /// `conv_pool_same_asym`: asymmetric 'same' padding in a conv and two pools; average
    /// pooling divides by the real cells.
    struct ConvPoolSameAsym {
        Input(shape = (8, 8, 2)),
        Conv2D(3, (3, 3), strides = (2, 2), padding = "same", activation = relu),
        MaxPooling2D(pool_size = (2, 2), strides = (1, 1), padding = "same"),
        AveragePooling2D((3, 3), strides = (2, 2), padding = "same"),
        Flatten,
        Dense(2, activation = softmax),
    }
}

sequential! {
    /// `bn_dropout_mlp` as Keras lists it (Dropout 0.5): its inference values.
    struct BnDropoutMlp {
        Input(shape = (10,)),
        Dense(16, activation = relu),
        BatchNormalization,
        Dropout(0.5),
        Dense(1, activation = sigmoid),
    }
}

sequential! {
    /// `bn_dropout_mlp`'s training variant (Dropout 0.0, so training is deterministic).
    struct BnDropoutMlpTraining {
        Input(shape = (10,)),
        Dense(16, activation = relu),
        BatchNormalization(),
        Dropout(rate = 0.0),
        Dense(1, activation = sigmoid),
    }
}

/// Forward values: Keras' float32 against ours, different summation orders.
const FORWARD: (f32, f32) = (1e-5, 2e-6);
/// Gradients of the mean loss.
const GRADIENTS: (f32, f32) = (1e-4, 1e-6);
/// Weights after an Adam step (see the reference README: near-zero gradients magnify rounding).
const STEPS: (f32, f32) = (1e-4, 1e-5);

/// One forward pass of `rows` in `phase`; every layer's output, in order.
fn layer_outputs<N: Network>(model: &N, x: &[f32], phase: Phase) -> Vec<Vec<f32>> {
    let rows = x.len() / N::INPUT_WIDTH;
    let mut tape = Tape::for_network::<N>(rows, true);
    model.forward(x, rows, &mut tape, phase).unwrap();
    (0..N::spec().layers.len())
        .map(|i| tape.layer_output(i, x, rows).to_vec())
        .collect()
}

fn check_layer_outputs<N: Network>(what: &str, model: &N, x: &[f32], phase: Phase, want: &Value) {
    let got = layer_outputs(model, x, phase);
    let spec = N::spec();
    for (i, layer) in want.as_array().unwrap().iter().enumerate() {
        assert_eq!(layer["layer"], spec.layers[i].name.as_str(), "layer order");
        assert_close(
            &format!("{what} output of {}", spec.layers[i].name),
            &got[i],
            &flat(&layer["values"]),
            FORWARD.0,
            FORWARD.1,
        );
    }
}

/// Every check of one golden case. `inference` is the model as Keras lists it, `training` the
/// one its training-mode values came from (the same model except in `bn_dropout_mlp`).
fn golden_case<I: Network, T: Network>(name: &str, inference: I, training: T, loss: Loss) {
    let Some(r) = load_reference("golden_layers.json") else {
        return;
    };
    let case = &r["cases"][name];
    let x_rows: Vec<I::InputRow> = rows_of::<I>(&case["inputs"]["values"]);
    let x = I::InputRow::flat(&x_rows);
    let y = flat(&case["labels"]["values"]);
    let init = weight_tensors(&case["initial_weights"]);
    let arch = &case["architecture"];
    assert_eq!(
        I::spec().trainable_param_count() as u64,
        arch["trainable_params"].as_u64().unwrap()
    );
    assert_eq!(
        (I::PARAM_COUNT - I::TRAINABLE_COUNT) as u64,
        arch["non_trainable_params"].as_u64().unwrap()
    );
    for (layer, want) in I::spec()
        .layers
        .iter()
        .zip(arch["layers"].as_array().unwrap())
    {
        assert_eq!(layer.class_name, want["class_name"], "class");
        let shape: Vec<usize> = want["output_shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(layer.output_shape, shape, "{} output shape", layer.name);
    }

    // Inference mode: every layer, the output, one row at a time, the loss.
    let mut model = inference;
    model.set_weights(&init).unwrap();
    let inf = &case["inference"];
    check_layer_outputs(
        "inference",
        &model,
        x,
        Phase::Inference,
        &inf["layer_outputs"],
    );
    let out = model.predict_flat(x).unwrap();
    assert_close(
        "inference output",
        &out,
        &flat(&inf["output"]),
        FORWARD.0,
        FORWARD.1,
    );
    for (row, want) in x.chunks(I::INPUT_WIDTH).zip(out.chunks(I::OUTPUT_WIDTH)) {
        let mut tape = Tape::for_network::<I>(1, false);
        model.forward(row, 1, &mut tape, Phase::Inference).unwrap();
        assert_eq!(
            tape.output(row, 1),
            want,
            "a row alone gives its batch output"
        );
    }
    let compiled = model.compile(Adam::new(0.001), loss, []);
    let scores = compiled.evaluate(&x_rows, &y).unwrap();
    assert_close(
        "inference loss",
        &[scores.loss as f32],
        &[inf["loss"].as_f64().unwrap() as f32],
        1e-5,
        1e-7,
    );
    let mut tape = Tape::for_network::<I>(x_rows.len(), true);
    compiled
        .forward(x, x_rows.len(), &mut tape, Phase::Inference)
        .unwrap();
    let logits = compiled
        .loss_view(x, x_rows.len(), &mut tape)
        .logits
        .to_vec();
    assert_close(
        "logits",
        &logits,
        &flat(&inf["logits"]),
        FORWARD.0,
        FORWARD.1,
    );

    // Training mode: the outputs, the loss, the gradients, an Adam step.
    let mut model = training;
    model.set_weights(&init).unwrap();
    let tr = &case["training"];
    let pass = Phase::Training(TrainingPass {
        seed: 0,
        step: 0,
        first_row: 0,
    });
    if !tr["same_as_inference"].as_bool().unwrap() {
        check_layer_outputs("training", &model, x, pass, &tr["layer_outputs"]);
    }
    let adam = &case["optimizers"]["adam"];
    let x_rows: Vec<T::InputRow> = rows_of::<T>(&case["inputs"]["values"]);
    let mut model = model.compile(Adam::new(0.001), loss, []);
    let (l, grads) = model.loss_and_gradients(&x_rows, &y).unwrap();
    assert_close(
        "training loss",
        &[l as f32],
        &[tr["loss"].as_f64().unwrap() as f32],
        1e-5,
        1e-7,
    );
    assert_close(
        "gradients",
        grads,
        &weight_list(&tr["gradients"]),
        GRADIENTS.0,
        GRADIENTS.1,
    );
    let state_before = model.state().to_vec();
    let step_loss = model.train_on_batch(&x_rows, &y).unwrap();
    assert_close(
        "train_on_batch loss",
        &[step_loss as f32],
        &flat(&adam["train_on_batch_losses"]),
        1e-5,
        1e-7,
    );
    if let Some(moving) = tr["moving_stats_after_one_forward"].as_array() {
        assert_ne!(
            model.state(),
            &state_before[..],
            "the moving statistics moved"
        );
        let want: Vec<f32> = moving.iter().flat_map(|m| flat(&m["values"])).collect();
        assert_close("moving statistics", model.state(), &want, 1e-5, 1e-7);
    }
    let want: Vec<f32> = weight_list(&adam["weights_after_step"]["1"]);
    assert_close(
        "weights after one Adam step",
        &model.get_weights().concat(),
        &want,
        STEPS.0,
        STEPS.1,
    );
}

#[test]
fn conv_small_matches_keras() {
    golden_case(
        "conv_small",
        ConvSmall::new(0),
        ConvSmall::new(0),
        Loss::sparse_categorical_crossentropy(),
    );
}

#[test]
fn conv_same_stride_matches_keras() {
    golden_case(
        "conv_same_stride",
        ConvSameStride::new(0),
        ConvSameStride::new(0),
        Loss::binary_crossentropy(),
    );
}

#[test]
fn conv_pool_same_asym_matches_keras() {
    golden_case(
        "conv_pool_same_asym",
        ConvPoolSameAsym::new(0),
        ConvPoolSameAsym::new(0),
        Loss::sparse_categorical_crossentropy(),
    );
}

#[test]
fn batch_norm_dropout_mlp_matches_keras() {
    golden_case(
        "bn_dropout_mlp",
        BnDropoutMlp::new(0),
        BnDropoutMlpTraining::new(0),
        Loss::binary_crossentropy(),
    );
}

#[test]
fn summaries_count_non_trainable_parameters_as_keras() {
    let summary = BnDropoutMlp::new(0).summary_string();
    // Dense 10·16+16 = 176, BatchNormalization 4·16 = 64 (32 trainable), Dense 17.
    assert!(summary.contains("│ batch_normalization (BatchNormalization) │ (None, 16)"));
    assert!(
        summary.contains(" Total params: 257 (1.00 KB)"),
        "{summary}"
    );
    assert!(
        summary.contains(" Trainable params: 225 (900.00 B)"),
        "{summary}"
    );
    assert!(
        summary.contains(" Non-trainable params: 32 (128.00 B)"),
        "{summary}"
    );
}
