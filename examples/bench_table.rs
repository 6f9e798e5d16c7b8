//! Every benchmark figure in one table, each as a ratio to a reference measured in the same run:
//! the machine's single-core FMA peak, the `matrixmultiply` crate, a naive loop. What
//! BENCHMARKS.md records.
//!
//! Run: `cargo run --release --example bench_table` (`matrixmultiply` runs on one thread unless
//! `MATMUL_NUM_THREADS` says otherwise; `SEQNET_ISA=avx2` runs the model rows on a lower path;
//! `-- conv` or `-- lstm` runs the FMA peak and those sections only; `-- int8` the int8 GEMM
//! and quantized-model sections alone, the model rows on `Int8Path::current()`: `SEQNET_ISA`
//! picks an int8 path too).
//! Timings are the best of many runs: on a shared machine the best is the least disturbed.

#[path = "../benches/common/mod.rs"]
mod common;

use common::*;
use seqnet::activations::Linear;
use seqnet::kernels::bandwidth::read_gbs;
use seqnet::kernels::gemm::{
    gemm, gemm_fused_packed, gemv, pack_b_once, packed_len_bound, Epilogue, MatRef,
};
use seqnet::kernels::int8::{
    gemm_s8_f32, quantize_kernel, quantize_rows, Dequant, Int8Path, PackedS8,
};
use seqnet::kernels::isa::Isa;
use seqnet::kernels::peak::fma_peak_by_chains;
use seqnet::prelude::*;
use std::time::Instant;

/// Best wall time of `f` over `runs` runs (after one warm-up), in seconds.
fn best(runs: usize, mut f: impl FnMut()) -> f64 {
    f();
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::MAX, f64::min)
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool")
}

fn gflops(m: usize, k: usize, n: usize, seconds: f64) -> f64 {
    2.0 * (m * k * n) as f64 / seconds / 1e9
}

fn main() {
    // matrixmultiply defaults to one thread per physical core; the comparisons are one thread
    // against one thread unless the caller says otherwise. Set before its first use.
    if std::env::var_os("MATMUL_NUM_THREADS").is_none() {
        std::env::set_var("MATMUL_NUM_THREADS", "1");
    }
    let one = pool(1);
    let two = pool(2);
    let paths = Isa::available();
    let top = *paths.last().expect("a path");
    let only = |name: &str| std::env::args().skip(1).any(|a| a == name);
    if only("int8") {
        int8_section(&one, &two);
        int8_model_section(&one, &two);
        return;
    }
    println!(
        "kernel paths on this CPU: {:?} (models run on {:?})",
        paths,
        Isa::current()
    );

    println!("\n## FMA peak, one core (GFLOP/s; the best chain count, and each count tried)");
    let mut peak = std::collections::HashMap::new();
    for &isa in &paths {
        let by_chains = fma_peak_by_chains(isa, 2_000_000, 40);
        let p = by_chains.iter().map(|c| c.1).fold(0.0, f64::max);
        peak.insert(isa, p);
        let each: Vec<String> = by_chains
            .iter()
            .map(|(chains, g)| format!("{chains}: {g:.1}"))
            .collect();
        println!("| {:<8} | {p:7.1} | {} |", isa.name(), each.join(", "));
    }
    let top_peak = peak[&top];

    // `-- gemm` prints only the dense sections (SGEMM, GEMV, the MLP shapes).
    if only("gemm") {
        dense_sections(&one, &two, &paths, &peak);
        return;
    }
    // `-- conv` prints only the convolution sections (Conv2D, Conv1D), `-- lstm` only the LSTM
    // and GRU rows; both together, both.
    let (conv, lstm) = (only("conv"), only("lstm"));
    let all = !conv && !lstm;
    if all {
        dense_sections(&one, &two, &paths, &peak);
        int8_section(&one, &two);
        int8_model_section(&one, &two);
    }
    let models = Isa::current();
    let models_peak = peak.get(&models).copied().unwrap_or(top_peak);
    if all || conv {
        conv_sections(&one, &two, models, models_peak);
        conv1d_section(&one, &two, models, models_peak);
    }
    if all || lstm {
        lstm_section(&one, &two, models, models_peak);
        gru_section(&one, &two, models, models_peak);
    }
}

