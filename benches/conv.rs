//! Conv2D throughput (elements = flops, 2 · multiply-adds): the layer alone at the Keras
//! tutorial's shape (28×28×1 → 32, 3×3, memory-bound) and at a compute-bound one
//! (13×13×32 → 64, 3×3), batch 64, forward and forward + backward (dW, db and dX), on one and
//! two threads, against the naive seven-loop convolution in the same run; and the digits CNN's
//! `train_on_batch` at batch 32 and 128 (elements = images).
//!
//! `cargo bench --bench conv` (add `-- conv2d_forward` to pick). `examples/bench_table -- conv`
//! prints the same rows as one table with the FMA peak as denominator;
//! `tools/conv_onnxruntime.py` measures onnxruntime's Conv at the same shapes.

mod common;

use common::*;
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use seqnet::prelude::*;
use std::time::Duration;

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a pool")
}

/// The layer's passes, seqnet on one and two threads, the naive loops on one.
fn conv_layer(c: &mut Criterion) {
    let (one, two) = (pool(1), pool(2));
    for pass in &CONV_PASSES {
        let (ours, naive) = (pass.ours, pass.naive);
        let mut group = c.benchmark_group(format!("conv2d_{}", pass.name.replace('+', "_")));
        group
            .sample_size(10)
            .measurement_time(Duration::from_secs(2));
        for case in CONV_CASES {
            let mut work = ConvWork::new(case);
            group.throughput(Throughput::Elements((pass.flops)(&case) as u64));
            for (label, p) in [("seqnet_1t", &one), ("seqnet_2t", &two)] {
                group.bench_function(BenchmarkId::new(label, case.name), |bench| {
                    p.install(|| bench.iter(|| ours(&mut work)))
                });
            }
            group.bench_function(BenchmarkId::new("naive_1t", case.name), |bench| {
                one.install(|| bench.iter(|| naive(&mut work)))
            });
        }
        group.finish();
    }
}

/// The digits CNN's training step (8×8×1 → Conv2D(16) → MaxPooling2D → Dense(10, softmax)).
fn digits_cnn(c: &mut Criterion) {
    let mut group = c.benchmark_group("digits_cnn_train_on_batch");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(1));
    for batch in [32usize, 128] {
        let (x, y) = digit_images(batch, 31);
        group.throughput(Throughput::Elements(batch as u64));
        for threads in [1usize, 2] {
            let p = pool(threads);
            let mut m = DigitsCnn::new(1).compile(
                Adam::new(0.001),
                Loss::sparse_categorical_crossentropy(),
                [],
            );
            group.bench_function(
                BenchmarkId::new(format!("{threads}t"), format!("b{batch}")),
                |bench| p.install(|| bench.iter(|| m.train_on_batch(&x, &y).expect("a step"))),
            );
        }
    }
    group.finish();
}

criterion_group!(benches, conv_layer, digits_cnn);

fn main() {
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
