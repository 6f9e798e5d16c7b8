//! A packed, cache-blocked SGEMM: C (m×n, row-major) = A (m×k) · B (k×n), with a fused epilogue
//! (bias, pre-activation copy, element-wise activation) applied to each output tile right after
//! its last k-block: in registers for a full tile (bias, copy, relu; see `TileEpilogue`), and
//! for edge tiles and the other activations on the stored tile while it is in L1.
//!
//! The loops are BLIS's, arranged for a row-major C: columns in NC blocks, k in KC blocks (the
//! packed KC×NC block of B stays in L2), rows in MC blocks of packed A, then for each MR-row A
//! panel (KC×MR, 12 KB, kept in L1) a sweep over the NR-column B panels streamed from L2, with
//! the MR×NR register-tile microkernel of the chosen ISA. Keeping the small broadcast panel in
//! L1 and streaming the wide vector panel is BLIS's own choice for its Skylake-X kernel; the
//! other way round (a 32 KB B panel pinned in a 48 KB L1) measured 70 against 105 GFLOP/s at
//! 1024², where C's 4 KB row stride keeps evicting the B panel. A and B are strided views, so
//! Xᵀ·dZ and dZ·Wᵀ are read transposed by the packing and never materialised.
//!
//! Every output element is computed by one microkernel call sequence whose order depends only on
//! k, never on how rows are split among threads, so results are bit-identical for any thread count.
// Indexing here (and in `direct`, `gemv`, `pack`, `portable`, `x86`) stays bounds-checked
// rather than `get`-based: every index is bounded by m, n, k and the MR/NR/KC/MC/NC blocking,
// which `gemm`/`gemv`/`row_dots` assert against the buffers' lengths at entry (and which the
// layers take from shapes `sequential!` checked at compile time). The tests run odd sizes
// against `kernels::reference`. A checked index is the safety net that turns an internal bug
// into a panic rather than a wrong result or UB next to the `unsafe` microkernels.
#![allow(clippy::indexing_slicing)]

// The AVX-512/AVX2 microkernels and the direct (unpacked) path exist on x86-64 only; other
// targets take the portable kernel (NEON on aarch64, simd128 or scalar on wasm32).
#[cfg(target_arch = "x86_64")]
mod direct;
mod gemv;
mod pack;
mod portable;
#[cfg(target_arch = "x86_64")]
mod x86;

#[cfg(target_arch = "x86_64")]
use x86::{avx2, avx512};

use gemv::row_dots;
pub use gemv::{gemv, gemv_fixed};

use super::activations::{Activation, InRegister};
use super::isa::Isa;
use crate::par::prelude::*;
use std::cell::RefCell;

/// A read-only strided matrix: element (i, j) is `data[i * rs + j * cs]`.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    /// Distance between rows.
    pub rs: usize,
    /// Distance between columns.
    pub cs: usize,
}

impl<'a> MatRef<'a> {
    /// A row-major `rows × cols` matrix.
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        MatRef {
            data,
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }

    /// The transpose, as a view.
    pub fn t(self) -> Self {
        MatRef {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
        }
    }

    /// Panics unless every element lies inside `data`: the one bounds check the packing relies on.
    fn check(&self, what: &str) {
        if self.rows > 0 && self.cols > 0 {
            let last = (self.rows - 1) * self.rs + (self.cols - 1) * self.cs;
            assert!(
                last < self.data.len(),
                "gemm: {what} view reaches past its data"
            );
        }
    }
}

/// What happens to a finished output tile.
#[derive(Debug)]
pub struct Epilogue<'a, A: Activation> {
    /// Added to every row.
    pub bias: Option<&'a [f32]>,
    /// Applied element-wise after the bias (ignored for row-wise activations: the caller applies
    /// them once whole rows exist).
    pub activation: &'a A,
    /// Receives the pre-activation (m×n, row-major) when given.
    pub pre_activation: Option<&'a mut [f32]>,
}

/// What a microkernel does to a full tile after its last k-block, in registers and in
/// `Output::finish`'s order: + bias, store the pre-activation, relu, then the one store to C.
#[derive(Clone, Copy)]
pub(crate) struct TileEpilogue {
    /// The NR bias values of the tile's columns, or null.
    pub(crate) bias: *const f32,
    /// The tile's place in the pre-activation buffer (row stride `ldc`), or null.
    pub(crate) z: *mut f32,
    /// Apply max(v, 0) before the store (relu).
    pub(crate) relu: bool,
}

