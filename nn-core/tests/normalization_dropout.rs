//! BatchNormalization, Dropout and the Activation layer through the `Layer` trait: training
//! statistics, inference on the moving statistics, moving-average updates and gradients
//! against the f64 references and central differences; dropout's rate, scaling, identity in
//! inference and masks that depend only on (seed, step, row), never on how a batch was cut.

mod common;
use common::*;
use nn_core::activations::Softmax;
use nn_core::kernels::reference;
use nn_core::layers::{
    ActivationLayer, BatchNormalization, Dropout, Layer, Phase, TrainingPass, Weights,
};

// ---------------------------------------------------------------------------------------------
// BatchNormalization

/// Images of 5×3 positions and 4 channels: the statistics run over rows and positions.
const POSITIONS: usize = 15;
const C: usize = 4;
const WIDTH: usize = POSITIONS * C;
type ImageNorm = BatchNormalization<WIDTH, C>;

/// `rows` images whose channels have very different means and spreads (so per-channel
/// statistics cannot pass for global ones): channel c is offset_c + spread_c·u, u ∈ [-1, 1).
fn channel_data(rows: usize, seed: u64) -> Vec<f32> {
    let (offset, spread) = ([0.0f32, 3.0, -2.0, 10.0], [1.0f32, 5.0, 0.5, 2.0]);
    random(rows * WIDTH, seed)
        .iter()
        .enumerate()
        .map(|(i, u)| offset[i % C] + spread[i % C] * u)
        .collect()
}

/// Per channel: (mean, biased variance) of `v` in f64.
fn moments(v: &[f32], c: usize) -> Vec<(f64, f64)> {
    (0..c)
        .map(|ch| {
            let vals: Vec<f64> = v.iter().skip(ch).step_by(c).map(|&v| v.into()).collect();
            let n = vals.len() as f64;
            let mean = vals.iter().sum::<f64>() / n;
            let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
            (mean, var)
        })
        .collect()
}

#[test]
fn batch_norm_training_normalises_each_channel_of_images() {
    let rows = 7;
    let x = channel_data(rows, 1);
    let eps = 1e-3f32;
    let layer = ImageNorm::new(0.99, eps);
    let harness = Harness::new(
        layer,
        [[1.0; C], [0.0; C]].concat(),
        [[0.0; C], [1.0; C]].concat(),
        TRAINING,
    );
    let (y, _) = harness.forward(&x);
    for (ch, ((mean, var), (x_mean, x_var))) in
        moments(&y, C).into_iter().zip(moments(&x, C)).enumerate()
    {
        // With γ = 1, β = 0: mean 0 and biased variance σ²/(σ² + ε), which is 1 within
        // ε/σ² (σ² ≥ 0.08 here). The f32 outputs are rounded to ~1e-7 each.
        assert!(
            mean.abs() <= 1e-6,
            "channel {ch}: mean {mean} (input mean {x_mean})"
        );
        let want = x_var / (x_var + f64::from(eps));
        assert!(
            (var - want).abs() <= 2e-6,
            "channel {ch}: variance {var}, want {want}"
        );
        assert!(
            (var - 1.0).abs() <= 1.1 * f64::from(eps) / x_var,
            "channel {ch}: {var}"
        );
    }

    // With γ and β, against the f64 reference. y = x·inv + (β − μ·inv) in f32 rounds each
    // of its two terms (|x·inv| ≲ 30 here) to a few ulp: 1e-5 absolute.
    let (gamma, beta) = (uniform(C, 0.5, 2.0, 2), random(C, 3));
    let harness = Harness::new(
        layer,
        [gamma.clone(), beta.clone()].concat(),
        [[0.0; C], [1.0; C]].concat(),
        TRAINING,
    );
    let (y, _) = harness.forward(&x);
    let (want, _, _) = reference::batch_norm_training(&x, &gamma, &beta, C, eps);
    assert_close("batch norm y", &y, &want, 1e-6, 1e-5);
}

