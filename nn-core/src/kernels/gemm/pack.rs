//! Packing: copies a block of A into MR-row panels and a block of B into NR-column panels, in
//! the order the microkernel reads them (one k step = MR, or NR, consecutive values), padding
//! the last panel with zeros. Strided sources make transposed operands free.
//!
//! Two of the four cases are copies along the panel (B row-major, A read down its columns).
//! The other two transpose (A row-major, B a transposed view such as Wᵀ in dZ·Wᵀ): element by
//! element that is a scalar load and store per value, which measured as a fifth of a small
//! training step. On AVX-512 those panels are gathered instead, one k step of the panel per
//! masked gather; on AVX2 (whose gathers are slow on Zen) they are transposed 8 × 8 in
//! registers, eight k steps at a time.

use super::{MatRef, Microkernel};
#[cfg(target_arch = "x86_64")]
use crate::kernels::isa::Isa;

/// A[ic..ic+mc][pc..pc+kc] into `buf` as ⌈mc/MR⌉ panels of kc × MR.
pub(super) fn pack_a<K: Microkernel>(
    a: MatRef<'_>,
    ic: usize,
    mc: usize,
    pc: usize,
    kc: usize,
    buf: &mut Vec<f32>,
) {
    let mr = K::MR;
    let panels = mc.div_ceil(mr);
    let len = panels * kc * mr;
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
    for panel in 0..panels {
        let out = &mut buf[panel * kc * mr..][..kc * mr];
        let r0 = ic + panel * mr;
        let rows = mr.min(ic + mc - r0);
        if a.cs == 1 {
            // Rows contiguous in the source: a transpose.
            #[cfg(target_arch = "x86_64")]
            if K::ISA == Isa::Avx512 && gather_fits(a.rs, rows) && kc > 0 {
                // SAFETY: K's ISA is AVX-512, so the CPU has it (the dispatch in gemm_fused
                // detected it); element (r, p) of the panel is a.data[(r0 + r)·rs + pc + p],
                // inside the checked view for r < rows, p < kc; `out` holds kc × mr values.
                unsafe {
                    gather_panel_avx512(
                        a.data.as_ptr().add(r0 * a.rs + pc),
                        a.rs,
                        1,
                        rows,
                        mr,
                        kc,
                        out.as_mut_ptr(),
                    )
                };
                continue;
            }
            #[cfg(target_arch = "x86_64")]
            if K::ISA == Isa::Avx2 && kc > 0 {
                // SAFETY: K's ISA is AVX2, so the CPU has AVX2 and FMA (gemm_fused detected
                // them); element (r, p) is a.data[(r0 + r)·rs + pc + p], inside the checked
                // view for r < rows, p < kc; `out` holds kc × mr values; rows ≤ mr.
                unsafe {
                    transpose_panel_avx2(
                        a.data.as_ptr().add(r0 * a.rs + pc),
                        a.rs,
                        rows,
                        mr,
                        kc,
                        out.as_mut_ptr(),
                    )
                };
                continue;
            }
            if rows < mr {
                out.fill(0.0);
            }
            for r in 0..rows {
                let src = &a.data[(r0 + r) * a.rs + pc..][..kc];
                for (p, &v) in src.iter().enumerate() {
                    out[p * mr + r] = v;
                }
            }
        } else {
            if a.rs == 1 && rows == mr {
                // A transposed view (Xᵀ in Xᵀ·dZ): each k step is MR consecutive values; a
                // fixed-length copy the compiler inlines, where a slice copy calls memmove.
                for (p, dst) in out.chunks_exact_mut(K::MR).enumerate() {
                    let base = (pc + p) * a.cs + r0;
                    dst.copy_from_slice(&a.data[base..base + K::MR]);
                }
                continue;
            }
            if rows < mr {
                out.fill(0.0);
            }
            for p in 0..kc {
                let base = (pc + p) * a.cs + r0 * a.rs;
                for r in 0..rows {
                    out[p * mr + r] = a.data[base + r * a.rs];
                }
            }
        }
    }
}

