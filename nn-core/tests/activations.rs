//! Every activation and its derivative against a scalar f64 reference written straight from the
//! Keras 3 definitions, at many points including ±100, plus finite-difference checks of the
//! references themselves.

use nn_core::activations::*;

/// Points from -100 to 100, dense near zero where the curvature is.
fn points() -> Vec<f32> {
    let mut p: Vec<f32> = (-400..=400).map(|i| i as f32 * 0.025).collect();
    p.extend([
        -100.0, -88.0, -50.0, -20.0, -3.0, 3.0, 20.0, 50.0, 88.0, 100.0,
    ]);
    p.extend([-1e-6, 1e-6, 0.0]);
    p
}

fn sig(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}
const SELU_A: f64 = 1.673_263_242_354_377_2;
const SELU_S: f64 = 1.050_700_987_355_480_5;

/// (name, act, act') in f64, from the Keras definitions.
type Ref = (&'static str, fn(f64) -> f64, fn(f64) -> f64);
fn references() -> Vec<Ref> {
    vec![
        ("linear", |z| z, |_| 1.0),
        ("relu", |z| z.max(0.0), |z| if z > 0.0 { 1.0 } else { 0.0 }),
        ("sigmoid", sig, |z| sig(z) * (1.0 - sig(z))),
        ("tanh", f64::tanh, |z| 1.0 - z.tanh().powi(2)),
        (
            "leaky_relu",
            |z| if z > 0.0 { z } else { 0.2 * z },
            |z| if z > 0.0 { 1.0 } else { 0.2 },
        ),
        (
            "elu",
            |z| if z > 0.0 { z } else { z.exp() - 1.0 },
            |z| if z > 0.0 { 1.0 } else { z.exp() },
        ),
        (
            "selu",
            |z| SELU_S * if z > 0.0 { z } else { SELU_A * (z.exp() - 1.0) },
            |z| SELU_S * if z > 0.0 { 1.0 } else { SELU_A * z.exp() },
        ),
        (
            "gelu",
            |z| 0.5 * z * (1.0 + libm::erf(z / 2f64.sqrt())),
            |z| {
                0.5 * (1.0 + libm::erf(z / 2f64.sqrt()))
                    + z * (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
            },
        ),
        (
            "silu",
            |z| z * sig(z),
            |z| sig(z) + z * sig(z) * (1.0 - sig(z)),
        ),
        ("softplus", |z| z.max(0.0) + (-z.abs()).exp().ln_1p(), sig),
        (
            "softsign",
            |z| z / (1.0 + z.abs()),
            |z| 1.0 / (1.0 + z.abs()).powi(2),
        ),
        (
            "hard_sigmoid",
            |z| ((z + 3.0).clamp(0.0, 6.0)) / 6.0,
            |z| if z > -3.0 && z < 3.0 { 1.0 / 6.0 } else { 0.0 },
        ),
        ("exponential", f64::exp, f64::exp),
    ]
}

fn check<A: Activation>(act: A, name: &str) {
    let (_, f, df) = references()
        .into_iter()
        .find(|r| r.0 == name)
        .expect("a reference for every activation");
    assert_eq!(act.describe().split('(').next().unwrap(), name);
    // The run form (`apply_slice`, vectorised, as the epilogue and the recurrent gates run it)
    // and the single-value form are both held to the reference.
    let zs = points();
    let mut lanes = zs.clone();
    act.apply_slice(&mut lanes);
    let groups = zs.len() / 8 * 8;
    assert!(
        zs.len() > groups,
        "the points end in a partial group of eight"
    );
    for (i, (&z, &y_vector)) in zs.iter().zip(&lanes).enumerate() {
        // A value's result depends only on whether it is in the run's whole groups of eight
        // (the vectorising formula: the vector body and the loop's scalar remainder agree bit
        // for bit) or in the last len mod 8 values (`apply`, libm).
        let alone = if i < groups {
            act.apply_lane(z)
        } else {
            act.apply(z)
        } + z * 0.0;
        assert_eq!(
            y_vector.to_bits(),
            alone.to_bits(),
            "{name} at {z}: {y_vector} in a run, {alone} alone"
        );
        let y = act.apply(z);
        let d = act.derivative(z, y);
        let d_vector = act.derivative(z, y_vector);
        let (want_y, want_d) = (f(z as f64), df(z as f64));
        check_value(name, z, y_vector, want_y, "vector value");
        check_value(
            name,
            z,
            d_vector,
            want_d,
            "derivative from the vector value",
        );
        check_value(name, z, y, want_y, "value");
        check_value(name, z, d, want_d, "derivative");
    }
}

fn check_value(name: &str, z: f32, got: f32, want: f64, what: &str) {
    assert!(!got.is_nan(), "{name} {what} at {z} is NaN");
    if want > f32::MAX as f64 {
        // e^z past ln(f32::MAX): not representable; IEEE and Keras give +inf.
        assert_eq!(got, f32::INFINITY, "{name} {what} at {z}");
        return;
    }
    let err = (got as f64 - want).abs();
    assert!(
        err <= 2e-6 * want.abs() + 2e-7,
        "{name} {what} at {z}: got {got}, want {want} (error {err:e})"
    );
}

#[test]
fn every_activation_matches_its_keras_definition() {
    check(Linear, "linear");
    check(Relu, "relu");
    check(Sigmoid, "sigmoid");
    check(Tanh, "tanh");
    check(LeakyRelu::default(), "leaky_relu");
    check(Elu, "elu");
    check(Selu, "selu");
    check(Gelu::default(), "gelu");
    check(Swish, "silu");
    check(Softplus, "softplus");
    check(Softsign, "softsign");
    check(HardSigmoid, "hard_sigmoid");
    check(Exponential, "exponential");
}

#[test]
fn reference_derivatives_agree_with_finite_differences() {
    // Guards the references above against a wrong hand-written derivative. Kinks (relu at 0,
    // hard_sigmoid at ±3) are skipped.
    for (name, f, df) in references() {
        for z in points() {
            let z = z as f64;
            if z.abs() > 30.0 || z.abs() < 1e-3 || (z.abs() - 3.0).abs() < 1e-3 {
                continue;
            }
            let h = 1e-6;
            let fd = (f(z + h) - f(z - h)) / (2.0 * h);
            assert!(
                (fd - df(z)).abs() <= 1e-5 * (1.0 + df(z).abs()),
                "{name}' at {z}: analytic {} vs finite difference {fd}",
                df(z)
            );
        }
    }
}

#[test]
fn extremes_stay_finite_where_the_maths_is() {
    for z in [-100.0f32, 100.0] {
        let s = Sigmoid.apply(z);
        assert!(s.is_finite() && (0.0..=1.0).contains(&s));
        assert!(Sigmoid.derivative(z, s).is_finite());
        assert_eq!(Softplus.apply(z), z.max(0.0) + (-z.abs()).exp().ln_1p());
        assert!(Softplus.apply(z).is_finite());
        assert!(Swish.derivative(z, Swish.apply(z)).is_finite());
    }
    assert_eq!(Softplus.apply(100.0), 100.0);
    assert!(Softplus.apply(-100.0) > 0.0 && Softplus.apply(-100.0) < 1e-40);
    assert_eq!(Sigmoid.apply(100.0), 1.0);
    assert!(Sigmoid.apply(-100.0) > 0.0 && Sigmoid.apply(-100.0) < 1e-40);
    assert!(Exponential.apply(-100.0) > 0.0);
    assert_eq!(Exponential.apply(100.0), f32::INFINITY);
}

#[test]
fn leaky_relu_slope_and_approximate_gelu() {
    let l = LeakyRelu {
        negative_slope: 0.1,
    };
    assert_eq!(l.apply(-2.0), -0.2);
    assert_eq!(l.derivative(-2.0, -0.2), 0.1);
    assert_eq!(l.describe(), "leaky_relu(negative_slope=0.1)");
    let g = Gelu { approximate: true };
    for z in points().into_iter().filter(|z| z.abs() < 20.0) {
        let zf = z as f64;
        let c = (2.0 / std::f64::consts::PI).sqrt();
        let want = 0.5 * zf * (1.0 + (c * (zf + 0.044715 * zf.powi(3))).tanh());
        assert!(
            (g.apply(z) as f64 - want).abs() <= 2e-6 * want.abs() + 2e-7,
            "gelu~({z})"
        );
        let h = 1e-3f64;
        let f = |x: f64| 0.5 * x * (1.0 + (c * (x + 0.044715 * x.powi(3))).tanh());
        let fd = (f(zf + h) - f(zf - h)) / (2.0 * h);
        let d = g.derivative(z, g.apply(z)) as f64;
        assert!(
            (d - fd).abs() <= 1e-4 * (1.0 + fd.abs()),
            "gelu~'({z}): {d} vs {fd}"
        );
    }
}

#[test]
fn softmax_is_stable_and_its_jacobian_product_is_exact() {
    let mut row = [1000.0f32, -1000.0, 999.0, 0.0];
    Softmax.apply_row(&mut row);
    let e = (-1.0f64).exp();
    let want = [1.0 / (1.0 + e), 0.0, e / (1.0 + e), 0.0];
    for (g, w) in row.iter().zip(want) {
        assert!((*g as f64 - w).abs() < 1e-6, "{row:?}");
    }

    let z = [0.3f32, -1.2, 2.0, 0.7, -0.1];
    let dy = [0.5f32, -1.0, 0.25, 2.0, -0.75];
    let mut y = z;
    Softmax.apply_row(&mut y);
    let mut dz = dy;
    Softmax.backward_row(&z, &y, &mut dz);
    // Central differences of L(z) = Σ dy_i softmax(z)_i in f64.
    let loss = |z: &[f64]| {
        let m = z.iter().cloned().fold(f64::MIN, f64::max);
        let s: f64 = z.iter().map(|v| (v - m).exp()).sum();
        z.iter()
            .zip(dy)
            .map(|(v, d)| d as f64 * (v - m).exp() / s)
            .sum::<f64>()
    };
    for i in 0..5 {
        let mut up: Vec<f64> = z.iter().map(|&v| v as f64).collect();
        let mut down = up.clone();
        up[i] += 1e-6;
        down[i] -= 1e-6;
        let fd = (loss(&up) - loss(&down)) / 2e-6;
        assert!(
            (dz[i] as f64 - fd).abs() < 1e-5,
            "dz[{i}] = {} vs {fd}",
            dz[i]
        );
    }
}
