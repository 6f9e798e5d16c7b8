//! y = x·W + b for one row: the `predict_one` path. No packing (it would cost as much as the
//! product): W's rows are read in order, each broadcast element of x scaling one row into
//! register accumulators spanning up to 64 outputs.
//!
//! `gemv` forms its sums in exactly the GEMM's order (an FMA chain per KC block of k, the blocks
//! added in turn, the bias last; a dot product for one column), so it is bit-identical to a
//! one-row GEMM. `gemv_fixed`, the latency path of `predict_one`, trades that for independent
//! chains (see there).

use super::KC;
use crate::kernels::activations::Activation;
#[cfg(target_arch = "x86_64")]
use crate::kernels::activations::InRegister;
use crate::kernels::isa::Isa;
#[cfg(target_arch = "x86_64")]
use crate::kernels::simd::{lanes16, live};

/// y = act(x·W + b) for a layer whose widths are compile-time constants (`predict_one`): the
/// loops unroll; on AVX-512 with N ≤ 256 the accumulators stay in registers and relu or linear
/// are applied there. Latency, not throughput, bounds one row, so k is split into up to four
/// interleaved FMA chains summed at the end, and a one-output layer is a vector dot product.
/// The result therefore equals the batched path to rounding, not bit for bit.
#[inline]
pub fn gemv_fixed<const K: usize, const N: usize, A: Activation>(
    isa: Isa,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    act: &A,
    y: &mut [f32],
) {
    assert!(
        x.len() == K && w.len() == K * N && y.len() == N,
        "gemv_fixed: shapes"
    );
    if let Some(b) = bias {
        assert_eq!(b.len(), N, "gemv_fixed: bias is not N long");
    }
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx512 && N <= 256 && !A::ROW_WISE && is_x86_feature_detected!("avx512f") {
        // SAFETY: AVX-512F detected; shapes checked above.
        unsafe { gemv_fixed_avx512::<K, N, A>(x, w, bias, act, y) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2
        && (2..=AVX2_FIXED_MAX_N).contains(&N)
        && !A::ROW_WISE
        && is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
    {
        // SAFETY: AVX2 and FMA detected; shapes checked above.
        unsafe { gemv_fixed_avx2::<K, N, A>(x, w, bias, act, y) };
        return;
    }
    gemv(isa, x, w, bias, y);
    if !A::ROW_WISE {
        act.apply_slice(y);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn gemv_fixed_avx512<const K: usize, const N: usize, A: Activation>(
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    act: &A,
    y: &mut [f32],
) {
    use std::arch::x86_64::*;
    if N == 1 {
        // y = Σ x_p w_p: sixteen products per FMA, then one horizontal sum.
        // SAFETY: masked loads stay below K in x and in w (K × 1).
        let dot = unsafe {
            let mut acc = _mm512_setzero_ps();
            for p in (0..K).step_by(16) {
                let m = lanes16(K - p);
                let xv = _mm512_maskz_loadu_ps(m, x.as_ptr().add(p));
                let wv = _mm512_maskz_loadu_ps(m, w.as_ptr().add(p));
                acc = _mm512_fmadd_ps(xv, wv, acc);
            }
            _mm512_reduce_add_ps(acc)
        };
        let z = dot + bias.map_or(0.0, |b| b[0]);
        y[0] = if A::IN_REGISTER == InRegister::Relu {
            // relu(z) + z·0: NaN for a non-finite z (see `activations`).
            z.max(0.0) + z * 0.0
        } else {
            z
        };
    } else {
        let regs = N.div_ceil(16);
        // Enough independent chains to cover the FMA latency, within 16 accumulators.
        let chains = (16 / regs).clamp(1, 4);
        let mask = |v: usize| lanes16(N.saturating_sub(v * 16));
        // SAFETY (this block): loads and stores are masked to lanes < N of rows < K, inside
        // the slices gemv_fixed checked.
        unsafe {
            let mut acc = [[_mm512_setzero_ps(); 16]; 4];
            // One row of W into chain c. Every index below is a constant once the loops over
            // the (compile-time) chain and register counts unroll, so `acc` lives in registers.
            let step = |acc: &mut [[__m512; 16]; 4], c: usize, p: usize| {
                let xs = _mm512_set1_ps(*x.get_unchecked(p));
                let row = w.as_ptr().add(p * N);
                for (v, a) in acc[c].iter_mut().enumerate().take(regs) {
                    let wv = _mm512_maskz_loadu_ps(mask(v), row.add(16 * v));
                    *a = _mm512_fmadd_ps(xs, wv, *a);
                }
            };
            let full = K - K % chains;
            for p0 in (0..full).step_by(chains) {
                for c in 0..chains {
                    step(&mut acc, c, p0 + c);
                }
            }
            for c in 0..K - full {
                step(&mut acc, c, full + c);
            }
            for v in 0..regs {
                let mut out = acc[0][v];
                for chain in acc.iter().take(chains).skip(1) {
                    out = _mm512_add_ps(out, chain[v]);
                }
                if let Some(b) = bias {
                    out =
                        _mm512_add_ps(out, _mm512_maskz_loadu_ps(mask(v), b.as_ptr().add(16 * v)));
                }
                if A::IN_REGISTER == InRegister::Relu {
                    // relu(v) + v·0: NaN for a non-finite v (see `activations`).
                    let zero = _mm512_setzero_ps();
                    out = _mm512_fmadd_ps(out, zero, _mm512_max_ps(out, zero));
                }
                _mm512_mask_storeu_ps(y.as_mut_ptr().add(16 * v), mask(v), out);
            }
        }
    }
    if A::IN_REGISTER == InRegister::AfterStore {
        act.apply_slice(y);
    }
}

/// Widest layer the AVX2 `gemv_fixed` keeps in registers: 12 of the 16 ymm registers hold
/// accumulators (the rest a broadcast and the loaded weights).
#[cfg(target_arch = "x86_64")]
const AVX2_FIXED_MAX_N: usize = 96;

/// `gemv_fixed_avx512` for AVX2 (eight lanes, no mask registers: the last partial register of a
/// row is read and written with `vmaskmovps`). A one-output layer takes `gemv`'s dot product.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn gemv_fixed_avx2<const K: usize, const N: usize, A: Activation>(
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    act: &A,
    y: &mut [f32],
) {
    use std::arch::x86_64::*;
    let regs = N.div_ceil(8);
    let chains = (12 / regs).clamp(1, 4);
    // Lanes < N − 8v are live in register v; the mask is all ones for every register but the
    // last partial one.
    let register_mask = |v: usize| live(N.saturating_sub(v * 8));
    let full = |v: usize| (v + 1) * 8 <= N;
    // SAFETY (this block): full registers read and write lanes below N; the partial one goes
    // through vmaskmovps with only the live lanes enabled; rows p < K. All inside the slices
    // gemv_fixed checked.
    unsafe {
        let load = |at: *const f32, v: usize| {
            if full(v) {
                _mm256_loadu_ps(at)
            } else {
                _mm256_maskload_ps(at, register_mask(v))
            }
        };
        let mut acc = [[_mm256_setzero_ps(); 12]; 4];
        // As in the AVX-512 version: with K and N constants the loops unroll and `acc` stays
        // in registers.
        let step = |acc: &mut [[__m256; 12]; 4], c: usize, p: usize| {
            let xs = _mm256_set1_ps(*x.get_unchecked(p));
            let row = w.as_ptr().add(p * N);
            for (v, a) in acc[c].iter_mut().enumerate().take(regs) {
                *a = _mm256_fmadd_ps(xs, load(row.add(8 * v), v), *a);
            }
        };
        let whole = K - K % chains;
        for p0 in (0..whole).step_by(chains) {
            for c in 0..chains {
                step(&mut acc, c, p0 + c);
            }
        }
        for c in 0..K - whole {
            step(&mut acc, c, whole + c);
        }
        for v in 0..regs {
            let mut out = acc[0][v];
            for chain in acc.iter().take(chains).skip(1) {
                out = _mm256_add_ps(out, chain[v]);
            }
            if let Some(b) = bias {
                out = _mm256_add_ps(out, load(b.as_ptr().add(8 * v), v));
            }
            if A::IN_REGISTER == InRegister::Relu {
                // relu(v) + v·0: NaN for a non-finite v (see `activations`).
                let zero = _mm256_setzero_ps();
                out = _mm256_fmadd_ps(out, zero, _mm256_max_ps(out, zero));
            }
            let at = y.as_mut_ptr().add(8 * v);
            if full(v) {
                _mm256_storeu_ps(at, out);
            } else {
                _mm256_maskstore_ps(at, register_mask(v), out);
            }
        }
    }
    if A::IN_REGISTER == InRegister::AfterStore {
        act.apply_slice(y);
    }
}

/// y = x·W (+ b) for x of length k and W row-major k × n; `y` has n values.
pub fn gemv(isa: Isa, x: &[f32], w: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
    let (k, n) = (x.len(), y.len());
    assert_eq!(w.len(), k * n, "gemv: W is not k × n");
    if let Some(b) = bias {
        assert_eq!(b.len(), n, "gemv: bias is not n long");
    }
    if n == 1 {
        // One output: the dot product the GEMM also uses for one-column products.
        row_dots(x, k, k, w, y);
        y[0] += bias.map_or(0.0, |b| b[0]);
        return;
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
                    let part = &row[v * 8..(v * 8 + 8).min(width)];
                    // Full registers load in place; only a last partial one is copied out.
                    let lanes: [f32; 8] = part.try_into().unwrap_or_else(|_| {
                        let mut lanes = [0.0f32; 8];
                        lanes[..part.len()].copy_from_slice(part);
                        lanes
                    });
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
        let masks: [__mmask16; 4] = std::array::from_fn(|v| lanes16(width.saturating_sub(v * 16)));
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

crate::multiversion! {
    /// out[r] = x_r · w for row r of x (k values from r·rs), sixteen partial sums per row (one
    /// vector register once compiled for AVX-512), added up at the end. The GEMM's form for
    /// one-column products: a tile would use one lane in NR there.
    pub(super) fn row_dots(x: &[f32], rs: usize, k: usize, w: &[f32], out: &mut [f32]) {
        let w = &w[..k];
        for (r, out) in out.iter_mut().enumerate() {
            let xr = &x[r * rs..r * rs + k];
            let mut partial = [0.0f32; 16];
            let mut xs = xr.chunks_exact(16);
            let mut ws = w.chunks_exact(16);
            for (xc, wc) in (&mut xs).zip(&mut ws) {
                for ((p, a), b) in partial.iter_mut().zip(xc).zip(wc) {
                    *p += a * b;
                }
            }
            for ((p, a), b) in partial.iter_mut().zip(xs.remainder()).zip(ws.remainder()) {
                *p += a * b;
            }
            *out = partial.iter().sum();
        }
    }
}