/// The GEMM, tutorial-model and 784-wide rows.
fn dense_sections(
    one: &rayon::ThreadPool,
    two: &rayon::ThreadPool,
    paths: &[Isa],
    peak: &std::collections::HashMap<Isa, f64>,
) {
    let top = *paths.last().expect("a path");
    let top_peak = peak[&top];
    println!(
        "\n## SGEMM square, one thread (GFLOP/s; % of that path's peak; × matrixmultiply; × naive)"
    );
    println!(
        "| n | {} | matrixmultiply | naive |",
        paths
            .iter()
            .map(|i| i.name())
            .collect::<Vec<_>>()
            .join(" | ")
    );
    for n in [64usize, 128, 256, 512, 1024, 2048] {
        let (a, b) = (random(n * n, 1), random(n * n, 2));
        let mut c = vec![0.0; n * n];
        let runs = if n >= 1024 { 8 } else { 40 };
        let mm = gflops(
            n,
            n,
            n,
            best(runs, || matrixmultiply_gemm(n, n, n, &a, &b, &mut c)),
        );
        let naive = (n <= 512).then(|| {
            gflops(
                n,
                n,
                n,
                best(runs.min(10), || naive_gemm(n, n, n, &a, &b, &mut c)),
            )
        });
        let mut cells = Vec::new();
        for &isa in paths {
            let t = one.install(|| {
                best(runs, || {
                    gemm(
                        isa,
                        MatRef::row_major(&a, n, n),
                        MatRef::row_major(&b, n, n),
                        &mut c,
                        false,
                    )
                })
            });
            let g = gflops(n, n, n, t);
            cells.push(format!(
                "{g:6.1} ({:3.0}%, {:.2}×{})",
                100.0 * g / peak[&isa],
                g / mm,
                naive.map_or(String::new(), |nv| format!(", {:.1}× naive", g / nv))
            ));
        }
        println!(
            "| {n} | {} | {mm:6.1} | {} |",
            cells.join(" | "),
            naive.map_or("-".into(), |v| format!("{v:.1}"))
        );
    }

    println!("\n## SGEMM square on {}, two threads vs one", top.name());
    for n in [512usize, 1024, 2048] {
        let (a, b) = (random(n * n, 1), random(n * n, 2));
        let mut c = vec![0.0; n * n];
        let mut run = |p: &rayon::ThreadPool| {
            gflops(
                n,
                n,
                n,
                p.install(|| {
                    best(8, || {
                        gemm(
                            top,
                            MatRef::row_major(&a, n, n),
                            MatRef::row_major(&b, n, n),
                            &mut c,
                            false,
                        )
                    })
                }),
            )
        };
        let (g1, g2) = (run(one), run(two));
        println!("| {n} | 1T {g1:6.1} | 2T {g2:6.1} | {:.2}× |", g2 / g1);
    }

    println!(
        "\n## SGEMM MLP shapes on {}, one thread (GFLOP/s; % of peak; × matrixmultiply)",
        top.name()
    );
    for (m, k, n) in MLP_SHAPES {
        let (a, b) = (random(m * k, 3), random(k * n, 4));
        let mut c = vec![0.0; m * n];
        let runs = if m * k * n > 10_000_000 { 20 } else { 200 };
        let ours = gflops(
            m,
            k,
            n,
            one.install(|| {
                best(runs, || {
                    gemm(
                        top,
                        MatRef::row_major(&a, m, k),
                        MatRef::row_major(&b, k, n),
                        &mut c,
                        false,
                    )
                })
            }),
        );
        let mm = gflops(
            m,
            k,
            n,
            best(runs, || matrixmultiply_gemm(m, k, n, &a, &b, &mut c)),
        );
        println!(
            "| {m}×{k}×{n} | {ours:6.1} | {:3.0}% | {:.2}× |",
            100.0 * ours / top_peak,
            ours / mm
        );
    }

    println!("\n## The tutorial model (10 → 64 → 32 → 1)");
    let model = SeedNet::new(42);
    let x1 = rows::<10>(1, 5);
    let t = best(20, || {
        for _ in 0..10_000 {
            let _ = std::hint::black_box(model.predict_one(std::hint::black_box(&x1[0])));
        }
    }) / 10_000.0;
    println!("| predict_one | {:.0} ns |", t * 1e9);
    let x4096 = rows::<10>(4096, 6);
    let t = one.install(|| {
        best(20, || {
            let _ = std::hint::black_box(model.predict(&x4096));
        })
    });
    println!(
        "| predict, 4096 rows, one thread | {:.2} M rows/s |",
        4096.0 / t / 1e6
    );
    let t = two.install(|| {
        best(20, || {
            let _ = std::hint::black_box(model.predict(&x4096));
        })
    });
    println!(
        "| predict, 4096 rows, two threads | {:.2} M rows/s |",
        4096.0 / t / 1e6
    );
    let (xt, yt) = seqnet::data::tutorial_data(8000, 7);
    let t = best(5, || {
        let mut m = SeedNet::new(1).compile(Adam::new(0.001), Loss::binary_crossentropy(), []);
        one.install(|| {
            for step in 0..250 {
                let r = step * 32;
                m.train_on_batch(&xt[r..r + 32], &yt[r..r + 32])
                    .expect("a step");
            }
        });
    });
    println!(
        "| 250 Adam steps of 32 rows (train_on_batch) | {:.2} ms ({:.1} µs/step) |",
        t * 1e3,
        t / 250.0 * 1e6
    );
    // A large batch runs as 64-row chunks in parallel (Compiled::chunk_count).
    let (xb, yb) = seqnet::data::tutorial_data(1024, 9);
    let mut m = SeedNet::new(1).compile(Adam::new(0.001), Loss::binary_crossentropy(), []);
    for (label, p) in [("one thread", &one), ("two threads", &two)] {
        let t = p.install(|| {
            best(50, || {
                m.train_on_batch(&xb, &yb).expect("a step");
            })
        });
        println!(
            "| train step of 1024 rows ({} row chunks), {label} | {:.0} µs ({:.2} M rows/s) |",
            m.chunk_count(1024),
            t * 1e6,
            1024.0 / t / 1e6
        );
    }
    let (xe, ye) = seqnet::data::tutorial_data(720, 8);
    let t = best(10, || {
        let mut m = SeedNet::new(1).compile(
            Adam::new(0.001),
            Loss::binary_crossentropy(),
            [Metric::Accuracy],
        );
        one.install(|| {
            let options = Fit {
                epochs: 1,
                verbose: 0.into(),
                ..Fit::default()
            };
            m.fit(&xe, &ye, options).expect("an epoch")
        });
    });
    println!(
        "| one epoch of fit (720 rows, batch 32, accuracy) | {:.2} ms |",
        t * 1e3
    );

    println!("\n## 784 → 512 → 512 → 10");
    let x128 = rows::<784>(128, 9);
    let y128 = classes(128, 10, 10);
    let mut m = Mlp784::new(3).compile(
        Adam::new(0.001),
        Loss::sparse_categorical_crossentropy(),
        [],
    );
    for (label, p) in [("one thread", &one), ("two threads", &two)] {
        let t = p.install(|| {
            best(20, || {
                m.train_on_batch(&x128, &y128).expect("a step");
            })
        });
        // Forward and dW for every layer, dX for all but the first (nothing needs it).
        let (w1, rest) = (784.0 * 512.0, 512.0 * 512.0 + 512.0 * 10.0);
        let flops = 2.0 * 128.0 * (2.0 * (w1 + rest) + rest);
        println!(
            "| train step b=128, {label} | {:.1} k samples/s | {:.0}% of {} peak × threads |",
            128.0 / t / 1e3,
            100.0 * flops / t / 1e9 / (top_peak * if label == "one thread" { 1.0 } else { 2.0 }),
            top.name()
        );
    }
    let model = Mlp784::new(3);
    let x1024 = rows::<784>(1024, 11);
    for (label, p) in [("one thread", &one), ("two threads", &two)] {
        let t = p.install(|| {
            best(10, || {
                let _ = std::hint::black_box(model.predict(&x1024));
            })
        });
        println!(
            "| inference b=1024, {label} | {:.1} k samples/s |",
            1024.0 / t / 1e3
        );
    }
}

