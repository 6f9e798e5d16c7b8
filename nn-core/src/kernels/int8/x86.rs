//! The x86 tiles: R rows of A × P panels of B (NR = 16 columns each) over all of k, into exact
//! int32 sums. The VNNI tiles read A's rows in place, four bytes (one group of k) at a time,
//! broadcast to every lane; B's panel groups are 64 bytes (`pack.rs`).
//!
//! `vpdpbusd` multiplies unsigned bytes by signed bytes. The VNNI tiles therefore flip A's sign
//! bit (a XOR 0x80 = a + 128 as an unsigned byte, for every int8 a), sum (a + 128) · b exactly
//! in int32 (`vpdpbusd` does not saturate; `vpdpbusds` would), and subtract 128 · Σ_k b per
//! column at the end, which `PackedS8` computed once.
//!
//! The AVX2 tile has no such instruction: it multiplies int16 pairs with `vpmaddwd`, whose pair
//! sums of products of int8 values (at most 2 · 128² = 32 768) cannot saturate, and adds them
//! with `vpaddd`. Both operands are widened before the k loop, not in it: B once per matrix (the
//! int16 layout of `pack.rs`), A once per row block (`widen_rows`, into a per-thread buffer,
//! `mod.rs`). Sign-extending in the loop (`vpmovsxbw` per B load and per row, as this tile once
//! did, sharing each B load between two rows) kept it on the shuffle port and below the f32
//! FMA rate; widened, the loop is loads, `vpmaddwd` and `vpaddd`, six rows sharing each B load.
//! Six rows × 16 columns (twelve accumulators, two B vectors) ran at the rate of a bare
//! `vpmaddwd` + `vpaddd` chain on Zen 5, about 1.7× the f32 FMA's multiply-adds per second (the
//! `vpaddd` takes pipe slots an FMA does not need); four rows × 24 columns, which loads fewer
//! broadcasts, ran slower.
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

/// AVX2 without VNNI: R ≤ 6 rows × one panel, `vpmaddwd` on int16 (twelve ymm accumulators,
/// two B vectors, one broadcast). Per pair of k: two loads of B (columns 0–7 and 8–15, each lane
/// one column's two values), then per row one `vpbroadcastd` of the row's pair and two
/// `vpmaddwd` + `vpaddd`: 16 multiply-adds per `vpmaddwd`, twice an f32 FMA's 8. The lanes are
/// the columns in order, so the sums are stored as they are; `corr` is not needed (no sign
/// trick).
///
/// # Safety
/// The CPU has AVX2; for r < R, `a + r·lda` has `2·k2` readable i16; `b` has `k2 · 2 · NR`
/// readable i16 (one panel of the int16 layout, `pack.rs`); `out` has `R · NR` writable i32.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn tile_avx2<const R: usize>(
    k2: usize,
    a: *const i16,
    lda: usize,
    b: *const i16,
    out: *mut i32,
) {
    let mut acc = [[_mm256_setzero_si256(); 2]; R];
    for q in 0..k2 {
        // SAFETY: pair q of the panel: 2·NR values at b + 2·NR·q.
        let (b0, b1) = unsafe {
            (
                _mm256_loadu_si256(b.add(q * 2 * NR) as *const _),
                _mm256_loadu_si256(b.add(q * 2 * NR + NR) as *const _),
            )
        };
        for (r, row) in acc.iter_mut().enumerate() {
            // SAFETY: values 2q and 2q + 1 < 2·k2 of row r; an unaligned read.
            let w = unsafe { (a.add(r * lda + 2 * q) as *const i32).read_unaligned() };
            let av = _mm256_set1_epi32(w);
            row[0] = _mm256_add_epi32(row[0], _mm256_madd_epi16(av, b0));
            row[1] = _mm256_add_epi32(row[1], _mm256_madd_epi16(av, b1));
        }
    }
    for (r, row) in acc.iter().enumerate() {
        for (h, &c) in row.iter().enumerate() {
            // SAFETY: `out` has R rows of NR, as the caller vouched.
            unsafe { _mm256_storeu_si256(out.add(r * NR + h * 8) as *mut _, c) };
        }
    }
}

/// The `rows` rows of `a` (`len` int8 each, at stride `lda`) into `out` as int16 (stride `len`):
/// the AVX2 tile's operand, widened once per row block instead of once per panel.
///
/// # Safety
/// The CPU has AVX2; `a + r·lda` has `len` readable bytes and `out + r·len` `len` writable
/// i16 for r < rows.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn widen_rows(a: *const i8, rows: usize, lda: usize, len: usize, out: *mut i16) {
    for r in 0..rows {
        // SAFETY: row r's `len` bytes and `len` i16, as the caller vouched.
        let (src, dst) = unsafe { (a.add(r * lda), out.add(r * len)) };
        let mut i = 0;
        while i + 16 <= len {
            // SAFETY: bytes i..i + 16 of the row, values i..i + 16 of its output.
            unsafe {
                let v = _mm256_cvtepi8_epi16(_mm_loadu_si128(src.add(i) as *const _));
                _mm256_storeu_si256(dst.add(i) as *mut _, v);
            }
            i += 16;
        }
        while i < len {
            // SAFETY: i < len.
            unsafe { *dst.add(i) = i16::from(*src.add(i)) };
            i += 1;
        }
    }
}