#[test]
fn batch_norm_inference_uses_the_moving_statistics() {
    let (eps, rows) = (1e-3f32, 5);
    let gamma = uniform(C, 0.5, 2.0, 4);
    let beta = random(C, 5);
    let moving_mean = random(C, 6);
    let moving_var = uniform(C, 0.1, 3.0, 7);
    let harness = Harness::new(
        ImageNorm::new(0.99, eps),
        [gamma.clone(), beta.clone()].concat(),
        [moving_mean.clone(), moving_var.clone()].concat(),
        Phase::Inference,
    );
    let x = channel_data(rows, 8);
    let (y, _) = harness.forward(&x);
    // TensorFlow's batch_normalization form, in f32, operation for operation.
    let want: Vec<f32> = x
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let ch = i % C;
            let inv = 1.0 / (moving_var[ch] + eps).sqrt() * gamma[ch];
            x * inv + (beta[ch] - moving_mean[ch] * inv)
        })
        .collect();
    assert_eq!(bits(&y), bits(&want), "inference forward");
    // predict_one takes the same path.
    let weights = Weights {
        params: &harness.params,
        state: &harness.state,
        packed: &[],
        int8: None,
    };
    let mut one = vec![f32::NAN; WIDTH];
    harness.layer.forward_one(weights, &x[..WIDTH], &mut one);
    assert_eq!(bits(&one), bits(&want[..WIDTH]), "forward_one");

    // Without scale and center: γ = 1, β = 0.
    let plain = Harness::new(
        BatchNormalization::<WIDTH, C, false, false>::new(0.99, eps),
        vec![],
        [moving_mean.clone(), moving_var.clone()].concat(),
        Phase::Inference,
    );
    let (y, _) = plain.forward(&x);
    let want: Vec<f32> = x
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let ch = i % C;
            let inv = 1.0 / (moving_var[ch] + eps).sqrt();
            x * inv + (0.0 - moving_mean[ch] * inv)
        })
        .collect();
    assert_eq!(bits(&y), bits(&want), "inference without γ, β");
}

#[test]
fn batch_norm_update_state_applies_momentum() {
    let (eps, rows) = (1e-3f32, 6);
    let x = channel_data(rows, 9);
    let (_, mean, var) = reference::batch_norm_training(&x, &[1.0; C], &[0.0; C], C, eps);
    let start = [random(C, 10), uniform(C, 0.5, 2.0, 11)].concat();
    for momentum in [0.99, 0.9, 0.0, 1.0] {
        let harness = Harness::new(
            ImageNorm::new(momentum, eps),
            [[1.0; C], [0.0; C]].concat(),
            start.clone(),
            TRAINING,
        );
        let (_, scratch) = harness.forward(&x);
        let mut state = start.clone();
        harness.layer.update_state(&mut state, &scratch, rows);
        // moving·momentum + batch·(1 − momentum), both weights rounded once to f32 as Keras
        // rounds its Python floats; the batch statistics are the layer's f32 ones (≤ 1 ulp
        // from the reference's), so a few ulp of the result.
        let (keep, take) = (momentum as f32, (1.0 - momentum) as f32);
        let want: Vec<f32> = (0..2 * C)
            .map(|i| {
                let batch = if i < C { mean[i] } else { var[i - C] };
                start[i] * keep + batch * take
            })
            .collect();
        assert_close(&format!("momentum {momentum}"), &state, &want, 1e-6, 1e-6);
        if momentum == 1.0 {
            assert_eq!(bits(&state), bits(&start), "momentum 1 keeps the state");
        }
    }
}

