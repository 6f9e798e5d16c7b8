//! Keras' preprocessing layers, Rescaling and Normalization, against Keras' own values
//! (`tests/reference/preprocessing.json`, made by `tools/make_preprocessing_golden.py`):
//! outputs, gradients through both (one SGD step), `adapt` on the rows that reach the layer,
//! `invert`, Normalization's weights (`mean`, `variance` and the integer `count`) in the summary
//! and in weight files, and (feature `keras`) the `.keras` file Keras wrote.

mod common;

use common::{assert_close, flat, rows, rows_of, weight_tensors};
use seqnet::prelude::*;
use seqnet::{Mismatch, Row};
use serde_json::Value;

fn golden() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/reference/preprocessing.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("the committed reference"))
        .expect("valid JSON")
}

sequential! {
    struct AdaptMlp {
        Input(shape = (4,)),
        Rescaling(0.5, offset = -1.0),
        Normalization,
        Dense(3, activation = softmax),
    }
}

sequential! {
    struct FixedBetweenDense {
        Input(shape = (3,)),
        Dense(4, activation = tanh),
        Normalization(mean = (0.1, -0.2, 0.0, 0.3), variance = (0.5, 2.0, 1.0, 0.25)),
        Rescaling((2.0, 0.5, 1.0, -1.5), offset = 0.1),
        Dense(1, activation = sigmoid),
    }
}

sequential! {
    struct InvertScalar {
        Input(shape = (2,)),
        Dense(3, activation = relu),
        Normalization(mean = 1.5, variance = 4.0, invert = true),
        Dense(1),
    }
}

sequential! {
    struct AdaptImage {
        Input(shape = (4, 4, 2)),
        Rescaling(0.0625),
        Normalization(axis = -1),
        Flatten,
        Dense(2, activation = softmax),
    }
}

#[test]
fn adapt_computes_what_keras_adapt_computes() {
    let g = golden();
    let case = &g["cases"]["adapt_mlp"];
    let keras = weight_tensors(&case["weights"]);
    let mut model = AdaptMlp::new(1);
    let raw: Vec<[f32; 4]> = rows(&case["adapt_rows"]);
    model.adapt(&raw).unwrap();
    let ours = model.get_weights();
    assert_close("mean", &ours[0], &keras[0], 1e-6, 1e-6);
    assert_close("variance", &ours[1], &keras[1], 1e-5, 1e-6);
    assert_eq!(ours[2], [0.0], "count stays 0, as in Keras 3");
    // With Keras' Dense weights, the adapted model predicts what Keras predicts.
    let mut weights = ours[..3].to_vec();
    weights.extend_from_slice(&keras[3..]);
    model.set_weights(&weights).unwrap();
    let x: Vec<[f32; 4]> = rows(&case["inputs"]);
    let want = flat(&case["predictions"]);
    assert_close(
        "predictions",
        model.predict(&x).unwrap().as_flattened(),
        &want,
        1e-5,
        1e-6,
    );
    for (row, want) in x.iter().zip(want.chunks(3)) {
        assert_close(
            "predict_one",
            &model.predict_one(row).unwrap(),
            want,
            1e-5,
            1e-6,
        );
    }
}

#[test]
fn adapt_on_images_is_per_channel_after_rescaling() {
    let g = golden();
    let case = &g["cases"]["adapt_image"];
    let keras = weight_tensors(&case["weights"]);
    let mut model = AdaptImage::new(2);
    let raw = rows_of::<AdaptImage>(&case["adapt_rows"]);
    model.adapt(&raw).unwrap();
    let ours = model.get_weights();
    assert_close("mean", &ours[0], &keras[0], 1e-6, 1e-6);
    assert_close("variance", &ours[1], &keras[1], 1e-5, 1e-6);
    model.set_weights(&keras).unwrap();
    let x = rows_of::<AdaptImage>(&case["inputs"]);
    assert_close(
        "predictions",
        model.predict(&x).unwrap().as_flattened(),
        &flat(&case["predictions"]),
        1e-5,
        1e-6,
    );
}

#[test]
fn adapt_does_not_depend_on_how_rows_are_chunked() {
    // 700 rows: three chunks of adapt's passes. The statistics equal a direct float64 pass.
    let x: Vec<[f32; 4]> = (0..700)
        .map(|i| {
            let t = i as f32;
            [
                t.sin() * 30.0 + 5.0,
                (t * 0.37).cos(),
                t * 0.01,
                ((i * 7919) % 13) as f32,
            ]
        })
        .collect();
    let mut model = AdaptMlp::new(3);
    model.adapt(&x).unwrap();
    let w = model.get_weights();
    for f in 0..4 {
        let v: Vec<f64> = x.iter().map(|r| f64::from(r[f]) * 0.5 - 1.0).collect();
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / v.len() as f64;
        assert!(
            (f64::from(w[0][f]) - mean).abs() <= 1e-6 * mean.abs().max(1.0),
            "mean {f}"
        );
        assert!(
            (f64::from(w[1][f]) - var).abs() <= 1e-6 * var.max(1.0),
            "variance {f}"
        );
    }
}

