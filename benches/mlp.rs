//! Network-level benchmarks: Dense forward/backward per layer, the tutorial model's
//! `predict_one` latency, batch-4096 inference, 250 Adam steps and one epoch of `fit`, and the
//! 784→512→512→10 training step and inference. Run on the best kernel path (`SEQNET_ISA`
//! forces another).
//!
//! `cargo bench --bench mlp`

mod common;

use common::*;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use seqnet::activations::Relu;
use seqnet::kernels::dense::{
    dense_backward_fused, dense_forward_fused, Delta, DenseDims, DenseGrads,
};
use seqnet::prelude::*;
use std::time::Duration;

fn dense_layers(c: &mut Criterion) {
    let mut group = c.benchmark_group("dense");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(1));
    for (rows, k, n) in [
        (32usize, 10usize, 64usize),
        (32, 64, 32),
        (128, 784, 512),
        (128, 512, 512),
    ] {
        let dims = DenseDims { rows, k, n };
        let (x, w, b) = (random(rows * k, 1), random(k * n, 2), random(n, 3));
        let (mut y, mut z) = (vec![0.0; rows * n], vec![0.0; rows * n]);
        let shape = format!("{rows}x{k}x{n}");
        group.throughput(Throughput::Elements(2 * (rows * k * n) as u64));
        group.bench_function(BenchmarkId::new("forward", &shape), |bench| {
            bench.iter(|| {
                dense_forward_fused(&x, &w, Some(&b), &Relu, dims, &mut y, Some(&mut z), None)
            })
        });
        let dy = random(rows * n, 4);
        let (mut dw, mut db, mut dx) = (vec![0.0; k * n], vec![0.0; n], vec![0.0; rows * k]);
        let mut delta = dy.clone();
        group.throughput(Throughput::Elements(4 * (rows * k * n) as u64));
        group.bench_function(BenchmarkId::new("backward", &shape), |bench| {
            bench.iter(|| {
                delta.copy_from_slice(&dy);
                let grads = DenseGrads {
                    kernel: &mut dw,
                    bias: Some(&mut db),
                    input: Some(&mut dx),
                };
                dense_backward_fused(
                    &x,
                    &w,
                    &z,
                    &y,
                    &mut delta,
                    &Relu,
                    Delta::Output,
                    dims,
                    grads,
                )
            })
        });
    }
    group.finish();
}

fn tutorial_model(c: &mut Criterion) {
    let mut group = c.benchmark_group("tutorial_model");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(1));
    let model = SeedNet::new(42);
    let one = rows::<10>(1, 5);
    group.bench_function("predict_one", |bench| {
        bench.iter(|| model.predict_one(std::hint::black_box(&one[0])))
    });
    let x4096 = rows::<10>(4096, 6);
    group.throughput(Throughput::Elements(4096));
    group.bench_function("predict_4096_rows", |bench| {
        bench.iter(|| model.predict(&x4096))
    });
    let (x, y) = seqnet::data::tutorial_data(8000, 7);
    group.throughput(Throughput::Elements(250));
    group.bench_function("250_adam_steps_of_32", |bench| {
        let mut m = SeedNet::new(1).compile(Adam::new(0.001), Loss::binary_crossentropy(), []);
        bench.iter(|| {
            for step in 0..250 {
                let r = step * 32;
                m.train_on_batch(&x[r..r + 32], &y[r..r + 32])
                    .expect("a step");
            }
        })
    });
    group.throughput(Throughput::Elements(720));
    group.bench_function("fit_one_epoch_720_rows", |bench| {
        let mut m = SeedNet::new(1).compile(
            Adam::new(0.001),
            Loss::binary_crossentropy(),
            [Metric::Accuracy],
        );
        bench.iter(|| {
            let options = Fit {
                epochs: 1,
                verbose: 0.into(),
                ..Fit::default()
            };
            m.fit(&x[..720], &y[..720], options).expect("an epoch")
        })
    });
    group.finish();
}

fn mlp_784(c: &mut Criterion) {
    let mut group = c.benchmark_group("mlp_784_512_512_10");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(2));
    let x128 = rows::<784>(128, 9);
    let y128 = classes(128, 10, 10);
    let mut m = Mlp784::new(3).compile(
        Adam::new(0.001),
        Loss::sparse_categorical_crossentropy(),
        [],
    );
    group.throughput(Throughput::Elements(128));
    group.bench_function("train_step_b128", |bench| {
        bench.iter(|| m.train_on_batch(&x128, &y128).expect("a step"))
    });
    let x1024 = rows::<784>(1024, 11);
    let model = Mlp784::new(3);
    group.throughput(Throughput::Elements(1024));
    group.bench_function("inference_b1024", |bench| {
        bench.iter(|| model.predict(&x1024))
    });
    group.finish();
}

criterion_group!(benches, dense_layers, tutorial_model, mlp_784);
criterion_main!(benches);
