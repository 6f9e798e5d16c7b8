//! Keras parity for the recurrent layers (`golden_seq.json`, made by
//! `../shared/reference/make_seq_golden.py` with Keras 3.15.1): LSTM over every step and over
//! pre-padded, masked token ids, GRU in both `reset_after` forms, SimpleRNN with
//! `go_backwards`, LayerNormalization before an LSTM: predictions batched and row by row, then
//! three Adam(0.01) `train_on_batch` steps on the same batch, each step's loss and every weight
//! after it (back-propagation through time against Keras' own gradients).

mod common;

use common::{adam_steps_as_keras, load_reference};
use seqnet::prelude::*;

sequential! {
    struct EmbLstmSeqMaxPool {
        Input(shape = (8,), dtype = "int32"),
        Embedding(25, 4),
        LSTM(6, return_sequences = true),
        GlobalMaxPooling1D,
        Dense(1, activation = sigmoid),
    }
}

sequential! {
    struct EmbMaskPrepadLstm {
        Input(shape = (9,), dtype = "int32"),
        Embedding(20, 5, mask_zero = true),
        LSTM(7),
        Dense(2, activation = softmax),
    }
}

sequential! {
    struct GruRegression {
        Input(shape = (6, 3)),
        GRU(5),
        Dense(1),
    }
}

sequential! {
    struct GruV1SeqFlatten {
        Input(shape = (5, 3)),
        GRU(4, reset_after = false, return_sequences = true),
        Flatten,
        Dense(2, activation = softmax),
    }
}

sequential! {
    struct SimpleRnnBackwards {
        Input(shape = (7, 2)),
        SimpleRNN(6, go_backwards = true),
        Dense(1, activation = sigmoid),
    }
}

sequential! {
    struct LayerNormLstm {
        Input(shape = (5, 6)),
        LayerNormalization,
        LSTM(4),
        Dense(1),
    }
}

fn steps<N: Network>(case: &str, model: N, loss: Loss) {
    let Some(r) = load_reference("golden_seq.json") else {
        return;
    };
    adam_steps_as_keras(case, &r["cases"][case], model, loss);
}

#[test]
fn lstm_returning_sequences_trains_as_keras() {
    steps(
        "emb_lstm_seq_maxpool",
        EmbLstmSeqMaxPool::new(0),
        Loss::binary_crossentropy(),
    );
}

#[test]
fn lstm_over_masked_padding_trains_as_keras() {
    steps(
        "emb_mask_prepad_lstm",
        EmbMaskPrepadLstm::new(0),
        Loss::sparse_categorical_crossentropy(),
    );
}

#[test]
fn gru_trains_as_keras() {
    steps(
        "gru_regression",
        GruRegression::new(0),
        Loss::MeanSquaredError,
    );
}

#[test]
fn gru_without_reset_after_trains_as_keras() {
    steps(
        "gru_v1_seq_flatten",
        GruV1SeqFlatten::new(0),
        Loss::sparse_categorical_crossentropy(),
    );
}

#[test]
fn simple_rnn_going_backwards_trains_as_keras() {
    steps(
        "simplernn_backwards",
        SimpleRnnBackwards::new(0),
        Loss::binary_crossentropy(),
    );
}

#[test]
fn layer_normalization_before_lstm_trains_as_keras() {
    steps(
        "layernorm_lstm",
        LayerNormLstm::new(0),
        Loss::MeanSquaredError,
    );
}

sequential! {
    struct BiGru {
        Input(shape = (6, 4)),
        Bidirectional(GRU(4)),
        Dense(3, activation = softmax),
    }
}

#[test]
fn bidirectional_gru_trains_as_keras() {
    steps(
        "bigru",
        BiGru::new(0),
        Loss::sparse_categorical_crossentropy(),
    );
}

