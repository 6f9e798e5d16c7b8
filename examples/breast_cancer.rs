//! Breast Cancer Wisconsin (569 × 30, two classes): standardised features, a small Dense
//! classifier, test accuracy. Reads `../shared/data/breast_cancer.csv`.
//!
//! Run: `cargo run --release --example breast_cancer`

use seqnet::prelude::*;

sequential! {
    /// 30 standardised measurements → malignant (0) / benign (1).
    pub struct CancerNet {
        Input(shape = (30,), name = "measurements"),
        Dense(16, activation = relu),
        Dense(8, activation = relu),
        Dense(1, activation = sigmoid),
    }
}

fn main() -> Result<()> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/breast_cancer.csv"
    );
    let data = load_csv(path)?;
    let x: Vec<[f32; 30]> = data.rows()?;
    let (x_train, x_test, y_train, y_test) = train_test_split(&x, &data.labels, 0.2, 42)?;

    // Fit the scaling on the training rows only, then apply it to both.
    let (scaler, x_train) = StandardScaler::fit_transform(&x_train)?;
    let x_test = scaler.transform(&x_test)?;

    let model = CancerNet::new(7);
    model.summary();
    let mut model = model.compile(
        Adam::new(0.001),
        Loss::binary_crossentropy(),
        [
            Metric::Accuracy,
            Metric::Precision,
            Metric::Recall,
            Metric::Auc,
        ],
    );
    model.fit(
        &x_train,
        &y_train,
        Fit {
            epochs: 60,
            batch_size: 32,
            validation_split: 0.1,
            verbose: 2.into(),
            seed: 7,
            ..Fit::default()
        },
    )?;

    let scores = model.evaluate(&x_test, &y_test)?;
    println!("\ntest rows: {}", x_test.len());
    println!("test loss: {:.4}", scores.loss);
    for (name, value) in &scores.metrics {
        println!("test {name}: {value:.4}");
    }
    Ok(())
}
