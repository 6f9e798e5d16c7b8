//! exp, the logistic function and tanh in a form that vectorises, for the activations' run form
//! (`Activation::apply_slice`: the epilogue and the recurrent layers' gates): a libm call per
//! value was 40% of a tanh network's training step. Each function is one value's formula without
//! branches (selects, not jumps), so a loop over a slice is vectorised by the compiler to the
//! widest registers of the function it inlines into: zmm in an AVX-512 copy (`multiversion!`),
//! ymm in an AVX2 one, xmm in a default (SSE2) build; the loop's remainder runs the same formula
//! one value at a time. `wide`'s vectors would stay at the SSE2 the crate is compiled for even inside
//! a `#[target_feature]` function (its choice is made by `cfg` when `wide` is compiled), and a
//! hand-written lane type of plain arrays was vectorised across chunks into gathers.
//!
//! Only `+ − × ÷`, comparisons, selects and one exponent-field construction are used; Rust never
//! contracts to FMA, so a value's result is the same on every instruction set, at every width and
//! at every position in the groups of eight `apply_slice` gives it. Single values (a run's last
//! len mod 8, `predict_one`'s `apply_row`) keep libm, which is faster for one value
//! (predict_one's sigmoid head measured 20 ns slower through this code).

/// `if x > than { a } else { b }` (NaN takes `b`), as a select.
#[inline(always)]
fn gt_select(x: f32, than: f32, a: f32, b: f32) -> f32 {
    if x > than {
        a
    } else {
        b
    }
}

/// 2ⁿ for an integer n in [−126, 127] (exp passes at most ±75): the float whose exponent field
/// is n + 127. `n + 2²³ + 127` puts n + 127 in the low mantissa bits; shifting those bits by 23
/// moves them into the exponent field and everything above out of the word.
#[inline(always)]
fn pow2(n: f32) -> f32 {
    f32::from_bits((n + EXPONENT_SHIFT).to_bits() << 23)
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
pub fn exp(x: f32) -> f32 {
    let (p, n) = reduced_exp(gt_select(-104.0, x, -104.0, x));
    let h = (n * 0.5 + ROUNDER) - ROUNDER;
    p * pow2(h) * pow2(n - h)
}

/// e^x for x in [−87.33, 88.38] (clamped to it), where e^x is a normal float: [`exp`]'s
/// reduction and polynomial, scaled by 2ⁿ in one multiply (exact there, so `exp`'s bits). For
/// arguments known to stay in that range (tanh's, clamped where tanh rounds to 1).
#[inline(always)]
fn exp_normal(x: f32) -> f32 {
    let (p, n) = reduced_exp(gt_select(-87.33, x, -87.33, x));
    p * pow2(n)
}

/// e^x as (e^r, n) with e^x = e^r · 2ⁿ, x clamped above to 88.38 (the caller clamps below).
#[inline(always)]
fn reduced_exp(x: f32) -> (f32, f32) {
    let x = gt_select(x, 88.376_26, 88.376_26, x);
    let n = (x * std::f32::consts::LOG2_E + ROUNDER) - ROUNDER;
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    // Cephes' coefficients, evaluated as Estrin's scheme (three independent pairs, then r² and
    // r⁴) rather than Horner's: a third of the dependent latency, which is most of the cost of
    // a single value (predict_one's sigmoid head).
    let r2 = r * r;
    let r4 = r2 * r2;
    let q = (1.666_666_5e-1 * r + 0.5)
        + r2 * (8.333_452e-3 * r + 4.166_579_6e-2)
        + r4 * (1.987_569_1e-4 * r + 1.398_2e-3);
    (q * r2 + r + 1.0, n)
}

/// The logistic function in its stable form: with e = e^−|z| (never overflows), 1/(1 + e) for
/// z ≥ 0 and e/(1 + e) below.
#[inline(always)]
pub fn sigmoid(z: f32) -> f32 {
    let e = exp(-abs(z));
    let s = 1.0 / (1.0 + e);
    gt_select(0.0, z, e * s, s)
}

/// |z|, the sign bit cleared (`f32::abs`, spelled as the bit operation it vectorises to).
#[inline(always)]
fn abs(z: f32) -> f32 {
    f32::from_bits(z.to_bits() & 0x7fff_ffff)
}

/// tanh, as Cephes' `tanhf`: an odd polynomial below |z| = 0.625, else 1 − 2/(e^2|z| + 1) with the
/// sign restored. Close to ±1 it keeps the last bits that the derivative 1 − y² reads.
#[inline(always)]
pub fn tanh(z: f32) -> f32 {
    let x2 = z * z;
    let poly =
        (((-5.704_988_7e-3 * x2 + 2.063_909e-2) * x2 - 5.373_971_6e-2) * x2 + 1.333_144_2e-1) * x2
            - 3.333_328e-1;
    let near_zero = poly * x2 * z + z;
    let a = abs(z);
    // Past |z| = 9.1, 2/(e^2|z| + 1) < 2⁻²⁵ and far rounds to exactly 1 either way.
    let far = 1.0 - 2.0 / (exp_normal(gt_select(a, 9.1, 18.2, a + a)) + 1.0);
    // The sign of z restored (|far| ≤ 1; a NaN z keeps its NaN through exp).
    let far = f32::from_bits(far.to_bits() ^ (z.to_bits() & 0x8000_0000));
    gt_select(a, 0.625, far, near_zero)
}

#[cfg(test)]
mod tests {
    use super::{abs, exp, gt_select, sigmoid, tanh};

    /// tanh as it was before `exp_normal`: `exp` with its two-factor scaling, no clamp at 9.1.
    fn tanh_with_exp(z: f32) -> f32 {
        let x2 = z * z;
        let poly = (((-5.704_988_7e-3 * x2 + 2.063_909e-2) * x2 - 5.373_971_6e-2) * x2
            + 1.333_144_2e-1)
            * x2
            - 3.333_328e-1;
        let near_zero = poly * x2 * z + z;
        let a = abs(z);
        let far = 1.0 - 2.0 / (exp(a + a) + 1.0);
        let far = f32::from_bits(far.to_bits() ^ (z.to_bits() & 0x8000_0000));
        gt_select(a, 0.625, far, near_zero)
    }

    #[test]
    fn tanh_keeps_its_bits_through_the_one_factor_exponential() {
        let mut z = -40.0f32;
        while z < 40.0 {
            for z in [z, z.next_up(), -z] {
                assert_eq!(tanh(z).to_bits(), tanh_with_exp(z).to_bits(), "tanh({z})");
            }
            // Finely around the clamp, coarsely elsewhere.
            z += if (8.9..9.3).contains(&z.abs()) {
                1.3e-6
            } else {
                7.1e-4
            };
        }
        for z in [f32::MAX, -f32::MAX, f32::INFINITY, 1e-30, -1e-30, 0.0, -0.0] {
            assert_eq!(tanh(z).to_bits(), tanh_with_exp(z).to_bits(), "tanh({z})");
        }
    }

    #[test]
    fn vector_exp_is_within_one_ulp() {
        let mut x = -87.0f32;
        while x < 88.0 {
            for x in (0..8).map(|i| x + i as f32 * 0.0017) {
                let got = exp(x);
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
        assert!(exp(-200.0) < 1e-44);
        let big = exp(200.0);
        assert!(big > 1e38 && big.is_finite());
        let nan = f32::NAN;
        assert!(exp(nan).is_nan());
        assert!(sigmoid(nan).is_nan() && tanh(nan).is_nan());
    }
}
