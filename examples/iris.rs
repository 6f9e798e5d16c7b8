//! Fisher's Iris (150 × 4, three species): a softmax classifier trained with sparse categorical
//! cross-entropy on integer labels. Reads `../shared/data/iris.csv`.
//!
//! Run: `cargo run --release --example iris`

use seqnet::prelude::*;

sequential! {
    /// Four flower measurements → one of three species.
    pub struct IrisNet {
        Dense(16, activation = relu, input_shape = (4,)),
        Dense(3, activation = softmax),
    }
}

fn main() -> Result<()> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/iris.csv");
    let data = load_csv(path)?;
    let x: Vec<[f32; 4]> = data.rows()?;
    let (x_train, x_test, y_train, y_test) = train_test_split(&x, &data.labels, 0.2, 42)?;
    let (scaler, x_train) = StandardScaler::fit_transform(&x_train)?;
    let x_test = scaler.transform(&x_test)?;

    let mut model = IrisNet::new(3).compile(
        Adam::new(0.01),
        Loss::sparse_categorical_crossentropy(),
        [Metric::Accuracy],
    );
    let history = model.fit(
        &x_train,
        &y_train,
        Fit {
            epochs: 100,
            batch_size: 16,
            verbose: 0.into(),
            seed: 3,
            ..Fit::default()
        },
    )?;
    println!(
        "after {} epochs: loss {:.4}, accuracy {:.4}",
        history.epoch.len(),
        history.last("loss").unwrap_or(f64::NAN),
        history.last("accuracy").unwrap_or(f64::NAN)
    );

    let scores = model.evaluate(&x_test, &y_test)?;
    let predicted: Vec<f32> = model
        .predict_classes(&x_test)?
        .iter()
        .map(|&c| c as f32)
        .collect();
    println!(
        "test loss: {:.4}  test accuracy: {:.4}",
        scores.loss,
        scores.get("accuracy").unwrap_or(f64::NAN)
    );
    println!(
        "accuracy_score: {:.4} on {} flowers",
        accuracy_score(&y_test, &predicted)?,
        y_test.len()
    );
    Ok(())
}