sequential! {
    /// The Conv1D row: Conv1D(64, 5) over 100 steps of 32 features (the layer is nearly all the
    /// work: 61 k multiply-adds per step against 64 for the head).
    struct Conv1dRow {
        Input(shape = (100, 32)),
        Conv1D(64, 5, activation = relu),
        GlobalAveragePooling1D,
        Dense(1),
    }
}

/// The Conv1D row: the model's forward pass (`predict`) and a training step at batch 64, as
/// GFLOP/s of the Conv1D layer's own work, against the FMA peak. onnxruntime's forward figure
/// for the same layer comes from `tools/conv_onnxruntime.py` (BENCHMARKS.md sets them side by
/// side).
fn conv1d_section(one: &rayon::ThreadPool, two: &rayon::ThreadPool, isa: Isa, peak: f64) {
    const BATCH: usize = 64;
    let (steps, features, filters, kernel) = (100usize, 32usize, 64usize, 5usize);
    let out_steps = steps - kernel + 1;
    // 2 · MACs of the layer's forward pass; a training step adds dW (Conv1D is the first
    // layer, so no dX): twice that.
    let forward_flops = 2.0 * (BATCH * out_steps * kernel * features * filters) as f64;
    let x: Vec<[[f32; 32]; 100]> = (0..BATCH)
        .map(|r| {
            std::array::from_fn(|t| {
                std::array::from_fn(|c| ((r * 31 + t * 7 + c * 3) % 17) as f32 / 8.0 - 1.0)
            })
        })
        .collect();
    let y: Vec<f32> = (0..BATCH).map(|r| (r % 5) as f32 / 4.0).collect();
    let model = Conv1dRow::new(3);
    let mut trained = Conv1dRow::new(3).compile(Adam::new(1e-4), Loss::MeanSquaredError, []);
    println!(
        "\n## Conv1D(64, 5, relu) on 100 × 32, batch 64, {} (µs; GFLOP/s of the layer; % of peak)",
        isa.name()
    );
    println!("| pass | one thread | two threads |");
    let cell = |t: f64, flops: f64| {
        let g = flops / t / 1e9;
        format!(
            "{:7.1} µs, {g:5.1} GFLOP/s ({:3.0}%)",
            t * 1e6,
            100.0 * g / peak
        )
    };
    let forward = |p: &rayon::ThreadPool| {
        p.install(|| {
            best(50, || {
                std::hint::black_box(model.predict(&x).expect("a prediction"));
            })
        })
    };
    let (f1, f2) = (forward(one), forward(two));
    println!(
        "| forward (predict) | {} | {} |",
        cell(f1, forward_flops),
        cell(f2, forward_flops)
    );
    let mut step = |p: &rayon::ThreadPool| {
        p.install(|| {
            best(50, || {
                trained.train_on_batch(&x, &y[..]).expect("a step");
            })
        })
    };
    let (s1, s2) = (step(one), step(two));
    println!(
        "| training step | {} | {} |",
        cell(s1, 2.0 * forward_flops),
        cell(s2, 2.0 * forward_flops)
    );
}

