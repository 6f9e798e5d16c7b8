//! The quantized model type (`model.quantize("int8")`): the same bits at any thread count and
//! batch, `predict_one` equal to `predict`'s row, `evaluate` equal to the loss of its own
//! predictions, the checks every entry point makes, and its weight files (safetensors round
//! trip; a float file refused by the quantized type, a quantized file by the float type).

mod common;

use common::{assert_other_precision, on_threads};
use seqnet::prelude::*;
use seqnet::{Dtype, Row};

sequential! {
    /// The benchmark model: its Dense products are large enough to run on threads.
    pub struct Mnist {
        Input(shape = (784,)),
        Dense(512, activation = relu),
        Dense(512, activation = relu),
        Dense(10, activation = softmax),
    }
}

sequential! {
    /// Odd widths: k not a multiple of four, n not a multiple of a panel.
    pub struct Odd {
        Input(shape = (13,)),
        Dense(37, activation = gelu),
        Dropout(0.5),
        Dense(5, activation = sigmoid),
    }
}

fn rows<const W: usize>(n: usize, seed: u32) -> Vec<[f32; W]> {
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state as f32 / u32::MAX as f32) * 4.0 - 2.0
    };
    (0..n).map(|_| std::array::from_fn(|_| next())).collect()
}

fn bits<R: Row>(rows: &[R]) -> Vec<u32> {
    R::flat(rows).iter().map(|v| v.to_bits()).collect()
}

/// A row from `predict_one` against the batch's: the same bits when the inputs are quantized
/// (integer sums); weight-only sums floats, in another order in the GEMV than in the GEMM,
/// so within rounding, as the float model's `predict_one` is.
fn same_row<R: Row>(config: Int8QuantizationConfig, one: &R, batch: &R, i: usize) {
    if config.quantize_inputs {
        assert_eq!(bits(&[*one]), bits(&[*batch]), "row {i}");
    } else {
        for (a, b) in one.as_flat().iter().zip(batch.as_flat()) {
            assert!(
                (a - b).abs() <= 1e-6 * (1.0 + b.abs()),
                "row {i}: {a} vs {b}"
            );
        }
    }
}

#[test]
fn a_small_model_gives_predict_one_the_bits_of_predict() {
    // Small kernels take the fixed-size f32 GEMV in `predict_one` (exact integer sums): the
    // same bits as the int8 kernels give the batch.
    for config in [
        Int8QuantizationConfig::default(),
        Int8QuantizationConfig::weight_only(),
    ] {
        let q = Odd::new(3).quantize_with(config).unwrap();
        let x = rows::<13>(100, 6);
        let batch = q.predict(&x).unwrap();
        for (i, row) in x.iter().enumerate() {
            same_row(config, &q.predict_one(row).unwrap(), &batch[i], i);
        }
    }
}

#[test]
fn the_same_bits_at_any_thread_count_batch_and_row() {
    for config in [
        Int8QuantizationConfig::default(),
        Int8QuantizationConfig::weight_only(),
    ] {
        let q = Mnist::new(3).quantize_with(config).unwrap();
        let x = rows::<784>(300, 1);
        let one = on_threads(1, || q.predict(&x).unwrap());
        for threads in [2, 3, 16] {
            let many = on_threads(threads, || q.predict(&x).unwrap());
            assert_eq!(bits(&one), bits(&many), "{config:?}, {threads} threads");
        }
        // A row gives the same bits alone, in a small batch and in the large one.
        let few = q.predict(&x[..7]).unwrap();
        assert_eq!(bits(&few), bits(&one[..7]), "{config:?}: 7 rows");
        for i in [0, 47, 48, 299] {
            same_row(config, &q.predict_one(&x[i]).unwrap(), &one[i], i);
        }
    }
}

/// Keras' int8 Dense written out naively (f64 sums of the int8 products are exact integers):
/// quantize the row, sum, divide by both scales, add the bias, the activation.
fn naive_dense(
    x: &[f32],
    q: &[i8],
    scale: &[f32],
    bias: &[f32],
    act: impl Fn(f32) -> f32,
) -> Vec<f32> {
    let n = scale.len();
    let amax = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let s = 127.0 / (amax + 1e-7);
    let xq: Vec<f64> = x
        .iter()
        .map(|&v| f64::from((v * s).round_ties_even().clamp(-127.0, 127.0)))
        .collect();
    (0..n)
        .map(|j| {
            let acc: f64 = xq
                .iter()
                .enumerate()
                .map(|(i, &a)| a * f64::from(q[i * n + j]))
                .sum();
            act(acc as f32 / (s * scale[j]) + bias[j])
        })
        .collect()
}

#[test]
fn odd_widths_match_a_naive_int8_dense() {
    let q = Odd::new(5).quantize("int8").unwrap();
    let tensors = q.file_tensors();
    let as_i8 = |v: &[f32]| v.iter().map(|&v| v as i8).collect::<Vec<_>>();
    assert_eq!(tensors[0].3, Dtype::Int8);
    let gelu = |z: f32| {
        let z = f64::from(z);
        (0.5 * z * (1.0 + libm_erf(z / std::f64::consts::SQRT_2))) as f32
    };
    let sigmoid = |z: f32| 1.0 / (1.0 + (-z).exp());
    for x in rows::<13>(50, 9) {
        let h = naive_dense(
            &x,
            &as_i8(&tensors[0].2),
            &tensors[2].2,
            &tensors[1].2,
            gelu,
        );
        let want = naive_dense(
            &h,
            &as_i8(&tensors[3].2),
            &tensors[5].2,
            &tensors[4].2,
            sigmoid,
        );
        let got = q.predict_one(&x).unwrap();
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() <= 2e-6, "{got:?} against {want:?}");
        }
    }
}

