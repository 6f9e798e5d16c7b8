//! The Dense forward (packed GEMM with its fused epilogue, the one-row GEMV, `predict_one`'s
//! fixed-width GEMV) and every activation against `kernels/reference.rs`, on every instruction
//! set path this CPU has, with random shapes and values that include NaN, ±∞, subnormals and ±0.
//!
//! The property, element by element: where the reference is finite the kernel agrees to rounding;
//! where the reference is NaN the kernel gives NaN; where it is ±∞ the kernel gives a non-finite
//! value (for the pre-activation x·W + b: the same ±∞). A kernel never turns a NaN or ±∞ into a
//! finite number.
//!
//! The kernels apply an activation as act(z) + z·0 (`Activation::apply_slice`, and the fused
//! relu as fma(z, 0, max(z, 0))): the formula's value for every finite z, bit for bit, and NaN for a
//! non-finite z, which the formula would otherwise saturate to a finite number and so hide an
//! overflow from the non-finite checks at the model's output (`linear` passes ±∞ and NaN as they
//! are). The reference keeps that rule: NaN for every non-finite z but linear's.
//!
//! What each activation's own formula (`apply`, `apply_lane`, Keras' formulas, so a backend
//! computing them in f32 gives the same) makes of the special values; the kernels give NaN for
//! every one of these but linear's:
//!
//! | activation      | NaN | +∞  | −∞   | notes                                             |
//! |-----------------|-----|-----|------|---------------------------------------------------|
//! | linear          | NaN | +∞  | −∞   |                                                   |
//! | relu            | 0   | +∞  | 0    | max(NaN, 0) is 0 on every path (f32::max, maxps)  |
//! | sigmoid         | NaN | 1   | 0    |                                                   |
//! | tanh            | NaN | 1   | −1   |                                                   |
//! | softmax (row)   | NaN | NaN | NaN  | one NaN or +∞ in a row makes the whole row NaN    |
//! | leaky_relu      | NaN | +∞  | −∞   |                                                   |
//! | elu             | NaN | +∞  | −1   |                                                   |
//! | selu            | NaN | +∞  | −α·s |                                                   |
//! | gelu (both)     | NaN | +∞  | NaN  | −∞·(1 + erf(−∞)) = −∞·0                           |
//! | silu / swish    | NaN | +∞  | NaN  | −∞·sigmoid(−∞) = −∞·0                             |
//! | softplus        | NaN | +∞  | 0    |                                                   |
//! | softsign        | NaN | NaN | NaN  | ±∞/(1 + ∞)                                        |
//! | hard_sigmoid    | NaN | 1   | 0    |                                                   |
//! | exponential     | NaN | +∞  | 0    | +∞ from z > 88.72 as well                         |
//!
//! relu's formula maps NaN to a finite number (`f32::max`, and `maxps` with zero as second
//! operand, both give 0); in the kernels relu(NaN) is NaN on every path alike (tested below).
//!
//! Cases: 96 per property (each runs every path and every activation); `SEQNET_FUZZ_CASES` sets it.

use nn_core::activations::*;
use nn_core::kernels::dense::{dense_forward_fused, DenseDims};
use nn_core::kernels::gemm::{gemm, gemm_fused, gemv, gemv_fixed, Epilogue, MatRef};
use nn_core::kernels::isa::Isa;
use nn_core::kernels::reference;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