/// B[pc..pc+kc][jc..jc+nc] into `buf` as ⌈nc/NR⌉ panels of kc × NR (`buf` holds at least
/// that many values).
pub(super) fn pack_b<K: Microkernel>(
    b: MatRef<'_>,
    pc: usize,
    kc: usize,
    jc: usize,
    nc: usize,
    buf: &mut [f32],
) {
    let nr = K::NR;
    let panels = nc.div_ceil(nr);
    for panel in 0..panels {
        let out = &mut buf[panel * kc * nr..][..kc * nr];
        let j0 = jc + panel * nr;
        let cols = nr.min(jc + nc - j0);
        if b.cs == 1 {
            if cols == nr {
                // Fixed-length row copies (inlined; a slice copy of runtime length calls
                // memmove, which cost 8% of a 784-wide training step at 128 bytes a call).
                for (p, dst) in out.chunks_exact_mut(K::NR).enumerate() {
                    let start = (pc + p) * b.rs + j0;
                    dst.copy_from_slice(&b.data[start..start + K::NR]);
                }
                continue;
            }
            out.fill(0.0);
            for p in 0..kc {
                let src = &b.data[(pc + p) * b.rs + j0..][..cols];
                out[p * nr..p * nr + cols].copy_from_slice(src);
            }
        } else {
            // Columns contiguous in the source (a transposed view): a transpose.
            #[cfg(target_arch = "x86_64")]
            if K::ISA == Isa::Avx512 && gather_fits(b.cs, cols) && kc > 0 {
                // SAFETY: as in pack_a: AVX-512 is present; element (p, j) of the panel is
                // b.data[(pc + p)·rs + (j0 + j)·cs], inside the checked view for p < kc,
                // j < cols; `out` holds kc × nr values.
                unsafe {
                    gather_panel_avx512(
                        b.data.as_ptr().add(pc * b.rs + j0 * b.cs),
                        b.cs,
                        b.rs,
                        cols,
                        nr,
                        kc,
                        out.as_mut_ptr(),
                    )
                };
                continue;
            }
            #[cfg(target_arch = "x86_64")]
            if K::ISA == Isa::Avx2 && b.rs == 1 && kc > 0 {
                // SAFETY: as above for AVX2; element (p, j) of the panel is
                // b.data[(j0 + j)·cs + pc + p] (rs = 1), inside the checked view for j < cols,
                // p < kc; `out` holds kc × nr values; cols ≤ nr.
                unsafe {
                    transpose_panel_avx2(
                        b.data.as_ptr().add(j0 * b.cs + pc),
                        b.cs,
                        cols,
                        nr,
                        kc,
                        out.as_mut_ptr(),
                    )
                };
                continue;
            }
            if cols < nr {
                out.fill(0.0);
            }
            for j in 0..cols {
                let src = &b.data[(j0 + j) * b.cs + pc * b.rs..];
                for p in 0..kc {
                    out[p * nr + j] = src[p * b.rs];
                }
            }
        }
    }
}

// The AVX-512 and AVX2 transposing packers below are two algorithms, not one at two widths, so
// they stay apart rather than share a template as the microkernels (`x86.rs`), the direct path
// and `gemv_fixed` do: AVX-512 gathers one k step of up to 32 lanes per masked gather and takes
// any lane and k stride (so it also packs B views whose rows are not contiguous); AVX2 loads
// eight k steps of eight contiguous lanes and transposes them in registers (its gathers are
// slow on Zen), which needs k contiguous and leaves a scalar tail.

/// Whether `lanes` values `stride` apart have offsets a 32-bit gather index can hold.
#[cfg(target_arch = "x86_64")]
fn gather_fits(stride: usize, lanes: usize) -> bool {
    lanes.saturating_sub(1).saturating_mul(stride) <= i32::MAX as usize
}

/// out[p·width + l] = src[l·lane_stride + p·k_stride] for l < lanes, p < kc, and zero for
/// lanes ≤ l < width: one panel of `width` (at most 32) lanes, one masked gather per 16 lanes
/// per k step.
///
/// # Safety
/// The CPU has AVX-512F; src[l·lane_stride + p·k_stride] is readable for l < lanes, p < kc,
/// with (lanes − 1)·lane_stride ≤ i32::MAX; out[..kc·width] is writable; lanes ≤ width ≤ 32.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn gather_panel_avx512(
    src: *const f32,
    lane_stride: usize,
    k_stride: usize,
    lanes: usize,
    width: usize,
    kc: usize,
    out: *mut f32,
) {
    use std::arch::x86_64::*;
    debug_assert!(lanes <= width && width <= 32);
    let mask = |from: usize, count: usize| -> __mmask16 {
        let n = count.saturating_sub(from).min(16);
        ((1u32 << n) - 1) as __mmask16
    };
    // Offsets of lanes 16..32 exceed i32 only when those lanes are masked off (gather_fits
    // bounds the live ones), so wrapping is harmless there.
    let stride = lane_stride as i32;
    let idx0 = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32(stride),
    );
    let idx1 = _mm512_add_epi32(idx0, _mm512_set1_epi32(stride.wrapping_mul(16)));
    let (g0, g1) = (mask(0, lanes), mask(16, lanes));
    let (s0, s1) = (mask(0, width), mask(16, width));
    // SAFETY (loop body): the gathers read only live lanes (l < lanes, masked), at offsets the
    // caller guarantees readable; the stores write out[p·width .. p·width + width].
    unsafe {
        for p in 0..kc {
            let row = src.add(p * k_stride);
            let dst = out.add(p * width);
            let v0 = _mm512_mask_i32gather_ps::<4>(_mm512_setzero_ps(), g0, idx0, row);
            _mm512_mask_storeu_ps(dst, s0, v0);
            if width > 16 {
                let v1 = _mm512_mask_i32gather_ps::<4>(_mm512_setzero_ps(), g1, idx1, row);
                _mm512_mask_storeu_ps(dst.add(16), s1, v1);
            }
        }
    }
}