#[test]
fn batch_norm_backward_matches_reference() {
    let (eps, rows) = (1e-3f32, 9);
    let x = channel_data(rows, 12);
    let (gamma, beta) = (uniform(C, 0.5, 2.0, 13), random(C, 14));
    let harness = Harness::new(
        ImageNorm::new(0.99, eps),
        [gamma.clone(), beta].concat(),
        [[0.0; C], [1.0; C]].concat(),
        TRAINING,
    );
    let dy = random(rows * WIDTH, 15);
    let (y, mut scratch) = harness.forward(&x);
    let grads = harness.backward(&x, &y, &mut scratch, &dy);
    let (dgamma, dbeta, dx) = reference::batch_norm_backward(&x, &gamma, &dy, C, eps);
    // dγ and dβ sum 135 values in f64; dx is a difference of terms of order γ/σ·|dy| ≲ 4,
    // each rounded in f32: a few ulp of that.
    assert_close("dγ", &grads.params[..C], &dgamma, 1e-5, 1e-5);
    assert_close("dβ", &grads.params[C..], &dbeta, 1e-6, 1e-6);
    assert_close("dx", &grads.input, &dx, 1e-5, 4e-6);
}

/// Tolerance of BatchNormalization's central differences (step 2⁻⁷): a step of one input
/// changes the mean and variance, so every output of its channel (N = 27 here) moves and is
/// rounded again: ≤ N·2 ulp·|y|·|r| ≈ 27·2.4e-7 over 2h ≈ 0.016, about 4e-4 in the worst case;
/// the truncation h²/6·|L'''| is far below (L''' ~ 1/N per input). Gradients are of order 1.
const BATCH_NORM_FD: f64 = 1e-3;

#[test]
fn batch_norm_gradients_flow_through_the_batch_statistics() {
    // 3 images of 3×3 positions and 4 channels: N = 27 values per channel. A backward pass
    // that ignored the statistics' dependence on x would miss the −mean(dy) − x̂·mean(dy·x̂)
    // terms, O(1) errors.
    type L = BatchNormalization<36, 4>;
    let params = [uniform(4, 0.5, 2.0, 16), random(4, 17)].concat();
    let harness = Harness::new(
        L::new(0.99, 1e-3),
        params,
        [[0.0; 4], [1.0; 4]].concat(),
        TRAINING,
    );
    let worst = check_gradients(&harness, &random(3 * 36, 18), 1.0 / 128.0, BATCH_NORM_FD);
    eprintln!("batch norm: worst relative error {worst:e}");

    // γ only (center = false): the parameter layout is then [γ].
    type ScaleOnly = BatchNormalization<12, 3, false, true>;
    let harness = Harness::new(
        ScaleOnly::new(0.9, 1e-3),
        uniform(3, 0.5, 2.0, 19),
        [[0.0; 3], [1.0; 3]].concat(),
        TRAINING,
    );
    let worst = check_gradients(&harness, &random(5 * 12, 20), 1.0 / 128.0, BATCH_NORM_FD);
    eprintln!("batch norm (scale only): worst relative error {worst:e}");
}

// ---------------------------------------------------------------------------------------------
// Activation

#[test]
fn softmax_activation_over_channels() {
    // Activation('softmax') on 4×3 images of 5 channels: each pixel's channels, not the row.
    type L = ActivationLayer<60, 5, Softmax>;
    let harness = Harness::new(L::new(Softmax), vec![], vec![], TRAINING);
    let x = uniform(2 * 60, -3.0, 3.0, 21);
    let (y, _) = harness.forward(&x);
    for (pixel, (y, x)) in y.chunks_exact(5).zip(x.chunks_exact(5)).enumerate() {
        // softmax(x)_i = e^{x_i} / Σ_j e^{x_j} per pixel, in f64.
        let sum: f64 = x.iter().map(|&v| f64::from(v).exp()).sum();
        for (&y, &x) in y.iter().zip(x) {
            let want = f64::from(x).exp() / sum;
            assert!(
                (f64::from(y) - want).abs() <= 1e-6 * want.max(1e-3),
                "pixel {pixel}: {y} want {want}"
            );
        }
    }
    // Smooth; as for the smooth conv layers (a step moves the 5 outputs of one pixel).
    let worst = check_gradients(&harness, &x, 1.0 / 128.0, 1e-3);
    eprintln!("softmax over channels: worst relative error {worst:e}");
}

