//! The x86 tiles: R rows of A × P panels of B (NR = 16 columns each) over all of k, into exact
//! int32 sums. A's rows are read in place, four bytes (one group of k) at a time, broadcast to
//! every lane; B's panel groups are 64 bytes (`pack.rs`).
//!
//! `vpdpbusd` multiplies unsigned bytes by signed bytes. The VNNI tiles therefore flip A's sign
//! bit (a XOR 0x80 = a + 128 as an unsigned byte, for every int8 a), sum (a + 128) · b exactly
//! in int32 (`vpdpbusd` does not saturate; `vpdpbusds` would), and subtract 128 · Σ_k b per
//! column at the end, which `PackedS8` computed once. The AVX2 tile has no such instruction:
//! it sign-extends both operands to int16 and uses `vpmaddwd`, whose pair sums of products of
//! int8 values (at most 2 · 128² = 32 768) cannot saturate; the two pair sums of a group are
//! added horizontally once, after the k loop.
// The tiles read through raw pointers whose bounds the callers' SAFETY comments state.

use super::pack::NR;
use std::arch::x86_64::*;

/// One group of four A values at `at`, as an i32.
///
/// # Safety
/// Four bytes readable at `at`.
#[inline(always)]
unsafe fn word(at: *const i8) -> i32 {
    // SAFETY: the caller's; an unaligned read.
    unsafe { (at as *const i32).read_unaligned() }
}

/// AVX512-VNNI: R ≤ 6 rows × P ≤ 2 panels (12 zmm accumulators).
///
/// # Safety
/// The CPU has AVX-512F and AVX512-VNNI; for r < R, `a + r·lda` has `4·k4` readable bytes;
/// `b` has `P · k4 · 64` readable bytes (P consecutive panels); `corr` has `P · NR` readable
/// i32; `out` has `R · P · NR` writable i32 (row stride `P · NR`).
#[target_feature(enable = "avx512f,avx512vnni")]
pub(super) unsafe fn tile_avx512vnni<const R: usize, const P: usize>(
    k4: usize,
    a: *const i8,
    lda: usize,
    b: *const i8,
    corr: *const i32,
    out: *mut i32,
) {
    let flip = _mm512_set1_epi32(0x8080_8080_u32 as i32);
    let mut acc = [[_mm512_setzero_si512(); P]; R];
    let pstride = k4 * 4 * NR;
    for g in 0..k4 {
        let mut bv = [_mm512_setzero_si512(); P];
        for (p, v) in bv.iter_mut().enumerate() {
            // SAFETY: panel p's group g lies inside the P panels the caller vouched for.
            *v = unsafe { _mm512_loadu_si512(b.add(p * pstride + g * 64) as *const _) };
        }
        for (r, row) in acc.iter_mut().enumerate() {
            // SAFETY: 4g + 4 <= 4·k4 bytes of row r.
            let w = unsafe { word(a.add(r * lda + 4 * g)) };
            let av = _mm512_xor_si512(_mm512_set1_epi32(w), flip);
            for (c, &v) in row.iter_mut().zip(&bv) {
                *c = _mm512_dpbusd_epi32(*c, av, v);
            }
        }
    }
    for (r, row) in acc.iter().enumerate() {
        for (p, &c) in row.iter().enumerate() {
            // SAFETY: `corr` has P·NR values and `out` R rows of P·NR, as the caller vouched.
            unsafe {
                let k = _mm512_loadu_si512(corr.add(p * NR) as *const _);
                _mm512_storeu_si512(
                    out.add(r * P * NR + p * NR) as *mut _,
                    _mm512_sub_epi32(c, k),
                );
            }
        }
    }
}

/// AVX-VNNI: R ≤ 4 rows × one panel (two ymm per row, eight accumulators).
///
/// # Safety
/// As [`tile_avx512vnni`] with P = 1, the CPU having AVX2 and AVX-VNNI.
#[target_feature(enable = "avx2,avxvnni")]
pub(super) unsafe fn tile_avxvnni<const R: usize>(
    k4: usize,
    a: *const i8,
    lda: usize,
    b: *const i8,
    corr: *const i32,
    out: *mut i32,
) {
    let flip = _mm256_set1_epi32(0x8080_8080_u32 as i32);
    let mut acc = [[_mm256_setzero_si256(); 2]; R];
    for g in 0..k4 {
        // SAFETY: group g of the panel: 64 bytes at b + 64g.
        let (b0, b1) = unsafe {
            (
                _mm256_loadu_si256(b.add(g * 64) as *const _),
                _mm256_loadu_si256(b.add(g * 64 + 32) as *const _),
            )
        };
        for (r, row) in acc.iter_mut().enumerate() {
            // SAFETY: 4g + 4 <= 4·k4 bytes of row r.
            let w = unsafe { word(a.add(r * lda + 4 * g)) };
            let av = _mm256_xor_si256(_mm256_set1_epi32(w), flip);
            row[0] = _mm256_dpbusd_avx_epi32(row[0], av, b0);
            row[1] = _mm256_dpbusd_avx_epi32(row[1], av, b1);
        }
    }
    for (r, row) in acc.iter().enumerate() {
        for (h, &c) in row.iter().enumerate() {
            // SAFETY: `corr` has NR values and `out` R rows of NR, as the caller vouched.
            unsafe {
                let k = _mm256_loadu_si256(corr.add(h * 8) as *const _);
                _mm256_storeu_si256(out.add(r * NR + h * 8) as *mut _, _mm256_sub_epi32(c, k));
            }
        }
    }
}

/// AVX2 without VNNI: R ≤ 2 rows × one panel, int16 `vpmaddwd`. Each accumulator holds four
/// columns as two pair sums each (k 0–1 and k 2–3 of every group); `corr` is unused (no sign
/// trick).
///
/// # Safety
/// As [`tile_avx512vnni`] with P = 1, the CPU having AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn tile_avx2<const R: usize>(
    k4: usize,
    a: *const i8,
    lda: usize,
    b: *const i8,
    out: *mut i32,
) {
    let mut acc = [[_mm256_setzero_si256(); 4]; R];
    for g in 0..k4 {
        let mut bv = [_mm256_setzero_si256(); 4];
        for (q, v) in bv.iter_mut().enumerate() {
            // SAFETY: 16 of group g's 64 bytes at b + 64g.
            *v = _mm256_cvtepi8_epi16(unsafe {
                _mm_loadu_si128(b.add(g * 64 + q * 16) as *const _)
            });
        }
        for (r, row) in acc.iter_mut().enumerate() {
            // SAFETY: 4g + 4 <= 4·k4 bytes of row r.
            let w = unsafe { word(a.add(r * lda + 4 * g)) };
            // The four values as int16, repeated in every 64-bit lane.
            let av = _mm256_broadcastq_epi64(_mm_cvtepi8_epi16(_mm_cvtsi32_si128(w)));
            for (c, &v) in row.iter_mut().zip(&bv) {
                *c = _mm256_add_epi32(*c, _mm256_madd_epi16(av, v));
            }
        }
    }
    for (r, row) in acc.iter().enumerate() {
        for h in 0..2 {
            // [c0 c1 c4 c5 | c2 c3 c6 c7] → c0..c7.
            let s = _mm256_hadd_epi32(row[2 * h], row[2 * h + 1]);
            let s = _mm256_permute4x64_epi64::<0b11_01_10_00>(s);
            // SAFETY: `out` has R rows of NR, as the caller vouched.
            unsafe { _mm256_storeu_si256(out.add(r * NR + h * 8) as *mut _, s) };
        }
    }
}
