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
use crate::kernels::simd::{lanes16, live, load_lanes, load_lanes16, store_lanes, store_lanes16};

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
        if N == 1 {
            // SAFETY: AVX-512F detected; shapes checked above.
            unsafe { dot_fixed_avx512::<K, A>(x, w, bias, act, y) };
        } else {
            // SAFETY: AVX-512F detected; shapes checked above.
            unsafe { gemv_fixed_avx512::<K, N, A>(x, w, bias, act, y) };
        }
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

/// A one-output layer on AVX-512: y = Σ x_p w_p, sixteen products per FMA, then one horizontal
/// sum (AVX2 takes `gemv`'s dot product instead).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn dot_fixed_avx512<const K: usize, A: Activation>(
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    act: &A,
    y: &mut [f32],
) {
    use std::arch::x86_64::*;
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
    if A::IN_REGISTER == InRegister::AfterStore {
        act.apply_slice(y);
    }
}

/// `gemv_fixed` for one instruction set: N outputs in ⌈N/LANES⌉ registers (at most `regs`
/// accumulators per chain), k split into up to four interleaved chains. One template for AVX-512
/// and AVX2: the same chains in the same order, differing in vector width, intrinsics, the
/// accumulator budget and the lane masks (AVX-512 masks the last partial register and stores
/// full ones plainly, through `store_lanes16!`; AVX2 loads its full registers plainly and only
/// the last partial one through `vmaskmovps`).
macro_rules! gemv_fixed_kernel {
    (
        $(#[$doc:meta])*
        $name:ident, feature = $feature:literal, lanes = $lanes:literal, regs = $regs:literal,
        vector = $vector:ident, zero = $zero:ident, broadcast = $broadcast:ident,
        fma = $fma:ident, add = $add:ident, max = $max:ident, mask = $mask:ident,
        load = $load:ident, store = $store:ident
    ) => {
        $(#[$doc])*
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $feature)]
        unsafe fn $name<const K: usize, const N: usize, A: Activation>(
            x: &[f32],
            w: &[f32],
            bias: Option<&[f32]>,
            act: &A,
            y: &mut [f32],
        ) {
            use std::arch::x86_64::*;
            let regs = N.div_ceil($lanes);
            // Enough independent chains to cover the FMA latency, within the accumulators.
            let chains = ($regs / regs).clamp(1, 4);
            // Lanes < N − LANES·v are live in register v: all of them but in a last partial one.
            let mask = |v: usize| $mask(N.saturating_sub(v * $lanes));
            let full = |v: usize| (v + 1) * $lanes <= N;
            // SAFETY (this block): loads and stores touch lanes < N (full registers, or the
            // live lanes of a partial one through its mask) of rows p < K, inside the slices
            // gemv_fixed checked.
            unsafe {
                let mut acc = [[$zero(); $regs]; 4];
                // One row of W into chain c. Every index below is a constant once the loops over
                // the (compile-time) chain and register counts unroll, so `acc` lives in
                // registers.
                let step = |acc: &mut [[$vector; $regs]; 4], c: usize, p: usize| {
                    let xs = $broadcast(*x.get_unchecked(p));
                    let row = w.as_ptr().add(p * N);
                    for (v, a) in acc[c].iter_mut().enumerate().take(regs) {
                        let wv = $load!(full(v), row.add($lanes * v), mask(v));
                        *a = $fma(xs, wv, *a);
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
                        out = $add(out, chain[v]);
                    }
                    if let Some(b) = bias {
                        out = $add(out, $load!(full(v), b.as_ptr().add($lanes * v), mask(v)));
                    }
                    if A::IN_REGISTER == InRegister::Relu {
                        // relu(v) + v·0: NaN for a non-finite v (see `activations`).
                        let zero = $zero();
                        out = $fma(out, zero, $max(out, zero));
                    }
                    $store!(full(v), y.as_mut_ptr().add($lanes * v), mask(v), out);
                }
            }
            if A::IN_REGISTER == InRegister::AfterStore {
                act.apply_slice(y);
            }
        }
    };
}

gemv_fixed_kernel!(
    /// AVX-512: 2 ≤ N ≤ 256, up to 16 zmm accumulators per chain.
    gemv_fixed_avx512, feature = "avx512f", lanes = 16, regs = 16, vector = __m512,
    zero = _mm512_setzero_ps, broadcast = _mm512_set1_ps, fma = _mm512_fmadd_ps,
    add = _mm512_add_ps, max = _mm512_max_ps, mask = lanes16, load = load_lanes16,
    store = store_lanes16
);

/// Widest layer the AVX2 `gemv_fixed` keeps in registers: 12 of the 16 ymm registers hold
/// accumulators (the rest a broadcast and the loaded weights).
#[cfg(target_arch = "x86_64")]
const AVX2_FIXED_MAX_N: usize = 96;

gemv_fixed_kernel!(
    /// AVX2: 2 ≤ N ≤ `AVX2_FIXED_MAX_N`, up to 12 ymm accumulators per chain (eight lanes, no
    /// mask registers: the last partial register of a row goes through `vmaskmovps`).
    gemv_fixed_avx2, feature = "avx2,fma", lanes = 8, regs = 12, vector = __m256,
    zero = _mm256_setzero_ps, broadcast = _mm256_set1_ps, fma = _mm256_fmadd_ps,
    add = _mm256_add_ps, max = _mm256_max_ps, mask = live, load = load_lanes,
    store = store_lanes
);

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

// `gemv_avx512` and `gemv_avx2` are not one template, unlike the fixed-width kernels above:
// they form the same sums in the same order, but cover the columns differently. AVX-512 masks
// the partial registers of a 64-wide block and writes each block's first KC sums straight to y;
// AVX2 runs the whole 8-wide registers in 32-wide blocks after zeroing y, and the last n mod 8
// columns as scalar FMA chains (no `vmaskmovps` per k step). Folding them together would change
// one of them, which is a tuning question, not a refactor.

/// `gemv` on AVX-512: blocks of 64 columns, the partial registers masked.
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

/// `gemv` on AVX2: whole registers in blocks of 32 columns, the last n mod 8 columns scalar.
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