/// The Conv2D rows: the layer alone at the two `CONV_CASES` shapes (forward, and forward plus
/// backward with dX) against the FMA peak and the naive loops, then the digits CNN's step.
fn conv_sections(one: &rayon::ThreadPool, two: &rayon::ThreadPool, isa: Isa, peak: f64) {
    println!(
        "\n## Conv2D on {}, 3×3 valid + relu, batch 64 (GFLOP/s; % of peak; × naive loops)",
        isa.name()
    );
    println!("| shape | pass | one thread | two threads | naive, one thread |");
    for case in CONV_CASES {
        let mut work = ConvWork::new(case);
        let label = format!("{}×{}×{} → {}", case.h, case.w, case.c, case.filters);
        for pass in &CONV_PASSES {
            let (ours, naive) = (pass.ours, pass.naive);
            let flops = (pass.flops)(&case);
            let g = |t: f64| flops / t / 1e9;
            let g1 = g(one.install(|| best(30, || ours(&mut work))));
            let g2 = g(two.install(|| best(30, || ours(&mut work))));
            let gn = g(one.install(|| best(3, || naive(&mut work))));
            println!(
                "| {label} | {} | {g1:6.1} ({:3.0}%, {:.1}× naive) | {g2:6.1} ({:.2}× one) | {gn:5.2} |",
                pass.name,
                100.0 * g1 / peak,
                g1 / gn,
                g2 / g1
            );
        }
    }

    println!(
        "\n## The digits CNN (8×8×1 → Conv2D(16, 3×3, relu) → MaxPooling2D → Dense(10, softmax))"
    );
    for batch in [32usize, 128] {
        let (x, y) = digit_images(batch, 31);
        let mut m = DigitsCnn::new(1).compile(
            Adam::new(0.001),
            Loss::sparse_categorical_crossentropy(),
            [],
        );
        for (label, p) in [("one thread", one), ("two threads", two)] {
            let t = p.install(|| {
                best(200, || {
                    m.train_on_batch(&x, &y).expect("a step");
                })
            });
            println!(
                "| train_on_batch, batch {batch} ({} row chunks), {label} | {:.1} µs/step |",
                m.chunk_count(batch),
                t * 1e6
            );
        }
    }
}

