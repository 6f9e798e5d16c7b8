//! An LSTM on a real time series, ItalyPowerDemand (UCR): 24 hourly loads of a day → October–March
//! or April–September, 67 training series, 1,029 test series (the archive's own split, from
//! `../shared/data/`), beside the archive's baseline computed in the same program (1-nearest
//! neighbour, Euclidean distance on the flattened series).
//!
//! The model reads the day hour by hour: `LSTM(16)` → `Dense(2, softmax)`, Adam(0.01) with
//! `ReduceLROnPlateau` halving the rate when the training loss stalls, 150 epochs of 16 rows.
//! Test accuracy here: LSTM 0.960, 1-NN 0.955 (the same on the AVX-512, AVX2 and portable kernel
//! paths; seeds 1–8 gave 0.958–0.964); `examples/time_series.rs`' Conv1D reaches 0.974.
//! `tests/learning.rs` holds the LSTM to the baseline.
//!
//! Run: `cargo run --release --example lstm_power_demand`

mod common;

use common::{data, one_nn};
use seqnet::prelude::*;

sequential! {
    /// A day of 24 hourly loads, read in order → October–March or April–September.
    pub struct PowerDemandLstm {
        Input(shape = (24, 1)),
        LSTM(16),
        Dense(2, activation = softmax),
    }
}

/// A day of ItalyPowerDemand: 24 steps of one value.
type Day = [[f32; 1]; 24];

fn main() -> Result<()> {
    let train = load_csv(data("italypowerdemand_train.csv"))?;
    let test = load_csv(data("italypowerdemand_test.csv"))?;
    let (x, xt): (Vec<Day>, Vec<Day>) = (train.rows()?, test.rows()?);
    let baseline = one_nn(&x, &train.labels, &xt, &test.labels);

    let model = PowerDemandLstm::new(1);
    model.summary();
    let mut model = model.compile(
        Adam::new(0.01),
        Loss::sparse_categorical_crossentropy(),
        [Metric::Accuracy],
    );
    let history = model.fit(
        &x,
        &train.labels,
        Fit {
            epochs: 150,
            batch_size: 16,
            seed: 1,
            verbose: 0.into(),
            callbacks: vec![Box::new(
                ReduceLROnPlateau::new("loss").factor(0.5).patience(10),
            )],
            ..Fit::default()
        },
    )?;
    let scores = model.evaluate(&xt, &test.labels)?;

    println!(
        "\ntraining loss {:.4} after {} epochs (learning rate now {:.1e})",
        history.last("loss").unwrap_or(f64::NAN),
        history.epoch.len(),
        model.optimizer().learning_rate()
    );
    println!("\n| ItalyPowerDemand | test accuracy |");
    println!("| --- | --- |");
    println!("| 1-NN (Euclidean), the archive's baseline | {baseline:.3} |");
    println!(
        "| LSTM(16) | {:.3} |",
        scores.get("accuracy").unwrap_or(f64::NAN)
    );
    Ok(())
}
