//! Each optimizer's update against its Keras formula written out in f64, over several steps,
//! and the three kinds of gradient clipping.

use nn_core::optim::*;

const W0: [f32; 5] = [0.5, -1.0, 2.0, 0.0, -0.25];
const G: [[f32; 5]; 3] = [
    [0.1, -0.2, 0.3, 0.0, 1.5],
    [-0.05, 0.4, 0.1, 0.2, -1.0],
    [0.2, 0.2, -0.3, 0.1, 0.5],
];

/// Runs three steps and compares with `reference(step, w, g, state)`.
fn run<O: Optimizer>(mut opt: O, mut reference: impl FnMut(usize, &mut [f64], &[f64])) {
    let mut w = W0;
    let mut want: Vec<f64> = W0.iter().map(|&v| v as f64).collect();
    for (t, g) in G.iter().enumerate() {
        let mut g32 = *g;
        opt.step(&mut w, &mut g32, &[5]);
        let g64: Vec<f64> = g.iter().map(|&v| v as f64).collect();
        reference(t + 1, &mut want, &g64);
        for (i, (a, b)) in w.iter().zip(&want).enumerate() {
            assert!(
                (*a as f64 - b).abs() < 2e-6,
                "{} step {}: w[{i}] = {a}, want {b}",
                opt.name(),
                t + 1
            );
        }
    }
    assert_eq!(opt.iterations(), 3);
}

#[test]
fn sgd_plain_momentum_and_nesterov() {
    run(SGD::new(0.1), |_, w, g| {
        w.iter_mut().zip(g).for_each(|(w, g)| *w -= 0.1 * g)
    });
    let mut m = [0.0f64; 5];
    run(SGD::new(0.1).momentum(0.9), |_, w, g| {
        for i in 0..5 {
            m[i] = 0.9 * m[i] - 0.1 * g[i];
            w[i] += m[i];
        }
    });
    let mut m = [0.0f64; 5];
    run(SGD::new(0.1).momentum(0.9).nesterov(true), |_, w, g| {
        for i in 0..5 {
            m[i] = 0.9 * m[i] - 0.1 * g[i];
            w[i] += 0.9 * m[i] - 0.1 * g[i];
        }
    });
}

fn adam_reference(lr: f64, amsgrad: bool, decay: f64) -> impl FnMut(usize, &mut [f64], &[f64]) {
    let (mut m, mut v, mut vmax) = ([0.0f64; 5], [0.0f64; 5], [0.0f64; 5]);
    move |t, w, g| {
        let alpha = lr * (1.0 - 0.999f64.powi(t as i32)).sqrt() / (1.0 - 0.9f64.powi(t as i32));
        for i in 0..5 {
            w[i] -= w[i] * decay * lr;
            m[i] += (g[i] - m[i]) * 0.1;
            v[i] += (g[i] * g[i] - v[i]) * 0.001;
            vmax[i] = vmax[i].max(v[i]);
            let denom = if amsgrad { vmax[i] } else { v[i] };
            w[i] -= alpha * m[i] / (denom.sqrt() + 1e-7);
        }
    }
}

#[test]
fn adam_amsgrad_and_adamw() {
    run(Adam::new(0.01), adam_reference(0.01, false, 0.0));
    run(
        Adam::new(0.01).amsgrad(true),
        adam_reference(0.01, true, 0.0),
    );
    run(
        AdamW::new(0.01).weight_decay(0.1),
        adam_reference(0.01, false, 0.1),
    );
    assert_eq!(AdamW::new(0.001).weight_decay, 0.004, "Keras' default");
}

#[test]
fn rmsprop_plain_centered_and_momentum() {
    let mut v = [0.0f64; 5];
    run(RMSprop::new(0.01), |_, w, g| {
        for i in 0..5 {
            v[i] = 0.9 * v[i] + 0.1 * g[i] * g[i];
            w[i] -= 0.01 * g[i] / (v[i] + 1e-7).sqrt();
        }
    });
    let (mut v, mut mg, mut mom) = ([0.0f64; 5], [0.0f64; 5], [0.0f64; 5]);
    run(
        RMSprop::new(0.01).centered(true).momentum(0.5),
        |_, w, g| {
            for i in 0..5 {
                v[i] = 0.9 * v[i] + 0.1 * g[i] * g[i];
                mg[i] = 0.9 * mg[i] + 0.1 * g[i];
                let inc = 0.01 * g[i] / (v[i] - mg[i] * mg[i] + 1e-7).sqrt();
                mom[i] = 0.5 * mom[i] + inc;
                w[i] -= mom[i];
            }
        },
    );
}

#[test]
fn adagrad_starts_its_accumulator_at_0_1() {
    let mut a = [0.1f64; 5];
    run(Adagrad::new(0.05), |_, w, g| {
        for i in 0..5 {
            a[i] += g[i] * g[i];
            w[i] -= 0.05 * g[i] / (a[i] + 1e-7).sqrt();
        }
    });
}

#[test]
fn clipping_by_tensor_norm_global_norm_and_value() {
    // Two tensors: [3, 4] (norm 5) and [0, 1] (norm 1).
    let clip = |c: Clipping| {
        let mut g = [3.0f32, 4.0, 0.0, 1.0];
        c.apply(&mut g, &[2, 2]);
        g
    };
    let per_tensor = clip(Clipping {
        clipnorm: Some(2.5),
        ..Clipping::default()
    });
    assert_eq!(per_tensor, [1.5, 2.0, 0.0, 1.0]);
    let global = clip(Clipping {
        global_clipnorm: Some(26f32.sqrt() / 2.0),
        ..Clipping::default()
    });
    for (g, w) in global.iter().zip([1.5f32, 2.0, 0.0, 0.5]) {
        assert!((g - w).abs() < 1e-6, "{global:?}");
    }
    assert_eq!(
        clip(Clipping {
            clipvalue: Some(2.0),
            ..Clipping::default()
        }),
        [2.0, 2.0, 0.0, 1.0]
    );

    // Through an optimizer: SGD with lr 1 and clipvalue moves each weight by at most the value.
    let mut w = [0.0f32; 3];
    let mut g = [10.0f32, -0.5, -7.0];
    SGD::new(1.0).clipvalue(1.0).step(&mut w, &mut g, &[3]);
    assert_eq!(w, [-1.0, 0.5, 1.0]);
}

#[test]
fn large_adam_steps_are_the_same_on_one_and_two_threads() {
    // Past the size from which the sweep is split across threads.
    let n = 300_001;
    let w0: Vec<f32> = (0..n).map(|i| ((i % 97) as f32 - 48.0) / 50.0).collect();
    let g0: Vec<f32> = (0..n).map(|i| ((i % 89) as f32 - 44.0) / 1000.0).collect();
    let run = |threads: usize, amsgrad: bool| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut opt = Adam::new(0.01).amsgrad(amsgrad);
            let mut w = w0.clone();
            for _ in 0..3 {
                let mut g = g0.clone();
                opt.step(&mut w, &mut g, &[n]);
            }
            w
        })
    };
    for amsgrad in [false, true] {
        let one = run(1, amsgrad);
        assert_eq!(one, run(2, amsgrad));
        // And the same as the formula: after 3 equal steps of g, m̂/√v̂ = sign(g) for each weight,
        // so each moved by about 3·lr against its gradient.
        for i in (0..n).step_by(10_007) {
            let moved = w0[i] - one[i];
            let expected = 0.03 * g0[i].signum();
            assert!(
                (moved - expected).abs() < 1e-3 || g0[i] == 0.0,
                "w[{i}] moved {moved}"
            );
        }
    }
}