sequential! {
    /// Every recurrent path the golden cases leave out, for finite differences: a masked GRU
    /// without reset_after going backwards and returning sequences, a masked LSTM after it,
    /// a GRU without biases, a SimpleRNN (tanh: a relu kink within the finite difference's step
    /// would blur it).
    struct MaskedStack {
        Input(shape = (6,), dtype = "int32"),
        Embedding(9, 3, mask_zero = true),
        GRU(3, reset_after = false, go_backwards = true, return_sequences = true),
        GRU(3, use_bias = false, return_sequences = true),
        LSTM(3, return_sequences = true, go_backwards = true),
        SimpleRNN(2, activation = tanh),
        Dense(2),
    }
}

fn padded_ids() -> Vec<[i32; 6]> {
    vec![
        [0, 0, 1, 2, 3, 4],
        [5, 6, 7, 8, 1, 2],
        [0, 0, 0, 0, 3, 3],
        [0, 4, 4, 5, 6, 7],
        [8, 0, 2, 0, 1, 5],
    ]
}

sequential! {
    /// Bidirectional in every merge mode over a mask, returning sequences (zero outputs at
    /// masked steps, the backward copy reversed back) and not.
    struct BiStack {
        Input(shape = (6,), dtype = "int32"),
        Embedding(9, 3, mask_zero = true),
        Bidirectional(LSTM(3, return_sequences = true), merge_mode = "mul"),
        Bidirectional(SimpleRNN(2, return_sequences = true, activation = tanh), merge_mode = "sum"),
        Bidirectional(GRU(2, reset_after = false, return_sequences = true)),
        Bidirectional(GRU(2, go_backwards = true), merge_mode = "ave"),
        Dense(2),
    }
}

sequential! {
    /// Every dropout path: LSTM's shared input mask (no recurrent dropout), GRU's per-gate
    /// masks in both forms, recurrent dropout alone, both copies of a Bidirectional LSTM.
    struct DroppedStack {
        Input(shape = (6,), dtype = "int32"),
        Embedding(9, 3, mask_zero = true),
        LSTM(3, dropout = 0.3, return_sequences = true),
        GRU(3, dropout = 0.2, recurrent_dropout = 0.4, reset_after = false, return_sequences = true),
        GRU(3, recurrent_dropout = 0.3, return_sequences = true),
        Bidirectional(LSTM(2, dropout = 0.5, recurrent_dropout = 0.5)),
        Dense(2),
    }
}

#[test]
fn masked_backward_recurrent_gradients_match_finite_differences() {
    finite_differences("masked recurrent stack", MaskedStack::new(3), false);
}

#[test]
fn bidirectional_gradients_match_finite_differences() {
    finite_differences("bidirectional stack", BiStack::new(3), false);
}

/// In training, with this pass's dropout masks (the same at every parameter: they depend on
/// the seed, the step and the row, not on the weights).
#[test]
fn dropout_gradients_match_finite_differences() {
    finite_differences("recurrent dropout", DroppedStack::new(3), true);
}

/// Back-propagation through time against central finite differences of the loss, every
/// parameter, on the padded rows: the inference loss, or the training pass's (`training`).
fn finite_differences<N: Network>(what: &str, model: N, training: bool)
where
    [i32; 6]: seqnet::network::InputOf<N>,
{
    let x = padded_ids();
    let y: Vec<f32> = (0..10).map(|i| ((i * 7 % 5) as f32 - 2.0) / 3.0).collect();
    let mut model = model.compile(SGD::new(0.0), Loss::MeanSquaredError, []);
    let (_, grads) = model.loss_and_gradients(&x, &y[..]).unwrap();
    let analytic = grads.to_vec();
    let params = model.params().to_vec();
    let h = 1e-2f32;
    let mut worst = 0.0f32;
    for i in 0..params.len() {
        let mut at = |v: f32| {
            let mut p = params.clone();
            p[i] = v;
            model.set_params(&p).unwrap();
            match training {
                true => model.loss_and_gradients(&x, &y[..]).unwrap().0,
                false => model.evaluate(&x, &y[..]).unwrap().loss,
            }
        };
        let fd = ((at(params[i] + h) - at(params[i] - h)) / (2.0 * h as f64)) as f32;
        let err = (analytic[i] - fd).abs();
        assert!(
            err <= 2e-2 * analytic[i].abs().max(fd.abs()) + 3e-4,
            "parameter {i}: gradient {}, finite difference {fd}",
            analytic[i]
        );
        worst = worst.max(err);
    }
    assert!(
        analytic.iter().any(|g| g.abs() > 1e-3),
        "the check would be empty"
    );
    eprintln!(
        "{what}: {} gradients, worst difference {worst:e}",
        analytic.len()
    );
}

