//! Int8 inference kernels with Keras 3's `quantize("int8")` semantics: per-row dynamic input
//! quantization and per-output-unit kernel quantization (`quantize.rs`), and an int8 GEMM
//! C = A · B (A `m × k` int8 row-major, B `k × n` int8 packed once, `pack.rs`) summed exactly in
//! int32, with an optional dequantizing epilogue that gives Dense's float32 output before its
//! activation (`acc / (row_scale · col_scale) + bias`, in that order, in f32, as
//! `keras/src/layers/core/dense.py`'s `_int8_call`). The activation is left to the caller.
//!
//! Paths ([`Int8Path`], `path.rs`): AVX512-VNNI and AVX-VNNI (`vpdpbusd` with the +128 sign
//! trick), AVX2 (`vpmaddwd` on int16: B widened once per matrix, A once per row block into a
//! per-thread buffer, 6-row tiles), portable; `x86.rs` and `portable.rs` hold the tiles.
//! Every path gives the same int32 sums (exact integers) and so the same f32 outputs, bit for
//! bit. Rows are cut into fixed blocks of [`MB`] rows, shared among threads for large products;
//! each output element is one tile's sum followed by the same scalar epilogue, whatever the block
//! or thread count.
// Indexing: every index is bounded by m, n, k and the tile geometry, asserted against the
// buffers at entry (`check`), as in `kernels::gemm`.
#![allow(clippy::indexing_slicing)]

mod dense;
mod pack;
mod path;
mod portable;
mod quantize;
#[cfg(target_arch = "x86_64")]
mod x86;

pub use dense::{dense_s8, DenseS8};
pub use pack::{PackedS8, MAX_K, NR};
pub use path::Int8Path;
pub use quantize::{quantize_kernel, quantize_rows, quantize_rows_f32};
#[cfg_attr(not(feature = "bench-internals"), allow(unused_imports))]
pub use quantize::{scale_of, EPSILON, QMAX};

use crate::par::prelude::*;

/// Rows per block: the unit of work a thread takes; a multiple of every tile height.
pub const MB: usize = 48;

/// Below this many multiply-adds (m·k·n) a product runs on the calling thread.
const PARALLEL_MIN: usize = 1 << 21;

/// Dense's dequantizing epilogue: output (i, j) = `acc / (row_scale[i] · col_scale[j]) +
/// bias[j]`, each operation in f32, in Keras' order.
#[derive(Clone, Copy, Debug)]
pub struct Dequant<'a> {
    /// One scale per row of A (the inputs' `abs_max_quantize` scales).
    pub row_scale: &'a [f32],
    /// One scale per column of B (Keras' `kernel_scale`).
    pub col_scale: &'a [f32],
    /// Added after the division, when given (n values).
    pub bias: Option<&'a [f32]>,
}

/// What a finished tile row becomes.
trait Sink<T>: Sync {
    /// Writes `acc` (the exact sums of row `row`, columns `col0..col0 + acc.len()`) into `dst`.
    fn put(&self, row: usize, col0: usize, acc: &[i32], dst: &mut [T]);
}

/// The sums themselves.
#[cfg_attr(not(feature = "bench-internals"), allow(dead_code))] // the tests' and benchmarks' entry
struct Raw;

impl Sink<i32> for Raw {
    fn put(&self, _row: usize, _col0: usize, acc: &[i32], dst: &mut [i32]) {
        dst.copy_from_slice(acc);
    }
}

impl Sink<f32> for Dequant<'_> {
    fn put(&self, row: usize, col0: usize, acc: &[i32], dst: &mut [f32]) {
        let rs = self.row_scale[row];
        let cols = col0..col0 + acc.len();
        let cs = &self.col_scale[cols.clone()];
        match self.bias {
            Some(bias) => {
                for (((d, &v), &c), &b) in dst.iter_mut().zip(acc).zip(cs).zip(&bias[cols]) {
                    *d = v as f32 / (rs * c) + b;
                }
            }
            None => {
                for ((d, &v), &c) in dst.iter_mut().zip(acc).zip(cs) {
                    *d = v as f32 / (rs * c);
                }
            }
        }
    }
}

