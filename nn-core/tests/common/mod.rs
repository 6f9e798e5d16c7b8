//! Helpers shared by the layer tests: random and tie-free values, thread pools, one layer run
//! through the `Layer` trait as a model's chain runs it, and central differences of
//! L = Σ y·r against the layer's backward pass.
#![allow(dead_code)] // each test binary uses a different part

use nn_core::layers::{Backward, Forward, Layer, Phase, TrainingPass, Weights};
use nn_core::network::Delta;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

/// `len` values uniform in [-1, 1) from a seeded ChaCha stream (the same on every platform).
pub fn random(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..len).map(|_| rng.random_range(-1.0..1.0)).collect()
}

/// `len` values uniform in [lo, hi).
pub fn uniform(len: usize, lo: f32, hi: f32, seed: u64) -> Vec<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..len).map(|_| rng.random_range(lo..hi)).collect()
}

/// `len` distinct values, the grid (i − len/2)·`spacing` in a seeded random order: no two are
/// equal, so a maximum never ties (with a power-of-two spacing they are exact in f32 too).
pub fn distinct(len: usize, spacing: f32, seed: u64) -> Vec<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut v: Vec<f32> = (0..len)
        .map(|i| (i as f32 - (len / 2) as f32) * spacing)
        .collect();
    v.shuffle(&mut rng);
    v
}

/// `len` values `k · unit` with k a random integer in [-max, max]: dyadic when `unit` is a
/// power of two, so sums of a few products are exact in f32.
pub fn grid(len: usize, max: i32, unit: f32, seed: u64) -> Vec<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..len)
        .map(|_| rng.random_range(-max..=max) as f32 * unit)
        .collect()
}

/// Bit patterns, so that equality also sees −0.0 and NaN payloads.
pub fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// `f` on a fresh rayon pool of `threads` threads.
pub fn on_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool")
        .install(f)
}

/// Asserts |got − want| ≤ abs + rel·|want| elementwise.
pub fn assert_close(what: &str, got: &[f32], want: &[f32], rel: f32, abs: f32) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= abs + rel * w.abs(),
            "{what}[{i}]: got {g}, want {w} (error {:e})",
            (g - w).abs()
        );
    }
}

/// A training pass of a fixed seed and step: Dropout draws the same mask on every call.
pub const TRAINING: Phase = Phase::Training(TrainingPass {
    seed: 11,
    step: 3,
    first_row: 0,
});

/// One layer with its weights, run through the `Layer` trait on whole batches.
pub struct Harness<L: Layer> {
    /// The layer value.
    pub layer: L,
    /// Its trainable weights (`L::PARAMS`).
    pub params: Vec<f32>,
    /// Its non-trainable state (`L::STATE`).
    pub state: Vec<f32>,
    /// The phase every forward pass runs in.
    pub phase: Phase,
    /// The mask of the input's steps every pass gets (`Forward::mask`); empty: none.
    pub mask: Vec<f32>,
}

impl<L: Layer> Harness<L> {
    /// A layer in `phase` with these weights (checked against the layer's sizes).
    pub fn new(layer: L, params: Vec<f32>, state: Vec<f32>, phase: Phase) -> Self {
        assert_eq!(params.len(), L::PARAMS, "params");
        assert_eq!(state.len(), L::STATE, "state");
        Harness {
            layer,
            params,
            state,
            phase,
            mask: Vec::new(),
        }
    }

    /// Rows in a batch `x`.
    pub fn rows(x: &[f32]) -> usize {
        assert_eq!(x.len() % L::INPUT_WIDTH, 0, "whole rows");
        x.len() / L::INPUT_WIDTH
    }

    /// The forward pass over `x` with `params` in place of the layer's: (output, scratch).
    /// Buffers start as NaN so a value the layer forgets to write shows.
    pub fn forward_with(&self, params: &[f32], x: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let rows = Self::rows(x);
        let training = self.phase != Phase::Inference;
        let mut y = vec![f32::NAN; rows * L::OUTPUT_WIDTH];
        let mut scratch = vec![f32::NAN; self.layer.scratch_len(rows, training)];
        self.layer.forward(
            Weights {
                params,
                state: &self.state,
                packed: &[],
                int8: None,
            },
            Forward {
                input: x,
                output: &mut y,
                scratch: &mut scratch,
                rows,
                phase: self.phase,
                mask: &self.mask,
            },
        );
        (y, scratch)
    }

