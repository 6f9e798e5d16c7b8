//! Keras parity for the sequence layers without a recurrent one (`golden_seq.json`, made by
//! `../shared/reference/make_seq_golden.py` with Keras 3.15.1): Conv1D (same, causal, dilation),
//! the 1-D poolings, Flatten, Embedding with and without `mask_zero`, Masking, Dense per step
//! and LayerNormalization: predictions, then three Adam(0.01) `train_on_batch` steps on the
//! same batch, each step's loss and every weight after it.

mod common;

use common::{adam_steps_as_keras, assert_close, load_reference};
use seqnet::prelude::*;

sequential! {
    struct ConvSameAvg {
        Input(shape = (16, 2)),
        Conv1D(6, 5, padding = "same", activation = relu),
        AveragePooling1D(2),
        GlobalAveragePooling1D,
        Dense(1),
    }
}

sequential! {
    struct ConvDilatedCausal {
        Input(shape = (18, 3)),
        Conv1D(4, 3, padding = "causal", dilation_rate = 2, activation = tanh),
        MaxPooling1D(3),
        Flatten,
        Dense(1, activation = sigmoid),
    }
}

sequential! {
    struct EmbGap {
        Input(shape = (10,), dtype = "int32"),
        Embedding(30, 6),
        GlobalAveragePooling1D,
        Dense(1, activation = sigmoid),
    }
}

sequential! {
    struct EmbMaskGap {
        Input(shape = (10,), dtype = "int32"),
        Embedding(30, 6, mask_zero = true),
        GlobalAveragePooling1D,
        Dense(2, activation = softmax),
    }
}

sequential! {
    struct MaskingPerStepDense {
        Input(shape = (6, 4)),
        Masking,
        Dense(5, activation = relu),
        GlobalAveragePooling1D,
        Dense(1),
    }
}

sequential! {
    struct LayerNormPerStep {
        Input(shape = (5, 6)),
        LayerNormalization,
        Dense(4, activation = relu),
        Flatten,
        Dense(1, activation = sigmoid),
    }
}

/// A `golden_seq.json` case replayed on `model` (see `common::adam_steps_as_keras`).
fn steps<N: Network>(case: &str, model: N, loss: Loss) {
    let Some(r) = load_reference("golden_seq.json") else {
        return;
    };
    adam_steps_as_keras(case, &r["cases"][case], model, loss);
}

#[test]
fn conv1d_same_then_average_pooling_trains_as_keras() {
    steps(
        "conv1d_same_avgpool",
        ConvSameAvg::new(0),
        Loss::MeanSquaredError,
    );
}

#[test]
fn conv1d_causal_dilated_then_max_pooling_trains_as_keras() {
    steps(
        "conv1d_dilated_causal",
        ConvDilatedCausal::new(0),
        Loss::binary_crossentropy(),
    );
}

#[test]
fn embedding_then_average_trains_as_keras() {
    steps("emb_gap", EmbGap::new(0), Loss::binary_crossentropy());
}

#[test]
fn masked_embedding_averages_the_unpadded_steps_as_keras() {
    steps(
        "emb_mask_gap",
        EmbMaskGap::new(0),
        Loss::sparse_categorical_crossentropy(),
    );
}

#[test]
fn masking_through_a_per_step_dense_trains_as_keras() {
    steps(
        "masking_per_step_dense_gap",
        MaskingPerStepDense::new(0),
        Loss::MeanSquaredError,
    );
}

#[test]
fn layer_normalization_and_per_step_dense_train_as_keras() {
    steps(
        "layernorm_per_step_flatten",
        LayerNormPerStep::new(0),
        Loss::binary_crossentropy(),
    );
}

#[test]
fn predict_one_matches_the_batch_path() {
    // predict_one runs the window sums directly (no patch buffer): within float rounding of
    // the batched product, on every padding.
    let model = ConvDilatedCausal::new(7);
    let x: Vec<[[f32; 3]; 18]> = (0..5)
        .map(|r| {
            std::array::from_fn(|t| {
                std::array::from_fn(|c| ((r * 31 + t * 7 + c) % 13) as f32 / 6.0 - 1.0)
            })
        })
        .collect();
    let batch = model.predict(&x).unwrap();
    for (row, want) in x.iter().zip(&batch) {
        assert_close(
            "predict_one",
            &model.predict_one(row).unwrap(),
            want,
            1e-6,
            1e-6,
        );
    }
    let same = ConvSameAvg::new(3);
    let xs: Vec<[[f32; 2]; 16]> = (0..4)
        .map(|r| {
            std::array::from_fn(|t| std::array::from_fn(|c| ((r + t * 3 + c * 5) % 7) as f32 - 3.0))
        })
        .collect();
    let batch = same.predict(&xs).unwrap();
    for (row, want) in xs.iter().zip(&batch) {
        assert_close(
            "predict_one",
            &same.predict_one(row).unwrap(),
            want,
            1e-6,
            1e-6,
        );
    }
}