/// C (`m × n` int32, row-major) = A (`m × k` int8, row-major) · B (packed), exact.
///
/// # Panics
/// If `a.len() != m · k`, `c.len() != m · n` or `b` was packed for another k.
#[cfg_attr(not(feature = "bench-internals"), allow(dead_code))] // the tests' and benchmarks' entry
pub fn gemm_s8_i32(path: Int8Path, a: &[i8], m: usize, k: usize, b: &PackedS8, c: &mut [i32]) {
    drive(path, a, m, k, b, &Raw, c);
}

/// C (`m × n` f32) = Dense's int8 output before the activation: the exact int32 product of A and
/// B, dequantized by `dq` (see [`Dequant`]).
///
/// # Panics
/// As [`gemm_s8_i32`], and if `dq`'s slices are not m, n and n long.
#[cfg_attr(not(feature = "bench-internals"), allow(dead_code))] // the tests' and benchmarks' entry
pub fn gemm_s8_f32(
    path: Int8Path,
    a: &[i8],
    m: usize,
    k: usize,
    b: &PackedS8,
    dq: &Dequant<'_>,
    c: &mut [f32],
) {
    let n = b.n();
    assert!(
        dq.row_scale.len() == m
            && dq.col_scale.len() == n
            && dq.bias.is_none_or(|bias| bias.len() == n),
        "gemm_s8_f32: scales or bias of the wrong length"
    );
    drive(path, a, m, k, b, dq, c);
}

/// The row blocks, on one thread or many.
#[cfg_attr(not(feature = "bench-internals"), allow(dead_code))] // the tests' and benchmarks' entry
fn drive<T: Copy + Default + Send, S: Sink<T>>(
    path: Int8Path,
    a: &[i8],
    m: usize,
    k: usize,
    b: &PackedS8,
    sink: &S,
    c: &mut [T],
) {
    let path = path.runnable();
    let n = b.n();
    assert!(
        a.len() == m * k && c.len() == m * n && b.k() == k,
        "int8 gemm: A {} for {m}×{k}, C {} for {m}×{n}, B packed for k = {}",
        a.len(),
        c.len(),
        b.k()
    );
    if m == 0 || n == 0 {
        return;
    }
    // The tiles read whole groups of four k: rows whose k is not a multiple of 4 are copied
    // once, zero-padded (zeros add nothing, and B's padding is zero too).
    let k4 = k.div_ceil(4);
    let padded;
    let (a, lda) = if k.is_multiple_of(4) {
        (a, k)
    } else {
        let mut p = vec![0i8; m * 4 * k4];
        for (d, s) in p.chunks_exact_mut(4 * k4).zip(a.chunks_exact(k)) {
            d[..k].copy_from_slice(s);
        }
        padded = p;
        (&padded[..], 4 * k4)
    };
    let block = |(i, cb): (usize, &mut [T])| {
        let rows = cb.len() / n;
        block_rows(path, &a[i * MB * lda..], rows, lda, b, sink, i * MB, cb);
    };
    if m * n * k >= PARALLEL_MIN && m > MB && crate::par::current_num_threads() > 1 {
        c.par_chunks_mut(MB * n).enumerate().for_each(block);
    } else {
        c.chunks_mut(MB * n).enumerate().for_each(block);
    }
}

/// Tile height and panels per tile of each path.
fn geometry(path: Int8Path) -> (usize, usize) {
    match path {
        Int8Path::Avx512Vnni => (6, 2),
        Int8Path::AvxVnni | Int8Path::Portable => (4, 1),
        Int8Path::Avx2 => (6, 1),
    }
}

/// The largest tile's sums: 6 rows × 2 panels.
type Acc = [i32; 6 * 2 * NR];

/// Rows `row0..row0 + rows` of C (`c`, `rows × n`) from A's rows `a` (int8, stride `lda`, each
/// with `4·k4` readable bytes, zero past k): for each group of panels, every tile of rows (the
/// panels stay in L1 while the rows stream). The AVX2 path first widens the block's rows to
/// int16 in a per-thread buffer (see `x86.rs`); the others read them in place.
#[allow(clippy::too_many_arguments)]
fn block_rows<T: Copy + Default, S: Sink<T>>(
    path: Int8Path,
    a: &[i8],
    rows: usize,
    lda: usize,
    b: &PackedS8,
    sink: &S,
    row0: usize,
    c: &mut [T],
) {
    #[cfg(target_arch = "x86_64")]
    if path == Int8Path::Avx2 {
        block_rows_avx2(a, rows, lda, b, sink, row0, c);
        return;
    }
    let k4 = b.k4();
    sweep(path, rows, b, sink, row0, c, |r0, rr, p0, pc, acc| {
        let a_rows = &a[r0 * lda..(r0 + rr - 1) * lda + 4 * k4];
        tile(path, rr, pc, k4, a_rows, lda, b, p0, acc);
    });
}

