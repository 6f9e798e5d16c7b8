//! GEMM throughput (elements = flops): square 64…2048 and the MLP shapes, on every kernel path
//! this CPU has, against `matrixmultiply` and a naive loop in the same run; one and two threads.
//!
//! `cargo bench --bench kernels` (add `-- gemm_square/1024` to pick). `examples/bench_table`
//! prints the same as one table with the FMA peak as denominator.

mod common;

use common::*;
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use seqnet::kernels::gemm::{gemm, MatRef};
use seqnet::kernels::isa::Isa;
use std::time::Duration;

fn one_thread() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a pool")
}

fn gemm_square(c: &mut Criterion) {
    let pool = one_thread();
    let mut group = c.benchmark_group("gemm_square");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(2));
    for n in [64usize, 128, 256, 512, 1024, 2048] {
        let (a, b) = (random(n * n, 1), random(n * n, 2));
        let mut out = vec![0.0; n * n];
        group.throughput(Throughput::Elements(2 * (n * n * n) as u64));
        for isa in Isa::available() {
            group.bench_function(BenchmarkId::new(isa.name(), n), |bench| {
                pool.install(|| {
                    bench.iter(|| {
                        gemm(
                            isa,
                            MatRef::row_major(&a, n, n),
                            MatRef::row_major(&b, n, n),
                            &mut out,
                            false,
                        )
                    })
                })
            });
        }
        group.bench_function(BenchmarkId::new("matrixmultiply", n), |bench| {
            bench.iter(|| matrixmultiply_gemm(n, n, n, &a, &b, &mut out))
        });
        if n <= 256 {
            group.bench_function(BenchmarkId::new("naive", n), |bench| {
                bench.iter(|| naive_gemm(n, n, n, &a, &b, &mut out))
            });
        }
    }
    group.finish();
}

fn gemm_two_threads(c: &mut Criterion) {
    let isa = Isa::current();
    let mut group = c.benchmark_group("gemm_square_two_threads");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(2));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("a pool");
    for n in [512usize, 1024, 2048] {
        let (a, b) = (random(n * n, 1), random(n * n, 2));
        let mut out = vec![0.0; n * n];
        group.throughput(Throughput::Elements(2 * (n * n * n) as u64));
        group.bench_function(BenchmarkId::new(isa.name(), n), |bench| {
            pool.install(|| {
                bench.iter(|| {
                    gemm(
                        isa,
                        MatRef::row_major(&a, n, n),
                        MatRef::row_major(&b, n, n),
                        &mut out,
                        false,
                    )
                })
            })
        });
    }
    group.finish();
}

fn gemm_mlp_shapes(c: &mut Criterion) {
    let pool = one_thread();
    let mut group = c.benchmark_group("gemm_mlp");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(1));
    for (m, k, n) in MLP_SHAPES {
        let (a, b) = (random(m * k, 3), random(k * n, 4));
        let mut out = vec![0.0; m * n];
        let shape = format!("{m}x{k}x{n}");
        group.throughput(Throughput::Elements(2 * (m * k * n) as u64));
        for isa in Isa::available() {
            group.bench_function(BenchmarkId::new(isa.name(), &shape), |bench| {
                pool.install(|| {
                    bench.iter(|| {
                        gemm(
                            isa,
                            MatRef::row_major(&a, m, k),
                            MatRef::row_major(&b, k, n),
                            &mut out,
                            false,
                        )
                    })
                })
            });
        }
        group.bench_function(BenchmarkId::new("matrixmultiply", &shape), |bench| {
            bench.iter(|| matrixmultiply_gemm(m, k, n, &a, &b, &mut out))
        });
    }
    group.finish();
}

criterion_group!(benches, gemm_square, gemm_two_threads, gemm_mlp_shapes);

fn main() {
    // matrixmultiply defaults to one thread per physical core: compare one thread with one.
    if std::env::var_os("MATMUL_NUM_THREADS").is_none() {
        std::env::set_var("MATMUL_NUM_THREADS", "1");
    }
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