fn cases() -> u32 {
    std::env::var("SEQNET_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(96)
}

/// Mostly ordinary values, about one in eight special. Finite values stay below 1e4 in
/// magnitude so no f32 sum of up to 64 products overflows where the f64 reference does not.
fn value() -> impl Strategy<Value = f32> {
    prop_oneof![
        40 => -2.0f32..2.0,
        2 => -1e4f32..1e4,
        1 => Just(f32::NAN),
        1 => Just(f32::INFINITY),
        1 => Just(f32::NEG_INFINITY),
        1 => Just(0.0f32),
        1 => Just(-0.0f32),
        1 => proptest::num::f32::SUBNORMAL,
        1 => Just(f32::MIN_POSITIVE),
    ]
}

/// A Dense problem: x (rows × k), W (k × n), bias (n).
#[derive(Clone, Debug)]
struct Problem {
    rows: usize,
    k: usize,
    n: usize,
    x: Vec<f32>,
    w: Vec<f32>,
    bias: Vec<f32>,
    use_bias: bool,
}

fn problem(max_rows: usize) -> impl Strategy<Value = Problem> {
    (1..=max_rows, 0usize..64, 1usize..40, any::<bool>()).prop_flat_map(|(rows, k, n, use_bias)| {
        (
            proptest::collection::vec(value(), rows * k),
            proptest::collection::vec(value(), k * n),
            proptest::collection::vec(value(), n),
        )
            .prop_map(move |(x, w, bias)| Problem {
                rows,
                k,
                n,
                x,
                w,
                bias,
                use_bias,
            })
    })
}

impl Problem {
    fn bias(&self) -> Option<&[f32]> {
        self.use_bias.then_some(&self.bias[..])
    }

    /// Per output, Σ|x·w| + |b| in f64: the scale of the rounding error of its f32 sum.
    fn magnitudes(&self) -> Vec<f64> {
        let (k, n) = (self.k, self.n);
        let mut out = vec![0.0; self.rows * n];
        for i in 0..self.rows {
            for j in 0..n {
                let b = self.bias().map_or(0.0, |b| f64::from(b[j]).abs());
                out[i * n + j] = b
                    + (0..k)
                        .map(|p| {
                            (f64::from(self.x[i * k + p]) * f64::from(self.w[p * n + j])).abs()
                        })
                        .sum::<f64>();
            }
        }
        out
    }

    /// Per output, the f32 rounding bound of its pre-activation: (k + 2)·ε·Σ|x·w| + |b|, and 0
    /// where that sum is not finite (the pre-activation is then NaN or ±∞ exactly, in the
    /// kernel as in the reference). With `row_wise`, each row's largest (softmax mixes a row).
    fn z_tolerances(&self, row_wise: bool) -> Vec<f64> {
        let eps = f64::from(f32::EPSILON);
        let mut tol: Vec<f64> = self
            .magnitudes()
            .into_iter()
            .map(|m| {
                if m.is_finite() {
                    (self.k as f64 + 2.0) * eps * m + 1e-44
                } else {
                    0.0
                }
            })
            .collect();
        if row_wise {
            for row in tol.chunks_exact_mut(self.n) {
                let max = row.iter().copied().fold(0.0, f64::max);
                row.fill(max);
            }
        }
        tol
    }
}

/// The pre-activation: the kernel's NaN and ±∞ exactly where the reference has them, finite
/// values equal to the reference up to f32 rounding of the sum.
fn check_z(what: &str, p: &Problem, got: &[f32], want: &[f32]) -> Result<(), TestCaseError> {
    let tol = p.z_tolerances(false);
    for (i, (&g, &r)) in got.iter().zip(want).enumerate() {
        let ok = if r.is_nan() {
            g.is_nan()
        } else if r.is_infinite() {
            g == r
        } else {
            let tol = tol[i];
            g.is_finite() && (f64::from(g) - f64::from(r)).abs() <= tol
        };
        if !ok {
            return Err(TestCaseError::fail(format!(
                "{what}: z[{i}] = {g}, reference {r} ({}×{}×{})",
                p.rows, p.k, p.n
            )));
        }
    }
    Ok(())
}

/// The activations: where the reference is finite, close (the pre-activation's rounding times a
/// slope of at most 2, plus the vector forms' own error); where it is NaN, NaN; where it is ±∞,
/// non-finite. At f32's overflow edge (exponential of z ≈ 88.7) a rounding of z may tip the
/// result over: a finite reference beyond 1e30 accepts the same-signed ∞ and the reverse.
fn check_y(
    what: &str,
    p: &Problem,
    act: &str,
    row_wise: bool,
    got: &[f32],
    want: &[f32],
) -> Result<(), TestCaseError> {
    let tol_z = p.z_tolerances(row_wise);
    for (i, (&g, &r)) in got.iter().zip(want).enumerate() {
        let edge = |a: f32, b: f32| {
            a.is_finite() && a.abs() > 1e30 && b.is_infinite() && a.signum() == b.signum()
        };
        let ok = if r.is_nan() {
            g.is_nan()
        } else if r.is_infinite() {
            !g.is_finite() || edge(g, r)
        } else if edge(r, g) {
            true
        } else {
            let tol_z = tol_z[i];
            let r64 = f64::from(r).abs();
            let tol = 2.0 * tol_z * r64.max(1.0) + 4e-6 * (1.0 + r64);
            g.is_finite() && (f64::from(g) - f64::from(r)).abs() <= tol
        };
        if !ok {
            return Err(TestCaseError::fail(format!(
                "{what} {act}: y[{i}] = {g}, reference {r} ({}×{}×{})",
                p.rows, p.k, p.n
            )));
        }
    }
    Ok(())
}

/// Every way the crate computes one Dense forward, on every path, against the reference.
fn check_all_paths<A: Activation>(act: A, p: &Problem) -> Result<(), TestCaseError> {
    let (rows, k, n) = (p.rows, p.k, p.n);
    let want_z = reference::dense_forward(&p.x, &p.w, p.bias(), &Linear, rows, k, n);
    let want_y = reference::dense_forward(&p.x, &p.w, p.bias(), &act, rows, k, n);
    let name = act.describe();

    // The layer's entry point on the chosen path (GEMV + vector activation for one row).
    let dims = DenseDims { rows, k, n };
    let (mut y, mut z) = (vec![f32::NAN; rows * n], vec![f32::NAN; rows * n]);
    dense_forward_fused(&p.x, &p.w, p.bias(), &act, dims, &mut y, Some(&mut z), None);
    check_z("dense_forward_fused", p, &z, &want_z)?;
    check_y("dense_forward_fused", p, &name, A::ROW_WISE, &y, &want_y)?;
    let mut y_inference = vec![f32::NAN; rows * n];
    dense_forward_fused(
        &p.x,
        &p.w,
        p.bias(),
        &act,
        dims,
        &mut y_inference,
        None,
        None,
    );
    check_y(
        "dense_forward_fused (inference)",
        p,
        &name,
        A::ROW_WISE,
        &y_inference,
        &want_y,
    )?;

    for isa in Isa::available() {
        let what = format!("{isa:?} gemm_fused");
        for keep_z in [true, false] {
            let (mut y, mut z) = (vec![f32::NAN; rows * n], vec![f32::NAN; rows * n]);
            let epilogue = Epilogue {
                bias: p.bias(),
                activation: &act,
                pre_activation: keep_z.then_some(&mut z[..]),
            };
            gemm_fused(
                isa,
                MatRef::row_major(&p.x, rows, k),
                MatRef::row_major(&p.w, k, n),
                &mut y,
                false,
                epilogue,
            );
            if A::ROW_WISE {
                // The epilogue leaves row-wise activations to the caller, as Dense does.
                y.chunks_exact_mut(n).for_each(|row| act.apply_row(row));
            }
            if keep_z {
                check_z(&what, p, &z, &want_z)?;
            }
            check_y(&what, p, &name, A::ROW_WISE, &y, &want_y)?;
        }
        // One row: the GEMV, then the activation's vector form.
        let mut y1 = vec![f32::NAN; n];
        gemv(isa, &p.x[..k], &p.w, p.bias(), &mut y1);
        check_z(&format!("{isa:?} gemv"), p, &y1, &want_z[..n])?;
        if A::ROW_WISE {
            act.apply_row(&mut y1);
        } else {
            act.apply_slice(&mut y1);
        }
        check_y(
            &format!("{isa:?} gemv"),
            p,
            &name,
            A::ROW_WISE,
            &y1,
            &want_y[..n],
        )?;
    }
    Ok(())
}

macro_rules! every_activation {
    ($p:expr) => {{
        let p = $p;
        check_all_paths(Linear, p)?;
        check_all_paths(Relu, p)?;
        check_all_paths(Sigmoid, p)?;
        check_all_paths(Tanh, p)?;
        check_all_paths(Softmax, p)?;
        check_all_paths(LeakyRelu::default(), p)?;
        check_all_paths(Elu, p)?;
        check_all_paths(Selu, p)?;
        check_all_paths(Gelu::default(), p)?;
        check_all_paths(Gelu { approximate: true }, p)?;
        check_all_paths(Swish, p)?;
        check_all_paths(Softplus, p)?;
        check_all_paths(Softsign, p)?;
        check_all_paths(HardSigmoid, p)?;
        check_all_paths(Exponential, p)?;
    }};
}

/// `predict_one`'s fixed-width GEMV for one shape, on every path.
fn check_fixed<const K: usize, const N: usize, A: Activation>(
    act: A,
    x: &[f32],
    w: &[f32],
    bias: &[f32],
) -> Result<(), TestCaseError> {
    let p = Problem {
        rows: 1,
        k: K,
        n: N,
        x: x[..K].to_vec(),
        w: w[..K * N].to_vec(),
        bias: bias[..N].to_vec(),
        use_bias: true,
    };
    let want = reference::dense_forward(&p.x, &p.w, p.bias(), &act, 1, K, N);
    for isa in Isa::available() {
        let mut y = vec![f32::NAN; N];
        gemv_fixed::<K, N, A>(isa, &p.x, &p.w, p.bias(), &act, &mut y);
        if A::ROW_WISE {
            // As `Dense::forward_one` does: the row-wise activation after the product.
            act.apply_row(&mut y);
        }
        check_y(
            &format!("{isa:?} gemv_fixed"),
            &p,
            &act.describe(),
            A::ROW_WISE,
            &y,
            &want,
        )?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    /// Batches (the packed GEMM, its fused epilogue) and single rows (the GEMV).
    #[test]
    fn dense_forward_with_special_values_matches_reference(p in problem(24)) {
        every_activation!(&p);
    }

    /// One row, as `predict` on a single row and the first layer of `predict_one` see it.
    #[test]
    fn one_row_with_special_values_matches_reference(p in problem(1)) {
        every_activation!(&p);
    }

    /// The fixed-width GEMV of `predict_one`, on the shapes the tutorial model and a few odd
    /// ones use.
    #[test]
    fn fixed_width_gemv_with_special_values_matches_reference(
        x in proptest::collection::vec(value(), 64),
        w in proptest::collection::vec(value(), 64 * 64),
        bias in proptest::collection::vec(value(), 64),
    ) {
        check_fixed::<10, 64, _>(Relu, &x, &w, &bias)?;
        check_fixed::<64, 32, _>(Relu, &x, &w, &bias)?;
        check_fixed::<32, 1, _>(Sigmoid, &x, &w, &bias)?;
        check_fixed::<7, 17, _>(Tanh, &x, &w, &bias)?;
        check_fixed::<33, 9, _>(Linear, &x, &w, &bias)?;
        check_fixed::<5, 3, _>(Softmax, &x, &w, &bias)?;
        check_fixed::<17, 40, _>(Swish, &x, &w, &bias)?;
        check_fixed::<1, 1, _>(Exponential, &x, &w, &bias)?;
    }

    /// The plain GEMM on transposed views and in accumulate mode (the backward pass's
    /// products): NaN and ±∞ where the reference has them, the rest to rounding.
    #[test]
    fn gemm_views_with_special_values_match_reference(
        p in problem(40),
        ta: bool,
        tb: bool,
        start in proptest::collection::vec(value(), 40 * 40),
    ) {
        let (m, k, n) = (p.rows, p.k, p.n);
        // The same values read through the other layout when transposed.
        let av = if ta { MatRef::row_major(&p.x, k, m).t() } else { MatRef::row_major(&p.x, m, k) };
        let bv = if tb { MatRef::row_major(&p.w, n, k).t() } else { MatRef::row_major(&p.w, k, n) };
        let product = reference::gemm(av, bv);
        let sums = Problem {
            x: (0..m * k).map(|i| av.data[(i / k) * av.rs + (i % k) * av.cs]).collect(),
            w: (0..k * n).map(|i| bv.data[(i / n) * bv.rs + (i % n) * bv.cs]).collect(),
            use_bias: false,
            ..p.clone()
        };
        for isa in Isa::available() {
            let mut c = vec![f32::NAN; m * n];
            gemm(isa, av, bv, &mut c, false);
            check_z(&format!("{isa:?} gemm ta={ta} tb={tb}"), &sums, &c, &product)?;
            // C += A·B: the reference adds in f64 as well.
            let mut c = start[..m * n].to_vec();
            gemm(isa, av, bv, &mut c, true);
            let want: Vec<f32> = product
                .iter()
                .zip(&start)
                .map(|(&ab, &s)| (f64::from(ab) + f64::from(s)) as f32)
                .collect();
            let products = sums.magnitudes();
            for (i, (&g, &r)) in c.iter().zip(&want).enumerate() {
                let scale = products[i] + f64::from(start[i]).abs();
                let ok = if r.is_nan() {
                    g.is_nan()
                } else if r.is_infinite() {
                    g == r
                } else {
                    (f64::from(g) - f64::from(r)).abs()
                        <= (k as f64 + 3.0) * f64::from(f32::EPSILON) * scale + 1e-44
                };
                prop_assert!(ok, "{:?} gemm accumulate: c[{}] = {}, reference {}", isa, i, g, r);
            }
        }
    }
}

/// Each activation's scalar formula and the kernels' slice form on the special values, element
/// by element: the same finite value to rounding for a finite z, NaN for a non-finite one (linear:
/// the value itself); and each formula against the table in this file's header.
#[test]
fn activations_on_special_values_match_their_table() {
    let specials = [
        f32::NAN,
        -f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        0.0,
        -0.0,
        1e-45,
        -1e-45,
        f32::MIN_POSITIVE,
        f32::MAX,
        f32::MIN,
        88.0,
        89.0,
        -104.0,
        -200.0,
    ];
    fn run<A: Activation>(act: A, specials: &[f32], nan: f32, pos_inf: f32, neg_inf: f32) {
        let name = act.describe();
        // Three chunks of eight lanes, each special at every lane position once.
        for shift in 0..8 {
            let input: Vec<f32> = (0..24)
                .map(|i| specials[(i + shift) % specials.len()])
                .collect();
            let mut vector = input.clone();
            act.apply_slice(&mut vector);
            for (&z, &v) in input.iter().zip(&vector) {
                let s = act.apply(z);
                let same = if !z.is_finite() && A::IN_REGISTER != InRegister::Identity {
                    v.is_nan()
                } else {
                    (s.is_nan() && v.is_nan())
                        || (s == v)
                        || (s.is_finite()
                            && v.is_finite()
                            && (s - v).abs() <= 4e-6 * (1.0 + s.abs()))
                };
                assert!(same, "{name}({z}): scalar {s}, vector {v}");
            }
        }
        let same = |got: f32, want: f32| (got.is_nan() && want.is_nan()) || got == want;
        for (z, want) in [
            (f32::NAN, nan),
            (f32::INFINITY, pos_inf),
            (f32::NEG_INFINITY, neg_inf),
        ] {
            let got = act.apply(z);
            assert!(
                same(got, want) || (got - want).abs() < 1e-6,
                "{name}({z}) = {got}, table says {want}"
            );
        }
    }
    let (nan, inf) = (f32::NAN, f32::INFINITY);
    run(Linear, &specials, nan, inf, -inf);
    run(Relu, &specials, 0.0, inf, 0.0);
    run(Sigmoid, &specials, nan, 1.0, 0.0);
    run(Tanh, &specials, nan, 1.0, -1.0);
    run(LeakyRelu::default(), &specials, nan, inf, -inf);
    run(Elu, &specials, nan, inf, -1.0);
    run(Selu, &specials, nan, inf, -SELU_ALPHA * SELU_SCALE);
    run(Gelu::default(), &specials, nan, inf, nan);
    run(Gelu { approximate: true }, &specials, nan, inf, nan);
    run(Swish, &specials, nan, inf, nan);
    run(Softplus, &specials, nan, inf, 0.0);
    run(Softsign, &specials, nan, nan, nan);
    run(HardSigmoid, &specials, nan, 1.0, 0.0);
    run(Exponential, &specials, nan, inf, 0.0);

    // Softmax: a NaN or ±∞ anywhere makes the row NaN (a −∞ logit would be a zero weight by
    // the formula, and would hide an overflow).
    let row = |values: &[f32]| {
        let mut r = values.to_vec();
        Softmax.apply_row(&mut r);
        r
    };
    assert!(row(&[1.0, f32::NAN, 2.0]).iter().all(|v| v.is_nan()));
    assert!(row(&[1.0, f32::INFINITY, 2.0]).iter().all(|v| v.is_nan()));
    assert!(row(&[0.0, f32::NEG_INFINITY]).iter().all(|v| v.is_nan()));
    assert_eq!(row(&[0.0, -200.0]), [1.0, 0.0]);
    assert!(row(&[f32::NEG_INFINITY, f32::NEG_INFINITY])
        .iter()
        .all(|v| v.is_nan()));
}

/// relu of a NaN or −∞ pre-activation is NaN on every path, in registers and after the store
/// (its formula would give 0): the batch and the single row agree on it.
#[test]
fn relu_keeps_nan_and_minus_infinity_non_finite_on_every_path() {
    for x in [[1.0, f32::NAN, 1.0], [1.0, f32::NEG_INFINITY, 1.0]] {
        relu_on_every_path(x);
    }
}

fn relu_on_every_path(x: [f32; 3]) {
    let (k, n) = (3, 20);
    let w = vec![0.5f32; k * n];
    let want = reference::dense_forward(&x, &w, None, &Relu, 1, k, n);
    assert!(want.iter().all(|v| v.is_nan()));
    let same = |got: &[f32]| got.iter().all(|v| v.is_nan());
    for isa in Isa::available() {
        let mut y = vec![0.0; n];
        let epilogue = Epilogue {
            bias: None,
            activation: &Relu,
            pre_activation: None,
        };
        gemm_fused(
            isa,
            MatRef::row_major(&x, 1, k),
            MatRef::row_major(&w, k, n),
            &mut y,
            false,
            epilogue,
        );
        assert!(same(&y), "{isa:?} gemm: {y:?}");
        let mut y = vec![0.0; n];
        gemv_fixed::<3, 20, _>(isa, &x, &w, None, &Relu, &mut y);
        assert!(same(&y), "{isa:?} gemv_fixed: {y:?}");
    }
    let mut y = vec![0.0; n];
    let dims = DenseDims { rows: 1, k, n };
    dense_forward_fused(&x, &w, None, &Relu, dims, &mut y, None, None);
    assert!(same(&y), "dense one row: {y:?}");
}