#[test]
fn summary_shows_keras_shapes_and_counts() {
    let s = ConvDilatedCausal::new(0).summary_string();
    assert!(s.contains("conv1d (Conv1D)"), "{s}");
    assert!(s.contains("(None, 18, 4)"), "{s}");
    assert!(s.contains("(None, 6, 4)"), "{s}");
    assert_eq!(
        ConvDilatedCausal::new(0).count_params(),
        3 * 3 * 4 + 4 + 24 + 1
    );
    // Embedding and a per-step Dense as Keras' summary shows them.
    let s = EmbMaskGap::new(0).summary_string();
    assert!(s.contains("embedding (Embedding)"), "{s}");
    assert!(s.contains("(None, 10, 6)"), "{s}");
    assert!(s.contains("180"), "{s}");
    let s = MaskingPerStepDense::new(0).summary_string();
    assert!(s.contains("masking (Masking)"), "{s}");
    assert!(s.contains("(None, 6, 5)"), "{s}");
    assert_eq!(
        MaskingPerStepDense::new(0).count_params(),
        4 * 5 + 5 + 5 + 1
    );
}

#[test]
fn conv1d_training_is_bit_identical_on_one_and_two_threads() {
    // 200 rows: more than one 64-row chunk, so two threads split the batch.
    let x: Vec<[[f32; 3]; 18]> = (0..200)
        .map(|r| {
            std::array::from_fn(|t| {
                std::array::from_fn(|c| ((r * 17 + t * 5 + c * 3) % 11) as f32 / 5.0 - 1.0)
            })
        })
        .collect();
    let y: Vec<f32> = (0..200).map(|r| (r % 2) as f32).collect();
    let train = |threads| {
        three_steps_on(
            threads,
            ConvDilatedCausal::new(4),
            Loss::binary_crossentropy(),
            &x,
            &y,
        )
    };
    let (one, two) = (train(1), train(2));
    assert_eq!(one.1, two.1);
    assert_eq!(one.0, two.0);
}

/// Three Adam(0.01) steps on the whole batch on `threads` threads: the weights and losses.
fn three_steps_on<N: Network>(
    threads: usize,
    model: N,
    loss: Loss,
    x: &[N::InputRow],
    y: &[f32],
) -> (Vec<Vec<f32>>, Vec<f64>) {
    common::on_threads(threads, || {
        let mut m = model.compile(Adam::new(0.01), loss, []);
        let losses: Vec<f64> = (0..3).map(|_| m.train_on_batch(x, y).unwrap()).collect();
        (m.get_weights(), losses)
    })
}

