//! Dense's int8 product over float input rows, as Keras 3's `Dense._int8_call` computes it:
//! each row quantized by its abs-max (`inputs_quantizer(inputs, axis=-1)`), the int8 product
//! summed exactly in int32, then `acc / (kernel_scale · input_scale) + bias` in f32 ([`Dequant`]).
//! The activation is the caller's `finish`, run on each block of finished rows while they are
//! in cache.
//!
//! The rows are quantized one block of [`MB`] rows at a time, just before the block's product,
//! into a per-thread buffer whose rows are padded with zeros to whole groups of four k (what the
//! tiles read): no copy of the whole input, no allocation after a thread's first call (so
//! `predict_one` allocates nothing), and any k. Blocks are fixed, so a row's output is the same
//! bits whatever the batch around it and the number of threads.
// Indexing: block offsets are bounded by `rows`, `k` and `n`, asserted at entry.
#![allow(clippy::indexing_slicing)]

use super::{block_rows, quantize_rows, Dequant, Int8Path, PackedS8, MB, PARALLEL_MIN};
use crate::par::prelude::*;
use std::cell::RefCell;

thread_local! {
    /// The quantized rows of the block this thread is on (grown, never shrunk).
    static BLOCK: RefCell<Vec<i8>> = const { RefCell::new(Vec::new()) };
}

/// The kernel and scales of one quantized Dense layer, as the product reads them.
#[derive(Clone, Copy, Debug)]
pub struct DenseS8<'a> {
    /// The int8 kernel (`k × n`), packed.
    pub kernel: &'a PackedS8,
    /// Keras' `kernel_scale`, one per output unit.
    pub kernel_scale: &'a [f32],
    /// The bias, when the layer has one.
    pub bias: Option<&'a [f32]>,
}

/// `out` (`rows × n`) = Dense's int8 output for `x` (`rows × k` floats), then `finish` on each
/// block of whole output rows (the activation, a copy of the pre-activation).
///
/// # Panics
/// If `x` is not `rows × k` for the kernel's k, `out` not `rows × n`, or the scales or bias
/// are not n long.
pub fn dense_s8(
    path: Int8Path,
    x: &[f32],
    rows: usize,
    dense: DenseS8<'_>,
    out: &mut [f32],
    finish: &(dyn Fn(usize, &mut [f32]) + Sync),
) {
    let path = path.runnable();
    let (k, n) = (dense.kernel.k(), dense.kernel.n());
    assert!(
        x.len() == rows * k
            && out.len() == rows * n
            && dense.kernel_scale.len() == n
            && dense.bias.is_none_or(|b| b.len() == n),
        "dense_s8: x {} for {rows}×{k}, out {} for {rows}×{n}",
        x.len(),
        out.len()
    );
    if rows == 0 || n == 0 {
        return;
    }
    let block = |(i, out): (usize, &mut [f32])| {
        let first = i * MB;
        let r = out.len() / n;
        one_block(path, &x[first * k..(first + r) * k], r, dense, out);
        finish(first, out);
    };
    if rows * n * k >= PARALLEL_MIN && rows > MB && crate::par::current_num_threads() > 1 {
        out.par_chunks_mut(MB * n).enumerate().for_each(block);
    } else {
        out.chunks_mut(MB * n).enumerate().for_each(block);
    }
}

/// One block of at most [`MB`] rows: quantize into this thread's buffer, then the product.
fn one_block(path: Int8Path, x: &[f32], rows: usize, dense: DenseS8<'_>, out: &mut [f32]) {
    let lda = 4 * dense.kernel.k().div_ceil(4);
    // Taken out of the thread-local while in use, so that nothing can see it borrowed twice.
    let mut q = BLOCK.with(|b| std::mem::take(&mut *b.borrow_mut()));
    if q.len() < rows * lda {
        q.resize(rows * lda, 0);
    }
    product(path, x, rows, dense, &mut q[..rows * lda], out);
    BLOCK.with(|b| *b.borrow_mut() = q);
}

/// Quantizes `rows` rows of `x` into `q` (rows padded with zeros to whole groups of four k),
/// then the product and its dequantizing epilogue into `out`.
fn product(
    path: Int8Path,
    x: &[f32],
    rows: usize,
    dense: DenseS8<'_>,
    q: &mut [i8],
    out: &mut [f32],
) {
    let k = dense.kernel.k();
    let lda = q.len() / rows.max(1);
    let mut scales = [0.0f32; MB];
    for ((row, qrow), s) in x
        .chunks_exact(k)
        .zip(q.chunks_exact_mut(lda))
        .zip(&mut scales)
    {
        let (values, pad) = qrow.split_at_mut(k);
        quantize_rows(path, row, k, values, std::slice::from_mut(s));
        pad.fill(0);
    }
    let dq = Dequant {
        row_scale: &scales[..rows],
        col_scale: dense.kernel_scale,
        bias: dense.bias,
    };
    block_rows(path, q, rows, lda, dense.kernel, &dq, 0, out);
}
