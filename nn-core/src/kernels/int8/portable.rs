//! The plain-Rust tile: the same packed operands, summed in int32 without the sign trick.
// Indexing: bounded by the slice lengths the caller (`mod.rs`) passes.
#![allow(clippy::indexing_slicing)]

use super::pack::NR;

/// Rows `rows` of A (each `4·k4` bytes at stride `lda` in `a`) × one panel `b`
/// (`k4 · 4 · NR` bytes) into `out` (`rows` rows of NR).
pub(super) fn tile(rows: usize, k4: usize, a: &[i8], lda: usize, b: &[i8], out: &mut [i32]) {
    for r in 0..rows {
        let row = &a[r * lda..r * lda + 4 * k4];
        let mut acc = [0i32; NR];
        for (aq, bg) in row.chunks_exact(4).zip(b.chunks_exact(4 * NR)) {
            for (c, bc) in acc.iter_mut().zip(bg.chunks_exact(4)) {
                *c += aq
                    .iter()
                    .zip(bc)
                    .map(|(&x, &y)| i32::from(x) * i32::from(y))
                    .sum::<i32>();
            }
        }
        out[r * NR..(r + 1) * NR].copy_from_slice(&acc);
    }
}