/// out[p·width + l] = src[l·lane_stride + p] for l < lanes, p < kc, and zero for
/// lanes ≤ l < width: a panel whose source lanes are contiguous along k (the rows of a
/// row-major A, the columns of a transposed B), transposed eight lanes × eight k steps at a
/// time in registers (unpack, shuffle, 128-bit permute), the k steps past a multiple of 8 one
/// by one.
///
/// # Safety
/// The CPU has AVX2; src[l·lane_stride + p] is readable for l < lanes, p < kc;
/// out[..kc·width] is writable; lanes ≤ width.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn transpose_panel_avx2(
    src: *const f32,
    lane_stride: usize,
    lanes: usize,
    width: usize,
    kc: usize,
    out: *mut f32,
) {
    use std::arch::x86_64::*;
    debug_assert!(lanes <= width);
    let full_steps = kc / 8 * 8;
    // SAFETY (whole body): loads read src[l·lane_stride + p] for live lanes l < lanes and
    // p < kc only; stores write inside out[..kc·width] (see the store below).
    unsafe {
        for group in (0..width).step_by(8) {
            let live = lanes.saturating_sub(group).min(8);
            let span = (width - group).min(8);
            for p0 in (0..full_steps).step_by(8) {
                let mut v = [_mm256_setzero_ps(); 8];
                for (l, slot) in v.iter_mut().enumerate().take(live) {
                    *slot = _mm256_loadu_ps(src.add((group + l) * lane_stride + p0));
                }
                let t = transpose8(v);
                for (j, column) in t.iter().enumerate() {
                    let dst = out.add((p0 + j) * width + group);
                    if span == 8 || (span == width && p0 + j + 1 < kc) {
                        // A panel narrower than 8 (MR = 6: one group) spills 8 − span values
                        // into the next k step's place, which a later store writes over (the
                        // next j, the next block, or the scalar tail): still inside
                        // out[..kc·width]. (With several groups the spill would land on a
                        // group already written, hence `span == width`.)
                        _mm256_storeu_ps(dst, *column);
                    } else {
                        // The panel's last k step: exactly `span` values.
                        let mut lanes8 = [0.0f32; 8];
                        _mm256_storeu_ps(lanes8.as_mut_ptr(), *column);
                        std::ptr::copy_nonoverlapping(lanes8.as_ptr(), dst, span);
                    }
                }
            }
            for p in full_steps..kc {
                for l in 0..span {
                    *out.add(p * width + group + l) = if l < live {
                        *src.add((group + l) * lane_stride + p)
                    } else {
                        0.0
                    };
                }
            }
        }
    }
}

/// The 8 × 8 transpose: lane j of result i is lane i of input j.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn transpose8(r: [std::arch::x86_64::__m256; 8]) -> [std::arch::x86_64::__m256; 8] {
    use std::arch::x86_64::*;
    // Pairs of rows interleaved: (r0[0] r1[0] r0[1] r1[1] | r0[4] r1[4] r0[5] r1[5]), …
    let t0 = _mm256_unpacklo_ps(r[0], r[1]);
    let t1 = _mm256_unpackhi_ps(r[0], r[1]);
    let t2 = _mm256_unpacklo_ps(r[2], r[3]);
    let t3 = _mm256_unpackhi_ps(r[2], r[3]);
    let t4 = _mm256_unpacklo_ps(r[4], r[5]);
    let t5 = _mm256_unpackhi_ps(r[4], r[5]);
    let t6 = _mm256_unpacklo_ps(r[6], r[7]);
    let t7 = _mm256_unpackhi_ps(r[6], r[7]);
    // Quads: (r0[0] r1[0] r2[0] r3[0] | r0[4] r1[4] r2[4] r3[4]), …
    let s0 = _mm256_shuffle_ps::<0x44>(t0, t2);
    let s1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
    let s2 = _mm256_shuffle_ps::<0x44>(t1, t3);
    let s3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
    let s4 = _mm256_shuffle_ps::<0x44>(t4, t6);
    let s5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
    let s6 = _mm256_shuffle_ps::<0x44>(t5, t7);
    let s7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
    // Low halves of rows 0–3 with those of rows 4–7: columns 0–3; high halves: columns 4–7.
    [
        _mm256_permute2f128_ps::<0x20>(s0, s4),
        _mm256_permute2f128_ps::<0x20>(s1, s5),
        _mm256_permute2f128_ps::<0x20>(s2, s6),
        _mm256_permute2f128_ps::<0x20>(s3, s7),
        _mm256_permute2f128_ps::<0x31>(s0, s4),
        _mm256_permute2f128_ps::<0x31>(s1, s5),
        _mm256_permute2f128_ps::<0x31>(s2, s6),
        _mm256_permute2f128_ps::<0x31>(s3, s7),
    ]
}
