//! The x86 vector toolbox the kernels share: lane masks for a partial register, loads and stores
//! through them, and the dispatch from a run-time tile height to a const-generic tile.
//!
//! A kernel's last tile of a row is usually narrower than its register width. AVX-512 masks
//! such a tile with a mask register; AVX2 has none, so its partial registers go through
//! `vmaskmovps` with a lane mask built here. Tiles whose columns are all live take plain
//! loads and stores instead (`FULL`), which is what makes the common case as fast as before.
//! x86_64 only: `kernels/mod.rs` compiles this module for that target alone.

use std::arch::x86_64::*;

/// Lanes `0..count` (at most 16) of a 16-lane register, as an AVX-512 mask.
#[inline(always)]
pub(crate) fn lanes16(count: usize) -> __mmask16 {
    ((1u32 << count.min(16)) - 1) as __mmask16
}

/// Lanes `0..count` (at most 8) of an eight-lane register, as a `vmaskmovps` mask.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) fn live(count: usize) -> __m256i {
    _mm256_cmpgt_epi32(
        _mm256_set1_epi32(count.min(8) as i32),
        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
    )
}

/// Eight lanes at `at`: all of them when `FULL` (the mask is then ignored), else the lanes the
/// `vmaskmovps` mask enables, zeros elsewhere. A macro rather than a function: the tiles'
/// `FULL` branch must fold away inside the caller's `#[target_feature]` body (a helper function
/// measured 4–7 % slower on the small Conv2D rows). Needs `std::arch::x86_64::*` and an unsafe
/// block whose SAFETY covers the enabled lanes.
macro_rules! load_lanes {
    ($full:expr, $at:expr, $mask:expr) => {
        if $full {
            _mm256_loadu_ps($at)
        } else {
            _mm256_maskload_ps($at, $mask)
        }
    };
}
pub(crate) use load_lanes;

/// Stores eight lanes at `at`: all of them when `FULL`, else the lanes the mask enables; as
/// `load_lanes!`.
macro_rules! store_lanes {
    ($full:expr, $at:expr, $mask:expr, $v:expr) => {
        if $full {
            _mm256_storeu_ps($at, $v)
        } else {
            _mm256_maskstore_ps($at, $mask, $v)
        }
    };
}
pub(crate) use store_lanes;

/// Calls `tile::<R, FLAG, ..>(args)` for a run-time row count (1 to 6, the AVX2 tiles' MR) and a
/// run-time flag: the tiles keep their accumulators in an `[_; R]` array, which stays in
/// registers only when R is a constant. A count outside 2..=6 takes the one-row tile. Generic
/// arguments after the two (a type such as `A`, or a const such as `true`) pass through as they
/// are.
macro_rules! by_rows {
    ($rows:expr, $flag:expr, $tile:ident::<_, _ $(, $g:tt)*>($($arg:expr),*)) => {
        match ($rows, $flag) {
            (6, true) => $tile::<6, true $(, $g)*>($($arg),*),
            (6, false) => $tile::<6, false $(, $g)*>($($arg),*),
            (5, true) => $tile::<5, true $(, $g)*>($($arg),*),
            (5, false) => $tile::<5, false $(, $g)*>($($arg),*),
            (4, true) => $tile::<4, true $(, $g)*>($($arg),*),
            (4, false) => $tile::<4, false $(, $g)*>($($arg),*),
            (3, true) => $tile::<3, true $(, $g)*>($($arg),*),
            (3, false) => $tile::<3, false $(, $g)*>($($arg),*),
            (2, true) => $tile::<2, true $(, $g)*>($($arg),*),
            (2, false) => $tile::<2, false $(, $g)*>($($arg),*),
            (_, true) => $tile::<1, true $(, $g)*>($($arg),*),
            (_, false) => $tile::<1, false $(, $g)*>($($arg),*),
        }
    };
}
pub(crate) use by_rows;