#[test]
fn predict_one_matches_the_batch_and_threads_change_nothing() {
    let x = padded_ids();
    let model = MaskedStack::new(5);
    let batch = model.predict(&x).unwrap();
    for (row, want) in x.iter().zip(&batch) {
        common::assert_close(
            "predict_one",
            &model.predict_one(row).unwrap(),
            want,
            1e-6,
            1e-7,
        );
    }
    // 200 rows: several 64-row chunks, split over two threads.
    let rows: Vec<[i32; 6]> = (0..200)
        .map(|r| {
            std::array::from_fn(|t| {
                if t < r % 5 {
                    0
                } else {
                    ((r * 3 + t * 5) % 9) as i32
                }
            })
        })
        .collect();
    let y: Vec<f32> = (0..400).map(|i| (i % 7) as f32 / 7.0).collect();
    let train = |threads| {
        common::on_threads(threads, || {
            let mut m = MaskedStack::new(6).compile(Adam::new(0.01), Loss::MeanSquaredError, []);
            let losses: Vec<f64> = (0..3)
                .map(|_| m.train_on_batch(&rows, &y[..]).unwrap())
                .collect();
            (m.get_weights(), losses)
        })
    };
    let (one, two) = (train(1), train(2));
    assert_eq!(one, two);
    assert!(one.1[2] < one.1[0], "{:?}", one.1);
}

#[test]
fn recurrent_weights_round_trip_and_sit_under_the_cell() {
    let model = MaskedStack::new(11);
    let (_dir, files) = round_trip(&model, || MaskedStack::new(12));
    let _ = &files; // read below with feature `keras` only
    #[cfg(feature = "keras")]
    {
        let layout = seqnet::keras::weights_h5_layout(&files[1]).unwrap();
        for line in [
            "layers/gru/cell/vars/0 dataset [3, 9] float32",
            "layers/gru/cell/vars/2 dataset [9] float32",
            "layers/lstm/cell/vars/1 dataset [3, 12] float32",
            "layers/simple_rnn/cell/vars/0 dataset [3, 2] float32",
        ] {
            assert!(layout.iter().any(|l| l == line), "{line} in {layout:?}");
        }
    }
    let s = model.summary_string();
    assert!(s.contains("gru (GRU)") && s.contains("(None, 6, 3)"), "{s}");
    assert_eq!(
        model.count_params(),
        9 * 3
            + (3 * 9 + 3 * 9 + 9)
            + (3 * 9 + 3 * 9)
            + (3 * 12 + 3 * 12 + 12)
            + (3 * 2 + 2 * 2 + 2)
            + 2 * 2
            + 2
    );
}

#[test]
fn initial_weights_follow_keras_initializers() {
    // orthogonal recurrent kernels (rows orthonormal), LSTM's forget bias at 1, zero biases.
    let model = EmbMaskPrepadLstm::new(1);
    let w = model.get_weights();
    let (recurrent, bias) = (&w[2], &w[3]);
    let (u, cols) = (7usize, 28usize);
    for i in 0..u {
        for j in 0..u {
            let dot: f32 = (0..cols)
                .map(|k| recurrent[i * cols + k] * recurrent[j * cols + k])
                .sum();
            let want = if i == j { 1.0 } else { 0.0 };
            assert!((dot - want).abs() < 1e-5, "rows {i}, {j}: {dot}");
        }
    }
    assert!(bias[..7].iter().all(|&b| b == 0.0));
    assert!(bias[7..14].iter().all(|&b| b == 1.0));
    assert!(bias[14..].iter().all(|&b| b == 0.0));
}