/// The recurrent rows, for the LSTM and the GRU alike: `$layer(128)` over 50 steps of 32
/// features (`LstmRow`, `GruRow` in `benches/common`), one sequence (`predict_one`, against the
/// L2 bound as well: a step reads the whole recurrent kernel), a forward pass of 64 (`predict`),
/// a training step of 64 (`train_on_batch`, Adam, mean squared error), one streaming step (a
/// `Stream`, one timestep in) and 64 streams stepping together (`Streams`), as GFLOP/s of the
/// layer's products against the FMA peak. `tools/peers.py --models lstm,gru` times the same work
/// in onnxruntime, PyTorch and OpenVINO (BENCHMARKS.md sets them side by side).
macro_rules! recurrent_section {
    ($name:ident, $model:ident, $layer:literal, $gates:expr) => {
        fn $name(one: &rayon::ThreadPool, two: &rayon::ThreadPool, isa: Isa, peak: f64) {
            const BATCH: usize = 64;
            const GATES: usize = $gates;
            let x = lstm_sequences(BATCH, 5);
            let y: Vec<f32> = (0..BATCH).map(|r| (r % 5) as f32 / 4.0).collect();
            let model = $model::new(3);
            let mut trained = $model::new(3).compile(Adam::new(1e-4), Loss::MeanSquaredError, []);
            println!(
                "\n## {}({LSTM_UNITS}) over {LSTM_STEPS} steps × {LSTM_FEATURES} features, then \
                 Dense(1), {} (µs; GFLOP/s of the layer's products; % of peak)",
                $layer,
                isa.name()
            );
            println!("| pass | one thread | two threads |");
            let cell = |t: f64, flops: f64| {
                let g = flops / t / 1e9;
                format!(
                    "{:8.1} µs, {g:5.1} GFLOP/s ({:3.0}%)",
                    t * 1e6,
                    100.0 * g / peak
                )
            };
            // One sequence runs on the calling thread whatever the pool: one column.
            let t = best(50, || {
                std::hint::black_box(
                    model
                        .predict_one(std::hint::black_box(&x[0]))
                        .expect("a prediction"),
                );
            });
            // One sequence is bound by reading the recurrent kernel (U × G·U floats, 256 KB for
            // the LSTM: L2) once per step, not by the FMA units: its floor is T reads of it,
            // and one of the input kernel (F × G·U, 64 KB), at the measured L2 bandwidth.
            let kernel_bytes = LSTM_UNITS * GATES * LSTM_UNITS * 4;
            let input_bytes = LSTM_FEATURES * GATES * LSTM_UNITS * 4;
            let l2_gbs = read_gbs(isa, kernel_bytes, 200, 20);
            let floor = (LSTM_STEPS * kernel_bytes + input_bytes) as f64 / (l2_gbs * 1e9);
            println!(
                "| one sequence (predict_one) | {}; {:.0}% of the L2 bound ({:.1} µs at \
                 {l2_gbs:.0} GB/s) | - |",
                cell(t, recurrent_forward_flops(GATES, 1)),
                100.0 * floor / t,
                floor * 1e6
            );
            let forward = |p: &rayon::ThreadPool| {
                p.install(|| {
                    best(20, || {
                        std::hint::black_box(model.predict(&x).expect("a prediction"));
                    })
                })
            };
            let (f1, f2) = (forward(one), forward(two));
            println!(
                "| forward, batch {BATCH} (predict) | {} | {} |",
                cell(f1, recurrent_forward_flops(GATES, BATCH)),
                cell(f2, recurrent_forward_flops(GATES, BATCH))
            );
            let mut step = |p: &rayon::ThreadPool| {
                p.install(|| {
                    best(10, || {
                        trained.train_on_batch(&x, &y[..]).expect("a step");
                    })
                })
            };
            let (s1, s2) = (step(one), step(two));
            println!(
                "| training step, batch {BATCH} (train_on_batch) | {} | {} |",
                cell(s1, recurrent_train_flops(GATES, BATCH)),
                cell(s2, recurrent_train_flops(GATES, BATCH))
            );
            // Streams: one timestep of each in, the model's output for the sequence so far out.
            let step_flops = |rows: usize| recurrent_forward_flops(GATES, rows) / LSTM_STEPS as f64;
            let mut stream = model.stream();
            let mut t_index = 0;
            let t = best(2000, || {
                t_index = (t_index + 1) % LSTM_STEPS;
                std::hint::black_box(stream.step(&x[0][t_index]).expect("a step"));
            });
            // A step reads both kernels: its input's projection and the recurrent product.
            let step_floor = (kernel_bytes + input_bytes) as f64 / (l2_gbs * 1e9);
            println!(
                "| one streaming step (Stream::step) | {}; {:.0}% of the L2 bound ({:.2} µs) | - |",
                cell(t, step_flops(1)),
                100.0 * step_floor / t,
                step_floor * 1e6
            );
            let mut streams = model.streams(BATCH);
            let rows: Vec<Vec<[f32; LSTM_FEATURES]>> = (0..LSTM_STEPS)
                .map(|s| x.iter().map(|seq| seq[s]).collect())
                .collect();
            let mut t_index = 0;
            let mut together = |p: &rayon::ThreadPool| {
                p.install(|| {
                    best(200, || {
                        t_index = (t_index + 1) % LSTM_STEPS;
                        std::hint::black_box(streams.step(&rows[t_index]).expect("a step"));
                    })
                })
            };
            let (g1, g2) = (together(one), together(two));
            println!(
                "| {BATCH} streams stepping together (Streams::step) | {} | {} |",
                cell(g1, step_flops(BATCH)),
                cell(g2, step_flops(BATCH))
            );
        }
    };
}

