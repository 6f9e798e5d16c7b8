//! Keras 3's `abs_max_quantize` (`keras/src/quantizers/quantizers.py`), in float32 as Keras
//! computes it: `scale = 127 / (max|x| + 1e-7)`, `q = clip(round(x · scale), -127, 127)` with
//! round half to even (`ops.round`, `np.round`). Inputs are quantized per row at run time
//! (`axis=-1`, Dense's `inputs_quantizer`); a Dense kernel once, per output unit (`axis=0`,
//! `Dense.quantize("int8")`, whose `kernel_scale` is that scale squeezed to `(units,)`).
//!
//! A NaN or infinity in a row gives that row unspecified values in ±127 (no undefined
//! behaviour; `quantize_rows_f32` may give NaN): a model's inputs are checked before any pass,
//! and Dense's int8 pass (`crate::int8`) makes the outputs of a row that reaches it non-finite
//! (an earlier layer overflowed) NaN, as a float product would.
// Indexing: every index is below `rows · k`, asserted against the slices at entry.
#![allow(clippy::indexing_slicing)]

use super::Int8Path;

/// Keras' `backend.epsilon()`, added to the abs-max.
pub const EPSILON: f32 = 1e-7;

/// The largest magnitude a quantized value takes (`value_range = (-127, 127)`).
pub const QMAX: f32 = 127.0;

/// One value: `clip(round_half_even(x · scale), -127, 127)`.
#[inline(always)]
fn quantize_one(x: f32, scale: f32) -> i8 {
    // `as` saturates and sends NaN to 0; the clamp keeps -128 out.
    (x * scale).round_ties_even().clamp(-QMAX, QMAX) as i8
}

/// The scale of values whose largest magnitude is `abs_max`.
#[inline(always)]
pub fn scale_of(abs_max: f32) -> f32 {
    QMAX / (abs_max + EPSILON)
}

/// Quantizes each `k`-long row of `x` (row-major, `x.len() / k` rows) into `q` (same layout)
/// and its scale into `scales` (one per row): Keras' `abs_max_quantize(x, axis=-1)`. The
/// dequantized value is `q / scale`. Vectorised on the AVX2 and AVX-512 paths; every path
/// gives the same bits (max, multiply and round-to-nearest-even are exact IEEE operations).
///
/// # Panics
/// If `k` is 0 or does not divide `x.len()`, or `q`/`scales` have the wrong length.
pub fn quantize_rows(path: Int8Path, x: &[f32], k: usize, q: &mut [i8], scales: &mut [f32]) {
    let path = path.runnable();
    assert!(
        k > 0 && x.len().is_multiple_of(k),
        "quantize_rows: rows of {k} in {}",
        x.len()
    );
    let rows = x.len() / k;
    assert!(
        q.len() == x.len() && scales.len() == rows,
        "quantize_rows: output lengths"
    );
    for ((row, qr), s) in x.chunks_exact(k).zip(q.chunks_exact_mut(k)).zip(scales) {
        *s = quantize_row(path, row, qr);
    }
}

/// One row; returns its scale.
fn quantize_row(path: Int8Path, row: &[f32], q: &mut [i8]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    match path {
        // SAFETY: `Int8Path::available` listed these paths only where the CPU has AVX2 (the
        // VNNI paths imply it: AVX-VNNI is listed after AVX2, AVX512-VNNI needs AVX-512F,
        // whose CPUs all have AVX2); `row` and `q` have the same length (asserted by the caller).
        Int8Path::Avx2 | Int8Path::AvxVnni => unsafe {
            return x86::quantize_row_avx2(row, q);
        },
        // SAFETY: the AVX512-VNNI path is listed only where the CPU has AVX-512F; `row` and
        // `q` have the same length (asserted by the caller).
        Int8Path::Avx512Vnni => unsafe {
            return x86::quantize_row_avx512(row, q);
        },
        Int8Path::Portable => {}
    }
    let _ = path;
    let abs_max = row.iter().fold(0.0f32, |m, &v| m.max(v.abs()));
    let scale = scale_of(abs_max);
    for (d, &v) in q.iter_mut().zip(row) {
        *d = quantize_one(v, scale);
    }
    scale
}