/// A register-tile microkernel: C[0..MR][0..NR] (=, or += when `accumulate`) the product of an
/// MR-row packed A panel and an NR-column packed B panel over `kc`, then `finish` if given.
pub(crate) trait Microkernel {
    const MR: usize;
    const NR: usize;
    /// The instruction set the kernel needs (and so the CPU has when it runs). Read by the
    /// x86-64 paths only (the direct path, AVX-512 gathers in the packing).
    #[cfg(target_arch = "x86_64")]
    const ISA: Isa;
    /// # Safety
    /// `a` holds `kc·MR` and `b` `kc·NR` readable values; `c` is writable at `r·ldc + j` for
    /// r < MR, j < NR; so are `finish.z` (if not null) and `finish.bias` readable at j < NR;
    /// the CPU has the kernel's instruction set.
    unsafe fn run(
        kc: usize,
        a: *const f32,
        b: *const f32,
        c: *mut f32,
        ldc: usize,
        accumulate: bool,
        finish: Option<TileEpilogue>,
    );
}

/// k per block: a KC×MR A panel (12 KB with MR = 12) stays in the 48 KB L1 while B streams by.
/// 192, 384 and 512 measured the same within this machine's noise.
pub(crate) const KC: usize = 256;
/// Rows per packed A block (384 KB): bounds the A packing buffer.
const MC: usize = 384;
/// Columns per packed B block: KC×NC floats (1 MB) stay in the 2 MB L2.
const NC: usize = 1024;
/// The largest MR × NR of any microkernel (AVX-512's 12 × 32).
const MAX_TILE: usize = 12 * 32;
/// Below this many multiply-adds a GEMM stays on the calling thread: fork/join costs more.
pub const PARALLEL_MIN_MACS: usize = 1 << 21;

/// C = A·B (or C += A·B when `accumulate`), no epilogue.
pub fn gemm(isa: Isa, a: MatRef<'_>, b: MatRef<'_>, c: &mut [f32], accumulate: bool) {
    gemm_fused(
        isa,
        a,
        b,
        c,
        accumulate,
        Epilogue {
            bias: None,
            activation: &super::activations::Linear,
            pre_activation: None,
        },
    );
}

/// C = act(A·B + bias) (with `accumulate`, A·B is added to C first), the pre-activation copied out
/// when asked.
pub fn gemm_fused<A: Activation>(
    isa: Isa,
    a: MatRef<'_>,
    b: MatRef<'_>,
    c: &mut [f32],
    accumulate: bool,
    epilogue: Epilogue<'_, A>,
) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 if is_x86_feature_detected!("avx512f") => {
            driver::<avx512::Kernel, A>(a, b, c, accumulate, epilogue)
        }
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") => {
            driver::<avx2::Kernel, A>(a, b, c, accumulate, epilogue)
        }
        _ => driver::<portable::Kernel, A>(a, b, c, accumulate, epilogue),
    }
}

