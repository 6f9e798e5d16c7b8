//! The int8 kernels (`kernels::int8`), on every path this CPU has: the GEMM against a naive
//! integer loop on odd shapes and extreme values (exact), Keras' `abs_max_quantize` on a
//! hand-computed example, the dequantizing epilogue against f64, and bit-identical results for
//! any thread count.

use nn_core::kernels::int8::{
    gemm_s8_f32, gemm_s8_i32, quantize_kernel, quantize_rows, Dequant, Int8Path, PackedS8,
};
use nn_core::kernels::isa::Isa;
use rand::{Rng, SeedableRng};

fn random_s8(len: usize, seed: u64) -> Vec<i8> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..len).map(|_| rng.random_range(-127..=127)).collect()
}

fn random_f32(len: usize, lo: f32, hi: f32, seed: u64) -> Vec<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..len).map(|_| rng.random_range(lo..hi)).collect()
}

/// C = A·B in i64, checked to fit i32.
fn naive(a: &[i8], b: &[i8], m: usize, k: usize, n: usize) -> Vec<i32> {
    let mut c = vec![0i64; m * n];
    for i in 0..m {
        for p in 0..k {
            let x = i64::from(a[i * k + p]);
            for j in 0..n {
                c[i * n + j] += x * i64::from(b[p * n + j]);
            }
        }
    }
    c.into_iter()
        .map(|v| i32::try_from(v).expect("fits i32"))
        .collect()
}

fn product(path: Int8Path, a: &[i8], m: usize, k: usize, packed: &PackedS8) -> Vec<i32> {
    let mut c = vec![i32::MIN; m * packed.n()];
    gemm_s8_i32(path, a, m, k, packed, &mut c);
    c
}

const SIZES: [usize; 13] = [1, 2, 3, 5, 7, 13, 31, 33, 64, 65, 127, 129, 300];

#[test]
fn every_path_matches_the_naive_loop_on_odd_shapes() {
    let paths = Int8Path::available();
    let mut seed = 0;
    for &m in &SIZES {
        for &k in &SIZES {
            for &n in &SIZES {
                // The full cube is 474 M multiply-adds per path; the largest third of it adds
                // nothing the others do not check (tile edges are set by m, k mod 4, n mod 16).
                if m * k * n > 1_200_000 && (m, k, n) != (300, 300, 300) {
                    continue;
                }
                seed += 2;
                let a = random_s8(m * k, seed);
                let b = random_s8(k * n, seed + 1);
                let want = naive(&a, &b, m, k, n);
                let packed = PackedS8::pack(&b, k, n);
                for &path in &paths {
                    assert!(
                        product(path, &a, m, k, &packed) == want,
                        "{path:?} {m}×{k}×{n}"
                    );
                }
            }
        }
    }
}

/// The AVX2 path's own edges: its tiles are six rows high (m mod 6, and blocks of 48 rows), it
/// reads k in pairs of int16 from a copy of B built on first use (k odd, k = 1, k mod 4) and A
/// widened into a per-thread buffer that one shape leaves longer than the next needs.
#[test]
fn the_int16_layout_is_exact_at_its_edges() {
    let paths = Int8Path::available();
    let mut seed = 1000;
    for m in [1, 5, 6, 7, 11, 12, 13, 47, 48, 49, 53, 97] {
        for k in [1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 17, 33] {
            for n in [1, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 48] {
                seed += 2;
                let a = random_s8(m * k, seed);
                let b = random_s8(k * n, seed + 1);
                let want = naive(&a, &b, m, k, n);
                let packed = PackedS8::pack(&b, k, n);
                for &path in &paths {
                    assert!(
                        product(path, &a, m, k, &packed) == want,
                        "{path:?} {m}×{k}×{n}"
                    );
                }
            }
        }
    }
    // Long rows, then short ones, then long again, on one thread: the widened rows of one call
    // must not leak into the next.
    for (i, &(m, k, n)) in [(100, 777, 40), (3, 5, 17), (61, 1001, 33), (2, 1, 1)]
        .iter()
        .enumerate()
    {
        let a = random_s8(m * k, 2000 + i as u64);
        let b = random_s8(k * n, 3000 + i as u64);
        let want = naive(&a, &b, m, k, n);
        let packed = PackedS8::pack(&b, k, n);
        for &path in &paths {
            assert!(
                product(path, &a, m, k, &packed) == want,
                "{path:?} {m}×{k}×{n}"
            );
        }
    }
}

#[test]
fn a_packing_equals_its_twin_once_it_has_built_the_int16_copy() {
    let (m, k, n) = (9, 37, 21);
    let a = random_s8(m * k, 50);
    let b = random_s8(k * n, 51);
    let used = PackedS8::pack(&b, k, n);
    let fresh = PackedS8::pack(&b, k, n);
    for path in Int8Path::available() {
        product(path, &a, m, k, &used);
    }
    assert_eq!(used, fresh);
    assert_eq!(used.clone(), fresh);
    assert_ne!(used, PackedS8::pack(&random_s8(k * n, 52), k, n));
}