// ---------------------------------------------------------------------------------------------
// Dropout

fn pass(seed: u64, step: u64, first_row: usize) -> TrainingPass {
    TrainingPass {
        seed,
        step,
        first_row,
    }
}

/// The mask of `rows` rows of `layer` for `training`.
fn mask<const W: usize>(layer: &Dropout<W>, training: TrainingPass, rows: usize) -> Vec<f32> {
    let mut m = vec![f32::NAN; rows * W];
    layer.draw_mask(training, &mut m);
    m
}

#[test]
fn dropout_drops_rate_of_values_within_binomial_tolerance() {
    // 100 rows of 1,000 values = 10⁵ independent draws: the number dropped is Binomial(n,
    // rate); five standard deviations (√(n·p·(1 − p)) ≤ 158) bound it for any fair mask with
    // a false-alarm chance below 1e-6. The threshold's 2⁻²⁴ quantisation of the rate moves the
    // mean by < 0.01 values.
    let n = 100_000.0;
    for rate in [0.1f64, 0.5, 0.9] {
        let layer = Dropout::<1000>::new(rate, None, 0);
        let scale = (1.0 / (1.0 - rate)) as f32;
        for step in 0..3 {
            let m = mask(&layer, pass(42, step, 0), 100);
            assert!(m.iter().all(|&v| v == 0.0 || v == scale), "mask values");
            let dropped = m.iter().filter(|&&v| v == 0.0).count() as f64;
            let p = rate;
            let sd = (n * p * (1.0 - p)).sqrt();
            assert!(
                (dropped - n * p).abs() <= 5.0 * sd,
                "rate {rate} step {step}: {dropped} dropped of {n} (expected {}, sd {sd:.0})",
                n * p
            );
            // The same within each column block and each row block: no column or row is
            // favoured (10⁴ draws per block, same 5σ rule).
            let (n_block, sd_block) = (10_000.0, (10_000.0 * p * (1.0 - p)).sqrt());
            for block in 0..10 {
                let rows_block = m[block * 10_000..][..10_000]
                    .iter()
                    .filter(|&&v| v == 0.0)
                    .count() as f64;
                let cols_block = m
                    .chunks_exact(1000)
                    .flat_map(|row| &row[block * 100..][..100])
                    .filter(|&&v| v == 0.0)
                    .count() as f64;
                for (what, d) in [("rows", rows_block), ("columns", cols_block)] {
                    assert!(
                        (d - n_block * p).abs() <= 5.0 * sd_block,
                        "rate {rate} step {step} {what} block {block}: {d} dropped"
                    );
                }
            }
        }
    }
}

#[test]
fn dropout_scales_kept_values_by_one_over_one_minus_rate() {
    let rows = 16;
    let x = random(rows * 64, 22);
    for rate in [0.1f64, 0.25, 0.5, 0.9, 1.0 / 3.0] {
        let layer = Dropout::<64>::new(rate, None, 1);
        let harness = Harness::new(layer, vec![], vec![], TRAINING);
        let (y, scratch) = harness.forward(&x);
        let keep: Vec<bool> = scratch[..y.len()].iter().map(|&m| m != 0.0).collect();
        assert!(keep.iter().any(|&k| k) && keep.iter().any(|&k| !k));
        // Bit for bit: dropped values are zeros, kept ones x·(1/(1 − rate)).
        let want = reference::dropout(&x, &keep, rate);
        for (i, (y, w)) in y.iter().zip(&want).enumerate() {
            assert!(y == w, "rate {rate}: y[{i}] = {y}, want {w}");
        }
        // The backward pass multiplies by the same mask (its central differences are exact:
        // the layer is linear in x).
        let worst = check_gradients(&harness, &x, 0.25, 1e-6);
        eprintln!("dropout {rate}: worst relative error {worst:e}");
    }
}

