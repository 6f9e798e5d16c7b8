//! Keras 3's own files (feature `keras`): the models Keras saved in `../shared/reference/`
//! load into the structs `keras2seqnet` prints for them and predict what Keras predicted; a
//! `.weights.h5` written by seqnet has Keras' layout and reads back bit for bit; malformed Keras
//! files are errors that change nothing.
//!
//! Run: `cargo test --features keras --test keras_files` (needs `libhdf5-dev`).
#![cfg(feature = "keras")]

mod common;
use common::*;
use proptest::prelude::*;
use seqnet::prelude::*;
use seqnet::{Mismatch, Row};

// What `keras2seqnet` prints for the two reference files; the test below checks it still
// prints exactly this, and including it here checks that it compiles.
include!("keras_sources/seed_model.rs");
include!("keras_sources/digits_cnn.rs");

sequential! {
    /// Every layer type with weights or state, for the `.weights.h5` round trip.
    struct EveryLayer {
        Input(shape = (6, 6, 2)),
        Conv2D(4, (3, 3), padding = "same", activation = relu),
        BatchNormalization,
        MaxPooling2D((2, 2)),
        Conv2D(3, (1, 1), use_bias = false),
        Flatten,
        Dense(5, activation = tanh),
        Dense(2, activation = softmax),
    }
}

fn reference(file: &str) -> Option<std::path::PathBuf> {
    let path = reference_dir().join(file);
    if path.exists() {
        Some(path)
    } else {
        eprintln!("skipping: {} not found", path.display());
        None
    }
}

#[test]
fn keras2seqnet_prints_the_declarations_that_compile_here() {
    for (file, name, expected) in [
        (
            "seed_model.keras",
            "SeedModel",
            include_str!("keras_sources/seed_model.rs"),
        ),
        (
            "digits_cnn.keras",
            "DigitsCnn",
            include_str!("keras_sources/digits_cnn.rs"),
        ),
    ] {
        let Some(path) = reference(file) else { return };
        assert_eq!(
            seqnet::keras::sequential_source(path, name).unwrap(),
            expected
        );
    }
}

/// Loads a Keras-saved file (`.keras` or `.weights.h5`) into `N` and compares its predictions
/// on the stored rows with Keras' own.
fn predicts_as_keras<N: Network + FromSeed>(file: &str, json: &str) {
    let (Some(path), Some(r)) = (reference(file), load_reference(json)) else {
        return;
    };
    let x: Vec<N::InputRow> = rows_of::<N>(&r["inputs"]["values"]);
    let want = flat(&r["predictions"]["values"]);
    let weights = weight_tensors_of(&r["weights"]);
    let mut model = load_into::<N>(&path);
    let got = model.predict_flat(N::InputRow::flat(&x)).unwrap();
    assert_close(&format!("{file} predictions"), &got, &want, 1e-5, 1e-6);
    // The weights are exactly the ones the JSON lists (get_weights() order).
    assert_eq!(model.get_weights(), weights, "{file} weights");
    model.set_weights(&weights).unwrap();
}

fn load_into<N: Network + FromSeed>(path: &std::path::Path) -> N {
    let mut model = N::from_seed(0);
    model.load_weights(path).unwrap();
    model
}

/// `Name::new` for the generic helpers above.
trait FromSeed {
    fn from_seed(seed: u64) -> Self;
}
impl FromSeed for SeedModel {
    fn from_seed(seed: u64) -> Self {
        SeedModel::new(seed)
    }
}
impl FromSeed for DigitsCnn {
    fn from_seed(seed: u64) -> Self {
        DigitsCnn::new(seed)
    }
}

/// The `weights` list of a `*_predictions.json` (each entry a nested array, or `{values}`).
fn weight_tensors_of(v: &serde_json::Value) -> Vec<Vec<f32>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|w| match w.get("values") {
            Some(values) => flat(values),
            None => flat(w),
        })
        .collect()
}

#[test]
fn keras_saved_models_predict_as_keras() {
    predicts_as_keras::<SeedModel>("seed_model.keras", "seed_model_predictions.json");
    predicts_as_keras::<SeedModel>("seed_model.weights.h5", "seed_model_predictions.json");
    predicts_as_keras::<DigitsCnn>("digits_cnn.keras", "digits_cnn_predictions.json");
    predicts_as_keras::<DigitsCnn>("digits_cnn.weights.h5", "digits_cnn_predictions.json");
}

