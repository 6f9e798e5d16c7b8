//! Workloads shared by the criterion benches and `examples/bench_table.rs`: the networks, their
//! data, and the naive and `matrixmultiply` references, so both measure the same thing.
#![allow(dead_code)] // each bench binary uses part of it

use rand::{Rng, SeedableRng};
use seqnet::prelude::*;

sequential! {
    /// The tutorial model, 10 → 64 → 32 → 1.
    pub struct SeedNet {
        Input(shape = (10,)),
        Dense(64, activation = relu),
        Dense(32, activation = relu),
        Dense(1, activation = sigmoid),
    }
}

sequential! {
    /// The classic MNIST-sized MLP, 784 → 512 → 512 → 10.
    pub struct Mlp784 {
        Input(shape = (784,)),
        Dense(512, activation = relu),
        Dense(512, activation = relu),
        Dense(10, activation = softmax),
    }
}

/// `len` values uniform in [-1, 1), seeded.
pub fn random(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..len).map(|_| rng.random_range(-1.0..1.0)).collect()
}

/// Rows of width W, uniform in [0, 10) like the tutorial's features.
pub fn rows<const W: usize>(count: usize, seed: u64) -> Vec<[f32; W]> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|_| std::array::from_fn(|_| rng.random_range(0.0..10.0)))
        .collect()
}

/// Class ids 0..classes as f32 labels.
pub fn classes(count: usize, classes: usize, seed: u64) -> Vec<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|_| rng.random_range(0..classes) as f32)
        .collect()
}

/// C = A·B by the textbook loop (i, p, j order so the inner loop is contiguous and vectorisable,
/// which is what a "naive loop compiled with target-cpu=native" does best).
pub fn naive_gemm(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    c.fill(0.0);
    for i in 0..m {
        for p in 0..k {
            let av = a[i * k + p];
            let row = &b[p * n..(p + 1) * n];
            let out = &mut c[i * n..(i + 1) * n];
            for (o, &bv) in out.iter_mut().zip(row) {
                *o += av * bv;
            }
        }
    }
}