/// keras2seqnet writes Conv1D and the 1-D poolings from Keras' own layer configs (1-D sizes are
/// one-element lists there), and the source is the declaration this file compiles.
#[cfg(feature = "keras")]
#[test]
fn keras2seqnet_writes_the_sequence_layers() {
    let Some(r) = load_reference("golden_seq.json") else {
        return;
    };
    let config = |case: &str, shape: &[usize]| {
        let mut batch_shape = vec![serde_json::Value::Null];
        batch_shape.extend(shape.iter().map(|&d| serde_json::json!(d)));
        let dtype = r["cases"][case]["input_dtype"].clone();
        let mut layers = vec![serde_json::json!({
            "class_name": "InputLayer",
            "config": {"name": "input_layer", "batch_shape": batch_shape, "dtype": dtype},
        })];
        layers.extend(
            r["cases"][case]["layers"]
                .as_array()
                .unwrap()
                .iter()
                .cloned(),
        );
        serde_json::json!({"class_name": "Sequential", "config": {"layers": layers}})
    };
    let same = seqnet::keras::source_from_config(&config("conv1d_same_avgpool", &[16, 2]), "S");
    assert_eq!(
        same.unwrap(),
        "sequential! {\n    pub struct S {\n        Input(shape = (16, 2)),\n        \
         Conv1D(6, 5, padding = \"same\", activation = relu),\n        \
         AveragePooling1D(2),\n        GlobalAveragePooling1D,\n        \
         Dense(1, activation = linear, name = \"dense_6\"),\n    }\n}\n"
    );
    let causal = seqnet::keras::source_from_config(&config("conv1d_dilated_causal", &[18, 3]), "C");
    assert_eq!(
        causal.unwrap(),
        "sequential! {\n    pub struct C {\n        Input(shape = (18, 3)),\n        \
         Conv1D(4, 3, padding = \"causal\", activation = tanh, dilation_rate = 2, name = \
         \"conv1d_1\"),\n        MaxPooling1D(3),\n        Flatten(name = \"flatten_1\"),\n        \
         Dense(1, activation = sigmoid, name = \"dense_7\"),\n    }\n}\n"
    );
    let text = seqnet::keras::source_from_config(&config("emb_mask_gap", &[10]), "T");
    assert_eq!(
        text.unwrap(),
        "sequential! {\n    pub struct T {\n        Input(shape = (10,), dtype = \"int32\"),\n        \
         Embedding(30, 6, mask_zero = true, name = \"embedding_3\"),\n        \
         GlobalAveragePooling1D(name = \"global_average_pooling1d_2\"),\n        \
         Dense(2, activation = softmax, name = \"dense_10\"),\n    }\n}\n"
    );
    // A variable number of steps, Keras' null in batch_shape, is `None` (the declaration
    // tests/variable_length.rs compiles as `AnyIds`).
    let mut any_length = config("emb_mask_gap", &[10]);
    any_length["config"]["layers"][0]["config"]["batch_shape"] = serde_json::json!([null, null]);
    let source = seqnet::keras::source_from_config(&any_length, "V").unwrap();
    assert!(
        source.contains("Input(shape = (None,), dtype = \"int32\"),"),
        "{source}"
    );
    let masked =
        seqnet::keras::source_from_config(&config("masking_per_step_dense_gap", &[6, 4]), "M");
    assert_eq!(
        masked.unwrap(),
        "sequential! {\n    pub struct M {\n        Input(shape = (6, 4)),\n        Masking,\n        \
         Dense(5, activation = relu, name = \"dense_11\"),\n        \
         GlobalAveragePooling1D(name = \"global_average_pooling1d_3\"),\n        \
         Dense(1, activation = linear, name = \"dense_12\"),\n    }\n}\n"
    );
}

#[test]
fn masked_embedding_training_is_bit_identical_on_one_and_two_threads() {
    // 200 rows, two 64-row chunks or more: the embeddings' scatter-add gradient sums chunk by
    // chunk in the same order on any thread count.
    let x: Vec<[i32; 10]> = (0..200)
        .map(|r| {
            std::array::from_fn(|t| {
                if t < r % 4 {
                    0
                } else {
                    ((r * 7 + t * 3) % 30) as i32
                }
            })
        })
        .collect();
    let y: Vec<f32> = (0..200).map(|r| (r % 2) as f32).collect();
    let train = |threads| {
        three_steps_on(
            threads,
            EmbMaskGap::new(4),
            Loss::sparse_categorical_crossentropy(),
            &x,
            &y,
        )
    };
    let (one, two) = (train(1), train(2));
    assert_eq!(one.1, two.1);
    assert_eq!(one.0, two.0);
    assert!(one.1[2] < one.1[0], "the loss falls: {:?}", one.1);
}

/// The model's weights saved in each format and loaded into another of the same type.
fn files_round_trip<N: Network>(make: impl Fn(u64) -> N) {
    let model = make(11);
    let dir = tempfile::tempdir().unwrap();
    let mut files = vec![dir.path().join("m.safetensors")];
    if cfg!(feature = "keras") {
        files.push(dir.path().join("m.weights.h5"));
    }
    for path in files {
        model.save_weights(&path).unwrap();
        let mut back = make(12);
        back.load_weights(&path).unwrap();
        assert_eq!(
            back.get_weights(),
            model.get_weights(),
            "{}",
            path.display()
        );
    }
}

#[test]
fn weight_files_round_trip_embedding_and_conv1d() {
    files_round_trip(EmbMaskGap::new);
    files_round_trip(ConvDilatedCausal::new);
}