/// keras2seqnet writes the recurrent layers from Keras' configs, and the source is the
/// declaration this file compiles.
#[cfg(feature = "keras")]
#[test]
fn keras2seqnet_writes_the_recurrent_layers() {
    let Some(r) = load_reference("golden_seq.json") else {
        return;
    };
    let config = |case: &str, shape: serde_json::Value| {
        let case = &r["cases"][case];
        let mut layers = vec![serde_json::json!({
            "class_name": "InputLayer",
            "config": {"name": "input_layer", "batch_shape": shape, "dtype": case["input_dtype"]},
        })];
        layers.extend(case["layers"].as_array().unwrap().iter().cloned());
        serde_json::json!({"class_name": "Sequential", "config": {"layers": layers}})
    };
    let source =
        |case: &str, shape| seqnet::keras::source_from_config(&config(case, shape), "M").unwrap();
    let lstm = source("emb_mask_prepad_lstm", serde_json::json!([null, 9]));
    assert!(
        lstm.contains(
            "        LSTM(7, activation = tanh, recurrent_activation = sigmoid, name = \"lstm_1\"),\n"
        ),
        "{lstm}"
    );
    let gru = source("gru_v1_seq_flatten", serde_json::json!([null, 5, 3]));
    assert!(
        gru.contains("return_sequences = true") && gru.contains("reset_after = false"),
        "{gru}"
    );
    let rnn = source("simplernn_backwards", serde_json::json!([null, 7, 2]));
    assert!(
        rnn.contains("SimpleRNN(6, activation = tanh, go_backwards = true"),
        "{rnn}"
    );
    let bigru = source("bigru", serde_json::json!([null, 6, 4]));
    assert!(
        bigru.contains(
            "        Bidirectional(GRU(4, activation = tanh, recurrent_activation = sigmoid)),\n"
        ),
        "{bigru}"
    );
    // Dropout and its seed, as a Keras config holds them (the golden cases have none).
    let mut with_dropout = config("bigru", serde_json::json!([null, 6, 4]));
    let inner = &mut with_dropout["config"]["layers"][1]["config"];
    for side in ["layer", "backward_layer"] {
        inner[side]["config"]["dropout"] = 0.25.into();
        inner[side]["config"]["recurrent_dropout"] = 0.5.into();
        inner[side]["config"]["seed"] = 7.into();
    }
    let source = seqnet::keras::source_from_config(&with_dropout, "M").unwrap();
    assert!(
        source.contains("dropout = 0.25, recurrent_dropout = 0.5, seed = 7"),
        "{source}"
    );
    // A backward layer that is not the layer's copy is not built.
    with_dropout["config"]["layers"][1]["config"]["backward_layer"]["config"]["units"] = 5.into();
    let err = seqnet::keras::source_from_config(&with_dropout, "M").unwrap_err();
    assert!(err.to_string().contains("backward_layer"), "{err}");
}

sequential! {
    /// DroppedStack without its dropout.
    struct UndroppedStack {
        Input(shape = (6,), dtype = "int32"),
        Embedding(9, 3, mask_zero = true),
        LSTM(3, return_sequences = true),
        GRU(3, reset_after = false, return_sequences = true),
        GRU(3, return_sequences = true),
        Bidirectional(LSTM(2)),
        Dense(2),
    }
}

