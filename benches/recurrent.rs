//! LSTM throughput (elements = sequences): LSTM(128) over 50 steps of 32 features, then Dense(1)
//! (`LstmRow` in `benches/common`): one sequence (`predict_one`), a forward pass of 64
//! (`predict`) and a training step of 64 (`train_on_batch`, Adam, mean squared error), on one and
//! two threads.
//!
//! `cargo bench --bench recurrent`. `examples/bench_table -- lstm` prints the same rows as one
//! table with the FMA peak as denominator; `tools/peers.py --models lstm` times the same work in
//! onnxruntime and PyTorch. CI's `cargo test --benches` runs each once.

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

fn lstm(c: &mut Criterion) {
    const BATCH: usize = 64;
    let x = lstm_sequences(BATCH, 5);
    let y: Vec<f32> = (0..BATCH).map(|r| (r % 5) as f32 / 4.0).collect();
    let model = LstmRow::new(3);
    let mut group = c.benchmark_group("lstm128_50x32");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(2));
    group.throughput(Throughput::Elements(1));
    group.bench_function("predict_one", |bench| {
        bench.iter(|| {
            model
                .predict_one(std::hint::black_box(&x[0]))
                .expect("a prediction")
        })
    });
    group.throughput(Throughput::Elements(BATCH as u64));
    for threads in [1usize, 2] {
        let p = pool(threads);
        group.bench_function(
            BenchmarkId::new(format!("predict_b{BATCH}"), format!("{threads}t")),
            |bench| p.install(|| bench.iter(|| model.predict(&x).expect("a prediction"))),
        );
        let mut trained = LstmRow::new(3).compile(Adam::new(1e-4), Loss::MeanSquaredError, []);
        group.bench_function(
            BenchmarkId::new(format!("train_b{BATCH}"), format!("{threads}t")),
            |bench| {
                p.install(|| bench.iter(|| trained.train_on_batch(&x, &y[..]).expect("a step")))
            },
        );
    }
    group.finish();
}

criterion_group!(benches, lstm);

fn main() {
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
