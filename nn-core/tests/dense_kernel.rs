//! The fused Dense forward against the naive f64 triple loop, on odd sizes and random ones.

use nn_core::activations::*;
use nn_core::kernels::dense::{dense_forward_fused, DenseDims};
use nn_core::kernels::reference;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};

const ODD: [usize; 7] = [1, 3, 7, 17, 63, 65, 257];

fn random(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..len).map(|_| rng.random_range(-1.0..1.0)).collect()
}

/// Runs the fused kernel and the reference and compares, also checking the kept pre-activation.
fn compare<A: Activation>(act: A, rows: usize, k: usize, n: usize, bias: bool, seed: u64) {
    let x = random(rows * k, seed);
    let w = random(k * n, seed + 1);
    let b = random(n, seed + 2);
    let b = bias.then_some(&b[..]);
    let mut y = vec![f32::NAN; rows * n];
    let mut z = vec![f32::NAN; rows * n];
    let dims = DenseDims { rows, k, n };
    dense_forward_fused(&x, &w, b, &act, dims, &mut y, Some(&mut z), None);
    let want_y = reference::dense_forward(&x, &w, b, &act, rows, k, n);
    let want_z = reference::dense_forward(&x, &w, b, &Linear, rows, k, n);
    // Each output sums k products of values in [-1, 1]: the f32 rounding grows with √k.
    let tol = 1e-6 * (k as f32).sqrt().max(1.0) * 4.0;
    for i in 0..rows * n {
        assert!(
            (y[i] - want_y[i]).abs() <= tol * (1.0 + want_y[i].abs()),
            "{rows}×{k}×{n} {}: y[{i}] = {} want {}",
            A::NAME,
            y[i],
            want_y[i]
        );
        assert!((z[i] - want_z[i]).abs() <= tol * (1.0 + want_z[i].abs()));
    }
    // Inference mode (no pre-activation buffer) must give the same outputs.
    let mut y2 = vec![f32::NAN; rows * n];
    dense_forward_fused(&x, &w, b, &act, dims, &mut y2, None, None);
    assert_eq!(y, y2);
}

#[test]
fn fused_forward_matches_naive_loop_on_odd_sizes() {
    for &rows in &ODD {
        for &k in &ODD {
            for &n in &ODD {
                if rows * k * n > 2_000_000 {
                    continue;
                }
                let seed = (rows * 1_000_000 + k * 1000 + n) as u64;
                compare(Relu, rows, k, n, true, seed);
            }
        }
    }
}

#[test]
fn every_epilogue_matches_naive_loop() {
    for (rows, k, n) in [(5, 10, 64), (33, 17, 3), (4, 64, 9), (1, 1, 1), (9, 7, 16)] {
        compare(Linear, rows, k, n, true, 1);
        compare(Sigmoid, rows, k, n, true, 2);
        compare(Tanh, rows, k, n, false, 3);
        compare(Softmax, rows, k, n, true, 4);
        compare(LeakyRelu::default(), rows, k, n, true, 5);
        compare(Elu, rows, k, n, true, 6);
        compare(Selu, rows, k, n, true, 7);
        compare(Gelu::default(), rows, k, n, true, 8);
        compare(Swish, rows, k, n, true, 9);
        compare(Softplus, rows, k, n, true, 10);
        compare(Softsign, rows, k, n, true, 11);
        compare(HardSigmoid, rows, k, n, true, 12);
        compare(Exponential, rows, k, n, true, 13);
    }
}

proptest! {
    #[test]
    fn fused_forward_matches_naive_loop_on_random_shapes(
        rows in 1usize..40, k in 1usize..70, n in 1usize..70, bias: bool, seed: u64,
    ) {
        compare(Relu, rows, k, n, bias, seed);
    }
}

use nn_core::kernels::dense::{dense_backward_fused, Delta, DenseGrads};