/// Rows of `k` values quantized as [`quantize_rows`] does, their values written as f32
/// (integers in ±127, exact) into `q` and each row's scale into `scales`: for products small
/// enough that the f32 kernels sum them exactly. Compiled per instruction set, a whole block
/// per call (the baseline target has no vector round, and a call per short row would cost more
/// than the row).
///
/// # Panics
/// If `k` is 0 or `q` and `scales` do not hold `x`'s rows.
pub fn quantize_rows_f32(x: &[f32], k: usize, q: &mut [f32], scales: &mut [f32]) {
    assert!(
        k > 0 && q.len() == x.len() && scales.len() * k == x.len(),
        "quantize_rows_f32: lengths"
    );
    quantize_rows_f32_in(x, k, q, scales);
}

crate::multiversion! {
    fn quantize_rows_f32_in(x: &[f32], k: usize, q: &mut [f32], scales: &mut [f32]) {
        // 1.5 · 2^23: adding it leaves a value of magnitude below 2^22 rounded to an integer
        // (to nearest, ties to even: IEEE's default), and subtracting it gives that integer
        // exactly: `round_ties_even` in two adds that vectorise.
        const ROUND: f32 = 12_582_912.0;
        for ((row, q), scale) in x.chunks_exact(k).zip(q.chunks_exact_mut(k)).zip(scales) {
            // The abs-max in sixteen lanes with x86's max (`>`, which ignores a NaN where
            // `f32::max` keeps a serial chain of NaN checks): any order gives the same maximum.
            let mut lanes = [0.0f32; 16];
            let (whole, tail) = row.as_chunks::<16>();
            for chunk in whole {
                for (m, &v) in lanes.iter_mut().zip(chunk) {
                    *m = if v.abs() > *m { v.abs() } else { *m };
                }
            }
            for (m, &v) in lanes.iter_mut().zip(tail) {
                *m = if v.abs() > *m { v.abs() } else { *m };
            }
            // Halving in a tree (a serial fold is a chain of 16 dependent maxima).
            let mut width = 8;
            while width > 0 {
                let (low, high) = lanes.split_at_mut(width);
                for (m, &v) in low.iter_mut().zip(high.iter()) {
                    *m = if v > *m { v } else { *m };
                }
                width /= 2;
            }
            let abs_max = lanes[0];
            let s = scale_of(abs_max);
            for (d, &v) in q.iter_mut().zip(row) {
                // |v · s| ≤ 127 (s = 127 / (max|v| + ε)), far below 2^22.
                *d = ((v * s + ROUND) - ROUND).clamp(-QMAX, QMAX);
            }
            *scale = s;
        }
    }
}