#[test]
fn extreme_values_are_summed_exactly() {
    // ±127 (Keras' range) and -128 (int8's floor, which the sign trick must also get right),
    // at a k (4099, not a multiple of 4) where the sums reach 6.7e7.
    let (m, k, n) = (7, 4099, 33);
    for (x, y) in [
        (127i8, 127i8),
        (-127, -127),
        (127, -127),
        (-128, -128),
        (-128, 127),
    ] {
        let a = vec![x; m * k];
        let b = vec![y; k * n];
        let want = naive(&a, &b, m, k, n);
        assert_eq!(want[0], i32::from(x) * i32::from(y) * k as i32);
        let packed = PackedS8::pack(&b, k, n);
        for path in Int8Path::available() {
            assert!(product(path, &a, m, k, &packed) == want, "{path:?} {x}·{y}");
        }
    }
    // Alternating signs, so that partial sums swing both ways.
    let a: Vec<i8> = (0..m * k)
        .map(|i| if i % 3 == 0 { -127 } else { 127 })
        .collect();
    let b: Vec<i8> = (0..k * n)
        .map(|i| if i % 5 == 0 { 127 } else { -128 })
        .collect();
    let want = naive(&a, &b, m, k, n);
    let packed = PackedS8::pack(&b, k, n);
    for path in Int8Path::available() {
        assert!(product(path, &a, m, k, &packed) == want, "{path:?} mixed");
    }
}

#[test]
fn input_quantization_matches_a_hand_computed_keras_example() {
    // Row 0: abs-max 127, so scale = 127 / (127 + 1e-7) = 127 / 127 = 1 exactly in f32 (1e-7 is
    // below half an ulp of 127) and the values round as they are: half to even, as
    // `ops.round`: 2.5 → 2, 3.5 → 4, -2.5 → -2, 0.5 → 0, -1.5 → -2, and 1.4999999 → 1.
    // Row 1: abs-max 254, scale 0.5: 5 → 2.5 → 2, 7 → 3.5 → 4, -254 → -127, 1 → 0.5 → 0.
    // Row 2: zeros: scale 127 / 1e-7, values 0.
    // Rows of 20 (the AVX2 path's eight lanes twice, then a scalar tail of four).
    let k = 20;
    let mut x = vec![0.0f32; 3 * k];
    let mut want = vec![0i8; 3 * k];
    let r0 = [
        (127.0, 127),
        (2.5, 2),
        (3.5, 4),
        (-2.5, -2),
        (0.5, 0),
        (-1.5, -2),
        (1.499_999_9, 1),
    ];
    let r1 = [(5.0, 2), (7.0, 4), (-254.0, -127), (1.0, 0), (-7.0, -4)];
    for (row, values) in [(0usize, &r0[..]), (1, &r1[..])] {
        for (i, &(v, q)) in values.iter().enumerate() {
            // Once in the vector part, once in the tail.
            for at in [i, 19 - i] {
                x[row * k + at] = v;
                want[row * k + at] = q;
            }
        }
    }
    for path in Int8Path::available() {
        let mut q = vec![99i8; 3 * k];
        let mut scales = vec![f32::NAN; 3];
        quantize_rows(path, &x, k, &mut q, &mut scales);
        assert_eq!(q, want, "{path:?}");
        assert_eq!(scales[0], 1.0, "{path:?}");
        assert_eq!(scales[1], 0.5, "{path:?}");
        assert_eq!(scales[2], 127.0f32 / 1e-7f32, "{path:?}");
        assert!((scales[2] - 1.27e9).abs() < 1e3);
    }
}

#[test]
fn every_path_quantizes_random_rows_to_the_same_bits() {
    let (rows, k) = (37, 133);
    let x = random_f32(rows * k, -3.0, 3.0, 9);
    let mut first: Option<(Vec<i8>, Vec<f32>)> = None;
    for path in Int8Path::available() {
        let mut q = vec![0i8; rows * k];
        let mut s = vec![0.0f32; rows];
        quantize_rows(path, &x, k, &mut q, &mut s);
        // Against the formula, value by value.
        for (i, row) in x.chunks(k).enumerate() {
            let m = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let scale = 127.0 / (m + 1e-7);
            assert_eq!(s[i], scale);
            for (j, &v) in row.iter().enumerate() {
                let want = (v * scale).round_ties_even().clamp(-127.0, 127.0) as i8;
                assert_eq!(q[i * k + j], want, "{path:?} [{i}][{j}]");
            }
        }
        match &first {
            None => first = Some((q, s)),
            Some((q0, s0)) => assert!(q0 == &q && s0 == &s, "{path:?}"),
        }
    }
}

#[test]
fn kernel_quantization_is_per_output_unit() {
    // 2×3 kernel; column abs-maxes 254, 127, 0 → scales 0.5, 1, 127 / 1e-7.
    let w = [254.0f32, -2.5, 0.0, -5.0, 127.0, 0.0];
    let (q, scales) = quantize_kernel(&w, 2, 3);
    assert_eq!(q, vec![127, -2, 0, -2, 127, 0]);
    assert_eq!(scales, vec![0.5, 1.0, 127.0f32 / 1e-7f32]);
}