#[test]
fn recurrent_dropout_acts_in_training_only_and_is_reproducible() {
    let x = padded_ids();
    let y: Vec<f32> = (0..10).map(|i| (i % 3) as f32 / 3.0).collect();
    let dropped = DroppedStack::new(4);
    let mut plain = UndroppedStack::new(9);
    plain.set_weights(&dropped.get_weights()).unwrap();
    // Inference: dropout does nothing.
    assert_eq!(dropped.predict(&x).unwrap(), plain.predict(&x).unwrap());
    // Training: it changes the loss, the same way for the same seed, and anew each step.
    let mut dropped = dropped.compile(SGD::new(0.0), Loss::MeanSquaredError, []);
    let mut plain = plain.compile(SGD::new(0.0), Loss::MeanSquaredError, []);
    let (with, without) = (
        dropped.loss_and_gradients(&x, &y[..]).unwrap().0,
        plain.loss_and_gradients(&x, &y[..]).unwrap().0,
    );
    assert!((with - without).abs() > 1e-4, "{with} vs {without}");
    let mut again = DroppedStack::new(4).compile(SGD::new(0.0), Loss::MeanSquaredError, []);
    assert_eq!(again.loss_and_gradients(&x, &y[..]).unwrap().0, with);
    let steps: Vec<f64> = (0..3)
        .map(|_| dropped.train_on_batch(&x, &y[..]).unwrap())
        .collect();
    assert!(steps[0] != steps[1] && steps[1] != steps[2], "{steps:?}");
    // Bit-identical on one and two threads (200 rows: several chunks).
    let rows: Vec<[i32; 6]> = (0..200)
        .map(|r| {
            std::array::from_fn(|t| {
                if t < r % 4 {
                    0
                } else {
                    ((r + 2 * t) % 9) as i32
                }
            })
        })
        .collect();
    let targets: Vec<f32> = (0..400).map(|i| (i % 5) as f32 / 5.0).collect();
    let train = |threads| {
        common::on_threads(threads, || {
            let mut m = DroppedStack::new(6).compile(Adam::new(0.01), Loss::MeanSquaredError, []);
            for _ in 0..3 {
                m.train_on_batch(&rows, &targets[..]).unwrap();
            }
            m.get_weights()
        })
    };
    assert_eq!(train(1), train(2));
}

#[test]
fn bidirectional_weights_round_trip_under_their_owners() {
    let model = BiStack::new(21);
    round_trip(&model, || BiStack::new(22));
    let spec = <BiStack as Network>::spec();
    let bi = &spec.layers[1];
    assert_eq!(bi.class_name, "Bidirectional");
    let names: Vec<String> = bi.weights.iter().map(|w| w.local_name()).collect();
    assert_eq!(
        names,
        [
            "forward_layer/kernel",
            "forward_layer/recurrent_kernel",
            "forward_layer/bias",
            "backward_layer/kernel",
            "backward_layer/recurrent_kernel",
            "backward_layer/bias"
        ]
    );
    // concat doubles the units; the other modes keep them.
    let s = model.summary_string();
    assert!(
        s.contains("(None, 6, 3)") && s.contains("(None, 6, 2)") && s.contains("(None, 6, 4)"),
        "{s}"
    );
}

/// Saves `model` as safetensors (and `.weights.h5` with feature `keras`) and loads each file
/// into a model `other` makes, which must then hold the same weights; the directory (kept
/// alive by the caller) and the files.
fn round_trip<N: Network>(
    model: &N,
    other: impl Fn() -> N,
) -> (tempfile::TempDir, Vec<std::path::PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let mut files = vec![dir.path().join("m.safetensors")];
    if cfg!(feature = "keras") {
        files.push(dir.path().join("m.weights.h5"));
    }
    for path in &files {
        model.save_weights(path).unwrap();
        let mut back = other();
        assert_ne!(back.get_weights(), model.get_weights());
        back.load_weights(path).unwrap();
        assert_eq!(
            back.get_weights(),
            model.get_weights(),
            "{}",
            path.display()
        );
    }
    (dir, files)
}
