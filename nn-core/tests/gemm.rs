//! The packed GEMM, on every instruction-set path this CPU has, against the naive f64 loop:
//! odd shapes (around MR, NR, KC, MC), transposed views, accumulation, the fused epilogue, random
//! shapes with proptest, B packed once against B packed per call, and bit-identical results for
//! any thread count and tile grid.

use nn_core::activations::{Activation, Linear, Relu, Sigmoid};
use nn_core::kernels::gemm::{
    gemm, gemm_fused, gemm_fused_packed, pack_b_once, packed_len_bound, Epilogue, MatRef,
};
use nn_core::kernels::isa::Isa;
use nn_core::kernels::reference;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};

fn random(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..len).map(|_| rng.random_range(-1.0..1.0)).collect()
}

fn assert_close(isa: Isa, what: &str, got: &[f32], want: &[f32], k: usize) {
    assert_eq!(got.len(), want.len());
    // k products of values in [-1, 1]: f32 rounding grows like √k.
    let tol = 2e-6 * (k.max(1) as f32).sqrt();
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "{isa:?} {what}: [{i}] = {g}, want {w}"
        );
    }
}

/// C = A·B with A m×k and B k×n in the four transpose combinations, plus C += A·B.
fn check_shape(isa: Isa, m: usize, k: usize, n: usize, seed: u64) {
    let a = random(m * k, seed);
    let b = random(k * n, seed + 1);
    let what = format!("{m}×{k}×{n}");
    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
        // A stored as m×k, or as k×m and viewed transposed; B likewise.
        let av = if ta {
            MatRef::row_major(&a, k, m).t()
        } else {
            MatRef::row_major(&a, m, k)
        };
        let bv = if tb {
            MatRef::row_major(&b, n, k).t()
        } else {
            MatRef::row_major(&b, k, n)
        };
        let want = reference::gemm(av, bv);
        let mut c = vec![f32::NAN; m * n];
        gemm(isa, av, bv, &mut c, false);
        assert_close(isa, &format!("{what} ta={ta} tb={tb}"), &c, &want, k);
    }
    let av = MatRef::row_major(&a, m, k);
    let bv = MatRef::row_major(&b, k, n);
    let start = random(m * n, seed + 2);
    let mut c = start.clone();
    gemm(isa, av, bv, &mut c, true);
    let want: Vec<f32> = reference::gemm(av, bv)
        .iter()
        .zip(&start)
        .map(|(p, s)| p + s)
        .collect();
    assert_close(isa, &format!("{what} accumulate"), &c, &want, k);
}

const ODD: [usize; 8] = [1, 7, 17, 63, 65, 257, 12, 33];

#[test]
fn every_path_matches_the_naive_loop_on_odd_shapes() {
    for isa in Isa::available() {
        for &m in &ODD {
            for &k in &ODD {
                for &n in &ODD {
                    if m * k * n <= 1_200_000 {
                        check_shape(isa, m, k, n, (m * 7 + k * 131 + n * 1031) as u64);
                    }
                }
            }
        }
        // Past one KC block of k (256), one MC block of rows (384) and one NC block of columns
        // (1024), and zero-sized.
        check_shape(isa, 400, 300, 40, 1);
        check_shape(isa, 13, 513, 70, 2);
        check_shape(isa, 14, 300, 1100, 6);
        check_shape(isa, 0, 5, 3, 3);
        check_shape(isa, 3, 0, 5, 4);
        check_shape(isa, 3, 5, 0, 5);
    }
}

/// The packed path (a large product) and the direct path (a few of its rows) give the same bits,
/// epilogue included: relu and linear run in registers on the direct path and after the store
/// on the packed one, sigmoid after the store on both.
fn same_rows_on_both_paths<A: Activation>(isa: Isa, act: A) {
    let (m, k, n) = (400, 64, 48);
    let x = random(m * k, 21);
    let w = random(k * n, 22);
    let bias = random(n, 23);
    let run = |rows: usize| {
        let (mut y, mut z) = (vec![f32::NAN; rows * n], vec![f32::NAN; rows * n]);
        let epilogue = Epilogue {
            bias: Some(&bias),
            activation: &act,
            pre_activation: Some(&mut z),
        };
        let xv = MatRef::row_major(&x[..rows * k], rows, k);
        gemm_fused(
            isa,
            xv,
            MatRef::row_major(&w, k, n),
            &mut y,
            false,
            epilogue,
        );
        (y, z)
    };
    let (y_all, z_all) = run(m);
    let (y_few, z_few) = run(13);
    let what = format!("{isa:?} {}", A::NAME);
    assert_eq!(
        &y_all[..13 * n],
        &y_few[..],
        "{what}: outputs differ by path"
    );
    assert_eq!(
        &z_all[..13 * n],
        &z_few[..],
        "{what}: pre-activations differ by path"
    );
}

#[test]
fn packed_and_direct_paths_agree_bit_for_bit() {
    for isa in Isa::available() {
        same_rows_on_both_paths(isa, Relu);
        same_rows_on_both_paths(isa, Linear);
        same_rows_on_both_paths(isa, Sigmoid);
    }
}

