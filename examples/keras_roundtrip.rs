//! A model trained in Keras, into seqnet and back out: loads `../shared/reference/seed_model.keras`
//! (the tutorial model, trained 3 epochs by Keras) into the struct `keras2seqnet` prints for it,
//! prints its summary and Keras' predictions beside seqnet's, trains a few more epochs, and saves
//! `.safetensors` and `.weights.h5` files Keras 3's `model.load_weights` reads, and the trained
//! model after `quantize("int8")` as a `.weights.h5` Keras reads after its own `quantize`.
//!
//! Run: `cargo run --release --features keras --example keras_roundtrip`
//! (the `keras` feature needs the system HDF5 library: `apt-get install libhdf5-dev`).

use seqnet::data::tutorial_data;
use seqnet::prelude::*;

sequential! {
    /// What `cargo run --features keras --example keras2seqnet -- seed_model.keras SeedModel`
    /// prints.
    pub struct SeedModel {
        Input(shape = (10,), name = "input_features"),
        Dense(64, activation = relu),
        Dense(32, activation = relu),
        Dense(1, activation = sigmoid),
    }
}

fn main() -> Result<()> {
    let reference = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/reference");
    println!(
        "{}",
        seqnet::keras::sequential_source(format!("{reference}/seed_model.keras"), "SeedModel")?
    );

    let mut model = SeedModel::new(0);
    model.load_weights(format!("{reference}/seed_model.keras"))?;
    model.summary();

    // Keras' predictions on the first test rows, stored beside the file.
    let json = std::fs::read_to_string(format!("{reference}/seed_model_predictions.json"))
        .map_err(|e| Error::Io {
            path: "seed_model_predictions.json".into(),
            message: e.to_string(),
        })?;
    let json: serde_json::Value = serde_json::from_str(&json).map_err(|e| Error::Parse {
        path: "seed_model_predictions.json".into(),
        line: e.line(),
        message: e.to_string(),
    })?;
    let numbers = |v: &serde_json::Value| -> Vec<f32> {
        let mut out = Vec::new();
        let mut stack = vec![v];
        while let Some(v) = stack.pop() {
            match v {
                serde_json::Value::Array(items) => stack.extend(items.iter().rev()),
                n => out.extend(n.as_f64().map(|f| f as f32)),
            }
        }
        out
    };
    let x = numbers(&json["inputs"]["values"]);
    let keras = numbers(&json["predictions"]["values"]);
    let ours = model.predict_flat(&x)?;
    println!("\nrow   Keras        seqnet       difference");
    for (i, (k, s)) in keras.iter().zip(&ours).enumerate() {
        println!("{i:>3}   {k:.8}   {:.8}   {:.1e}", s[0], (k - s[0]).abs());
    }

    // A few more epochs on the tutorial's data, then both formats out.
    let (x, y) = tutorial_data(1000, 42);
    let (x_train, x_test, y_train, y_test) = train_test_split(&x, &y, 0.2, 42)?;
    let mut model = model.compile(
        Adam::new(0.001),
        Loss::binary_crossentropy(),
        [Metric::Accuracy],
    );
    let before = model.evaluate(&x_test, &y_test)?;
    model.fit(
        &x_train,
        &y_train,
        Fit {
            epochs: 3,
            validation_split: 0.1,
            seed: 42,
            verbose: 2.into(),
            ..Fit::default()
        },
    )?;
    let after = model.evaluate(&x_test, &y_test)?;
    println!(
        "test accuracy: {:.4} as Keras left it, {:.4} after 3 more epochs in seqnet",
        before.get("accuracy").unwrap_or(f64::NAN),
        after.get("accuracy").unwrap_or(f64::NAN)
    );

    // The same 16 rows after training: what Keras must predict once it loads the saved files
    // (`tools/keras_loads_seqnet_weights.py` checks it).
    let rows = numbers(&json["inputs"]["values"]);
    let trained: Vec<f32> = model.predict_flat(&rows)?.iter().map(|p| p[0]).collect();
    println!("after training, on the same rows: {trained:?}");

    let out = std::env::temp_dir();
    let safetensors = out.join("seed_model.safetensors");
    let h5 = out.join("seed_model.weights.h5");
    model.save_weights(&safetensors)?; // with Adam's state: training can resume from it
    model.save_weights(&h5)?; // Keras 3: model.load_weights("seed_model.weights.h5")
    println!("saved {} and {}", safetensors.display(), h5.display());
    for line in seqnet::keras::weights_h5_layout(&h5)? {
        println!("  {line}");
    }

    // Keras' quantize("int8") of the trained model, saved in Keras' quantized layout: Keras
    // loads it after its own `model.quantize("int8")` (`tools/keras_loads_seqnet_weights.py
    // --int8` checks it, against these predictions).
    let int8 = model.quantize("int8")?;
    let quantized: Vec<f32> = int8.predict_flat(&rows)?;
    println!("int8, on the same rows: {quantized:?}");
    let int8_h5 = out.join("seed_model_int8.weights.h5");
    int8.save_weights(&int8_h5)?;
    println!("saved {}", int8_h5.display());
    Ok(())
}