    /// The forward pass over `x`: (output, scratch).
    pub fn forward(&self, x: &[f32]) -> (Vec<f32>, Vec<f32>) {
        self.forward_with(&self.params, x)
    }

    /// The backward pass from dL/dy after `forward(x)`: (dL/dparams, dL/dx).
    pub fn backward(&self, x: &[f32], y: &[f32], scratch: &mut [f32], dy: &[f32]) -> Grads {
        let rows = Self::rows(x);
        let mut delta = dy.to_vec();
        let mut params = vec![f32::NAN; L::PARAMS];
        let mut input = vec![f32::NAN; x.len()];
        self.layer.backward(
            Weights {
                params: &self.params,
                state: &self.state,
                packed: &[],
                int8: None,
            },
            Backward {
                input: x,
                output: y,
                scratch,
                delta: &mut delta,
                input_delta: Some(&mut input),
                rows,
                start: Delta::Output,
                mask: &self.mask,
            },
            &mut params,
        );
        Grads { params, input }
    }
}

/// A backward pass's gradients.
pub struct Grads {
    /// dL/d(trainable weights), laid out like them.
    pub params: Vec<f32>,
    /// dL/d(input).
    pub input: Vec<f32>,
}

/// L = Σ y·r in f64 (the products of two f32 are exact in f64).
pub fn loss(y: &[f32], r: &[f32]) -> f64 {
    y.iter()
        .zip(r)
        .map(|(&y, &r)| f64::from(y) * f64::from(r))
        .sum()
}

/// Central difference of `eval` in coordinate `i` of `values`: the step actually taken is
/// (v + h) − (v − h) as rounded to f32, measured in f64, so the quotient does not carry the
/// rounding of the step itself.
fn central_difference(values: &mut [f32], i: usize, h: f32, eval: impl Fn(&[f32]) -> f64) -> f64 {
    let v = values[i];
    let (up, down) = (v + h, v - h);
    values[i] = up;
    let l_up = eval(values);
    values[i] = down;
    let l_down = eval(values);
    values[i] = v;
    (l_up - l_down) / (f64::from(up) - f64::from(down))
}

/// Checks the layer's backward pass on `x` against central differences of L = Σ y·r (r
/// random in [-1, 1)) with step `h`, in every input and every trainable weight.
///
/// Each component must satisfy |analytic − numeric| ≤ `tol` · max(|numeric|, rms), rms being
/// the root mean square of the vector's numeric components: a relative bound, measured
/// against the vector's own scale where a component is near zero (a dropped input, a pool
/// cell that never wins). Returns the worst ratio |analytic − numeric| / max(|numeric|, rms)
/// seen, for the caller's report.
pub fn check_gradients<L: Layer>(harness: &Harness<L>, x: &[f32], h: f32, tol: f64) -> f64 {
    let rows = Harness::<L>::rows(x);
    let r = random(rows * L::OUTPUT_WIDTH, 0xFD);
    let (y, mut scratch) = harness.forward(x);
    let grads = harness.backward(x, &y, &mut scratch, &r);
    let mut worst = 0.0f64;
    let mut compare = |what: &str, analytic: &[f32], numeric: &[f64]| {
        let rms = (numeric.iter().map(|v| v * v).sum::<f64>() / numeric.len().max(1) as f64)
            .sqrt()
            .max(1e-30);
        for (i, (&a, &n)) in analytic.iter().zip(numeric).enumerate() {
            let err = (f64::from(a) - n).abs() / n.abs().max(rms);
            worst = worst.max(err);
            assert!(
                err <= tol,
                "{} d{what}[{i}]: backward {a}, central difference {n} (relative error {err:e} > {tol:e})",
                L::CLASS_NAME
            );
        }
    };

    let mut xs = x.to_vec();
    let numeric_x: Vec<f64> = (0..x.len())
        .map(|i| {
            central_difference(&mut xs, i, h, |x| {
                loss(&harness.forward_with(&harness.params, x).0, &r)
            })
        })
        .collect();
    compare("x", &grads.input, &numeric_x);

    let mut ps = harness.params.clone();
    let numeric_p: Vec<f64> = (0..ps.len())
        .map(|i| central_difference(&mut ps, i, h, |p| loss(&harness.forward_with(p, x).0, &r)))
        .collect();
    compare("params", &grads.params, &numeric_p);
    worst
}
