//! exp, the logistic function and tanh on eight lanes (`wide::f32x8`), for the activations'
//! vector form in the epilogue: a libm call per value was 40% of a tanh network's training
//! step. Single values (`predict_one`, a row's last width mod 8 columns) keep libm, which is
//! faster for one value (predict_one's sigmoid head measured 20 ns slower through this code).
//! Every path slices rows into eight-lane chunks from column 0, so a given column always takes
//! the same form and a row's output still does not depend on its batch.
//!
//! Only `+ − × ÷`, comparisons, bit selects and one exponent-field construction are used; Rust
//! never contracts to FMA, so the results are the same on every instruction set.

use wide::{f32x8, i32x8};

/// `if x > than { a } else { b }` per lane (a NaN lane takes `b`).
#[inline(always)]
fn gt_select(x: f32x8, than: f32x8, a: f32x8, b: f32x8) -> f32x8 {
    x.simd_gt(than).bitselect(a, b)
}

/// 2ⁿ for lanes holding integers n in [−126, 127] (exp passes at most ±75): the float whose
/// exponent field is n + 127. `n + 2²³ + 127` puts n + 127 in the low mantissa bits; shifting
/// those bits by 23 moves them into the exponent field and everything above out of the word.
#[inline(always)]
fn pow2(n: f32x8) -> f32x8 {
    let bits: i32x8 = bytemuck::cast(n + f32x8::splat(EXPONENT_SHIFT));
    bytemuck::cast(bits << 23)
}

/// 2²³ + 127: added to an integer n it leaves n + 127 in the low mantissa bits (see `pow2`).
const EXPONENT_SHIFT: f32 = 8_388_608.0 + 127.0;
/// 1.5 · 2²³: adding and subtracting it rounds to the nearest integer (ties to even).
const ROUNDER: f32 = 12_582_912.0;

/// e^x, Cephes' `expf`: x = n·ln 2 + r with |r| ≤ ½ ln 2 (ln 2 split in two so n·ln 2 is exact),
/// e^r by its degree-7 polynomial, times 2ⁿ applied as 2^h · 2^(n−h) with h ≈ n/2, so both
/// factors are normal floats and a subnormal result (sigmoid(−100) = 3.7e-44) is rounded once,
/// by the last multiply. x is clamped to [−104, 88.38]: below, e^x rounds to 0 anyway; above,
/// the result is 2.4e38 instead of larger or +inf (callers divide it away).
#[inline(always)]
pub fn exp(x: f32x8) -> f32x8 {
    let c = f32x8::splat;
    let x = gt_select(x, c(88.376_26), c(88.376_26), x);
    let x = gt_select(c(-104.0), x, c(-104.0), x);
    let n = (x * c(std::f32::consts::LOG2_E) + c(ROUNDER)) - c(ROUNDER);
    let r = x - n * c(0.693_359_4) - n * c(-2.121_944_4e-4);
    // Cephes' coefficients, evaluated as Estrin's scheme (three independent pairs, then r² and
    // r⁴) rather than Horner's: a third of the dependent latency, which is most of the cost of
    // a single value (predict_one's sigmoid head).
    let r2 = r * r;
    let r4 = r2 * r2;
    let q = (c(1.666_666_5e-1) * r + c(0.5))
        + r2 * (c(8.333_452e-3) * r + c(4.166_579_6e-2))
        + r4 * (c(1.987_569_1e-4) * r + c(1.398_2e-3));
    let p = q * r2 + r + c(1.0);
    let h = (n * c(0.5) + c(ROUNDER)) - c(ROUNDER);
    p * pow2(h) * pow2(n - h)
}

/// The logistic function in its stable form: with e = e^−|z| (never overflows), 1/(1 + e) for
/// z ≥ 0 and e/(1 + e) below.
#[inline(always)]
pub fn sigmoid(z: f32x8) -> f32x8 {
    let e = exp(-z.abs());
    let s = f32x8::ONE / (f32x8::ONE + e);
    gt_select(f32x8::ZERO, z, e * s, s)
}

/// tanh, as Cephes' `tanhf`: an odd polynomial below |z| = 0.625, else 1 − 2/(e^2|z| + 1) with the
/// sign restored. Close to ±1 it keeps the last bits that the derivative 1 − y² reads.
#[inline(always)]
pub fn tanh(z: f32x8) -> f32x8 {
    let c = f32x8::splat;
    let x2 = z * z;
    let poly = (((c(-5.704_988_7e-3) * x2 + c(2.063_909e-2)) * x2 - c(5.373_971_6e-2)) * x2
        + c(1.333_144_2e-1))
        * x2
        - c(3.333_328e-1);
    let near_zero = poly * x2 * z + z;
    let a = z.abs();
    let far = (c(1.0) - c(2.0) / (exp(a + a) + c(1.0))).flip_signs(z);
    gt_select(a, c(0.625), far, near_zero)
}

#[cfg(test)]
mod tests {
    use super::{exp, sigmoid, tanh};
    use wide::f32x8;

    #[test]
    fn vector_exp_is_within_one_ulp() {
        let mut x = -87.0f32;
        while x < 88.0 {
            let xs: [f32; 8] = std::array::from_fn(|i| x + i as f32 * 0.0017);
            let got = exp(f32x8::new(xs));
            for (&x, &got) in xs.iter().zip(got.as_array()) {
                let want = (x as f64).exp();
                let w = want as f32;
                let ulp = (f32::from_bits(w.to_bits() + 1) - w) as f64;
                assert!(
                    (got as f64 - want).abs() <= ulp,
                    "exp({x}) = {got}, want {want}"
                );
            }
            x += 0.0137;
        }
        // Past the clamps: 0 (or the least subnormal) below, finite and huge above; NaN stays NaN
        // through exp, sigmoid and tanh.
        let lane = |v: f32x8| v.as_array()[0];
        assert!(lane(exp(f32x8::splat(-200.0))) < 1e-44);
        let big = lane(exp(f32x8::splat(200.0)));
        assert!(big > 1e38 && big.is_finite());
        let nan = f32x8::splat(f32::NAN);
        assert!(lane(exp(nan)).is_nan());
        assert!(lane(sigmoid(nan)).is_nan() && lane(tanh(nan)).is_nan());
    }
}
