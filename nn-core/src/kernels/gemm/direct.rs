//! Small products without packing (AVX-512 and AVX2): when A·B is a few hundred thousand multiply-adds,
//! packing costs as much as the arithmetic. Here A is broadcast straight from its strided view
//! and B is read in place, row by row (it must be row-major: `cs == 1`), with masked loads for
//! the last columns. For the forward pass that is the weights exactly as the model stores them,
//! so nothing is repacked after an optimizer step.
//!
//! Only used when k ≤ KC: the sum over k is then the same single FMA chain the packed path
//! forms, so results do not depend on which path ran.

use super::MatRef;
use super::{Output, KC};
use crate::kernels::activations::{Activation, InRegister};
#[cfg(target_arch = "x86_64")]
use crate::kernels::simd::{by_rows, lanes16, live, load_lanes, store_lanes};

/// Largest m·k·n taken by the direct path.
pub(super) const DIRECT_MAX_MACS: usize = 1 << 20;

/// True when `direct` should handle this product.
pub(super) fn applies(a: &MatRef<'_>, b: &MatRef<'_>) -> bool {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    b.cs == 1 && k <= KC && k > 0 && m * k * n <= DIRECT_MAX_MACS
}

/// C (at `out`) = A·B (+= with `accumulate`), then the epilogue per row.
///
/// # Safety
/// The CPU has AVX-512F; `out` is writable for a.rows × b.cols with row stride `out.ldc`;
/// `applies(a, b)` holds and both views were bounds-checked (`MatRef::check`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn direct_avx512<A: Activation>(
    a: MatRef<'_>,
    b: MatRef<'_>,
    out: Output,
    accumulate: bool,
    bias: Option<&[f32]>,
    activation: &A,
) {
    for_each_tile(
        a.rows,
        b.cols,
        12,
        32,
        out,
        activation,
        |i0, j0, rows, cols| {
            // SAFETY: rows i0..i0+rows of A, columns j0..j0+cols of B and C exist (checked views,
            // loop bounds); the CPU has AVX-512F (caller); a bias has n values (driver).
            unsafe {
                let args = (a, b, out, i0, j0, cols, accumulate, bias);
                match rows {
                    12 => tile::<12, A>(args),
                    11 => tile::<11, A>(args),
                    10 => tile::<10, A>(args),
                    9 => tile::<9, A>(args),
                    8 => tile::<8, A>(args),
                    7 => tile::<7, A>(args),
                    6 => tile::<6, A>(args),
                    5 => tile::<5, A>(args),
                    4 => tile::<4, A>(args),
                    3 => tile::<3, A>(args),
                    2 => tile::<2, A>(args),
                    _ => tile::<1, A>(args),
                }
            }
        },
    );
}

/// Walks C in `mr` × `nr` tiles (column blocks outside, so a block of B stays in cache across
/// the row tiles), runs `tile(i0, j0, rows, cols)` on each, then the activations that cannot
/// run in registers on the stored tile (bias and pre-activation were done in registers).
#[cfg(target_arch = "x86_64")]
fn for_each_tile<A: Activation>(
    m: usize,
    n: usize,
    mr: usize,
    nr: usize,
    out: Output,
    activation: &A,
    mut tile: impl FnMut(usize, usize, usize, usize),
) {
    for j0 in (0..n).step_by(nr) {
        let cols = nr.min(n - j0);
        for i0 in (0..m).step_by(mr) {
            let rows = mr.min(m - i0);
            tile(i0, j0, rows, cols);
            if A::IN_REGISTER == InRegister::AfterStore {
                let stored = Output { z: None, ..out };
                // SAFETY: the tile lies inside the output the direct path's caller gave.
                unsafe { stored.finish(i0..i0 + rows, j0, cols, None, activation) };
            }
        }
    }
}

type TileArgs<'a> = (
    MatRef<'a>,
    MatRef<'a>,
    Output,
    usize,
    usize,
    usize,
    bool,
    Option<&'a [f32]>,
);

/// R rows × up to 32 columns at (i0, j0): one FMA chain over k per output, in registers; then,
/// still in registers, + C (accumulate), + bias, the pre-activation stored to Z, and relu (or
/// nothing, for linear) before the one store to C. Other activations run after the store.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn tile<const R: usize, A: Activation>(
    (a, b, out, i0, j0, cols, accumulate, bias): TileArgs<'_>,
) {
    use std::arch::x86_64::*;
    let (m0, m1) = (lanes16(cols), lanes16(cols.saturating_sub(16)));
    // SAFETY (whole body): A is read at (i0 + r, p) for r < R, p < k; B at (p, j0 + j) for
    // j < cols through masks; C at (i0 + r, j0 + j) through the same masks: all inside the
    // views and the output, as direct_avx512's caller guarantees.
    unsafe {
        let a0 = a.data.as_ptr().add(i0 * a.rs);
        let b0 = b.data.as_ptr().add(j0);
        let mut acc = [[_mm512_setzero_ps(); 2]; R];
        for p in 0..a.cols {
            let row = b0.add(p * b.rs);
            let bv0 = _mm512_maskz_loadu_ps(m0, row);
            let bv1 = _mm512_maskz_loadu_ps(m1, row.add(16));
            let ap = a0.add(p * a.cs);
            for (r, acc) in acc.iter_mut().enumerate() {
                let av = _mm512_set1_ps(*ap.add(r * a.rs));
                acc[0] = _mm512_fmadd_ps(av, bv0, acc[0]);
                acc[1] = _mm512_fmadd_ps(av, bv1, acc[1]);
            }
        }
        let bias = bias.map(|bias| {
            let at = bias.as_ptr().add(j0);
            (
                _mm512_maskz_loadu_ps(m0, at),
                _mm512_maskz_loadu_ps(m1, at.add(16)),
            )
        });
        let relu = A::IN_REGISTER == InRegister::Relu && !A::ROW_WISE;
        for (r, acc) in acc.iter().enumerate() {
            let at = (i0 + r) * out.ldc + j0;
            let c = out.c.add(at);
            let (mut v0, mut v1) = (acc[0], acc[1]);
            if accumulate {
                v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, c));
                v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, c.add(16)));
            }
            // The same operations, in the same order, as Output::finish: results do not depend
            // on which path ran.
            if let Some((b0, b1)) = bias {
                v0 = _mm512_add_ps(v0, b0);
                v1 = _mm512_add_ps(v1, b1);
            }
            if let Some(z) = out.z {
                _mm512_mask_storeu_ps(z.add(at), m0, v0);
                _mm512_mask_storeu_ps(z.add(at + 16), m1, v1);
            }
            if relu {
                // relu(v) + v·0: NaN for a non-finite v (see `activations`).
                let zero = _mm512_setzero_ps();
                v0 = _mm512_fmadd_ps(v0, zero, _mm512_max_ps(v0, zero));
                v1 = _mm512_fmadd_ps(v1, zero, _mm512_max_ps(v1, zero));
            }
            _mm512_mask_storeu_ps(c, m0, v0);
            _mm512_mask_storeu_ps(c.add(16), m1, v1);
        }
    }
}

