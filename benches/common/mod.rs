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