/// Quantizes a Dense kernel (`k × n`, row-major) per output unit, as `Dense.quantize("int8")`
/// does: `abs_max_quantize(kernel, axis=0)`. Returns the int8 kernel (same layout) and
/// `kernel_scale` (one per column).
///
/// # Panics
/// If `kernel.len() != k · n`.
pub fn quantize_kernel(kernel: &[f32], k: usize, n: usize) -> (Vec<i8>, Vec<f32>) {
    assert_eq!(kernel.len(), k * n, "quantize_kernel: {k}×{n} kernel");
    let mut abs_max = vec![0.0f32; n];
    for row in kernel.chunks_exact(n.max(1)) {
        for (m, &v) in abs_max.iter_mut().zip(row) {
            *m = m.max(v.abs());
        }
    }
    let scales: Vec<f32> = abs_max.iter().map(|&m| scale_of(m)).collect();
    let mut q = vec![0i8; k * n];
    for (qr, row) in q
        .chunks_exact_mut(n.max(1))
        .zip(kernel.chunks_exact(n.max(1)))
    {
        for ((d, &v), &s) in qr.iter_mut().zip(row).zip(&scales) {
            *d = quantize_one(v, s);
        }
    }
    (q, scales)
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{quantize_one, scale_of, QMAX};
    use std::arch::x86_64::*;

    /// `quantize_row` on sixteen lanes: the same bits as the AVX2 form (max, multiply and
    /// round-to-nearest-even are exact), with `vpmovdb` narrowing to bytes.
    ///
    /// # Safety
    /// The CPU has AVX-512F; `q.len() == row.len()`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn quantize_row_avx512(row: &[f32], q: &mut [i8]) -> f32 {
        let n16 = row.len() / 16 * 16;
        let mut m = _mm512_setzero_ps();
        for i in (0..n16).step_by(16) {
            // SAFETY: i + 16 <= n16 <= row.len().
            let v = unsafe { _mm512_loadu_ps(row.as_ptr().add(i)) };
            m = _mm512_max_ps(m, _mm512_abs_ps(v));
        }
        let abs_max = row[n16..]
            .iter()
            .fold(_mm512_reduce_max_ps(m), |m, &v| m.max(v.abs()));
        let scale = scale_of(abs_max);
        let s = _mm512_set1_ps(scale);
        let (lo, hi) = (
            _mm512_set1_epi32(-(QMAX as i32)),
            _mm512_set1_epi32(QMAX as i32),
        );
        for i in (0..n16).step_by(16) {
            // SAFETY: i + 16 <= n16 <= row.len().
            let v = unsafe { _mm512_loadu_ps(row.as_ptr().add(i)) };
            // Rounds to nearest even (MXCSR's default); NaN and out-of-range give i32::MIN,
            // clamped to -127 below.
            let r = _mm512_cvtps_epi32(_mm512_mul_ps(v, s));
            let r = _mm512_min_epi32(_mm512_max_epi32(r, lo), hi);
            // SAFETY: i + 16 <= q.len(); an unaligned 16-byte store.
            unsafe {
                _mm_storeu_si128(
                    q.as_mut_ptr().add(i) as *mut __m128i,
                    _mm512_cvtepi32_epi8(r),
                )
            };
        }
        for (d, &v) in q[n16..].iter_mut().zip(&row[n16..]) {
            *d = quantize_one(v, scale);
        }
        scale
    }

    /// `quantize_row` on eight lanes.
    ///
    /// # Safety
    /// The CPU has AVX2; `q.len() == row.len()`.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn quantize_row_avx2(row: &[f32], q: &mut [i8]) -> f32 {
        let n8 = row.len() / 8 * 8;
        let sign = _mm256_set1_ps(-0.0);
        let mut m = _mm256_setzero_ps();
        for i in (0..n8).step_by(8) {
            // SAFETY: i + 8 <= n8 <= row.len().
            let v = unsafe { _mm256_loadu_ps(row.as_ptr().add(i)) };
            m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v));
        }
        let mut lanes = [0.0f32; 8];
        // SAFETY: `lanes` holds eight f32.
        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), m) };
        let abs_max = row[n8..]
            .iter()
            .chain(&lanes)
            .fold(0.0f32, |m, &v| m.max(v.abs()));
        let scale = scale_of(abs_max);
        let s = _mm256_set1_ps(scale);
        let (lo, hi) = (
            _mm256_set1_epi32(-(QMAX as i32)),
            _mm256_set1_epi32(QMAX as i32),
        );
        // The bytes 0, 4, 8, 12 of each 128-bit lane: the low byte of each i32.
        let pick = _mm256_setr_epi8(
            0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 4, 8, 12, -1, -1, -1,
            -1, -1, -1, -1, -1, -1, -1, -1, -1,
        );
        for i in (0..n8).step_by(8) {
            // SAFETY: i + 8 <= n8 <= row.len().
            let v = unsafe { _mm256_loadu_ps(row.as_ptr().add(i)) };
            // vcvtps2dq rounds to nearest even (MXCSR's default, which Rust never changes);
            // out-of-range and NaN give i32::MIN, clamped to -127 below.
            let r = _mm256_cvtps_epi32(_mm256_mul_ps(v, s));
            let r = _mm256_min_epi32(_mm256_max_epi32(r, lo), hi);
            let b = _mm256_shuffle_epi8(r, pick);
            let packed = (_mm256_extract_epi32::<0>(b) as u32 as u64)
                | ((_mm256_extract_epi32::<4>(b) as u32 as u64) << 32);
            // SAFETY: i + 8 <= q.len(); an unaligned eight-byte store.
            unsafe { (q.as_mut_ptr().add(i) as *mut u64).write_unaligned(packed) };
        }
        for (d, &v) in q[n8..].iter_mut().zip(&row[n8..]) {
            *d = quantize_one(v, scale);
        }
        scale
    }
}
