//! The UCI handwritten digits (1797 images of 8×8 pixels, ten classes) read by an LSTM as a
//! sequence of 8 rows of 8 pixels, top to bottom: Keras' classic "MNIST rows" LSTM at the size
//! of these images. Pixels / 16, scikit-learn's 80/20 split with a fixed seed (as
//! `examples/digits.rs`, whose CNN reaches 0.983 on the same rows), `LSTM(32)` →
//! `Dense(10, softmax)`, Adam(0.01), 20 epochs of 32 images. Reads
//! `../shared/data/digits8x8.csv`; test accuracy ≥ 0.95 (0.989 here, the same on the AVX-512,
//! AVX2 and portable kernel paths; seeds 1–8 gave 0.961–0.992). `tests/learning.rs` holds it
//! to 0.95.
//!
//! Run: `cargo run --release --example digits_lstm`

mod common;

use common::digits;
use seqnet::prelude::*;

sequential! {
    /// An 8×8 grey image as 8 steps (its rows) of 8 features (the pixels) → one of ten digits.
    pub struct DigitRows {
        Input(shape = (8, 8)),
        LSTM(32),
        Dense(10, activation = softmax),
    }
}

/// An image as a sequence: 8 rows of 8 pixels.
type Rows = [[f32; 8]; 8];

fn main() -> Result<()> {
    // Pixels / 16, the 80/20 split of seed 42: the images examples/digits.rs uses.
    let (x_train, x_test, y_train, y_test) = digits::<Rows>()?;

    let model = DigitRows::new(7);
    model.summary();
    let mut model = model.compile(
        Adam::new(0.01),
        Loss::sparse_categorical_crossentropy(),
        [Metric::Accuracy],
    );
    let history = model.fit(
        &x_train,
        &y_train,
        Fit {
            epochs: 20,
            batch_size: 32,
            seed: 7,
            verbose: 0.into(),
            ..Fit::default()
        },
    )?;
    let scores = model.evaluate(&x_test, &y_test)?;
    println!(
        "\ntraining accuracy after {} epochs: {:.4}",
        history.epoch.len(),
        history.last("accuracy").unwrap_or(f64::NAN)
    );
    println!(
        "test loss: {:.4}  test accuracy: {:.4} on {} images",
        scores.loss,
        scores.get("accuracy").unwrap_or(f64::NAN),
        x_test.len()
    );
    Ok(())
}
