//! seqnet's SGEMM against the `gemm` crate (0.19) and `matrixmultiply`, one thread, square sizes
//! 64³–2048³ and the 784-wide MLP's shapes, in interleaved rounds; prints a Markdown table of
//! medians and ratios and appends rows to a CSV when `--csv PATH` is given.
//!
//! Run (from benches/peers): `cargo run --release --bin sgemm [-- --rounds 5 --csv out.csv]`.

#[path = "../../../common/mod.rs"]
mod common;

use common::{matrixmultiply_gemm, random};
use seqnet::kernels::gemm::{gemm as seqnet_gemm, MatRef};
use seqnet::kernels::isa::Isa;
use seqnet_peers::{median, time_best, Csv};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds = seqnet_peers::arg(&args, "--rounds").unwrap_or(5);
    let mut csv = Csv::from_args(&args);
    // matrixmultiply reads its thread count once; one thread against one thread.
    std::env::set_var("MATMUL_NUM_THREADS", "1");
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a thread pool");
    let isa = Isa::current();
    let cpu = seqnet_peers::cpu_name();
    println!("CPU: {cpu}; seqnet path {isa:?}; one thread; medians of {rounds} interleaved rounds");
    // The denominator: seqnet's probe, each chain count it tries and the best.
    let chains = seqnet::kernels::peak::fma_peak_by_chains(isa, 2_000_000, 20);
    let peak = chains.iter().map(|c| c.1).fold(0.0, f64::max);
    let each: Vec<String> = chains
        .iter()
        .map(|(n, g)| format!("{n} chains {g:.1}"))
        .collect();
    println!(
        "FMA peak, one core: {peak:.1} GFLOP/s ({})",
        each.join(", ")
    );
    csv.row(&[
        "fma_peak",
        "one_core",
        "1",
        "seqnet",
        &format!("{peak:.2}"),
        "GFLOP/s",
    ]);
    println!("\n| m × k × n | seqnet GFLOP/s | gemm 0.19 | matrixmultiply | seqnet ÷ gemm | seqnet ÷ matrixmultiply |");
    println!("| --- | --- | --- | --- | --- | --- |");
    let mut shapes: Vec<(usize, usize, usize)> = [64, 128, 256, 384, 512, 768, 1024, 1536, 2048]
        .iter()
        .map(|&s| (s, s, s))
        .collect();
    shapes.extend([
        (1024, 784, 512),
        (1024, 512, 512),
        (256, 784, 512),
        (128, 784, 512),
    ]);
    // `--only 512` keeps the shapes whose m is 512 (for quick sweeps).
    if let Some(only) = seqnet_peers::arg::<usize>(&args, "--only") {
        shapes.retain(|s| s.0 == only);
    }
    for (m, k, n) in shapes {
        let a = random(m * k, 1);
        let b = random(k * n, 2);
        let mut c = vec![0.0f32; m * n];
        let flops = 2.0 * (m * k * n) as f64;
        // About 0.2 s of work per measurement at 50 GFLOP/s.
        let reps = ((10e9 / flops) as usize).clamp(1, 200);
        let (mut ours, mut theirs, mut mm) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            ours.push(one.install(|| {
                time_best(reps, || {
                    seqnet_gemm(
                        isa,
                        MatRef::row_major(&a, m, k),
                        MatRef::row_major(&b, k, n),
                        &mut c,
                        false,
                    )
                })
            }));
            theirs.push(time_best(reps, || gemm_crate(m, k, n, &a, &b, &mut c)));
            mm.push(time_best(reps, || {
                matrixmultiply_gemm(m, k, n, &a, &b, &mut c)
            }));
        }
        let g = |t: &[f64]| flops / median(t) / 1e9;
        let (s, o, x) = (g(&ours), g(&theirs), g(&mm));
        println!(
            "| {m} × {k} × {n} | {s:.1} | {o:.1} | {x:.1} | {:.2} | {:.2} |",
            s / o,
            s / x
        );
        let shape = format!("{m}x{k}x{n}");
        csv.row(&[
            "sgemm",
            &shape,
            "1",
            "seqnet",
            &format!("{s:.2}"),
            "GFLOP/s",
        ]);
        csv.row(&["sgemm", &shape, "1", "gemm", &format!("{o:.2}"), "GFLOP/s"]);
        csv.row(&[
            "sgemm",
            &shape,
            "1",
            "matrixmultiply",
            &format!("{x:.2}"),
            "GFLOP/s",
        ]);
    }
}

/// C = A·B (row-major) by the `gemm` crate, one thread.
fn gemm_crate(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
    // SAFETY: the three buffers hold m×k, k×n and m×n row-major values (asserted above): column
    // stride 1, row stride the width.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            1,
            k as isize,
            b.as_ptr(),
            1,
            n as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}