#[test]
fn fused_epilogue_adds_bias_keeps_z_applies_activation() {
    for isa in Isa::available() {
        for (m, k, n) in [(33, 10, 64), (5, 64, 32), (128, 17, 1), (7, 300, 45)] {
            let x = random(m * k, 10);
            let w = random(k * n, 11);
            let bias = random(n, 12);
            let (xv, wv) = (MatRef::row_major(&x, m, k), MatRef::row_major(&w, k, n));
            let mut z_want = reference::gemm(xv, wv);
            for row in z_want.chunks_mut(n) {
                row.iter_mut().zip(&bias).for_each(|(v, b)| *v += b);
            }
            let y_want: Vec<f32> = z_want.iter().map(|&v| Sigmoid.apply(v)).collect();
            let (mut y, mut z) = (vec![f32::NAN; m * n], vec![f32::NAN; m * n]);
            let epilogue = Epilogue {
                bias: Some(&bias),
                activation: &Sigmoid,
                pre_activation: Some(&mut z),
            };
            gemm_fused(isa, xv, wv, &mut y, false, epilogue);
            assert_close(isa, "fused z", &z, &z_want, k);
            assert_close(isa, "fused y", &y, &y_want, k);

            let mut y2 = vec![f32::NAN; m * n];
            let epilogue = Epilogue {
                bias: Some(&bias),
                activation: &Relu,
                pre_activation: None,
            };
            gemm_fused(isa, xv, wv, &mut y2, false, epilogue);
            let relu: Vec<f32> = z_want.iter().map(|v| v.max(0.0)).collect();
            assert_close(isa, "fused relu", &y2, &relu, k);
        }
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    // Large enough to be split among threads.
    let (m, k, n) = (300, 256, 128);
    let a = random(m * k, 20);
    let b = random(k * n, 21);
    let run = |threads: usize, isa: Isa| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut c = vec![0.0; m * n];
        let mut z = vec![0.0; m * n];
        pool.install(|| {
            let epilogue = Epilogue {
                bias: None,
                activation: &Relu,
                pre_activation: Some(&mut z),
            };
            gemm_fused(
                isa,
                MatRef::row_major(&a, m, k),
                MatRef::row_major(&b, k, n),
                &mut c,
                false,
                epilogue,
            )
        });
        (c, z)
    };
    for isa in Isa::available() {
        let one = run(1, isa);
        assert_eq!(one, run(2, isa), "{isa:?}");
        assert_eq!(one, run(3, isa), "{isa:?}");
    }
}

/// C and Z of relu(A·B + bias) on `threads` threads, B packed by the driver or packed once.
fn fused_on(
    isa: Isa,
    threads: usize,
    (m, k, n): (usize, usize, usize),
    (a, b, bias): (&[f32], &[f32], &[f32]),
    prepacked: bool,
) -> (Vec<f32>, Vec<f32>) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let mut c = vec![f32::NAN; m * n];
    let mut z = vec![f32::NAN; m * n];
    let mut packs = vec![f32::NAN; packed_len_bound(k, n)];
    let bv = MatRef::row_major(b, k, n);
    let packed = prepacked.then(|| pack_b_once(isa, bv, &mut packs));
    pool.install(|| {
        let epilogue = Epilogue {
            bias: Some(bias),
            activation: &Relu,
            pre_activation: Some(&mut z),
        };
        gemm_fused_packed(
            isa,
            MatRef::row_major(a, m, k),
            bv,
            packed,
            &mut c,
            false,
            epilogue,
        )
    });
    (c, z)
}

#[test]
fn b_packed_once_gives_the_same_bits_on_odd_shapes_and_any_thread_count() {
    // Shapes around the panel widths (16, 32), KC (256) and NC (1024), large enough that
    // several threads split them into row and column tiles, and a few the direct path takes.
    let shapes = [
        (1, 1, 1),
        (7, 17, 33),
        (13, 300, 47),
        (64, 784, 512),
        (300, 257, 130),
        (97, 513, 1050),
        (1024, 64, 16),
        (5, 600, 2000),
    ];
    for (s, &(m, k, n)) in shapes.iter().enumerate() {
        let seed = 100 + 3 * s as u64;
        let (a, b, bias) = (
            random(m * k, seed),
            random(k * n, seed + 1),
            random(n, seed + 2),
        );
        let data = (a.as_slice(), b.as_slice(), bias.as_slice());
        let want = reference::gemm(MatRef::row_major(&a, m, k), MatRef::row_major(&b, k, n));
        let want_z: Vec<f32> = want
            .chunks(n)
            .flat_map(|row| row.iter().zip(&bias).map(|(v, b)| v + b))
            .collect();
        for isa in Isa::available() {
            let one = fused_on(isa, 1, (m, k, n), data, false);
            assert_close(isa, &format!("{m}×{k}×{n} z"), &one.1, &want_z, k);
            for threads in [1, 2, 3, 5, 16] {
                for prepacked in [false, true] {
                    let got = fused_on(isa, threads, (m, k, n), data, prepacked);
                    assert!(
                        got == one,
                        "{isa:?} {m}×{k}×{n}: {threads} threads, prepacked {prepacked} differs"
                    );
                }
            }
        }
    }
}