/// C = A·B with the `matrixmultiply` crate (row-major).
pub fn matrixmultiply_gemm(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
    // SAFETY: the three buffers hold m×k, k×n and m×n row-major values (checked above), and the
    // strides given describe exactly that layout.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            k as isize,
            1,
            b.as_ptr(),
            n as isize,
            1,
            0.0,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

/// The MLP shapes the issue names: (M, K, N).
pub const MLP_SHAPES: [(usize, usize, usize); 15] = [
    (32, 10, 64),
    (32, 64, 32),
    (32, 784, 512),
    (32, 512, 512),
    (32, 512, 10),
    (128, 10, 64),
    (128, 64, 32),
    (128, 784, 512),
    (128, 512, 512),
    (128, 512, 10),
    (1024, 10, 64),
    (1024, 64, 32),
    (1024, 784, 512),
    (1024, 512, 512),
    (1024, 512, 10),
];

sequential! {
    /// A small digits classifier (8×8 grey images, 10 classes): one convolution, a pool, a
    /// softmax head.
    pub struct DigitsCnn {
        Input(shape = (8, 8, 1)),
        Conv2D(16, (3, 3), activation = relu),
        MaxPooling2D((2, 2)),
        Flatten,
        Dense(10, activation = softmax),
    }
}

/// A Conv2D benchmark case: `h × w × c` images, `filters` kernels of `kh × kw`, stride 1,
/// 'valid' padding, relu, `batch` images per pass.
#[derive(Clone, Copy, Debug)]
pub struct ConvCase {
    pub name: &'static str,
    pub h: usize,
    pub w: usize,
    pub c: usize,
    pub filters: usize,
    pub kh: usize,
    pub kw: usize,
    pub batch: usize,
}

/// The two Conv2D shapes the benchmarks report: the Keras tutorial's first layer (K = 9, bound
/// by memory traffic) and a second layer deep enough to be bound by arithmetic (K = 288).
pub const CONV_CASES: [ConvCase; 2] = [
    ConvCase {
        name: "28x28x1_to_32",
        h: 28,
        w: 28,
        c: 1,
        filters: 32,
        kh: 3,
        kw: 3,
        batch: 64,
    },
    ConvCase {
        name: "13x13x32_to_64",
        h: 13,
        w: 13,
        c: 32,
        filters: 64,
        kh: 3,
        kw: 3,
        batch: 64,
    },
];

impl ConvCase {
    /// The kernel's shape.
    pub fn shape(&self) -> seqnet::kernels::conv::Conv2dShape {
        use seqnet::kernels::conv::{Axis, Conv2dShape, Window2d};
        Conv2dShape {
            window: Window2d {
                rows: Axis::new(self.h, self.kh, 1, false),
                cols: Axis::new(self.w, self.kw, 1, false),
                channels: self.c,
            },
            filters: self.filters,
        }
    }

    /// Flops of one forward pass over the batch: 2 · MACs, MACs = OH·OW·KH·KW·C·F per image.
    pub fn forward_flops(&self) -> f64 {
        2.0 * (self.batch * self.shape().macs()) as f64
    }

    /// Flops of a forward and a backward pass with dX (dW and dX each cost a forward).
    pub fn train_flops(&self) -> f64 {
        3.0 * self.forward_flops()
    }
}

/// A Conv2D pass the benchmarks time: its flops, seqnet's run and the naive loops' run.
pub struct ConvPass {
    pub name: &'static str,
    pub flops: fn(&ConvCase) -> f64,
    pub ours: fn(&mut ConvWork),
    pub naive: fn(&mut ConvWork),
}

/// Inference, and the layer's training step (forward keeping z, backward with dX).
pub const CONV_PASSES: [ConvPass; 2] = [
    ConvPass {
        name: "forward",
        flops: ConvCase::forward_flops,
        ours: ConvWork::forward,
        naive: ConvWork::naive_forward,
    },
    ConvPass {
        name: "forward+backward",
        flops: ConvCase::train_flops,
        ours: ConvWork::train_step,
        naive: ConvWork::naive_train_step,
    },
];

/// The buffers of one Conv2D layer's passes over a `ConvCase` batch.
pub struct ConvWork {
    pub case: ConvCase,
    pub x: Vec<f32>,
    pub kernel: Vec<f32>,
    pub bias: Vec<f32>,
    pub y: Vec<f32>,
    pub z: Vec<f32>,
    pub delta: Vec<f32>,
    pub dw: Vec<f32>,
    pub db: Vec<f32>,
    pub dx: Vec<f32>,
    pub partials: Vec<f32>,
}

impl ConvWork {
    /// Random images, weights and output gradient, seeded.
    pub fn new(case: ConvCase) -> Self {
        let s = case.shape();
        let (n_in, n_out) = (case.batch * s.input_len(), case.batch * s.output_len());
        ConvWork {
            case,
            x: random(n_in, 21),
            kernel: random(s.kernel_len(), 22),
            bias: random(case.filters, 23),
            y: vec![0.0; n_out],
            z: vec![0.0; n_out],
            delta: random(n_out, 24),
            dw: vec![0.0; s.kernel_len()],
            db: vec![0.0; case.filters],
            dx: vec![0.0; n_in],
            partials: vec![0.0; s.partials_len(case.batch)],
        }
    }

    /// Inference: y = relu(conv(x) + b).
    pub fn forward(&mut self) {
        let t = seqnet::kernels::conv::ConvTensors {
            x: &self.x,
            kernel: &self.kernel,
            bias: Some(&self.bias),
        };
        self.case
            .shape()
            .forward(t, &seqnet::activations::Relu, &mut self.y, None);
    }

    /// The layer's training step: forward keeping z, then backward to dW, db and dX. The
    /// output gradient is not refreshed between calls: relu's derivative masks it in place, and
    /// masking again with the same z changes nothing, so every call does the same work.
    pub fn train_step(&mut self) {
        let shape = self.case.shape();
        let t = seqnet::kernels::conv::ConvTensors {
            x: &self.x,
            kernel: &self.kernel,
            bias: Some(&self.bias),
        };
        shape.forward(
            t,
            &seqnet::activations::Relu,
            &mut self.y,
            Some(&mut self.z),
        );
        let t = seqnet::kernels::conv::ConvTensors {
            x: &self.x,
            kernel: &self.kernel,
            bias: Some(&self.bias),
        };
        shape.backward(
            t,
            &self.z,
            &self.y,
            &mut self.delta,
            &seqnet::activations::Relu,
            seqnet::kernels::dense::Delta::Output,
            seqnet::kernels::conv::ConvGrads {
                kernel: &mut self.dw,
                bias: Some(&mut self.db),
                input: Some(&mut self.dx),
            },
            &mut self.partials,
        );
    }

    /// `forward` by the obvious loops (`naive_conv_forward`).
    pub fn naive_forward(&mut self) {
        naive_conv_forward(
            self.case,
            &self.x,
            &self.kernel,
            &self.bias,
            &mut self.y,
            None,
        );
    }

    /// `train_step` by the obvious loops.
    pub fn naive_train_step(&mut self) {
        naive_conv_forward(
            self.case,
            &self.x,
            &self.kernel,
            &self.bias,
            &mut self.y,
            Some(&mut self.z),
        );
        naive_conv_backward(
            self.case,
            &self.x,
            &self.kernel,
            &self.z,
            &mut self.delta,
            &mut self.dw,
            &mut self.db,
            &mut self.dx,
        );
    }
}

/// y = relu(conv(x, W) + b) for a stride-1 'valid' `ConvCase`, NHWC, by the seven nested loops
/// (image, output row, output column, filter, kernel row, kernel column, channel).
pub fn naive_conv_forward(
    case: ConvCase,
    x: &[f32],
    kernel: &[f32],
    bias: &[f32],
    y: &mut [f32],
    mut z: Option<&mut [f32]>,
) {
    let ConvCase {
        h,
        w,
        c,
        filters: f,
        kh,
        kw,
        batch,
        ..
    } = case;
    let (oh, ow) = (h - kh + 1, w - kw + 1);
    for n in 0..batch {
        for i in 0..oh {
            for j in 0..ow {
                for o in 0..f {
                    let mut sum = bias[o];
                    for p in 0..kh {
                        for q in 0..kw {
                            for ch in 0..c {
                                sum += x[((n * h + i + p) * w + j + q) * c + ch]
                                    * kernel[((p * kw + q) * c + ch) * f + o];
                            }
                        }
                    }
                    let at = ((n * oh + i) * ow + j) * f + o;
                    if let Some(z) = z.as_deref_mut() {
                        z[at] = sum;
                    }
                    y[at] = sum.max(0.0);
                }
            }
        }
    }
}

/// The backward of `naive_conv_forward` by the same loops: dZ = dY·[z > 0] in place, then
/// db, dW and dX.
#[allow(clippy::too_many_arguments)]
pub fn naive_conv_backward(
    case: ConvCase,
    x: &[f32],
    kernel: &[f32],
    z: &[f32],
    delta: &mut [f32],
    dw: &mut [f32],
    db: &mut [f32],
    dx: &mut [f32],
) {
    let ConvCase {
        h,
        w,
        c,
        filters: f,
        kh,
        kw,
        batch,
        ..
    } = case;
    let (oh, ow) = (h - kh + 1, w - kw + 1);
    delta
        .iter_mut()
        .zip(z)
        .for_each(|(d, &z)| *d = if z > 0.0 { *d } else { 0.0 });
    dw.fill(0.0);
    db.fill(0.0);
    dx.fill(0.0);
    for n in 0..batch {
        for i in 0..oh {
            for j in 0..ow {
                for o in 0..f {
                    let d = delta[((n * oh + i) * ow + j) * f + o];
                    db[o] += d;
                    for p in 0..kh {
                        for q in 0..kw {
                            for ch in 0..c {
                                let xi = ((n * h + i + p) * w + j + q) * c + ch;
                                let wi = ((p * kw + q) * c + ch) * f + o;
                                dw[wi] += x[xi] * d;
                                dx[xi] += kernel[wi] * d;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// One 8×8 grey image, as `DigitsCnn` takes it.
pub type DigitImage = [[[f32; 1]; 8]; 8];

/// `count` random 8×8×1 images in [0, 1) and their class ids (0..10), seeded.
pub fn digit_images(count: usize, seed: u64) -> (Vec<DigitImage>, Vec<f32>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let images = (0..count)
        .map(|_| std::array::from_fn(|_| std::array::from_fn(|_| [rng.random_range(0.0..1.0)])))
        .collect();
    (images, classes(count, 10, seed + 1))
}

/// The LSTM rows' sizes: LSTM(128) over 50 steps of 32 features.
pub const LSTM_STEPS: usize = 50;
/// Features per step of the LSTM rows.
pub const LSTM_FEATURES: usize = 32;
/// Units of the LSTM rows.
pub const LSTM_UNITS: usize = 128;

sequential! {
    /// The LSTM rows' model: LSTM(128) over 50 steps of 32 features, then Dense(1) (128
    /// multiply-adds against the LSTM's 4.1 M per sequence).
    pub struct LstmRow {
        Input(shape = (50, 32)),
        LSTM(128),
        Dense(1),
    }
}

sequential! {
    /// The GRU rows' model: GRU(128) (Keras 3's default, `reset_after`) over the LSTM rows'
    /// sequences, then Dense(1).
    pub struct GruRow {
        Input(shape = (50, 32)),
        GRU(128),
        Dense(1),
    }
}

/// `count` sequences of `LSTM_STEPS × LSTM_FEATURES` values uniform in [-1, 1), seeded.
pub fn lstm_sequences(count: usize, seed: u64) -> Vec<[[f32; LSTM_FEATURES]; LSTM_STEPS]> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|_| std::array::from_fn(|_| std::array::from_fn(|_| rng.random_range(-1.0..1.0))))
        .collect()
}

/// Flops (2 · multiply-adds) of a recurrent layer's forward pass over `rows` sequences, with
/// `gates` gates (LSTM 4, GRU 3): per step the input and recurrent products, `F·G·U + U·G·U`
/// multiply-adds (the gates' element-wise work is not counted).
pub fn recurrent_forward_flops(gates: usize, rows: usize) -> f64 {
    let (t, f, u) = (LSTM_STEPS, LSTM_FEATURES, LSTM_UNITS);
    2.0 * (rows * t * gates * u * (f + u)) as f64
}

/// Flops of a training step's recurrent work: the forward pass, then back through time, per
/// step the recurrent kernel's gradient and dh through it (`2 · U·G·U`) and the kernel's
/// gradient (`F·G·U`); the layer is the model's first, so no dX.
pub fn recurrent_train_flops(gates: usize, rows: usize) -> f64 {
    let (t, f, u) = (LSTM_STEPS, LSTM_FEATURES, LSTM_UNITS);
    recurrent_forward_flops(gates, rows) + 2.0 * (rows * t * gates * u * (f + 2 * u)) as f64
}