thread_local! {
    /// Packing buffers, per thread, grown once and reused: no allocation per call.
    static PACKS: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

fn driver<K: Microkernel, A: Activation>(
    a: MatRef<'_>,
    b: MatRef<'_>,
    c: &mut [f32],
    accumulate: bool,
    epilogue: Epilogue<'_, A>,
) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(b.rows, k, "gemm: inner dimensions differ");
    assert_eq!(c.len(), m * n, "gemm: C is not m × n");
    a.check("A");
    b.check("B");
    if let Some(bias) = epilogue.bias {
        assert_eq!(bias.len(), n, "gemm: bias is not n long");
    }
    if let Some(z) = epilogue.pre_activation.as_deref() {
        assert_eq!(z.len(), m * n, "gemm: pre-activation is not m × n");
    }
    if m == 0 || n == 0 {
        return;
    }
    let Epilogue {
        bias,
        activation,
        pre_activation,
    } = epilogue;

    if n == 1 && a.cs == 1 && b.rs == 1 && !accumulate && k > 0 {
        // One output per row (a sigmoid head): a dot product per row, vectorised along k; a
        // tile would use one lane in NR. `gemv` takes the same form, so a row's result does not
        // depend on whether it came alone or in a batch.
        row_dots(a.data, a.rs, k, b.data, c);
        let out = Output {
            c: c.as_mut_ptr(),
            z: pre_activation.map(|z| z.as_mut_ptr()),
            ldc: 1,
        };
        // SAFETY: rows 0..m of the m × 1 buffers whose lengths were checked above.
        unsafe { out.finish(0..m, 0, 1, bias, activation) };
        return;
    }

    let out = Output {
        c: c.as_mut_ptr(),
        z: pre_activation.map(|z| z.as_mut_ptr()),
        ldc: n,
    };

    #[cfg(target_arch = "x86_64")]
    if direct::applies(&a, &b) {
        match K::ISA {
            // SAFETY: K is the AVX-512 kernel, so the CPU has AVX-512F (gemm_fused detected
            // it); `out` covers the m × n buffers whose lengths were checked; the views were
            // checked; `applies` holds.
            Isa::Avx512 => unsafe {
                return direct::direct_avx512(a, b, out, accumulate, bias, activation);
            },
            // SAFETY: as above, K being the AVX2 kernel (AVX2 and FMA detected).
            Isa::Avx2 => unsafe {
                return direct::direct_avx2(a, b, out, accumulate, bias, activation);
            },
            Isa::Portable => {}
        }
    }

    // Threads split the output. Splitting rows makes every thread pack all of B, splitting
    // columns all of A: split along the dimension whose other operand is smaller.
    let threads = crate::par::current_num_threads();
    let parallel = m * n * k >= PARALLEL_MIN_MACS && threads > 1;
    let by_columns = n > m;
    let (extent, unit) = if by_columns { (n, K::NR) } else { (m, K::MR) };
    let parts = if parallel {
        threads.min(extent.div_ceil(unit))
    } else {
        1
    };
    let per_part = extent.div_ceil(parts).div_ceil(unit) * unit;
    let task = |i: usize| {
        let start = i * per_part;
        if start >= extent {
            return;
        }
        let len = per_part.min(extent - start);
        let (a_part, b_part, out_part, bias_part) = if by_columns {
            let b_part = MatRef {
                data: &b.data[start * b.cs..],
                cols: len,
                ..b
            };
            (
                a,
                b_part,
                out.offset(start),
                bias.map(|b| &b[start..start + len]),
            )
        } else {
            let a_part = MatRef {
                data: &a.data[start * a.rs..],
                rows: len,
                ..a
            };
            (a_part, b, out.offset(start * n), bias)
        };
        PACKS.with(|packs| {
            let (pa, pb) = &mut *packs.borrow_mut();
            // SAFETY: each part writes only its own rows (or columns) of C and Z: the parts
            // cover disjoint ranges of `extent`, and `out_part` points at the part's first one,
            // inside the m × n buffers whose lengths were checked above.
            unsafe {
                part::<K, A>(
                    a_part, b_part, out_part, accumulate, bias_part, activation, pa, pb,
                );
            }
        });
    };
    if parts > 1 {
        (0..parts).into_par_iter().for_each(task);
    } else {
        task(0);
    }
}

/// Where a part writes: C and the optional pre-activation copy, row stride `ldc`.
#[derive(Clone, Copy)]
pub(crate) struct Output {
    pub(crate) c: *mut f32,
    pub(crate) z: Option<*mut f32>,
    pub(crate) ldc: usize,
}

// SAFETY: an Output is only handed to parts that write disjoint regions of the buffers it points
// into (see the SAFETY note in `driver`), and those buffers outlive the parallel loop.
unsafe impl Send for Output {}
// SAFETY: as for Send: shared across tasks that write disjoint regions only.
unsafe impl Sync for Output {}

impl Output {
    /// The epilogue on rows `rows`, columns `col .. col + cols` of a finished block.
    ///
    /// # Safety
    /// The block lies inside this output's region, which no other thread touches meanwhile.
    pub(crate) unsafe fn finish<A: Activation>(
        &self,
        rows: std::ops::Range<usize>,
        col: usize,
        cols: usize,
        bias: Option<&[f32]>,
        activation: &A,
    ) {
        let bias = bias.map(|b| &b[col..col + cols]);
        for r in rows {
            let at = r * self.ldc + col;
            // SAFETY: row r's columns lie inside the region (the caller's contract).
            let (c_row, z_row) = unsafe {
                (
                    std::slice::from_raw_parts_mut(self.c.add(at), cols),
                    self.z
                        .map(|z| std::slice::from_raw_parts_mut(z.add(at), cols)),
                )
            };
            finish_row(c_row, bias, activation, z_row);
        }
    }

    /// The same output, `elements` further on (wrapping_add: computing it is never UB; the
    /// caller keeps it inside the buffers before writing through it).
    fn offset(self, elements: usize) -> Output {
        Output {
            c: self.c.wrapping_add(elements),
            z: self.z.map(|z| z.wrapping_add(elements)),
            ldc: self.ldc,
        }
    }
}