/// Dense's float output three ways: the kernel, Keras' f32 order by hand, and f64.
#[test]
fn the_dequantizing_epilogue_is_kerass_f32_arithmetic() {
    for (m, k, n, with_bias) in [(5, 37, 33, true), (64, 784, 65, false), (1, 3, 1, true)] {
        let x = random_f32(m * k, -2.0, 2.0, 30 + k as u64);
        let w = random_f32(k * n, -0.3, 0.3, 31 + k as u64);
        let bias = random_f32(n, -1.0, 1.0, 32);
        let (wq, col_scale) = quantize_kernel(&w, k, n);
        let packed = PackedS8::pack(&wq, k, n);
        for path in Int8Path::available() {
            let mut xq = vec![0i8; m * k];
            let mut row_scale = vec![0.0f32; m];
            quantize_rows(path, &x, k, &mut xq, &mut row_scale);
            let exact = naive(&xq, &wq, m, k, n);
            let dq = Dequant {
                row_scale: &row_scale,
                col_scale: &col_scale,
                bias: with_bias.then_some(&bias[..]),
            };
            let mut c = vec![f32::NAN; m * n];
            gemm_s8_f32(path, &xq, m, k, &packed, &dq, &mut c);
            for i in 0..m {
                for j in 0..n {
                    let b = if with_bias { bias[j] } else { 0.0 };
                    let v = exact[i * n + j];
                    // Keras: cast(acc, f32) / (inputs_scale · kernel_scale) + bias, each in f32.
                    let keras = v as f32 / (row_scale[i] * col_scale[j]);
                    let keras = if with_bias { keras + b } else { keras };
                    let got = c[i * n + j];
                    assert_eq!(got.to_bits(), keras.to_bits(), "{path:?} [{i}][{j}]");
                    // Against f64: |acc| < 2^24 here, so the cast is exact; the product of the
                    // scales and the division round once each (2u relative on the quotient q,
                    // u = 2^-24) and the bias addition once (u on |q + b|): the error is at
                    // most 3u|q| + u|q + b| ≤ 4u(|q| + |b|) = 2·EPSILON·(|q| + |b|).
                    let q = f64::from(v) / (f64::from(row_scale[i]) * f64::from(col_scale[j]));
                    let want = q + f64::from(b);
                    let tol = 2.0 * f64::from(f32::EPSILON) * (q.abs() + f64::from(b).abs());
                    assert!(
                        (f64::from(got) - want).abs() <= tol,
                        "{path:?} [{i}][{j}] = {got}, want {want}"
                    );
                }
            }
        }
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let (m, k, n) = (300, 333, 129);
    let a = random_s8(m * k, 40);
    let b = random_s8(k * n, 41);
    let packed = PackedS8::pack(&b, k, n);
    let row_scale = random_f32(m, 0.5, 50.0, 42);
    let col_scale = random_f32(n, 0.5, 50.0, 43);
    let bias = random_f32(n, -1.0, 1.0, 44);
    let dq = Dequant {
        row_scale: &row_scale,
        col_scale: &col_scale,
        bias: Some(&bias),
    };
    for path in Int8Path::available() {
        let mut runs = Vec::new();
        for threads in [1, 2, 3, 7] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut c = vec![0.0f32; m * n];
            let mut ci = vec![0i32; m * n];
            pool.install(|| {
                gemm_s8_f32(path, &a, m, k, &packed, &dq, &mut c);
                gemm_s8_i32(path, &a, m, k, &packed, &mut ci);
            });
            let bits: Vec<u32> = c.iter().map(|v| v.to_bits()).collect();
            runs.push((bits, ci));
        }
        assert!(runs.windows(2).all(|w| w[0] == w[1]), "{path:?}");
    }
}

#[test]
fn seqnet_isa_names_read_as_int8_paths() {
    assert_eq!(Int8Path::parse("avx512vnni"), Some(Int8Path::Avx512Vnni));
    assert_eq!(Int8Path::parse("AVXVNNI"), Some(Int8Path::AvxVnni));
    assert_eq!(Int8Path::parse("avx2"), Some(Int8Path::Avx2));
    assert_eq!(Int8Path::parse("portable"), Some(Int8Path::Portable));
    // `avx512` means the best int8 path there is: no one path.
    assert_eq!(Int8Path::parse("avx512"), None);
    for p in Int8Path::available() {
        assert_eq!(Int8Path::parse(p.name()), Some(p));
    }
    assert!(Int8Path::available().contains(&Int8Path::current()));
    // The f32 kernels read the int8 names as the level they imply; their own names are unchanged.
    assert_eq!(Isa::parse("avx512vnni"), Some(Isa::Avx512));
    assert_eq!(Isa::parse("avxvnni"), Some(Isa::Avx2));
    assert_eq!(Isa::parse("avx2"), Some(Isa::Avx2));
}
