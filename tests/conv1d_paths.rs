//! Conv1D's batched forward pass (windows read in place when undilated, copied when dilated)
//! against the definition (an f64 loop over taps) and each row predicted alone, on odd sizes, every padding, strides larger and smaller
//! than the kernel, and batches that split into chunks; and the same bits on 1, 2 and 3
//! threads.

mod common;

use common::assert_close;
use seqnet::prelude::*;

macro_rules! conv_case {
    ($name:ident, $steps:literal, $features:literal, $($conv:tt)*) => {
        sequential! {
            struct $name {
                Input(shape = ($steps, $features)),
                $($conv)*,
                Flatten,
                Dense(3, activation = tanh),
            }
        }
    };
}

conv_case!(ValidOdd, 13, 3, Conv1D(5, 4, activation = relu));
conv_case!(ValidStride, 17, 2, Conv1D(3, 3, strides = 2));
conv_case!(
    SameStrideOverKernel,
    11,
    3,
    Conv1D(4, 1, strides = 3, padding = "same")
);
conv_case!(
    SameOdd,
    9,
    5,
    Conv1D(7, 4, padding = "same", activation = sigmoid)
);
conv_case!(
    SameStride,
    10,
    2,
    Conv1D(3, 3, strides = 2, padding = "same")
);
conv_case!(CausalOne, 7, 1, Conv1D(2, 1, padding = "causal"));
conv_case!(
    CausalWide,
    8,
    3,
    Conv1D(4, 5, padding = "causal", activation = tanh)
);
conv_case!(
    CausalDilated,
    12,
    2,
    Conv1D(3, 3, padding = "causal", dilation_rate = 3)
);
conv_case!(SoftmaxSteps, 6, 2, Conv1D(4, 2, activation = softmax));
conv_case!(
    CausalStride,
    11,
    3,
    Conv1D(4, 3, strides = 2, padding = "causal", activation = relu)
);

/// A Conv1D's settings, for the reference below: filters, kernel taps, stride, dilation,
/// Keras' padding and activation names.
struct Conv {
    filters: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    padding: &'static str,
    activation: &'static str,
}

const fn conv(
    filters: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    padding: &'static str,
    activation: &'static str,
) -> Conv {
    Conv {
        filters,
        kernel,
        stride,
        dilation,
        padding,
        activation,
    }
}

/// The model (Conv1D → Flatten → Dense(3, tanh)) on one sequence of `steps × features`,
/// from the definition, in f64: each window's taps (zeros in Keras' padding), the
/// activation, then the Dense layer.
fn reference(c: &Conv, steps: usize, features: usize, weights: &[Vec<f32>], x: &[f32]) -> Vec<f32> {
    let (kernel, bias, dense, dense_bias) = (&weights[0], &weights[1], &weights[2], &weights[3]);
    let span = c.dilation * (c.kernel - 1) + 1;
    let (out, before) = match c.padding {
        "valid" => ((steps - span) / c.stride + 1, 0),
        "causal" => (steps.div_ceil(c.stride), span - 1),
        _ => {
            let out = steps.div_ceil(c.stride);
            (out, ((out - 1) * c.stride + span).saturating_sub(steps) / 2)
        }
    };
    let mut flat = Vec::new();
    for t in 0..out {
        let z: Vec<f64> = (0..c.filters)
            .map(|f| {
                let mut z = f64::from(bias[f]);
                for tap in 0..c.kernel {
                    let Some(s) = (t * c.stride + tap * c.dilation).checked_sub(before) else {
                        continue;
                    };
                    if s >= steps {
                        continue;
                    }
                    for ch in 0..features {
                        let w = kernel[(tap * features + ch) * c.filters + f];
                        z += f64::from(x[s * features + ch]) * f64::from(w);
                    }
                }
                z
            })
            .collect();
        let total: f64 = z.iter().map(|z| z.exp()).sum();
        flat.extend(z.iter().map(|&z| match c.activation {
            "relu" => z.max(0.0),
            "sigmoid" => 1.0 / (1.0 + (-z).exp()),
            "tanh" => z.tanh(),
            "softmax" => z.exp() / total,
            _ => z,
        }));
    }
    (0..3)
        .map(|j| {
            let y = flat
                .iter()
                .enumerate()
                .fold(f64::from(dense_bias[j]), |y, (i, v)| {
                    y + v * f64::from(dense[i * 3 + j])
                });
            y.tanh() as f32
        })
        .collect()
}