/// `direct_avx512` for AVX2: 6-row × 16-column tiles (12 ymm accumulators), the last columns
/// read and written with `vmaskmovps`.
///
/// # Safety
/// The CPU has AVX2 and FMA; otherwise as `direct_avx512`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn direct_avx2<A: Activation>(
    a: MatRef<'_>,
    b: MatRef<'_>,
    out: Output,
    accumulate: bool,
    bias: Option<&[f32]>,
    activation: &A,
) {
    for_each_tile(
        a.rows,
        b.cols,
        6,
        16,
        out,
        activation,
        |i0, j0, rows, cols| {
            // SAFETY: as in direct_avx512, with AVX2 and FMA present (caller).
            unsafe {
                let args = (a, b, out, i0, j0, cols, accumulate, bias);
                by_rows!(rows, cols == 16, tile_avx2::<_, _, A>(args));
            }
        },
    );
}

/// R rows × up to 16 columns at (i0, j0), as `tile` does for AVX-512; FULL tiles (16 columns)
/// use plain loads and stores, the others `vmaskmovps` on the live columns.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn tile_avx2<const R: usize, const FULL: bool, A: Activation>(
    (a, b, out, i0, j0, cols, accumulate, bias): TileArgs<'_>,
) {
    use std::arch::x86_64::*;
    let (m0, m1) = (live(cols), live(cols.saturating_sub(8)));
    // SAFETY (whole body): as in `tile`; masked-off lanes are neither read nor written, and
    // pointers that may pass the end of a row are formed with wrapping_add.
    unsafe {
        let a0 = a.data.as_ptr().add(i0 * a.rs);
        let b0 = b.data.as_ptr().add(j0);
        let mut acc = [[_mm256_setzero_ps(); 2]; R];
        for p in 0..a.cols {
            let row = b0.add(p * b.rs);
            let bv0 = load_lanes!(FULL, row, m0);
            let bv1 = load_lanes!(FULL, row.wrapping_add(8), m1);
            let ap = a0.add(p * a.cs);
            for (r, acc) in acc.iter_mut().enumerate() {
                let av = _mm256_set1_ps(*ap.add(r * a.rs));
                acc[0] = _mm256_fmadd_ps(av, bv0, acc[0]);
                acc[1] = _mm256_fmadd_ps(av, bv1, acc[1]);
            }
        }
        let bias = bias.map(|bias| {
            let at = bias.as_ptr().add(j0);
            (
                load_lanes!(FULL, at, m0),
                load_lanes!(FULL, at.wrapping_add(8), m1),
            )
        });
        let relu = A::IN_REGISTER == InRegister::Relu && !A::ROW_WISE;
        for (r, acc) in acc.iter().enumerate() {
            let at = (i0 + r) * out.ldc + j0;
            let c = out.c.add(at);
            let (mut v0, mut v1) = (acc[0], acc[1]);
            if accumulate {
                v0 = _mm256_add_ps(v0, load_lanes!(FULL, c, m0));
                v1 = _mm256_add_ps(v1, load_lanes!(FULL, c.wrapping_add(8), m1));
            }
            // Output::finish's operations in its order, as in `tile`.
            if let Some((b0, b1)) = bias {
                v0 = _mm256_add_ps(v0, b0);
                v1 = _mm256_add_ps(v1, b1);
            }
            if let Some(z) = out.z {
                store_lanes!(FULL, z.add(at), m0, v0);
                store_lanes!(FULL, z.add(at).wrapping_add(8), m1, v1);
            }
            if relu {
                // relu(v) + v·0: NaN for a non-finite v (see `activations`).
                let zero = _mm256_setzero_ps();
                v0 = _mm256_fmadd_ps(v0, zero, _mm256_max_ps(v0, zero));
                v1 = _mm256_fmadd_ps(v1, zero, _mm256_max_ps(v1, zero));
            }
            store_lanes!(FULL, c, m0, v0);
            store_lanes!(FULL, c.wrapping_add(8), m1, v1);
        }
    }
}
