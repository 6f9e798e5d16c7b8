//! A small CNN on the UCI handwritten digits (1797 images of 8×8 pixels, ten classes), as the
//! Keras image tutorial builds one: pixels / 16, an 80/20 split with a fixed seed, Conv2D → max
//! pooling → Dense softmax, Adam, sparse categorical cross-entropy, with the progress bar and
//! the History. Reads `../shared/data/digits8x8.csv`; test accuracy ≥ 0.97 (0.983 here).
//!
//! Run: `cargo run --release --example digits`

use seqnet::prelude::*;

sequential! {
    /// An 8×8 grey image → one of ten digits.
    pub struct DigitsCnn {
        Input(shape = (8, 8, 1)),
        Conv2D(32, (3, 3), activation = relu),
        MaxPooling2D((2, 2)),
        Flatten,
        Dense(10, activation = softmax),
    }
}

/// An image as decoded: 8 rows of 8 pixels of one channel.
type Image = [[[f32; 1]; 8]; 8];

fn main() -> Result<()> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/digits8x8.csv");
    let data = load_csv(path)?;
    let mut images: Vec<Image> = data.rows()?;
    // Pixels are 0–16: scale to [0, 1] as the tutorial divides by the maximum.
    for pixel in images.iter_mut().flatten().flatten().flatten() {
        *pixel /= 16.0;
    }
    let (x_train, x_test, y_train, y_test) = train_test_split(&images, &data.labels, 0.2, 42)?;

    let model = DigitsCnn::new(7);
    model.summary();
    let mut model = model.compile(
        Adam::new(0.005),
        Loss::sparse_categorical_crossentropy(),
        [Metric::Accuracy],
    );
    let history = model.fit(
        &x_train,
        &y_train,
        Fit {
            epochs: 20,
            batch_size: 32,
            validation_split: 0.1,
            seed: 7,
            ..Fit::default()
        },
    )?;
    println!("\nHistory (per epoch):");
    for (i, epoch) in history.epoch.iter().enumerate() {
        println!(
            "  epoch {:>2}: loss {:.4}  accuracy {:.4}  val_loss {:.4}  val_accuracy {:.4}",
            epoch + 1,
            history.get("loss").map_or(f64::NAN, |v| v[i]),
            history.get("accuracy").map_or(f64::NAN, |v| v[i]),
            history.get("val_loss").map_or(f64::NAN, |v| v[i]),
            history.get("val_accuracy").map_or(f64::NAN, |v| v[i]),
        );
    }

    let scores = model.evaluate(&x_test, &y_test)?;
    println!(
        "\ntest loss: {:.4}  test accuracy: {:.4} on {} images",
        scores.loss,
        scores.get("accuracy").unwrap_or(f64::NAN),
        x_test.len()
    );
    let first = model.predict_one(&x_test[0])?;
    println!(
        "first test image: label {}, predicted {} (p = {:.3})",
        y_test[0],
        seqnet::metrics::argmax(&first),
        first[seqnet::metrics::argmax(&first)]
    );
    Ok(())
}
