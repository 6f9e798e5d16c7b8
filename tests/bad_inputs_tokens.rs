//! Token ids out of range: every entry point of a model whose first layer is Embedding
//! (`predict`, `predict_one`, `predict_flat`, `evaluate`, `fit`, its validation data,
//! `train_on_batch`) answers an id outside `0..input_dim` (too large, negative) with
//! `Error::TokenId` naming the row and position, before anything is computed; the weights,
//! optimizer and history are unchanged.

use seqnet::prelude::*;

sequential! {
    struct Text {
        Input(shape = (6,), dtype = "int32"),
        Embedding(20, 4, mask_zero = true),
        GlobalAveragePooling1D,
        Dense(1, activation = sigmoid),
    }
}

fn rows() -> Vec<[i32; 6]> {
    (0..10)
        .map(|r| std::array::from_fn(|t| ((r * 7 + t * 3) % 20) as i32))
        .collect()
}

fn is_token(err: &Error, row: usize, position: usize, id: i64) -> bool {
    matches!(err, Error::TokenId { row: r, position: p, id: i, input_dim: 20, .. }
        if *r == row && *p == position && *i == id)
}

#[test]
fn every_entry_point_names_the_id_out_of_range() {
    for (row, position, id) in [(0, 0, 20), (4, 3, -1), (9, 5, i32::MAX), (2, 1, i32::MIN)] {
        let mut x = rows();
        x[row][position] = id;
        let y: Vec<f32> = (0..10).map(|r| (r % 2) as f32).collect();
        let model = Text::new(3);
        let before = model.get_weights();
        let id = i64::from(id);

        let err = model.predict(&x).unwrap_err();
        assert!(is_token(&err, row, position, id), "predict: {err}");
        let err = model.predict_one(&x[row]).unwrap_err();
        assert!(is_token(&err, 0, position, id), "predict_one: {err}");
        let err = model.predict_flat(seqnet::Row::flat(&x)).unwrap_err();
        assert!(is_token(&err, row, position, id), "predict_flat: {err}");
        assert!(err.to_string().contains(&format!("token id {id}")), "{err}");
        assert!(err.to_string().contains("0..20"), "{err}");

        let mut m = model.compile(Adam::new(0.01), Loss::binary_crossentropy(), []);
        let err = m.evaluate(&x, &y[..]).unwrap_err();
        assert!(is_token(&err, row, position, id), "evaluate: {err}");
        let err = m.train_on_batch(&x, &y[..]).unwrap_err();
        assert!(is_token(&err, row, position, id), "train_on_batch: {err}");
        let err = m
            .fit(
                &x,
                &y[..],
                Fit {
                    epochs: 1,
                    verbose: Verbose::Silent,
                    ..Fit::default()
                },
            )
            .unwrap_err();
        assert!(is_token(&err, row, position, id), "fit: {err}");
        let good = rows();
        let err = m
            .fit(
                &good,
                &y[..],
                Fit {
                    epochs: 1,
                    verbose: Verbose::Silent,
                    validation_data: Some((&x, &y[..])),
                    ..Fit::default()
                },
            )
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::TokenId {
                    what: "validation input",
                    ..
                }
            ),
            "validation: {err}"
        );
        assert_eq!(m.get_weights(), before, "weights changed after {err}");
        assert_eq!(m.optimizer().iterations(), 0);
    }
}

#[test]
fn every_id_of_the_vocabulary_is_read_exactly() {
    // ids 0..V, including ones far above 2^24, where an f32 could not hold them exactly.
    sequential! {
        struct Wide {
            Input(shape = (3,), dtype = "int32"),
            Embedding(20_000_000, 1),
            Flatten,
            Dense(1, use_bias = false),
        }
    }
    let mut model = Wide::new(0);
    let v = 20_000_000usize;
    let mut table = vec![0.0f32; v];
    for (i, id) in [0usize, 16_777_216, 16_777_217, v - 1].iter().enumerate() {
        table[*id] = (i + 1) as f32;
    }
    model.set_weights(&[table, vec![1.0, 10.0, 100.0]]).unwrap();
    let out = model
        .predict(&[[16_777_217, 16_777_216, 0], [19_999_999, 0, 16_777_217]])
        .unwrap();
    assert_eq!(out, vec![[3.0 + 20.0 + 100.0], [4.0 + 10.0 + 300.0]]);
}
