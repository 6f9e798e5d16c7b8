//! The Keras tutorial's whole pipeline, in Rust: synthetic data (1000 × 10, uniform in [0, 10),
//! label = sum of the first five features > sum of the last five plus N(0, 1) noise), an 80/20
//! split with seed 42, `Input(10) → Dense 64 relu → Dense 32 relu → Dense 1 sigmoid`, Adam(0.001),
//! binary cross-entropy, 10 epochs of batch 32 with validation_split 0.1, then evaluate, predict,
//! threshold at 0.5 and accuracy_score.
//!
//! Run: `cargo run --release --example seed_pipeline`; with `-- --history PATH` it also writes
//! the History as CSV (`tools/learning_curve.py` draws it: docs/learning_curve.svg).

use seqnet::data::tutorial_data;
use seqnet::prelude::*;
use std::time::Instant;

sequential! {
    /// The tutorial's classifier.
    pub struct SeedNet {
        Input(shape = (10,), name = "input_features"),
        Dense(64, activation = relu),
        Dense(32, activation = relu),
        Dense(1, activation = sigmoid),
    }
}

fn main() -> Result<()> {
    let start = Instant::now();

    let (x, y) = tutorial_data(1000, 42);
    let (x_train, x_test, y_train, y_test) = train_test_split(&x, &y, 0.2, 42)?;
    println!(
        "x_train: ({}, 10)  y_train: ({},)",
        x_train.len(),
        y_train.len()
    );
    println!(
        "x_test:  ({}, 10)  y_test:  ({},)\n",
        x_test.len(),
        y_test.len()
    );

    let model = SeedNet::new(42);
    model.summary();

    let mut model = model.compile(
        Adam::new(0.001),
        Loss::binary_crossentropy(),
        [Metric::Accuracy],
    );
    let fit_start = Instant::now();
    let history = model.fit(
        &x_train,
        &y_train,
        Fit {
            epochs: 10,
            batch_size: 32,
            validation_split: 0.1,
            seed: 42,
            ..Fit::default()
        },
    )?;
    let fit_time = fit_start.elapsed();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--history", Some(path)) => history.write_csv(path)?,
            _ => eprintln!("unknown argument {arg:?}; the one option is --history PATH"),
        }
    }

    println!("\nper epoch:  loss    accuracy  val_loss  val_accuracy");
    for (i, epoch) in history.epoch.iter().enumerate() {
        let at = |name: &str| history.get(name).map_or(f64::NAN, |v| v[i]);
        println!(
            "  {:>2}       {:.4}  {:.4}    {:.4}    {:.4}",
            epoch + 1,
            at("loss"),
            at("accuracy"),
            at("val_loss"),
            at("val_accuracy")
        );
    }

    let scores = model.evaluate(&x_test, &y_test)?;
    println!(
        "\ntest loss: {:.4}  test accuracy: {:.4}",
        scores.loss,
        scores.get("accuracy").unwrap_or(f64::NAN)
    );

    let probabilities = model.predict(&x_test)?;
    let predicted: Vec<f32> = probabilities
        .iter()
        .map(|p| f32::from(p[0] > 0.5))
        .collect();
    println!("first predictions: {:?}", &probabilities[..5]);
    println!(
        "accuracy_score:    {:.4}",
        accuracy_score(&y_test, &predicted)?
    );
    println!(
        "\nfit took {:.1} ms; the whole program {:.1} ms",
        fit_time.as_secs_f64() * 1e3,
        start.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}