#[test]
fn adapt_refuses_bad_rows_and_keeps_the_statistics() {
    let mut model = AdaptMlp::new(4);
    let before = model.get_weights();
    let none: [[f32; 4]; 0] = [];
    assert!(matches!(
        model.adapt(&none),
        Err(Error::InvalidArgument { .. })
    ));
    let nan = [[1.0, f32::NAN, 0.0, 0.0]];
    assert!(matches!(
        model.adapt(&nan),
        Err(Error::NonFinite {
            row: 0,
            column: 1,
            ..
        })
    ));
    assert_eq!(model.get_weights(), before);
}

/// One SGD(0.1) step: the gradient flows back through Normalization and Rescaling (and
/// `invert`) exactly as Keras computes it.
fn one_step<N: FromSeed>(case: &str, loss: Loss) {
    let g = golden();
    let case = &g["cases"][case];
    let mut model = N::from_seed(5).compile(SGD::new(0.1), loss, []);
    model
        .set_weights(&weight_tensors(&case["weights"]))
        .unwrap();
    let x = rows_of::<N>(&case["inputs"]);
    let y = flat(&case["labels"]);
    assert_close(
        "predictions",
        &model.predict_flat(N::InputRow::flat(&x)).unwrap(),
        &flat(&case["predictions"]),
        1e-5,
        1e-6,
    );
    let loss = model.train_on_batch(&x, &y[..]).unwrap();
    let want = case["train_on_batch_loss"].as_f64().unwrap();
    assert!(
        (loss - want).abs() <= 1e-5 * want.abs().max(1.0),
        "loss {loss} vs {want}"
    );
    let after: Vec<Vec<f32>> = case["weights_after_step"]
        .as_array()
        .unwrap()
        .iter()
        .map(flat)
        .collect();
    assert_close(
        "weights after a step",
        &model.get_weights().concat(),
        &after.concat(),
        1e-5,
        1e-5,
    );
}

trait FromSeed: Network {
    fn from_seed(seed: u64) -> Self;
}
impl FromSeed for FixedBetweenDense {
    fn from_seed(seed: u64) -> Self {
        Self::new(seed)
    }
}
impl FromSeed for InvertScalar {
    fn from_seed(seed: u64) -> Self {
        Self::new(seed)
    }
}

#[test]
fn fixed_statistics_and_per_feature_rescaling_train_as_keras() {
    one_step::<FixedBetweenDense>("fixed_between_dense", Loss::binary_crossentropy());
}

#[test]
fn inverted_normalization_trains_as_keras() {
    one_step::<InvertScalar>("invert_scalar", Loss::MeanSquaredError);
}

#[test]
fn summary_counts_mean_variance_and_count_as_keras() {
    let s = AdaptMlp::new(0).summary_string();
    // Normalization over 4 features: mean (4) + variance (4) + count (1), all non-trainable.
    assert!(s.contains("Non-trainable params: 9"), "{s}");
    assert!(s.contains("Total params: 24"), "{s}");
    assert_eq!(AdaptMlp::new(0).count_params(), 9 + 4 * 3 + 3);
    // Given statistics are constants, not weights, as in Keras.
    assert_eq!(FixedBetweenDense::new(0).count_params(), 3 * 4 + 4 + 4 + 1);
}

