//! The Keras tutorial with the extensions it suggests at its end: Dropout and
//! BatchNormalization between the hidden layers. Same data, split, optimizer and epochs as
//! `seed_pipeline`; the same test metrics are printed. Training runs Dropout and batch
//! statistics; `evaluate` and `predict` run in inference mode (Dropout off, moving statistics),
//! as in Keras.
//!
//! Run: `cargo run --release --example seed_regularized`

use seqnet::data::tutorial_data;
use seqnet::prelude::*;

sequential! {
    /// The tutorial's classifier with normalisation and dropout between the hidden layers.
    pub struct RegularizedNet {
        Input(shape = (10,), name = "input_features"),
        Dense(64, activation = relu),
        BatchNormalization(),
        Dropout(0.3),
        Dense(32, activation = relu),
        BatchNormalization(),
        Dropout(0.3),
        Dense(1, activation = sigmoid),
    }
}

fn main() -> Result<()> {
    let (x, y) = tutorial_data(1000, 42);
    let (x_train, x_test, y_train, y_test) = train_test_split(&x, &y, 0.2, 42)?;

    let model = RegularizedNet::new(42);
    model.summary();
    let mut model = model.compile(
        Adam::new(0.001),
        Loss::binary_crossentropy(),
        [Metric::Accuracy],
    );
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
    Ok(())
}
