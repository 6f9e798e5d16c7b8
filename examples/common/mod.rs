//! What more than one program needs (the examples, and `tests/learning.rs`, which
//! holds them to their accuracies): the path of a data set in `../shared/data/`, the digits'
//! train/test split, the time-series archives' baseline (1-nearest neighbour), and
//! `word_order`'s synthetic sentences.
#![allow(dead_code)] // each program uses part of it

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use seqnet::prelude::*;
use seqnet::Row;

/// The path of `../shared/data/NAME`, beside the repository.
pub fn data(name: &str) -> String {
    format!("{}/../shared/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// `(x_train, x_test, y_train, y_test)`, as `train_test_split` returns them.
pub type Split<R> = (Vec<R>, Vec<R>, Vec<f32>, Vec<f32>);

/// The UCI digits (`digits8x8.csv`) as `examples/digits.rs` reads them: pixels / 16 (they are
/// 0–16), scikit-learn's 80/20 split of seed 42; each image a row of type `R` (an 8×8×1 image,
/// or 8 steps of 8 pixels).
pub fn digits<R: Row + Clone>() -> Result<Split<R>> {
    let digits = load_csv(data("digits8x8.csv"))?;
    let mut images: Vec<R> = digits.rows()?;
    for pixel in R::flat_mut(&mut images) {
        *pixel /= 16.0;
    }
    train_test_split(&images, &digits.labels, 0.2, 42)
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

/// Ids of [`a_before_b`]'s sentences: 0 (padding), 1 (`A`), 2 (`B`) and 27 filler words.
pub const VOCABULARY: usize = 30;
/// The longest of [`a_before_b`]'s sentences.
pub const MAX_WORDS: usize = 20;

/// A synthetic task only word order decides: `count` sentences and their labels, seeded. Each is
/// 2 to `MAX_WORDS` ids long and holds `A` (id 1) once and `B` (id 2) once, at two random
/// places, and filler words (ids 3–29) elsewhere; its label is 1.0 when `A` comes first. Both
/// classes hold the same words in the same numbers: what a sentence holds says nothing of its
/// label.
pub fn a_before_b(count: usize, seed: u64) -> (Vec<Vec<i32>>, Vec<f32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            let len = rng.random_range(2..=MAX_WORDS);
            let mut words: Vec<i32> = (0..len)
                .map(|_| rng.random_range(3..VOCABULARY as i32))
                .collect();
            let a = rng.random_range(0..len);
            let b = (a + rng.random_range(1..len)) % len; // any other place
            words[a] = 1;
            words[b] = 2;
            (words, f32::from(a < b))
        })
        .unzip()
}
