//! A masked text model Keras trained and saved (`tests/reference/text.keras` and
//! `text.weights.h5`, made by `tools/make_text_keras_files.py` with Keras 3.15.1): both files
//! load into the same model written with `sequential!` and predict what Keras predicted, to
//! 1e-5; keras2seqnet prints that declaration from the `.keras` file; the `.weights.h5` seqnet
//! writes has Keras' layout and reads back bit for bit. (Keras itself loading seqnet's file was
//! checked once, outside CI, with `tools/keras_loads_seqnet_weights.py`.)
//!
//! The same for `../shared/reference/seq_text.keras` and `.weights.h5` (made by
//! `make_seq_keras_files.py`): masked Embedding → Bidirectional(LSTM, sequences) → GRU →
//! Dense, predicting `seq_text_predictions.json`.
#![cfg(feature = "keras")]

mod common;

use common::{assert_close, load_reference, reference_dir};
use seqnet::prelude::*;

// What keras2seqnet prints for `seq_text.keras`; a test below checks it still does.
include!("keras_sources/seq_text.rs");

sequential! {
    pub struct Text {
        Input(shape = (12,), dtype = "int32"),
        Embedding(40, 8, mask_zero = true),
        Dense(8, activation = relu),
        LayerNormalization,
        Dropout(0.2),
        GlobalAveragePooling1D,
        Dense(3, activation = softmax),
    }
}

fn dir() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/reference")
}

fn golden() -> (Vec<[i32; 12]>, Vec<f32>) {
    let text = std::fs::read_to_string(format!("{}/text.json", dir())).unwrap();
    ids_and_predictions(&serde_json::from_str(&text).unwrap())
}

/// A predictions file's token-id rows (`x`) and Keras' outputs for them (`predict`), flat.
fn ids_and_predictions(v: &serde_json::Value) -> (Vec<[i32; 12]>, Vec<f32>) {
    let x = v["x"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let ids: Vec<i32> = row
                .as_array()
                .unwrap()
                .iter()
                .map(|id| id.as_i64().unwrap() as i32)
                .collect();
            ids.try_into().unwrap()
        })
        .collect();
    (x, common::flat(&v["predict"]))
}

#[test]
fn keras_text_files_load_and_predict_as_keras() {
    let (x, want) = golden();
    assert!(x.iter().any(|row| row[0] == 0), "the rows are padded");
    for file in ["text.keras", "text.weights.h5"] {
        let mut model = Text::new(0);
        model.load_weights(format!("{}/{file}", dir())).unwrap();
        assert_close(
            file,
            model.predict(&x).unwrap().as_flattened(),
            &want,
            1e-5,
            1e-6,
        );
        for (row, want) in x.iter().zip(want.chunks(3)) {
            assert_close(file, &model.predict_one(row).unwrap(), want, 1e-5, 1e-6);
        }
    }
}

#[test]
fn keras2seqnet_prints_the_text_model() {
    let source = seqnet::keras::sequential_source(format!("{}/text.keras", dir()), "Text").unwrap();
    assert_eq!(
        source,
        "sequential! {\n    pub struct Text {\n        Input(shape = (12,), dtype = \"int32\"),\n        \
         Embedding(40, 8, mask_zero = true),\n        Dense(8, activation = relu),\n        \
         LayerNormalization,\n        Dropout(0.2),\n        GlobalAveragePooling1D,\n        \
         Dense(3, activation = softmax),\n    }\n}\n"
    );
}

#[test]
fn the_weights_seqnet_writes_have_keras_layout_and_read_back() {
    let mut model = Text::new(0);
    model.load_weights(format!("{}/text.keras", dir())).unwrap();
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("text.weights.h5");
    model.save_weights(&path).unwrap();
    let layout = seqnet::keras::weights_h5_layout(&path).unwrap();
    assert!(
        layout
            .iter()
            .any(|l| l == "layers/embedding/vars/0 dataset [40, 8] float32"),
        "{layout:?}"
    );
    let mut back = Text::new(1);
    back.load_weights(&path).unwrap();
    assert_eq!(back.get_weights(), model.get_weights());
}

fn seq_text_golden() -> Option<(Vec<[i32; 12]>, Vec<f32>)> {
    Some(ids_and_predictions(&load_reference(
        "seq_text_predictions.json",
    )?))
}

#[test]
fn keras_bidirectional_text_files_load_and_predict_as_keras() {
    let Some((x, want)) = seq_text_golden() else {
        return;
    };
    assert!(x.iter().any(|row| row[0] == 0), "the rows are padded");
    for file in ["seq_text.keras", "seq_text.weights.h5"] {
        let mut model = SeqText::new(0);
        model.load_weights(reference_dir().join(file)).unwrap();
        let got = model.predict(&x).unwrap();
        assert_close(file, got.as_flattened(), &want, 1e-5, 1e-6);
        for (row, want) in x.iter().zip(want.chunks(3)) {
            assert_close(file, &model.predict_one(row).unwrap(), want, 1e-5, 1e-6);
        }
    }
}

#[test]
fn keras2seqnet_prints_the_bidirectional_model() {
    let path = reference_dir().join("seq_text.keras");
    if !path.exists() {
        return;
    }
    assert_eq!(
        seqnet::keras::sequential_source(path, "SeqText").unwrap(),
        include_str!("keras_sources/seq_text.rs")
    );
}

#[test]
fn bidirectional_weights_seqnet_writes_have_keras_layout_and_read_back() {
    let path = reference_dir().join("seq_text.keras");
    if !path.exists() {
        return;
    }
    let mut model = SeqText::new(0);
    model.load_weights(path).unwrap();
    let out = tempfile::tempdir().unwrap();
    let written = out.path().join("seq_text.weights.h5");
    model.save_weights(&written).unwrap();
    let layout = seqnet::keras::weights_h5_layout(&written).unwrap();
    for line in [
        "layers/bidirectional/forward_layer/cell/vars/0 dataset [8, 32] float32",
        "layers/bidirectional/forward_layer/cell/vars/2 dataset [32] float32",
        "layers/bidirectional/backward_layer/cell/vars/1 dataset [8, 32] float32",
        "layers/gru/cell/vars/2 dataset [2, 18] float32",
    ] {
        assert!(layout.iter().any(|l| l == line), "{line} in {layout:?}");
    }
    // Nothing of the wrapper's own, as in Keras' file.
    assert!(
        !layout
            .iter()
            .any(|l| l.starts_with("layers/bidirectional/vars/")),
        "{layout:?}"
    );
    let mut back = SeqText::new(1);
    back.load_weights(&written).unwrap();
    assert_eq!(back.get_weights(), model.get_weights());
    let s = model.summary_string();
    assert!(
        s.contains("bidirectional (Bidirectional)") && s.contains("(None, 12, 16)"),
        "{s}"
    );
}