/// erf by its series (enough terms for |z| ≤ 6), for the naive gelu.
fn libm_erf(z: f64) -> f64 {
    if z.abs() > 6.0 {
        return z.signum();
    }
    let mut term = z;
    let mut sum = z;
    for n in 1..200 {
        term *= -z * z / n as f64;
        sum += term / (2 * n + 1) as f64;
    }
    sum * 2.0 / std::f64::consts::PI.sqrt()
}

#[test]
fn evaluate_scores_its_own_predictions() {
    let x = rows::<13>(70, 4);
    let y: Vec<f32> = (0..70 * 5).map(|i| (i % 3 == 0) as u8 as f32).collect();
    let model = Odd::new(2);
    let uncompiled = model.quantize("int8").unwrap();
    let err = uncompiled.evaluate(&x, &y).unwrap_err().to_string();
    assert!(err.contains("compile"), "{err}");
    let q = uncompiled.compile(Loss::MeanSquaredError, [Metric::MeanAbsoluteError]);
    let scores = q.evaluate(&x, &y).unwrap();
    let p = q.predict(&x).unwrap();
    let flat = Row::flat(&p);
    let mse = flat
        .iter()
        .zip(&y)
        .map(|(p, y)| f64::from(p - y).powi(2))
        .sum::<f64>()
        / flat.len() as f64;
    assert!((scores.loss - mse).abs() < 1e-6, "{} vs {mse}", scores.loss);
    // A compiled model's quantized copy keeps its loss and metrics.
    let compiled = Odd::new(2).compile(
        Adam::new(0.001),
        Loss::MeanSquaredError,
        [Metric::MeanAbsoluteError],
    );
    let again = compiled.quantize("int8").unwrap().evaluate(&x, &y).unwrap();
    assert_eq!(again, scores);
}

#[test]
fn bad_rows_are_refused_as_the_float_model_refuses_them() {
    let q = Odd::new(2).quantize("int8").unwrap();
    let mut x = rows::<13>(4, 2);
    x[2][7] = f32::NAN;
    match q.predict(&x) {
        Err(Error::NonFinite {
            row: 2, column: 7, ..
        }) => {}
        other => panic!("expected the NaN named, got {other:?}"),
    }
    assert!(matches!(q.predict_one(&x[2]), Err(Error::NonFinite { .. })));
    assert!(matches!(
        q.predict_flat(&[0.0; 14]),
        Err(Error::RaggedRows { .. })
    ));

    // The first layer overflows to infinity: the int8 layer after it must not quantize that
    // into finite values; the output check names it, as for the float model.
    let mut float = Odd::new(2);
    let mut weights = float.get_weights();
    weights[0].iter_mut().for_each(|w| *w = 3e38);
    float.set_weights(&weights).unwrap();
    let q = float.quantize("int8").unwrap();
    let x = rows::<13>(3, 5);
    match q.predict(&x) {
        Err(Error::NonFinite { what, .. }) => assert_eq!(what, "output"),
        other => panic!("expected the overflow named, got {other:?}"),
    }
    assert!(matches!(q.predict_one(&x[0]), Err(Error::NonFinite { .. })));
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("seqnet-int8-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn files_round_trip_and_refuse_the_other_precision() {
    let x = rows::<13>(9, 8);
    let q = Odd::new(6).quantize("int8").unwrap();
    let path = scratch("odd_int8.safetensors");
    q.save_weights(&path).unwrap();
    let mut back = Odd::new(99).quantize("int8").unwrap();
    assert_ne!(
        bits(&back.predict(&x).unwrap()),
        bits(&q.predict(&x).unwrap())
    );
    back.load_weights(&path).unwrap();
    assert_eq!(back.file_tensors(), q.file_tensors());
    assert_eq!(
        bits(&back.predict(&x).unwrap()),
        bits(&q.predict(&x).unwrap())
    );

    // The quantized file into the float model, and a float file into the quantized model:
    // the first kernel is named, with the type to load the file into; nothing changes.
    assert_other_precision(Odd::new(1).load_weights(&path), true);
    let float_path = scratch("odd_float.safetensors");
    Odd::new(1).save_weights(&float_path).unwrap();
    let before = back.file_tensors();
    assert_other_precision(back.load_weights(&float_path), false);
    // A weight-only model's file into a model that quantizes its inputs: the file says which
    // it was, and the error says how to make the model that reads it.
    let weight_only = Odd::new(6)
        .quantize_with(Int8QuantizationConfig::weight_only())
        .unwrap();
    let weight_only_path = scratch("odd_weight_only.safetensors");
    weight_only.save_weights(&weight_only_path).unwrap();
    let err = back
        .load_weights(&weight_only_path)
        .unwrap_err()
        .to_string();
    assert!(err.contains("weight_only()"), "{err}");
    assert_eq!(back.file_tensors(), before);
}