recurrent_section!(lstm_section, LstmRow, "LSTM", 4);
recurrent_section!(gru_section, GruRow, "GRU", 3);

/// The int8 Dense product (issue 24) beside the f32 one on the same shapes, in the same run:
/// GOP/s (2·m·k·n operations per second) of a Dense layer's work before its activation. int8:
/// quantize the input rows, the int8 GEMM, dequantize and add the bias (`kernels::int8`, B packed
/// once). f32: the packed SGEMM with the bias fused (B packed once), or the GEMV for one row, as
/// the f32 Dense layer does. The ratio is int8 over f32.
fn int8_section(one: &rayon::ThreadPool, two: &rayon::ThreadPool) {
    let f32_isa = Isa::current();
    let paths = Int8Path::available();
    println!(
        "\n## int8 Dense product against f32 (GOP/s; × the f32 {} product; quantize + GEMM + dequantize)",
        f32_isa.name()
    );
    println!(
        "| shape | batch | threads | f32 | {} |",
        paths
            .iter()
            .map(|p| p.name())
            .collect::<Vec<_>>()
            .join(" | ")
    );
    for (k, n) in [(784usize, 512usize), (512, 512)] {
        let w = random(k * n, 5);
        let bias = random(n, 6);
        let (wq, col_scale) = quantize_kernel(&w, k, n);
        let packed8 = PackedS8::pack(&wq, k, n);
        let mut packs = vec![0.0; packed_len_bound(k, n)];
        let packed = pack_b_once(f32_isa, MatRef::row_major(&w, k, n), &mut packs);
        for m in [1usize, 1024] {
            let x = random(m * k, 7);
            let mut c = vec![0.0f32; m * n];
            let mut xq = vec![0i8; m * k];
            let mut row_scale = vec![0.0f32; m];
            let runs = if m == 1 { 2000 } else { 20 };
            for (threads, pool) in [(1, one), (2, two)] {
                let f = pool.install(|| {
                    best(runs, || {
                        if m == 1 {
                            gemv(f32_isa, &x, &w, Some(&bias), &mut c);
                        } else {
                            let epilogue = Epilogue {
                                bias: Some(&bias),
                                activation: &Linear,
                                pre_activation: None,
                            };
                            gemm_fused_packed(
                                f32_isa,
                                MatRef::row_major(&x, m, k),
                                MatRef::row_major(&w, k, n),
                                Some(packed),
                                &mut c,
                                false,
                                epilogue,
                            );
                        }
                    })
                });
                let f = gflops(m, k, n, f);
                let mut cells = Vec::new();
                for &path in &paths {
                    let t = pool.install(|| {
                        best(runs, || {
                            quantize_rows(path, &x, k, &mut xq, &mut row_scale);
                            let dq = Dequant {
                                row_scale: &row_scale,
                                col_scale: &col_scale,
                                bias: Some(&bias),
                            };
                            gemm_s8_f32(path, &xq, m, k, &packed8, &dq, &mut c);
                        })
                    });
                    let g = gflops(m, k, n, t);
                    cells.push(format!("{g:.1} ({:.2}×)", g / f));
                }
                println!(
                    "| {k}→{n} | {m} | {threads} | {f:.1} | {} |",
                    cells.join(" | ")
                );
            }
        }
    }
}