/// `load_lanes!` for a sixteen-lane AVX-512 register: a mask register costs a load of all lanes
/// nothing, so every load goes through the mask and `FULL` is ignored (evaluated, no more); the
/// same arguments let one kernel template take either width. Zeros where the mask is off.
macro_rules! load_lanes16 {
    ($full:expr, $at:expr, $mask:expr) => {{
        let _ = $full;
        _mm512_maskz_loadu_ps($mask, $at)
    }};
}
pub(crate) use load_lanes16;

/// Stores the lanes of a sixteen-lane register that the mask enables, or all sixteen when
/// `FULL`. Unlike a load, a masked store is not free when outputs stream to memory: the
/// implicit convolution's full tiles (which pass `FULL` = true; `by_rows12!` and `by_rows8!` tiles
/// never do)
/// measured 28×28×1 → 32 forward+backward (y and z written) at 35 GFLOP/s with masked stores
/// against 55 with plain ones, and 13×13×32 → 64 at 172 against 212 (Zen 5, medians of 3).
macro_rules! store_lanes16 {
    ($full:expr, $at:expr, $mask:expr, $v:expr) => {
        if $full {
            _mm512_storeu_ps($at, $v)
        } else {
            _mm512_mask_storeu_ps($at, $mask, $v)
        }
    };
}
pub(crate) use store_lanes16;

/// `by_rows!` for the AVX-512 GEMM tiles (MR 12): a
/// run-time row count 1 to 12 to a const R, `FULL` always false (the sixteen-lane loads and
/// stores are masked, see `load_lanes16!`), so one tile per row count, not two. A count outside
/// 2..=12 takes the one-row tile.
macro_rules! by_rows12 {
    ($rows:expr, $flag:expr, $tile:ident::<_, _ $(, $g:tt)*>($($arg:expr),*)) => {{
        let _ = $flag;
        match $rows {
            12 => $tile::<12, false $(, $g)*>($($arg),*),
            11 => $tile::<11, false $(, $g)*>($($arg),*),
            10 => $tile::<10, false $(, $g)*>($($arg),*),
            9 => $tile::<9, false $(, $g)*>($($arg),*),
            8 => $tile::<8, false $(, $g)*>($($arg),*),
            7 => $tile::<7, false $(, $g)*>($($arg),*),
            6 => $tile::<6, false $(, $g)*>($($arg),*),
            5 => $tile::<5, false $(, $g)*>($($arg),*),
            4 => $tile::<4, false $(, $g)*>($($arg),*),
            3 => $tile::<3, false $(, $g)*>($($arg),*),
            2 => $tile::<2, false $(, $g)*>($($arg),*),
            _ => $tile::<1, false $(, $g)*>($($arg),*),
        }
    }};
}
pub(crate) use by_rows12;

/// `by_rows12!` for the implicit convolution's 8-row AVX-512 tiles: a row count 1 to 8 to a
/// const R (`FULL` false, as there), so no tile taller than the tile's row pointers is built.
/// A count outside 2..=8 takes the one-row tile.
macro_rules! by_rows8 {
    ($rows:expr, $flag:expr, $tile:ident::<_, _ $(, $g:tt)*>($($arg:expr),*)) => {{
        let _ = $flag;
        match $rows {
            8 => $tile::<8, false $(, $g)*>($($arg),*),
            7 => $tile::<7, false $(, $g)*>($($arg),*),
            6 => $tile::<6, false $(, $g)*>($($arg),*),
            5 => $tile::<5, false $(, $g)*>($($arg),*),
            4 => $tile::<4, false $(, $g)*>($($arg),*),
            3 => $tile::<3, false $(, $g)*>($($arg),*),
            2 => $tile::<2, false $(, $g)*>($($arg),*),
            _ => $tile::<1, false $(, $g)*>($($arg),*),
        }
    }};
}
pub(crate) use by_rows8;