#[test]
#[should_panic(expected = "packed B was packed for another shape")]
fn packed_b_of_another_shape_is_refused() {
    let (k, n) = (40, 48);
    let b = random(k * n, 1);
    let mut packs = vec![0.0; packed_len_bound(k, n)];
    let packed = pack_b_once(Isa::current(), MatRef::row_major(&b, k, n), &mut packs);
    let a = random(300 * (k - 1), 2);
    let mut c = vec![0.0; 300 * n];
    let epilogue = Epilogue {
        bias: None,
        activation: &Linear,
        pre_activation: None,
    };
    // k − 1 rows of the same B: a caller bug the driver must catch, not read past.
    gemm_fused_packed(
        Isa::current(),
        MatRef::row_major(&a, 300, k - 1),
        MatRef::row_major(&b[..(k - 1) * n], k - 1, n),
        Some(packed),
        &mut c,
        false,
        epilogue,
    );
}

#[test]
fn forcing_a_path_is_read_from_the_environment() {
    assert_eq!(Isa::parse("AVX2"), Some(Isa::Avx2));
    assert_eq!(Isa::parse("avx512"), Some(Isa::Avx512));
    assert_eq!(Isa::parse("portable"), Some(Isa::Portable));
    assert_eq!(Isa::parse("sse9"), None);
    assert!(Isa::available().contains(&Isa::current()));
    if let Some(asked) = std::env::var("SEQNET_ISA")
        .ok()
        .as_deref()
        .and_then(Isa::parse)
    {
        if Isa::available().contains(&asked) {
            assert_eq!(Isa::current(), asked);
        }
    } else {
        assert_eq!(Some(&Isa::current()), Isa::available().last());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn random_shapes_on_every_path(m in 0usize..80, k in 0usize..300, n in 0usize..80, seed: u64) {
        for isa in Isa::available() {
            check_shape(isa, m, k, n, seed);
        }
    }
}

#[test]
fn gemv_is_bit_identical_to_a_one_row_gemm() {
    use nn_core::kernels::gemm::gemv;
    for isa in Isa::available() {
        for k in [0usize, 1, 10, 255, 256, 257, 600] {
            for n in [1usize, 7, 8, 16, 17, 63, 64, 65, 100] {
                let x = random(k, (k * 1000 + n) as u64);
                let w = random(k * n, 1);
                let bias = random(n, 2);
                let mut by_gemv = vec![f32::NAN; n];
                gemv(isa, &x, &w, Some(&bias), &mut by_gemv);
                let mut by_gemm = vec![f32::NAN; n];
                let epilogue = Epilogue {
                    bias: Some(&bias),
                    activation: &nn_core::activations::Linear,
                    pre_activation: None,
                };
                gemm_fused(
                    isa,
                    MatRef::row_major(&x, 1, k),
                    MatRef::row_major(&w, k, n),
                    &mut by_gemm,
                    false,
                    epilogue,
                );
                assert_eq!(by_gemv, by_gemm, "{isa:?} k={k} n={n}");
            }
        }
    }
}

fn fixed_matches_gemm<const K: usize, const N: usize, A: Activation>(act: A) {
    use nn_core::kernels::gemm::gemv_fixed;
    for isa in Isa::available() {
        let x = random(K, 7);
        let w = random(K * N, 8);
        let bias = random(N, 9);
        let mut fixed = vec![f32::NAN; N];
        gemv_fixed::<K, N, A>(isa, &x, &w, Some(&bias), &act, &mut fixed);
        let mut general = vec![f32::NAN; N];
        let epilogue = Epilogue {
            bias: Some(&bias),
            activation: &act,
            pre_activation: None,
        };
        gemm_fused(
            isa,
            MatRef::row_major(&x, 1, K),
            MatRef::row_major(&w, K, N),
            &mut general,
            false,
            epilogue,
        );
        // Independent chains change the summation order: equal to rounding.
        assert_close(
            isa,
            &format!("gemv_fixed K={K} N={N} {}", A::NAME),
            &fixed,
            &general,
            K,
        );
    }
}

#[test]
fn fixed_width_gemv_matches_the_gemm() {
    use nn_core::activations::Linear;
    fixed_matches_gemm::<10, 64, Relu>(Relu);
    fixed_matches_gemm::<64, 32, Relu>(Relu);
    fixed_matches_gemm::<32, 1, Sigmoid>(Sigmoid);
    fixed_matches_gemm::<300, 17, Linear>(Linear);
    fixed_matches_gemm::<5, 256, Sigmoid>(Sigmoid);
    fixed_matches_gemm::<7, 300, Relu>(Relu);
    fixed_matches_gemm::<1, 1, Linear>(Linear);
    fixed_matches_gemm::<33, 1, Relu>(Relu);
    fixed_matches_gemm::<64, 2, Relu>(Relu);
}
