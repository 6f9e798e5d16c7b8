//! What more than one program needs (the examples, and `tests/learning.rs`, which
//! holds them to their accuracies): the path of a data set in `../shared/data/` and the
//! time-series archives' baseline (1-nearest neighbour).
#![allow(dead_code)] // each program uses part of it

use seqnet::Row;

/// The path of `../shared/data/NAME`, beside the repository.
pub fn data(name: &str) -> String {
    format!("{}/../shared/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Test accuracy of 1-nearest neighbour by Euclidean distance on the flattened series, the
/// baseline the UCR/UEA archives report for every data set.
pub fn one_nn<R: Row>(train: &[R], train_y: &[f32], test: &[R], test_y: &[f32]) -> f64 {
    let correct = test
        .iter()
        .zip(test_y)
        .filter(|(t, &label)| {
            let nearest = train
                .iter()
                .zip(train_y)
                .map(|(s, &l)| {
                    let d: f32 = s
                        .as_flat()
                        .iter()
                        .zip(t.as_flat())
                        .map(|(a, b)| (a - b) * (a - b))
                        .sum();
                    (d, l)
                })
                .min_by(|a, b| a.0.total_cmp(&b.0));
            nearest.is_some_and(|(_, l)| l == label)
        })
        .count();
    correct as f64 / test.len() as f64
}

