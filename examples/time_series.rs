//! Conv1D on two real time-series data sets, each beside the archive's own baseline computed in
//! the same program (1-nearest neighbour, Euclidean distance on the flattened series):
//!
//! - ItalyPowerDemand (UCR): 24 hourly loads of a day → winter or summer; 67 training series.
//! - BasicMotions (UEA): 100 steps × 6 accelerometer/gyroscope channels → running, walking,
//!   standing or badminton; 40 training series.
//!
//! Reads `../shared/data/` (the archive's own train/test split, not re-split). Test accuracy
//! here: ItalyPowerDemand 0.974 (1-NN 0.955), BasicMotions 1.000 (1-NN 0.600), the same on
//! the AVX-512, AVX2 and portable kernel paths; `tests/learning.rs` holds both to the baseline.
//!
//! Run: `cargo run --release --example time_series`

mod common;

use common::{data, one_nn};
use seqnet::prelude::*;

sequential! {
    /// A day of 24 hourly loads → October–March or April–September.
    pub struct PowerDemand {
        Input(shape = (24, 1)),
        Conv1D(32, 5, padding = "same", activation = relu),
        MaxPooling1D(2),
        Conv1D(32, 3, padding = "same", activation = relu),
        Flatten,
        Dense(2, activation = softmax),
    }
}

sequential! {
    /// 100 steps of a smart watch's 6 motion channels → one of four activities.
    pub struct Motions {
        Input(shape = (100, 6)),
        Conv1D(16, 5, activation = relu),
        MaxPooling1D(2),
        Conv1D(32, 5, activation = relu),
        GlobalAveragePooling1D,
        Dense(4, activation = softmax),
    }
}

/// A day of ItalyPowerDemand: 24 steps of one value.
type Day = [[f32; 1]; 24];
/// A BasicMotions series: 100 steps of 6 channels.
type Motion = [[f32; 6]; 100];

fn main() -> Result<()> {
    let train = load_csv(data("italypowerdemand_train.csv"))?;
    let test = load_csv(data("italypowerdemand_test.csv"))?;
    let (x, xt): (Vec<Day>, Vec<Day>) = (train.rows()?, test.rows()?);
    let baseline = one_nn(&x, &train.labels, &xt, &test.labels);
    let mut model = PowerDemand::new(1).compile(
        Adam::new(0.003),
        Loss::sparse_categorical_crossentropy(),
        [Metric::Accuracy],
    );
    model.fit(
        &x,
        &train.labels,
        Fit {
            epochs: 200,
            batch_size: 16,
            seed: 1,
            verbose: 0.into(),
            ..Fit::default()
        },
    )?;
    let italy = model.evaluate(&xt, &test.labels)?;

    let train = load_csv(data("basicmotions_train.csv"))?;
    let test = load_csv(data("basicmotions_test.csv"))?;
    let (x, xt): (Vec<Motion>, Vec<Motion>) = (train.rows()?, test.rows()?);
    let motions_baseline = one_nn(&x, &train.labels, &xt, &test.labels);
    let mut model = Motions::new(1).compile(
        Adam::new(0.003),
        Loss::sparse_categorical_crossentropy(),
        [Metric::Accuracy],
    );
    model.fit(
        &x,
        &train.labels,
        Fit {
            epochs: 100,
            batch_size: 8,
            seed: 1,
            verbose: 0.into(),
            ..Fit::default()
        },
    )?;
    let motions = model.evaluate(&xt, &test.labels)?;

    println!("| data set | 1-NN (Euclidean) test accuracy | Conv1D test accuracy |");
    println!("| --- | --- | --- |");
    for (name, base, scores) in [
        ("ItalyPowerDemand", baseline, italy),
        ("BasicMotions", motions_baseline, motions),
    ] {
        println!(
            "| {name} | {base:.3} | {:.3} |",
            scores.get("accuracy").unwrap_or(f64::NAN)
        );
    }
    Ok(())
}