#[test]
fn weights_h5_written_by_seqnet_has_keras_layout_and_reads_back_bit_for_bit() {
    let mut m = EveryLayer::new(2).compile(Adam::new(0.01), Loss::binary_crossentropy(), []);
    let x: Vec<[[[f32; 2]; 6]; 6]> = (0..16)
        .map(|i| [[[(i as f32 * 0.1).sin(), (i as f32 * 0.3).cos()]; 6]; 6])
        .collect();
    let y: Vec<[f32; 2]> = (0..16)
        .map(|i| [(i % 2) as f32, ((i + 1) % 2) as f32])
        .collect();
    for _ in 0..2 {
        m.train_on_batch(&x, &y).unwrap();
    }
    let model = m.into_model();
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("every.weights.h5");
    model.save_weights(&path).unwrap();

    let mut back = EveryLayer::new(7);
    back.load_weights(&path).unwrap();
    assert_eq!(back.get_weights(), model.get_weights());
    assert_eq!(back.predict(&x).unwrap(), model.predict(&x).unwrap());

    // Keras' layout: groups by class in snake case, numbered per class; vars/<i> in
    // layer.weights order; the layer's name on its vars group; empty groups for weightless
    // layers and for the model's own vars.
    let layout = seqnet::keras::weights_h5_layout(&path).unwrap();
    let expected = [
        "layers group",
        "layers/batch_normalization group",
        "layers/batch_normalization/vars group name=batch_normalization",
        "layers/batch_normalization/vars/0 dataset [4] float32",
        "layers/batch_normalization/vars/1 dataset [4] float32",
        "layers/batch_normalization/vars/2 dataset [4] float32",
        "layers/batch_normalization/vars/3 dataset [4] float32",
        "layers/conv2d group",
        "layers/conv2d/vars group name=conv2d",
        "layers/conv2d/vars/0 dataset [3, 3, 2, 4] float32",
        "layers/conv2d/vars/1 dataset [4] float32",
        "layers/conv2d_1 group",
        "layers/conv2d_1/vars group name=conv2d_1",
        "layers/conv2d_1/vars/0 dataset [1, 1, 4, 3] float32",
        "layers/dense group",
        "layers/dense/vars group name=dense",
        "layers/dense/vars/0 dataset [27, 5] float32",
        "layers/dense/vars/1 dataset [5] float32",
        "layers/dense_1 group",
        "layers/dense_1/vars group name=dense_1",
        "layers/dense_1/vars/0 dataset [5, 2] float32",
        "layers/dense_1/vars/1 dataset [2] float32",
        "layers/flatten group",
        "layers/flatten/vars group name=flatten",
        "layers/max_pooling2d group",
        "layers/max_pooling2d/vars group name=max_pooling2d",
        "vars group name=every_layer",
    ];
    assert_eq!(layout, expected);

    // And the same layout as the file Keras wrote for the tutorial model (its layers part).
    let Some(keras_file) = reference("seed_model.weights.h5") else {
        return;
    };
    let mut seed = SeedModel::new(0);
    seed.load_weights(&keras_file).unwrap();
    let ours = d.path().join("seed.weights.h5");
    seed.save_weights(&ours).unwrap();
    // Keras names the model `sequential`; seqnet names it after the struct.
    let keras: Vec<String> = seqnet::keras::weights_h5_layout(&keras_file)
        .unwrap()
        .into_iter()
        .filter(|l| l.starts_with("layers") || l.starts_with("vars"))
        .map(|l| l.replace("vars group name=sequential", "vars group name=seed_model"))
        .collect();
    assert_eq!(seqnet::keras::weights_h5_layout(&ours).unwrap(), keras);
}

#[test]
fn malformed_keras_files_are_errors_that_change_nothing() {
    let (Some(h5), Some(archive)) = (
        reference("digits_cnn.weights.h5"),
        reference("digits_cnn.keras"),
    ) else {
        return;
    };
    let h5 = std::fs::read(h5).unwrap();
    let archive = std::fs::read(archive).unwrap();
    let rejected = |bytes: &[u8]| {
        let mut model = SeedModel::new(1);
        let before = model.get_weights();
        let err = model.load_weights_bytes(bytes).unwrap_err();
        assert_eq!(model.get_weights(), before);
        err
    };
    // Another architecture: the digits CNN's files into the tutorial model.
    match rejected(&h5) {
        Error::WeightsMismatch {
            tensor, mismatch, ..
        } => {
            assert_eq!(tensor, "dense/kernel");
            assert_eq!(
                mismatch,
                Mismatch::Shape {
                    expected: vec![10, 64],
                    got: vec![72, 10]
                }
            );
        }
        other => panic!("{other}"),
    }
    match rejected(&archive) {
        Error::WeightsMismatch { mismatch, .. } => assert_eq!(
            mismatch,
            Mismatch::Layer {
                expected: "dense (Dense)".into(),
                got: "conv2d (Conv2D)".into()
            }
        ),
        other => panic!("{other}"),
    }
    // Truncated files.
    for cut in [8, 100, h5.len() / 2] {
        assert!(matches!(rejected(&h5[..cut]), Error::BadWeightsFile { .. }));
    }
    for cut in [4, 100, archive.len() / 2] {
        assert!(matches!(
            rejected(&archive[..cut]),
            Error::BadWeightsFile { .. }
        ));
    }
}

/// Cases per fuzz property: 48 in CI (each goes through a temporary HDF5 file);
/// `SEQNET_FUZZ_CASES` raises it for a long local run.
fn fuzz_cases() -> u32 {
    std::env::var("SEQNET_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(fuzz_cases()))]

    /// A Keras file with bytes flipped: an error or finite weights, never a panic.
    #[test]
    fn mutated_keras_files_never_panic(
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        archive in any::<bool>(),
    ) {
        let file = if archive { "seed_model.keras" } else { "seed_model.weights.h5" };
        let Some(path) = reference(file) else { return Ok(()) };
        let mut bytes = std::fs::read(path).unwrap();
        for (at, value) in flips {
            let i = at % bytes.len();
            bytes[i] ^= value | 1;
        }
        let mut model = SeedModel::new(1);
        let before = model.get_weights();
        match model.load_weights_bytes(&bytes) {
            Ok(()) => prop_assert!(model.params().iter().all(|v| v.is_finite())),
            Err(_) => prop_assert_eq!(model.get_weights(), before),
        }
    }
}