/// The fused backward against the f64 loops, starting from dL/dy through `act`.
fn compare_backward<A: Activation>(act: A, rows: usize, k: usize, n: usize, seed: u64) {
    let x = random(rows * k, seed);
    let w = random(k * n, seed + 1);
    let b = random(n, seed + 2);
    let dy = random(rows * n, seed + 3);
    let dims = DenseDims { rows, k, n };
    let mut y = vec![0.0; rows * n];
    let mut z = vec![0.0; rows * n];
    dense_forward_fused(&x, &w, Some(&b), &act, dims, &mut y, Some(&mut z), None);

    // dz by the activation's own row rule (tested against finite differences elsewhere).
    let mut dz = dy.clone();
    for r in 0..rows {
        act.backward_row(
            &z[r * n..(r + 1) * n],
            &y[r * n..(r + 1) * n],
            &mut dz[r * n..(r + 1) * n],
        );
    }
    let (want_dw, want_db, want_dx) = reference::dense_backward_from_dz(&x, &w, &dz, rows, k, n);

    for start in [Delta::Output, Delta::PreActivation] {
        let mut delta = if start == Delta::Output {
            dy.clone()
        } else {
            dz.clone()
        };
        let (mut dw, mut db, mut dx) = (
            vec![f32::NAN; k * n],
            vec![f32::NAN; n],
            vec![f32::NAN; rows * k],
        );
        let grads = DenseGrads {
            kernel: &mut dw,
            bias: Some(&mut db),
            input: Some(&mut dx),
        };
        dense_backward_fused(&x, &w, &z, &y, &mut delta, &act, start, dims, grads);
        let tol = 4e-6 * (rows.max(k).max(n) as f32).sqrt();
        for (what, got, want) in [
            ("dW", &dw, &want_dw),
            ("db", &db, &want_db),
            ("dx", &dx, &want_dx),
        ] {
            for (i, (g, w)) in got.iter().zip(want.iter()).enumerate() {
                assert!(
                    (g - w).abs() <= tol * (1.0 + w.abs()),
                    "{rows}×{k}×{n} {} {start:?}: {what}[{i}] = {g}, want {w}",
                    A::NAME
                );
            }
        }
        assert_eq!(delta, dz, "delta must hold dz afterwards");
    }
}

#[test]
fn fused_backward_matches_naive_loops_on_odd_sizes() {
    for &rows in &ODD[..6] {
        for &k in &ODD[..6] {
            for &n in &ODD[..6] {
                compare_backward(Tanh, rows, k, n, (rows * 10_000 + k * 100 + n) as u64);
            }
        }
    }
    compare_backward(Relu, 257, 65, 17, 1);
    compare_backward(Softmax, 33, 7, 10, 2);
    compare_backward(Sigmoid, 9, 64, 1, 3);
    compare_backward(Gelu::default(), 8, 5, 9, 4);
}

#[test]
fn backward_without_bias_or_input_gradient() {
    let (rows, k, n) = (5, 3, 9);
    let x = random(rows * k, 1);
    let w = random(k * n, 2);
    let z = random(rows * n, 3);
    let y = z.clone();
    let mut delta = random(rows * n, 4);
    let (want_dw, _, _) = reference::dense_backward_from_dz(&x, &w, &delta, rows, k, n);
    let mut dw = vec![f32::NAN; k * n];
    let grads = DenseGrads {
        kernel: &mut dw,
        bias: None,
        input: None,
    };
    let dims = DenseDims { rows, k, n };
    dense_backward_fused(
        &x,
        &w,
        &z,
        &y,
        &mut delta,
        &Linear,
        Delta::Output,
        dims,
        grads,
    );
    for (g, w) in dw.iter().zip(&want_dw) {
        assert!((g - w).abs() < 1e-5, "{g} vs {w}");
    }
}

#[test]
fn one_output_layers_take_the_row_dot_path_correctly() {
    // n = 1 with several rows: the per-row dot product, every activation kind, odd k.
    for k in [1usize, 3, 15, 16, 17, 33, 100] {
        for rows in [2usize, 7, 64] {
            compare(Sigmoid, rows, k, 1, true, (k * 100 + rows) as u64);
            compare(Relu, rows, k, 1, false, (k * 100 + rows + 1) as u64);
            compare(Linear, rows, k, 1, true, (k * 100 + rows + 2) as u64);
        }
    }
}