/// The loops of [`block_rows`]: `tile(r0, rr, p0, pc, acc)` leaves the sums of rows
/// `r0..r0 + rr` × panels `p0..p0 + pc` in `acc` (row stride `pc · NR`), which go to the sink
/// as whole column runs.
fn sweep<T: Copy + Default, S: Sink<T>>(
    path: Int8Path,
    rows: usize,
    b: &PackedS8,
    sink: &S,
    row0: usize,
    c: &mut [T],
    mut tile: impl FnMut(usize, usize, usize, usize, &mut Acc),
) {
    let n = b.n();
    let (mr, pmax) = geometry(path);
    let mut acc = [0i32; 6 * 2 * NR];
    for p0 in (0..b.panels()).step_by(pmax) {
        let pc = pmax.min(b.panels() - p0);
        let col0 = p0 * NR;
        let cols = (pc * NR).min(n - col0);
        for r0 in (0..rows).step_by(mr) {
            let rr = mr.min(rows - r0);
            tile(r0, rr, p0, pc, &mut acc);
            for r in 0..rr {
                let out = &mut c[(r0 + r) * n + col0..][..cols];
                sink.put(row0 + r0 + r, col0, &acc[r * pc * NR..][..cols], out);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
thread_local! {
    /// The AVX2 path's row block in int16, per thread, grown once and reused: no allocation
    /// per call after the first.
    static WIDE_A: std::cell::RefCell<Vec<i16>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// [`block_rows`] on the AVX2 path: the rows widened to int16 once (`4·k4` values each, the
/// zeros past k included), then 6-row tiles against B's int16 panels. The widened rows live in
/// this thread's buffer while the sink runs: a sink must not start another int8 product on the
/// same thread (the buffer's `RefCell` would panic rather than be overwritten).
#[cfg(target_arch = "x86_64")]
fn block_rows_avx2<T: Copy + Default, S: Sink<T>>(
    a: &[i8],
    rows: usize,
    lda: usize,
    b: &PackedS8,
    sink: &S,
    row0: usize,
    c: &mut [T],
) {
    use x86::{tile_avx2, widen_rows};
    if rows == 0 {
        return;
    }
    let len = 4 * b.k4();
    assert!(a.len() >= (rows - 1) * lda + len);
    // One panel: 2·k4 pairs of 2·NR values.
    let panels = &b.wide_panels_from(0)[..b.panels() * len * NR];
    WIDE_A.with_borrow_mut(|wide| {
        if wide.len() < rows * len {
            wide.resize(rows * len, 0);
        }
        // SAFETY: the path was listed by `Int8Path::available`, so the CPU has AVX2; `a` holds
        // `rows` rows of `len` bytes at stride `lda` (asserted above) and `wide` at least
        // `rows · len` values.
        unsafe { widen_rows(a.as_ptr(), rows, lda, len, wide.as_mut_ptr()) };
        let wide = &wide[..rows * len];
        sweep(
            Int8Path::Avx2,
            rows,
            b,
            sink,
            row0,
            c,
            |r0, rr, p0, _, acc| {
                let ar = &wide[r0 * len..(r0 + rr) * len];
                let bp = &panels[p0 * len * NR..][..len * NR];
                let (ap, bp, op, k2) = (ar.as_ptr(), bp.as_ptr(), acc.as_mut_ptr(), len / 2);
                // SAFETY: the CPU has AVX2 (above); `ar` holds rr rows of `len` = 2·k2 values at
                // stride `len`, `bp` one int16 panel of k2 · 2 · NR values, `acc` 6·2·NR ≥ rr·NR;
                // rr ≤ 6 (`geometry`), which the arms below match exactly.
                unsafe {
                    match rr {
                        6 => tile_avx2::<6>(k2, ap, len, bp, op),
                        5 => tile_avx2::<5>(k2, ap, len, bp, op),
                        4 => tile_avx2::<4>(k2, ap, len, bp, op),
                        3 => tile_avx2::<3>(k2, ap, len, bp, op),
                        2 => tile_avx2::<2>(k2, ap, len, bp, op),
                        _ => tile_avx2::<1>(k2, ap, len, bp, op),
                    }
                }
            },
        );
    });
}

/// One tile: `rr` rows of `a` (stride `lda`, `4·k4` bytes each) × panels `p0..p0 + pc` into
/// `acc` (row stride `pc · NR`).
#[allow(clippy::too_many_arguments)]
fn tile(
    path: Int8Path,
    rr: usize,
    pc: usize,
    k4: usize,
    a: &[i8],
    lda: usize,
    b: &PackedS8,
    p0: usize,
    acc: &mut Acc,
) {
    let panels = &b.panels_from(p0)[..pc * k4 * 4 * NR];
    let corr = &b.correction_from(p0)[..pc * NR];
    assert!(rr >= 1 && a.len() >= (rr - 1) * lda + 4 * k4);
    #[cfg(target_arch = "x86_64")]
    {
        use x86::{tile_avx512vnni, tile_avxvnni};
        let (ap, bp, kp, op) = (a.as_ptr(), panels.as_ptr(), corr.as_ptr(), acc.as_mut_ptr());
        // SAFETY: the path was listed by `Int8Path::available`, so the CPU has its features;
        // `a` holds rr rows of 4·k4 bytes at stride lda (asserted above), `panels` pc panels,
        // `corr` pc·NR values, `acc` 6·2·NR ≥ rr·pc·NR values; rr ≤ the path's tile height
        // and pc ≤ its panel count (`geometry`), which the arms below match exactly.
        unsafe {
            match (path, rr, pc) {
                (Int8Path::Avx512Vnni, 6, 2) => tile_avx512vnni::<6, 2>(k4, ap, lda, bp, kp, op),
                (Int8Path::Avx512Vnni, 5, 2) => tile_avx512vnni::<5, 2>(k4, ap, lda, bp, kp, op),
                (Int8Path::Avx512Vnni, 4, 2) => tile_avx512vnni::<4, 2>(k4, ap, lda, bp, kp, op),
                (Int8Path::Avx512Vnni, 3, 2) => tile_avx512vnni::<3, 2>(k4, ap, lda, bp, kp, op),
                (Int8Path::Avx512Vnni, 2, 2) => tile_avx512vnni::<2, 2>(k4, ap, lda, bp, kp, op),
                (Int8Path::Avx512Vnni, _, 2) => tile_avx512vnni::<1, 2>(k4, ap, lda, bp, kp, op),
                (Int8Path::Avx512Vnni, 6, _) => tile_avx512vnni::<6, 1>(k4, ap, lda, bp, kp, op),
                (Int8Path::Avx512Vnni, 5, _) => tile_avx512vnni::<5, 1>(k4, ap, lda, bp, kp, op),
                (Int8Path::Avx512Vnni, 4, _) => tile_avx512vnni::<4, 1>(k4, ap, lda, bp, kp, op),
                (Int8Path::Avx512Vnni, 3, _) => tile_avx512vnni::<3, 1>(k4, ap, lda, bp, kp, op),
                (Int8Path::Avx512Vnni, 2, _) => tile_avx512vnni::<2, 1>(k4, ap, lda, bp, kp, op),
                (Int8Path::Avx512Vnni, _, _) => tile_avx512vnni::<1, 1>(k4, ap, lda, bp, kp, op),
                (Int8Path::AvxVnni, 4, _) => tile_avxvnni::<4>(k4, ap, lda, bp, kp, op),
                (Int8Path::AvxVnni, 3, _) => tile_avxvnni::<3>(k4, ap, lda, bp, kp, op),
                (Int8Path::AvxVnni, 2, _) => tile_avxvnni::<2>(k4, ap, lda, bp, kp, op),
                (Int8Path::AvxVnni, _, _) => tile_avxvnni::<1>(k4, ap, lda, bp, kp, op),
                // The AVX2 path has its own loop (`block_rows_avx2`); were it sent here, the
                // portable tile reads the same int8 panels and gives the same sums.
                (Int8Path::Avx2 | Int8Path::Portable, _, _) => {
                    portable::tile(rr, k4, a, lda, panels, acc)
                }
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (path, corr);
        portable::tile(rr, k4, a, lda, panels, acc);
    }
}