fn check<N: Network, const T: usize, const F: usize>(name: &str, c: Conv, model: N)
where
    [[f32; F]; T]: seqnet::network::InputOf<N>,
{
    // 300 rows: a 256-row predict chunk, then 44 in the tape made for 256.
    let x: Vec<[[f32; F]; T]> = (0..300)
        .map(|r| {
            std::array::from_fn(|t| {
                std::array::from_fn(|f| (((r * 13 + t * 5 + f * 3) % 11) as f32 - 5.0) / 4.0)
            })
        })
        .collect();
    let flat = <[[f32; F]; T] as seqnet::Row>::flat(&x);
    let batch = model.predict_flat(flat).unwrap();
    // The sequences share the threads: the same bits on any number of them.
    for threads in [1, 2, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let again = pool.install(|| model.predict_flat(flat).unwrap());
        let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&again), bits(&batch), "{name}: {threads} threads");
    }
    let weights = model.get_weights();
    for (row, got) in x.iter().zip(batch.chunks(N::OUTPUT_WIDTH)) {
        let want = reference(&c, T, F, &weights, row.as_flattened());
        assert_close(name, got, &want, 1e-5, 1e-6);
        // A row alone (the batch path for one sequence) gives the same bits: each sequence's
        // windows are their own product (or rows of one whose values do not depend on m).
        let one = model
            .predict_flat(<[[f32; F]; T] as seqnet::Row>::flat(std::slice::from_ref(
                row,
            )))
            .unwrap();
        let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&one), bits(got), "{name}: a row alone");
    }
}

#[test]
fn batched_convolutions_match_the_definition() {
    let valid = |f, k, s, d, act| conv(f, k, s, d, "valid", act);
    let same = |f, k, s, d, act| conv(f, k, s, d, "same", act);
    let causal = |f, k, s, d, act| conv(f, k, s, d, "causal", act);
    check::<_, 13, 3>("valid odd", valid(5, 4, 1, 1, "relu"), ValidOdd::new(1));
    check::<_, 17, 2>(
        "valid stride",
        valid(3, 3, 2, 1, "linear"),
        ValidStride::new(2),
    );
    check::<_, 11, 3>(
        "same, stride over kernel",
        same(4, 1, 3, 1, "linear"),
        SameStrideOverKernel::new(3),
    );
    check::<_, 9, 5>("same odd", same(7, 4, 1, 1, "sigmoid"), SameOdd::new(4));
    check::<_, 10, 2>(
        "same stride",
        same(3, 3, 2, 1, "linear"),
        SameStride::new(5),
    );
    check::<_, 7, 1>(
        "causal one tap",
        causal(2, 1, 1, 1, "linear"),
        CausalOne::new(6),
    );
    check::<_, 8, 3>(
        "causal wide",
        causal(4, 5, 1, 1, "tanh"),
        CausalWide::new(7),
    );
    check::<_, 12, 2>(
        "causal dilated",
        causal(3, 3, 1, 3, "linear"),
        CausalDilated::new(8),
    );
    check::<_, 6, 2>(
        "softmax over each step",
        valid(4, 2, 1, 1, "softmax"),
        SoftmaxSteps::new(9),
    );
    check::<_, 11, 3>(
        "causal stride",
        causal(4, 3, 2, 1, "relu"),
        CausalStride::new(10),
    );
}

sequential! {
    /// One window over the whole sequence, read in place: a training tape's scratch is the
    /// copied window's.
    struct OneWindow {
        Input(shape = (4, 3)),
        Conv1D(2, 4),
        Flatten,
        Dense(1, activation = sigmoid),
    }
}

sequential! {
    /// A stride longer than the kernel with causal padding: the padded sequence (14 steps of
    /// 8) is longer than the windows a training pass copies (2 of 2 steps).
    struct LongPadding {
        Input(shape = (10, 8)),
        Conv1D(1, 2, strides = 5, padding = "causal"),
        Flatten,
        Dense(1, activation = sigmoid),
    }
}

/// `evaluate` runs an inference pass on a training tape, whose scratch must hold it: the loss
/// is the mean squared error of `predict`'s outputs (a tape too short panicked).
#[test]
fn evaluate_runs_inference_on_a_training_tape() {
    fn inputs<const T: usize, const F: usize>(rows: usize) -> Vec<[[f32; F]; T]> {
        (0..rows)
            .map(|r| {
                std::array::from_fn(|t| {
                    std::array::from_fn(|f| ((r * 7 + t * 3 + f) % 5) as f32 / 2.0 - 1.0)
                })
            })
            .collect()
    }
    fn mse(predicted: &[[f32; 1]], labels: &[f32]) -> f64 {
        let sum: f64 = predicted
            .iter()
            .zip(labels)
            .map(|(p, y)| (f64::from(p[0]) - f64::from(*y)).powi(2))
            .sum();
        sum / labels.len() as f64
    }
    for rows in [1, 5, 32, 33] {
        let labels: Vec<f32> = (0..rows).map(|r| (r % 2) as f32).collect();
        let x = inputs::<4, 3>(rows);
        let model = OneWindow::new(1);
        let want = mse(&model.predict(&x).unwrap(), &labels);
        let model = model.compile(SGD::new(0.1), Loss::MeanSquaredError, []);
        let got = model.evaluate(&x, &labels[..]).unwrap().loss;
        assert!(
            (got - want).abs() <= 1e-6,
            "one window, {rows} rows: {got} vs {want}"
        );

        let x = inputs::<10, 8>(rows);
        let model = LongPadding::new(2);
        let want = mse(&model.predict(&x).unwrap(), &labels);
        let model = model.compile(SGD::new(0.1), Loss::MeanSquaredError, []);
        let got = model.evaluate(&x, &labels[..]).unwrap().loss;
        assert!(
            (got - want).abs() <= 1e-6,
            "long padding, {rows} rows: {got} vs {want}"
        );
    }
}