/// Issue 24's model rows: `model.quantize("int8")` against the float32 model, in the same run,
/// on the int8 path `SEQNET_ISA` picks (`Int8Path::current()`) and the f32 one (`Isa::current()`).
/// Batch rows in samples/s, one-row rows in time per call; the ratio is int8's speed over f32's.
fn int8_model_section(one: &rayon::ThreadPool, two: &rayon::ThreadPool) {
    println!(
        "\n## quantize(\"int8\") models against float32 (int8 path {}, f32 {})",
        Int8Path::current().name(),
        Isa::current().name()
    );
    println!("| model | work | threads | float32 | int8 | int8 speed ÷ float32 |");
    let mlp = Mlp784::new(3);
    let mlp8 = mlp.quantize("int8").expect("int8");
    let x1024 = rows::<784>(1024, 11);
    for (threads, pool) in [(1, one), (2, two)] {
        let f = pool.install(|| best(10, || drop(std::hint::black_box(mlp.predict(&x1024)))));
        let q = pool.install(|| best(10, || drop(std::hint::black_box(mlp8.predict(&x1024)))));
        println!(
            "| 784→512→512→10 | batch 1024 | {threads} | {:.1} k/s | {:.1} k/s | {:.2}× |",
            1024.0 / f / 1e3,
            1024.0 / q / 1e3,
            f / q
        );
    }
    let calls = 2000;
    let per_call = |f: &dyn Fn()| {
        best(10, || {
            for _ in 0..calls {
                f();
            }
        }) / calls as f64
    };
    let f = per_call(&|| {
        drop(std::hint::black_box(
            mlp.predict_one(std::hint::black_box(&x1024[0])),
        ))
    });
    let q = per_call(&|| {
        drop(std::hint::black_box(
            mlp8.predict_one(std::hint::black_box(&x1024[0])),
        ))
    });
    println!(
        "| 784→512→512→10 | predict_one | 1 | {:.2} µs | {:.2} µs | {:.2}× |",
        f * 1e6,
        q * 1e6,
        f / q
    );
    let seed = SeedNet::new(42);
    let seed8 = seed.quantize("int8").expect("int8");
    let x1 = rows::<10>(1, 5);
    let f = per_call(&|| {
        drop(std::hint::black_box(
            seed.predict_one(std::hint::black_box(&x1[0])),
        ))
    });
    let q = per_call(&|| {
        drop(std::hint::black_box(
            seed8.predict_one(std::hint::black_box(&x1[0])),
        ))
    });
    println!(
        "| tutorial 10→64→32→1 | predict_one | 1 | {:.0} ns | {:.0} ns | {:.2}× |",
        f * 1e9,
        q * 1e9,
        f / q
    );
    let x4096 = rows::<10>(4096, 6);
    let f = one.install(|| best(20, || drop(std::hint::black_box(seed.predict(&x4096)))));
    let q = one.install(|| best(20, || drop(std::hint::black_box(seed8.predict(&x4096)))));
    println!(
        "| tutorial 10→64→32→1 | batch 4096 | 1 | {:.2} M/s | {:.2} M/s | {:.2}× |",
        4096.0 / f / 1e6,
        4096.0 / q / 1e6,
        f / q
    );
}