#[test]
fn weight_files_round_trip_the_integer_count() {
    let g = golden();
    let keras = weight_tensors(&g["cases"]["adapt_mlp"]["weights"]);
    let mut model = AdaptMlp::new(0);
    let mut weights = keras.clone();
    weights[2] = vec![12.0];
    model.set_weights(&weights).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pre.safetensors");
    model.save_weights(&path).unwrap();
    // The count is an int32 tensor in the file, as Keras stores it.
    let bytes = std::fs::read(&path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let count = file.tensor("normalization/count").unwrap();
    assert_eq!(count.dtype(), safetensors::Dtype::I32);
    assert_eq!(count.data(), 12i32.to_le_bytes());
    let mut back = AdaptMlp::new(9);
    back.load_weights(&path).unwrap();
    assert_eq!(back.get_weights(), weights);
    // A count that is no integer is refused, and nothing changes.
    weights[2] = vec![0.5];
    assert!(matches!(
        back.set_weights(&weights),
        Err(Error::InvalidArgument { .. })
    ));
    assert_eq!(back.get_weights()[2], [12.0]);
}

#[cfg(feature = "keras")]
#[test]
fn keras_files_with_both_layers_load_and_print_as_source() {
    let g = golden();
    let case = &g["cases"]["adapt_mlp"];
    let x: Vec<[f32; 4]> = rows(&case["inputs"]);
    let want = flat(&case["predictions"]);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/reference");
    for file in ["preprocessing.keras", "preprocessing.weights.h5"] {
        let mut model = AdaptMlp::new(0);
        model.load_weights(format!("{dir}/{file}")).unwrap();
        assert_eq!(
            model.get_weights(),
            weight_tensors(&case["weights"]),
            "{file}"
        );
        assert_close(
            file,
            model.predict(&x).unwrap().as_flattened(),
            &want,
            1e-5,
            1e-6,
        );
    }
    let source =
        seqnet::keras::sequential_source(format!("{dir}/preprocessing.keras"), "AdaptMlp").unwrap();
    assert_eq!(
        source,
        "sequential! {\n    pub struct AdaptMlp {\n        Input(shape = (4,)),\n        \
         Rescaling(0.5, offset = -1),\n        Normalization,\n        \
         Dense(3, activation = softmax),\n    }\n}\n"
    );
    // And the .weights.h5 seqnet writes reads back, the count as an integer.
    let mut model = AdaptMlp::new(0);
    model
        .load_weights(format!("{dir}/preprocessing.keras"))
        .unwrap();
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("m.weights.h5");
    model.save_weights(&path).unwrap();
    let layout = seqnet::keras::weights_h5_layout(&path).unwrap();
    assert!(
        layout
            .iter()
            .any(|l| l.starts_with("layers/normalization/vars/2 dataset [] ")
                && !l.ends_with("float32")),
        "{layout:?}"
    );
    let mut back = AdaptMlp::new(1);
    back.load_weights(&path).unwrap();
    assert_eq!(back.get_weights(), model.get_weights());
}

sequential! {
    struct Pixels {
        Input(shape = (2, 2, 1)),
        Rescaling(1.0 / 255),
        Flatten,
        Dense(1),
    }
}

#[test]
fn rescaling_takes_keras_usual_arithmetic() {
    // Keras' `Rescaling(1.0 / 255)`: the macro folds the literal arithmetic.
    let mut model = Pixels::new(0);
    model
        .set_weights(&[vec![1.0, 2.0, 3.0, 4.0], vec![0.0]])
        .unwrap();
    let y = model
        .predict_one(&[[[255.0], [51.0]], [[0.0], [102.0]]])
        .unwrap();
    let scale = 1.0f32 / 255.0;
    let want = 255.0 * scale + 2.0 * (51.0 * scale) + 4.0 * (102.0 * scale);
    assert!((y[0] - want).abs() < 1e-6, "{} vs {want}", y[0]);
}

#[test]
fn a_float_count_in_a_file_is_a_dtype_mismatch() {
    // A safetensors file whose count is float32 where Keras and seqnet store int32.
    let model = AdaptMlp::new(0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    model.save_weights(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors: Vec<(String, safetensors::tensor::TensorView<'_>)> = Vec::new();
    let zero = 0.0f32.to_le_bytes();
    for (name, view) in file.tensors() {
        let view = if name == "normalization/count" {
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![], &zero).unwrap()
        } else {
            view
        };
        tensors.push((name, view));
    }
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let forged = safetensors::serialize(tensors, header.metadata().clone()).unwrap();
    let mut target = AdaptMlp::new(3);
    let before = target.get_weights();
    match target.load_weights_bytes(&forged) {
        Err(Error::WeightsMismatch {
            tensor,
            mismatch: Mismatch::Dtype { expected, got },
            ..
        }) => assert_eq!(
            (tensor.as_str(), expected.as_str(), got.as_str()),
            ("normalization/count", "int32", "float32")
        ),
        other => panic!("expected a dtype mismatch, got {other:?}"),
    }
    assert_eq!(target.get_weights(), before);
}

#[test]
fn a_failed_adapt_changes_nothing() {
    sequential! {
        struct Two {
            Input(shape = (2,)),
            Normalization,
            Dense(2, activation = relu),
            Normalization,
            Dense(1),
        }
    }
    let mut model = Two::new(0);
    // Huge weights make the rows reaching the second Normalization overflow: the first one,
    // already adapted in the same call, gets its old statistics back.
    let mut w = model.get_weights();
    w[3] = vec![-3e38, -3e38, 3e38, 3e38];
    model.set_weights(&w).unwrap();
    let before = model.get_weights();
    let err = model.adapt(&[[1e3f32, 2e3], [3e3, -4e3]]).unwrap_err();
    assert!(matches!(err, Error::NonFinite { .. }), "{err:?}");
    assert_eq!(model.get_weights(), before);
}

#[test]
fn width_generic_models_broadcast_one_number() {
    // No input shape: the width comes from the rows, and one scale/offset or one statistic
    // covers every feature (`[v; IN]` in the generated value).
    sequential! {
        struct Generic {
            Rescaling(2.0, offset = 1.0),
            Normalization(mean = 1.0, variance = 4.0),
            Dense(1),
        }
    }
    let mut model = Generic::<3>::new(0);
    model
        .set_weights(&[vec![1.0, 1.0, 1.0], vec![0.0]])
        .unwrap();
    // ((2x + 1) − 1) / 2 = x: the two layers cancel, the Dense sums the row.
    let y = model.predict_one(&[1.5, -2.0, 4.0]).unwrap();
    assert!((y[0] - 3.5).abs() < 1e-6, "{}", y[0]);
    assert_eq!(model.count_params(), 4);
}
