//! Shared test helpers: Keras' reference values from `../shared/reference/`, thread pools.
#![allow(dead_code)] // each test binary uses a different part

use serde_json::Value;
use std::path::PathBuf;

/// The reference folder beside the repository, as the project's layout places it.
pub fn reference_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/reference")
}

/// The data folder beside the repository.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data")
}

/// A reference JSON file, or `None` (with a message saying why the test is skipped) when the
/// folder is not there.
pub fn load_reference(file: &str) -> Option<Value> {
    let path = reference_dir().join(file);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(serde_json::from_str(&text).expect("reference file is valid JSON")),
        Err(e) => {
            eprintln!(
                "skipping: Keras reference {} not readable ({e})",
                path.display()
            );
            None
        }
    }
}

/// Every number of a nested JSON array, row-major.
pub fn flat(v: &Value) -> Vec<f32> {
    let mut out = Vec::new();
    fn walk(v: &Value, out: &mut Vec<f32>) {
        match v {
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Number(n) => out.push(n.as_f64().expect("a number") as f32),
            other => panic!("expected numbers, found {other}"),
        }
    }
    walk(v, &mut out);
    out
}

/// Rows of a JSON matrix as fixed-width arrays.
pub fn rows<const N: usize>(v: &Value) -> Vec<[f32; N]> {
    v.as_array()
        .expect("an array of rows")
        .iter()
        .map(|r| flat(r).try_into().expect("row of the model's width"))
        .collect()
}

/// The per-layer `{kernel, bias}` weights of a golden case, in `get_weights()` order.
pub fn layer_weights(layers: &Value) -> Vec<Vec<f32>> {
    layers
        .as_array()
        .expect("a list of layers")
        .iter()
        .flat_map(|l| [flat(&l["kernel"]), flat(&l["bias"])])
        .collect()
}

/// Flat weights of a `[{"values": …}, …]` list (golden_layers' layout).
pub fn weight_list(v: &Value) -> Vec<f32> {
    weight_tensors(v).concat()
}

/// Each tensor of a `[{"values": …}, …]` list, flat (what `set_weights` takes).
pub fn weight_tensors(v: &Value) -> Vec<Vec<f32>> {
    v.as_array()
        .expect("a list of tensors")
        .iter()
        .map(|w| flat(&w["values"]))
        .collect()
}

/// Rows of the network's input type (an image for an image model) from a JSON array.
pub fn rows_of<N: seqnet::Network>(v: &Value) -> Vec<N::InputRow> {
    use seqnet::Row;
    let mut values = flat(v);
    if N::INPUT_IDS > 0 {
        // Token ids travel as their i32 bits (`[i32; T]` rows read as f32 slots).
        values
            .iter_mut()
            .for_each(|v| *v = f32::from_bits(*v as i32 as u32));
    }
    let mut out = vec![N::InputRow::zeros(); values.len() / N::INPUT_WIDTH];
    N::InputRow::flat_mut(&mut out).copy_from_slice(&values);
    out
}

/// Asserts |got − want| ≤ abs + rel·|want| element-wise, naming the first index that is off.
pub fn assert_close(what: &str, got: &[f32], want: &[f32], rel: f32, abs: f32) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    let mut worst = 0.0f32;
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let err = (g - w).abs();
        assert!(
            err <= abs + rel * w.abs(),
            "{what}[{i}]: got {g}, Keras {w} (error {err:e})"
        );
        worst = worst.max(err);
    }
    eprintln!("{what}: {} values, largest difference {worst:e}", got.len());
}

/// `f` on a fresh rayon pool of `threads` threads: how the tests compare 1 and 2 threads.
pub fn on_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool")
        .install(f)
}

/// Each tensor of a list of nested arrays, flat (`golden_seq.json`'s `weights`).
pub fn tensors(v: &Value) -> Vec<Vec<f32>> {
    v.as_array()
        .expect("a list of tensors")
        .iter()
        .map(flat)
        .collect()
}

/// A case in `golden_seq.json`'s layout (`x`, `y`, `weights`, `predict`, `steps`) replayed on
/// `model`: Keras' weights in, predictions batched and row by row to 1e-5, then each Adam(0.01)
/// `train_on_batch` step's loss to 1e-4 relative and every weight after it to 1e-4.
pub fn adam_steps_as_keras<N: seqnet::Network>(
    name: &str,
    case: &Value,
    model: N,
    loss: seqnet::Loss,
) {
    use seqnet::prelude::*;
    use seqnet::Row;
    let mut model = model.compile(Adam::new(0.01), loss, []);
    model.set_weights(&tensors(&case["weights"])).unwrap();
    let x = rows_of::<N>(&case["x"]);
    let y = flat(&case["y"]);
    let want = flat(&case["predict"]);
    assert_close(
        &format!("{name} predict"),
        &model.predict_flat(N::InputRow::flat(&x)).unwrap(),
        &want,
        1e-5,
        1e-6,
    );
    for (row, want) in x.iter().zip(want.chunks(N::OUTPUT_WIDTH)) {
        let one = model.predict_flat(row.as_flat()).unwrap();
        assert_close(&format!("{name} one row"), &one, want, 1e-5, 1e-6);
    }
    for (i, step) in case["steps"].as_array().unwrap().iter().enumerate() {
        let loss = model.train_on_batch(&x, &y[..]).unwrap();
        let keras = step["loss"].as_f64().unwrap();
        assert!(
            (loss - keras).abs() <= 1e-4 * keras.abs().max(1e-3),
            "{name} step {i}: loss {loss} vs Keras {keras}"
        );
        assert_close(
            &format!("{name} weights after step {i}"),
            &model.get_weights().concat(),
            &tensors(&step["weights"]).concat(),
            1e-4,
            1e-4,
        );
    }
}

/// A load refused because the file is of the other precision: its first kernel (`dense/kernel`)
/// is int8 where the model is float32 (`file_quantized`) or the reverse, and the message names
/// the type to load it into.
pub fn assert_other_precision(result: seqnet::Result<()>, file_quantized: bool) {
    match result {
        Err(seqnet::Error::WeightsMismatch {
            tensor, mismatch, ..
        }) => {
            assert_eq!(tensor, "dense/kernel");
            assert_eq!(mismatch, seqnet::Mismatch::Quantization { file_quantized });
            let hint = if file_quantized {
                "Quantized"
            } else {
                "quantize("
            };
            assert!(mismatch.to_string().contains(hint), "{mismatch}");
        }
        other => panic!("expected the kernel's precision named, got {other:?}"),
    }
}