#[test]
fn dropout_is_the_identity_in_inference() {
    let mut x = random(8 * 32, 23);
    x[..6].copy_from_slice(&[
        f32::NAN,
        -0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        1e-40,
        -1e-40,
    ]);
    let layer = Dropout::<32>::new(0.5, None, 0);
    let harness = Harness::new(layer, vec![], vec![], Phase::Inference);
    let (y, _) = harness.forward(&x);
    assert_eq!(bits(&y), bits(&x), "inference");
    let mut one = vec![f32::NAN; 32];
    let weights = Weights {
        params: &[],
        state: &[],
        packed: &[],
        int8: None,
    };
    layer.forward_one(weights, &x[..32], &mut one);
    assert_eq!(bits(&one), bits(&x[..32]), "forward_one");
    // Rate 0 in training: Keras skips the layer.
    let harness = Harness::new(Dropout::<32>::new(0.0, None, 0), vec![], vec![], TRAINING);
    let (y, _) = harness.forward(&x);
    assert_eq!(bits(&y), bits(&x), "rate 0 in training");
}

/// Fraction of positions where two masks differ.
fn differ(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).filter(|(a, b)| a != b).count() as f64 / a.len() as f64
}

#[test]
fn dropout_masks_depend_on_seed_step_and_row() {
    let layer = Dropout::<100>::new(0.5, None, 0);
    let rows = 50;
    let base = mask(&layer, pass(7, 1, 0), rows);
    assert_eq!(
        bits(&base),
        bits(&mask(&layer, pass(7, 1, 0), rows)),
        "same pass"
    );
    // Independent masks of rate 1/2 differ in half their values; 5,000 draws put that within
    // ±0.05 with overwhelming probability.
    for (what, other) in [
        ("next step", mask(&layer, pass(7, 2, 0), rows)),
        ("another seed", mask(&layer, pass(8, 1, 0), rows)),
        (
            "another layer",
            mask(&Dropout::<100>::new(0.5, None, 1), pass(7, 1, 0), rows),
        ),
        ("rows shifted by one", mask(&layer, pass(7, 1, 1), rows)),
    ] {
        let d = differ(&base, &other);
        assert!((d - 0.5).abs() < 0.05, "{what}: {d} of the values differ");
    }
    // Keras' `seed` argument replaces the model's seed.
    let seeded = Dropout::<100>::new(0.5, Some(99), 0);
    assert_eq!(
        bits(&mask(&seeded, pass(7, 1, 0), rows)),
        bits(&mask(&seeded, pass(8, 1, 0), rows)),
        "a layer seed ignores the model's"
    );
    assert!(differ(&mask(&seeded, pass(7, 1, 0), rows), &base) > 0.4);
}

#[test]
fn dropout_mask_of_a_row_chunk_equals_those_rows_of_the_whole_batch() {
    // What makes training reproducible on any thread count: a batch cut into 64-row chunks
    // draws, for each chunk, exactly the rows of the whole batch's mask.
    const W: usize = 37;
    let layer = Dropout::<W>::new(0.3, None, 2);
    let whole = mask(&layer, pass(5, 9, 0), 128);
    for (start, rows) in [(0, 64), (64, 64), (100, 28), (127, 1)] {
        let chunk = mask(&layer, pass(5, 9, start), rows);
        assert_eq!(
            bits(&chunk),
            bits(&whole[start * W..][..rows * W]),
            "rows {start}..{}",
            start + rows
        );
    }
    // And through the layer's training forward pass.
    let x = random(128 * W, 24);
    let at = |first_row| Phase::Training(pass(5, 9, first_row));
    let (y_whole, _) = Harness::new(layer, vec![], vec![], at(0)).forward(&x);
    let (y_chunk, _) = Harness::new(layer, vec![], vec![], at(64)).forward(&x[64 * W..]);
    assert_eq!(
        bits(&y_chunk),
        bits(&y_whole[64 * W..]),
        "forward of rows 64..128"
    );
}
