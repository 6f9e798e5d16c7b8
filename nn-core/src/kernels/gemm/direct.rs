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
use crate::kernels::simd::{
    by_rows, by_rows12, lanes16, live, load_lanes, load_lanes16, store_lanes, store_lanes16,
};

/// Largest m·k·n taken by the direct path.
pub(super) const DIRECT_MAX_MACS: usize = 1 << 20;

/// True when `direct` should handle this product.
pub(super) fn applies(a: &MatRef<'_>, b: &MatRef<'_>) -> bool {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    b.cs == 1 && k <= KC && k > 0 && m * k * n <= DIRECT_MAX_MACS
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

/// The direct path for one instruction set: `$direct` walks C in MR × 2·LANES tiles and runs
/// `$tile`, R rows × two vectors of columns per tile. One template for AVX-512 and AVX2: the
/// same FMA chains in the same order, differing only in vector width, intrinsics, the lane
/// masks (mask registers against `vmaskmovps`) and the row dispatch (`by_rows12!`, one masked
/// tile per row count, against `by_rows!`, whose FULL tiles take plain loads and stores).
macro_rules! direct_kernel {
    (
        $(#[$doc:meta])*
        $direct:ident, $tile:ident, feature = $feature:literal, mr = $mr:literal,
        lanes = $lanes:literal, zero = $zero:ident, broadcast = $broadcast:ident, fma = $fma:ident,
        add = $add:ident, max = $max:ident, mask = $mask:ident, load = $load:ident,
        store = $store:ident, by_rows = $by_rows:ident
    ) => {
        $(#[$doc])*
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $feature)]
        pub(super) unsafe fn $direct<A: Activation>(
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
                $mr,
                2 * $lanes,
                out,
                activation,
                |i0, j0, rows, cols| {
                    // SAFETY: rows i0..i0+rows of A, columns j0..j0+cols of B and C exist
                    // (checked views, loop bounds); the CPU has the instruction set (caller); a
                    // bias has n values (driver).
                    unsafe {
                        let args = (a, b, out, i0, j0, cols, accumulate, bias);
                        $by_rows!(rows, cols == 2 * $lanes, $tile::<_, _, A>(args));
                    }
                },
            );
        }

        /// R rows × up to two vectors of columns at (i0, j0): one FMA chain over k per output,
        /// in registers; then, still in registers, + C (accumulate), + bias, the pre-activation
        /// stored to Z, and relu (or nothing, for linear) before the one store to C. Other
        /// activations run after the store. FULL tiles (every column live) may use plain loads
        /// and stores, the others only touch the live columns.
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $feature)]
        unsafe fn $tile<const R: usize, const FULL: bool, A: Activation>(
            (a, b, out, i0, j0, cols, accumulate, bias): TileArgs<'_>,
        ) {
            use std::arch::x86_64::*;
            let (m0, m1) = ($mask(cols), $mask(cols.saturating_sub($lanes)));
            // SAFETY (whole body): A is read at (i0 + r, p) for r < R, p < k; B at (p, j0 + j)
            // for j < cols through masks; C at (i0 + r, j0 + j) through the same masks: all
            // inside the views and the output, as the direct path's caller guarantees.
            // Masked-off lanes are neither read nor written, and pointers that may pass the end
            // of a row are formed with wrapping_add.
            unsafe {
                let a0 = a.data.as_ptr().add(i0 * a.rs);
                let b0 = b.data.as_ptr().add(j0);
                let mut acc = [[$zero(); 2]; R];
                for p in 0..a.cols {
                    let row = b0.add(p * b.rs);
                    let bv0 = $load!(FULL, row, m0);
                    let bv1 = $load!(FULL, row.wrapping_add($lanes), m1);
                    let ap = a0.add(p * a.cs);
                    for (r, acc) in acc.iter_mut().enumerate() {
                        let av = $broadcast(*ap.add(r * a.rs));
                        acc[0] = $fma(av, bv0, acc[0]);
                        acc[1] = $fma(av, bv1, acc[1]);
                    }
                }
                let bias = bias.map(|bias| {
                    let at = bias.as_ptr().add(j0);
                    (
                        $load!(FULL, at, m0),
                        $load!(FULL, at.wrapping_add($lanes), m1),
                    )
                });
                let relu = A::IN_REGISTER == InRegister::Relu && !A::ROW_WISE;
                for (r, acc) in acc.iter().enumerate() {
                    let at = (i0 + r) * out.ldc + j0;
                    let c = out.c.add(at);
                    let (mut v0, mut v1) = (acc[0], acc[1]);
                    if accumulate {
                        v0 = $add(v0, $load!(FULL, c, m0));
                        v1 = $add(v1, $load!(FULL, c.wrapping_add($lanes), m1));
                    }
                    // The same operations, in the same order, as Output::finish: results do not
                    // depend on which path ran.
                    if let Some((b0, b1)) = bias {
                        v0 = $add(v0, b0);
                        v1 = $add(v1, b1);
                    }
                    if let Some(z) = out.z {
                        $store!(FULL, z.add(at), m0, v0);
                        $store!(FULL, z.add(at).wrapping_add($lanes), m1, v1);
                    }
                    if relu {
                        // relu(v) + v·0: NaN for a non-finite v (see `activations`).
                        let zero = $zero();
                        v0 = $fma(v0, zero, $max(v0, zero));
                        v1 = $fma(v1, zero, $max(v1, zero));
                    }
                    $store!(FULL, c, m0, v0);
                    $store!(FULL, c.wrapping_add($lanes), m1, v1);
                }
            }
        }
    };
}

direct_kernel!(
    /// C (at `out`) = A·B (+= with `accumulate`), then the epilogue per row: 12-row × 32-column
    /// tiles (24 zmm accumulators), the last columns through mask registers.
    ///
    /// # Safety
    /// The CPU has AVX-512F; `out` is writable for a.rows × b.cols with row stride `out.ldc`;
    /// `applies(a, b)` holds and both views were bounds-checked (`MatRef::check`).
    direct_avx512, tile_avx512, feature = "avx512f", mr = 12, lanes = 16,
    zero = _mm512_setzero_ps, broadcast = _mm512_set1_ps, fma = _mm512_fmadd_ps,
    add = _mm512_add_ps, max = _mm512_max_ps, mask = lanes16, load = load_lanes16,
    store = store_lanes16, by_rows = by_rows12
);

direct_kernel!(
    /// `direct_avx512` for AVX2: 6-row × 16-column tiles (12 ymm accumulators), the last columns
    /// read and written with `vmaskmovps`.
    ///
    /// # Safety
    /// The CPU has AVX2 and FMA; otherwise as `direct_avx512`.
    direct_avx2, tile_avx2, feature = "avx2,fma", mr = 6, lanes = 8,
    zero = _mm256_setzero_ps, broadcast = _mm256_set1_ps, fma = _mm256_fmadd_ps,
    add = _mm256_add_ps, max = _mm256_max_ps, mask = live, load = load_lanes,
    store = store_lanes, by_rows = by_rows
);