/// One thread's share: `a.rows × b.cols` of the output, at `out`.
///
/// # Safety
/// `out.c` (and `out.z`) must be writable at `r · out.ldc + j` for r < a.rows, j < b.cols, and
/// no other thread may touch those elements meanwhile.
#[allow(clippy::too_many_arguments)]
unsafe fn part<K: Microkernel, A: Activation>(
    a: MatRef<'_>,
    b: MatRef<'_>,
    out: Output,
    accumulate: bool,
    bias: Option<&[f32]>,
    activation: &A,
    pa: &mut Vec<f32>,
    pb: &mut Vec<f32>,
) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    let (mr, nr) = (K::MR, K::NR);
    let ldc = out.ldc;
    // Scratch for edge tiles, on the stack: no allocation per call.
    let mut tile = [0.0f32; MAX_TILE];
    assert!(
        mr * nr <= MAX_TILE,
        "microkernel tile larger than the scratch"
    );
    for jc in (0..n).step_by(NC) {
        let nc = NC.min(n - jc);
        // k = 0: no product; the tile is zero (or C as it is) before the epilogue.
        let k_blocks = if k == 0 { 1 } else { k.div_ceil(KC) };
        for kb in 0..k_blocks {
            let pc = kb * KC;
            let kc = KC.min(k - pc.min(k));
            let first = kb == 0;
            let last = kb + 1 == k_blocks;
            pack::pack_b::<K>(b, pc, kc, jc, nc, pb);
            for ic in (0..m).step_by(MC) {
                let mc = MC.min(m - ic);
                pack::pack_a::<K>(a, ic, mc, pc, kc, pa);
                for ir in (0..mc).step_by(mr) {
                    let rows = mr.min(mc - ir);
                    let ap = &pa[ir / mr * kc * mr..];
                    for jr in (0..nc).step_by(nr) {
                        let cols = nr.min(nc - jr);
                        let bp = &pb[jr / nr * kc * nr..];
                        let (row, col) = (ic + ir, jc + jr);
                        let add = accumulate || !first;
                        // SAFETY: the caller makes rows < m, columns < n of `out` ours.
                        let c_tile = unsafe { out.c.add(row * ldc + col) };
                        let full = rows == mr && cols == nr;
                        if full {
                            // A full tile's last k-block finishes in registers.
                            let finish = last.then(|| TileEpilogue {
                                bias: bias.map_or(std::ptr::null(), |b| b[col..].as_ptr()),
                                z: out.z.map_or(std::ptr::null_mut(), |z| {
                                    z.wrapping_add(row * ldc + col)
                                }),
                                relu: A::IN_REGISTER == InRegister::Relu && !A::ROW_WISE,
                            });
                            // SAFETY: the packed panels hold kc·MR and kc·NR values (pack_a/b
                            // pad to full panels); the full tile lies inside our m × n region
                            // of C and Z, and bias[col..] has NR values (it has n); the
                            // dispatch in gemm_fused chose K after detecting its ISA.
                            unsafe {
                                K::run(kc, ap.as_ptr(), bp.as_ptr(), c_tile, ldc, add, finish)
                            };
                        } else {
                            // SAFETY: as above, with a full MR×NR scratch tile as the output.
                            unsafe {
                                K::run(
                                    kc,
                                    ap.as_ptr(),
                                    bp.as_ptr(),
                                    tile.as_mut_ptr(),
                                    nr,
                                    false,
                                    None,
                                )
                            };
                            for r in 0..rows {
                                // SAFETY: row r < rows of the tile, `cols` values, in our region.
                                let dst = unsafe {
                                    std::slice::from_raw_parts_mut(c_tile.add(r * ldc), cols)
                                };
                                let src = &tile[r * nr..][..cols];
                                if add {
                                    dst.iter_mut().zip(src).for_each(|(d, s)| *d += s);
                                } else {
                                    dst.copy_from_slice(src);
                                }
                            }
                        }
                        if last && !full {
                            // SAFETY: the tile lies inside our region of C (and Z).
                            unsafe { out.finish(row..row + rows, col, cols, bias, activation) };
                        } else if last && A::IN_REGISTER == InRegister::AfterStore {
                            // Bias and z were done in registers; only the activation is left.
                            let stored = Output { z: None, ..out };
                            // SAFETY: as above.
                            unsafe { stored.finish(row..row + rows, col, cols, None, activation) };
                        }
                    }
                }
            }
        }
    }
}

/// The epilogue on one row of a finished tile: + bias, keep the pre-activation, activation.
#[inline]
pub(crate) fn finish_row<A: Activation>(
    out: &mut [f32],
    bias: Option<&[f32]>,
    activation: &A,
    z: Option<&mut [f32]>,
) {
    if let Some(b) = bias {
        out.iter_mut().zip(b).for_each(|(o, b)| *o += b);
    }
    if let Some(z) = z {
        z.copy_from_slice(out);
    }
    if !A::ROW_WISE {
        activation.apply_slice(out);
    }
}
