//! y = x·W + b for one row: the `predict_one` path. No packing (it would cost as much as the
//! product): W's rows are read in order, each broadcast element of x scaling one row into
//! register accumulators spanning up to 64 outputs.
//!
//! The sums are formed in exactly the GEMM's order (an FMA chain per KC block of k, the blocks
//! added in turn, the bias last), so `predict_one(x)` is bit-identical to `predict(&[x])`.

use super::KC;
use crate::kernels::isa::Isa;

/// y = x·W (+ b) for x of length k and W row-major k × n; `y` has n values.
pub fn gemv(isa: Isa, x: &[f32], w: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
    let (k, n) = (x.len(), y.len());
    assert_eq!(w.len(), k * n, "gemv: W is not k × n");
    if let Some(b) = bias {
        assert_eq!(b.len(), n, "gemv: bias is not n long");
    }
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 if is_x86_feature_detected!("avx512f") => {
            // SAFETY: AVX-512F detected; lengths checked above.
            unsafe { gemv_avx512(x, w, bias, y) }
        }
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") => {
            // SAFETY: AVX2 and FMA detected; lengths checked above.
            unsafe { gemv_avx2(x, w, bias, y) }
        }
        _ => gemv_portable(x, w, bias, y),
    }
}

fn gemv_portable(x: &[f32], w: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
    let n = y.len();
    y.fill(0.0);
    let mut block = [wide::f32x8::ZERO; 8];
    for j0 in (0..n).step_by(64) {
        let width = 64.min(n - j0);
        let regs = width.div_ceil(8);
        for (kb, xs) in x.chunks(KC).enumerate() {
            block.iter_mut().for_each(|b| *b = wide::f32x8::ZERO);
            for (p, &xv) in xs.iter().enumerate() {
                let row = &w[(kb * KC + p) * n + j0..][..width];
                let xs = wide::f32x8::splat(xv);
                for (v, acc) in block.iter_mut().enumerate().take(regs) {
                    let mut lanes = [0.0f32; 8];
                    let part = &row[v * 8..(v * 8 + 8).min(width)];
                    lanes[..part.len()].copy_from_slice(part);
                    *acc = xs.mul_add(wide::f32x8::new(lanes), *acc);
                }
            }
            let out = &mut y[j0..j0 + width];
            for (v, acc) in block.iter().enumerate().take(regs) {
                let dst = &mut out[v * 8..(v * 8 + 8).min(width)];
                dst.iter_mut()
                    .zip(acc.as_array())
                    .for_each(|(d, a)| *d += a);
            }
        }
    }
    if let Some(b) = bias {
        y.iter_mut().zip(b).for_each(|(y, b)| *y += b);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn gemv_avx512(x: &[f32], w: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
    use std::arch::x86_64::*;
    let n = y.len();
    // Column blocks of 64 (four registers); the last block's partial registers are masked.
    for j0 in (0..n).step_by(64) {
        let width = 64.min(n - j0);
        let masks: [__mmask16; 4] = std::array::from_fn(|v| {
            let lanes = width.saturating_sub(v * 16).min(16);
            ((1u32 << lanes) - 1) as __mmask16
        });
        // SAFETY (this block): every load and store is masked to lanes j0 + 16v + l < n (and to
        // rows p < k of W), all inside the slices whose lengths gemv checked.
        unsafe {
            let out = y.as_mut_ptr().add(j0);
            for (kb, xs) in x.chunks(KC).enumerate() {
                let mut acc = [_mm512_setzero_ps(); 4];
                for (p, &xv) in xs.iter().enumerate() {
                    let xs = _mm512_set1_ps(xv);
                    let row = w.as_ptr().add((kb * KC + p) * n + j0);
                    for (v, a) in acc.iter_mut().enumerate() {
                        if masks[v] != 0 {
                            let wv = _mm512_maskz_loadu_ps(masks[v], row.add(16 * v));
                            *a = _mm512_fmadd_ps(xs, wv, *a);
                        }
                    }
                }
                for (v, a) in acc.iter().enumerate() {
                    let total = if kb == 0 {
                        *a
                    } else {
                        _mm512_add_ps(_mm512_maskz_loadu_ps(masks[v], out.add(16 * v)), *a)
                    };
                    _mm512_mask_storeu_ps(out.add(16 * v), masks[v], total);
                }
            }
            if x.is_empty() {
                for (v, &mask) in masks.iter().enumerate() {
                    _mm512_mask_storeu_ps(out.add(16 * v), mask, _mm512_setzero_ps());
                }
            }
            if let Some(b) = bias {
                for (v, &mask) in masks.iter().enumerate() {
                    let sum = _mm512_add_ps(
                        _mm512_maskz_loadu_ps(mask, out.add(16 * v)),
                        _mm512_maskz_loadu_ps(mask, b.as_ptr().add(j0 + 16 * v)),
                    );
                    _mm512_mask_storeu_ps(out.add(16 * v), mask, sum);
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn gemv_avx2(x: &[f32], w: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
    use std::arch::x86_64::*;
    let n = y.len();
    let full = n - n % 8;
    y.fill(0.0);
    // Full 8-wide columns in blocks of up to four registers.
    for j0 in (0..full).step_by(32) {
        let regs = ((full - j0) / 8).min(4);
        // SAFETY (this block): lanes j0 .. j0 + 8·regs ≤ full ≤ n, rows p < k: inside the slices.
        unsafe {
            let out = y.as_mut_ptr().add(j0);
            for (kb, xs) in x.chunks(KC).enumerate() {
                let mut acc = [_mm256_setzero_ps(); 4];
                for (p, &xv) in xs.iter().enumerate() {
                    let xs = _mm256_set1_ps(xv);
                    let row = w.as_ptr().add((kb * KC + p) * n + j0);
                    for (v, a) in acc.iter_mut().enumerate().take(regs) {
                        *a = _mm256_fmadd_ps(xs, _mm256_loadu_ps(row.add(8 * v)), *a);
                    }
                }
                for (v, a) in acc.iter().enumerate().take(regs) {
                    let sum = _mm256_add_ps(_mm256_loadu_ps(out.add(8 * v)), *a);
                    _mm256_storeu_ps(out.add(8 * v), sum);
                }
            }
        }
    }
    for j in full..n {
        for (kb, xs) in x.chunks(KC).enumerate() {
            let mut acc = 0.0f32;
            for (p, &xv) in xs.iter().enumerate() {
                acc = xv.mul_add(w[(kb * KC + p) * n + j], acc);
            }
            y[j] += acc;
        }
    }
    if let Some(b) = bias {
        y.iter_mut().zip(b).for_each(|(y, b)| *y += b);
    }
}
