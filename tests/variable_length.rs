//! Variable-length sequences, `Input(shape = (None, F))` and `(None,)` token rows: the model is
//! generic over its number of steps `T`, as Keras' model is over its `None`. The same weights
//! run at any length; at a given length the generic model computes what the fixed-length model
//! computes; Keras' emb_mask_gap case holds for the generic token model; training works.

mod common;

use common::{assert_close, load_reference};
use seqnet::prelude::*;

sequential! {
    /// Every layer that keeps a variable number of steps, then a global pooling.
    struct AnyLength {
        Input(shape = (None, 3)),
        Masking,
        Conv1D(8, 3, padding = "causal", activation = relu),
        LayerNormalization,
        Dense(4, activation = tanh),
        Dropout(0.25),
        Activation(relu),
        Conv1D(4, 5, padding = "same"),
        GlobalMaxPooling1D,
        Dense(2, activation = softmax),
    }
}

sequential! {
    /// The same layers at 20 steps.
    struct Twenty {
        Input(shape = (20, 3)),
        Masking,
        Conv1D(8, 3, padding = "causal", activation = relu),
        LayerNormalization,
        Dense(4, activation = tanh),
        Dropout(0.25),
        Activation(relu),
        Conv1D(4, 5, padding = "same"),
        GlobalMaxPooling1D,
        Dense(2, activation = softmax),
    }
}

sequential! {
    /// Keras' emb_mask_gap case over rows of any length.
    struct AnyIds {
        Input(shape = (None,), dtype = "int32"),
        Embedding(30, 6, mask_zero = true),
        GlobalAveragePooling1D,
        Dense(2, activation = softmax),
    }
}

fn series<const T: usize>(rows: usize, seed: usize) -> Vec<[[f32; 3]; T]> {
    (0..rows)
        .map(|r| {
            std::array::from_fn(|t| {
                std::array::from_fn(|c| (((r + seed) * 13 + t * 7 + c * 3) % 11) as f32 / 5.0 - 1.0)
            })
        })
        .collect()
}

#[test]
fn one_set_of_weights_runs_at_every_length_as_the_fixed_model_does() {
    let fixed = Twenty::new(5);
    let weights = fixed.get_weights();
    let mut generic = AnyLength::<20>::new(0);
    assert_eq!(generic.count_params(), fixed.count_params());
    generic.set_weights(&weights).unwrap();
    let x = series::<20>(9, 1);
    assert_close(
        "T = 20",
        generic.predict(&x).unwrap().as_flattened(),
        fixed.predict(&x).unwrap().as_flattened(),
        1e-6,
        1e-7,
    );
    for row in &x {
        assert_close(
            "predict_one",
            &generic.predict_one(row).unwrap(),
            &fixed.predict_one(row).unwrap(),
            1e-6,
            1e-7,
        );
    }
    // Other lengths, the same weights: probabilities, and one row alone as in a batch.
    let mut short = AnyLength::<4>::new(0);
    short.set_weights(&weights).unwrap();
    let mut long = AnyLength::<150>::new(0);
    long.set_weights(&weights).unwrap();
    for p in short.predict(&series::<4>(3, 2)).unwrap() {
        assert!((p[0] + p[1] - 1.0).abs() < 1e-6, "{p:?}");
    }
    let rows = series::<150>(3, 3);
    let batch = long.predict(&rows).unwrap();
    assert_close(
        "T = 150",
        &long.predict_one(&rows[2]).unwrap(),
        &batch[2],
        1e-6,
        1e-7,
    );
    assert!(long.summary_string().contains("(None, 150, 8)"));
}

#[test]
fn the_generic_token_model_predicts_and_trains_as_keras() {
    let Some(r) = load_reference("golden_seq.json") else {
        return;
    };
    // Keras ran the case at 10 steps; the generic model at T = 10 replays it.
    common::adam_steps_as_keras(
        "emb_mask_gap, generic",
        &r["cases"]["emb_mask_gap"],
        AnyIds::<10>::new(0),
        Loss::sparse_categorical_crossentropy(),
    );
}

#[test]
fn a_generic_model_trains_at_its_length() {
    let x = series::<12>(64, 4);
    let y: Vec<f32> = (0..64).map(|r| (r % 2) as f32).collect();
    let mut model = AnyLength::<12>::new(1).compile(
        Adam::new(0.01),
        Loss::sparse_categorical_crossentropy(),
        [Metric::Accuracy],
    );
    let history = model
        .fit(
            &x,
            &y[..],
            Fit {
                epochs: 5,
                batch_size: 16,
                verbose: Verbose::Silent,
                ..Fit::default()
            },
        )
        .unwrap();
    let loss = history.get("loss").unwrap();
    assert!(loss[4] < loss[0], "{loss:?}");
}
