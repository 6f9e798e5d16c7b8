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
//! Xᵀ·dZ and dZ·Wᵀ are read transposed by the packing and never materialised. A row-major A
//! (the forward pass's X) is not packed at all by the x86 kernels: they broadcast from its MR
//! rows in place (`Microkernel::run_rows`), as MLAS does. B may come packed once
//! ([`pack_b_once`]: a Dense layer's kernel, kept by the model), and large products are cut
//! among threads in a grid of row × column tiles (`Grid`).
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

    /// `run` for the first `rows` (< MR) rows of a packed A panel, into `c` (=, no epilogue):
    /// the last panel of a product whose rows are not a multiple of MR. Each of those rows gets
    /// the bits `run` gives it; the x86 kernels compute only them, and without a kernel of its
    /// own `run` computes the whole tile (the other rows' values are then written but
    /// meaningless).
    ///
    /// # Safety
    /// As `run`: `c` writable as a whole MR × NR tile (r < MR, j < NR, row stride `ldc`).
    unsafe fn run_partial(
        rows: usize,
        kc: usize,
        a: *const f32,
        b: *const f32,
        c: *mut f32,
        ldc: usize,
    ) {
        let _ = rows;
        // SAFETY: the caller's contract, `run`'s.
        unsafe { Self::run(kc, a, b, c, ldc, false, None) }
    }

    /// True when `run_rows` reads A in place (so a row-major A needs no packing).
    const A_ROWS: bool = false;

    /// `run` with A read in place instead of packed: row r's value at k step p is
    /// `a[r·lda + p]` (full MR-row panels of a row-major A). Without a kernel of its own, the
    /// panel is packed on the stack and `run` does the work (the same sums).
    ///
    /// # Safety
    /// As `run`, with `a[r·lda + p]` readable for r < MR, p < kc, and kc ≤ KC.
    #[allow(clippy::too_many_arguments)]
    unsafe fn run_rows(
        kc: usize,
        a: *const f32,
        lda: usize,
        b: *const f32,
        c: *mut f32,
        ldc: usize,
        accumulate: bool,
        finish: Option<TileEpilogue>,
    ) {
        let mut panel = [0.0f32; MAX_MR * KC];
        assert!(
            Self::MR * kc <= panel.len(),
            "run_rows: panel larger than KC"
        );
        for p in 0..kc {
            for r in 0..Self::MR {
                // SAFETY: the caller makes a[r·lda + p] readable for r < MR, p < kc.
                panel[p * Self::MR + r] = unsafe { *a.add(r * lda + p) };
            }
        }
        // SAFETY: the packed panel holds kc·MR values; the rest is the caller's contract.
        unsafe { Self::run(kc, panel.as_ptr(), b, c, ldc, accumulate, finish) }
    }
}

/// k per block: a KC×MR A panel (12 KB with MR = 12) stays in the 48 KB L1 while B streams by.
/// 192, 384 and 512 measured the same within this machine's noise.
pub(crate) const KC: usize = 256;
/// Rows per packed A block (384 KB): bounds the A packing buffer.
const MC: usize = 384;
/// Columns per packed B block: KC×NC floats (1 MB) stay in the 2 MB L2.
const NC: usize = 1024;
/// The largest MR of any microkernel (AVX-512's 12).
const MAX_MR: usize = 12;
/// The largest MR × NR of any microkernel (AVX-512's 12 × 32).
const MAX_TILE: usize = MAX_MR * 32;
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
    gemm_fused_packed(isa, a, b, None, c, accumulate, epilogue);
}

/// `gemm_fused` with B also given packed once ([`pack_b_once`] with the same `isa`), which the
/// packed path reads instead of packing B itself; the small-product paths read `b`. The results
/// are bit-identical to `gemm_fused`'s.
///
/// Panics when `packed` was packed for another shape or microkernel (a caller bug).
pub fn gemm_fused_packed<A: Activation>(
    isa: Isa,
    a: MatRef<'_>,
    b: MatRef<'_>,
    packed: Option<PackedB<'_>>,
    c: &mut [f32],
    accumulate: bool,
    epilogue: Epilogue<'_, A>,
) {
    match Path::of(isa) {
        #[cfg(target_arch = "x86_64")]
        Path::Avx512 => driver::<avx512::Kernel, A>(a, b, packed, c, accumulate, epilogue),
        #[cfg(target_arch = "x86_64")]
        Path::Avx2 => driver::<avx2::Kernel, A>(a, b, packed, c, accumulate, epilogue),
        Path::Portable => driver::<portable::Kernel, A>(a, b, packed, c, accumulate, epilogue),
    }
}

/// The microkernel that runs for an instruction set: the one asked for when the CPU has it,
/// else the portable one. Every entry (the GEMM, packing B once, its panel width) resolves the
/// ISA here, so they always agree on the kernel.
#[derive(Clone, Copy)]
enum Path {
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    Portable,
}

impl Path {
    fn of(isa: Isa) -> Path {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 if is_x86_feature_detected!("avx512f") => Path::Avx512,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") => {
                Path::Avx2
            }
            _ => Path::Portable,
        }
    }
}

thread_local! {
    /// Packing buffers, per thread, grown once and reused: no allocation per call.
    static PACKS: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// B (the weights of a forward pass) already in the microkernel's panel layout, packed once by
/// [`pack_b_once`] and read by every product with those weights: for each KC block of k, the
/// ⌈n/NR⌉ panels of kc × NR values (zero-padded), exactly what the driver would pack itself.
#[derive(Clone, Copy, Debug)]
pub struct PackedB<'a> {
    /// The panel width NR of the microkernel it was packed for.
    pub nr: usize,
    /// B's rows (the product's k).
    pub k: usize,
    /// B's columns (the product's n).
    pub n: usize,
    /// `k × ⌈n/nr⌉·nr` values.
    pub data: &'a [f32],
}

/// Room for a packed k × n B, whichever microkernel packs it (every NR divides 32).
pub const fn packed_len_bound(k: usize, n: usize) -> usize {
    k * n.div_ceil(32) * 32
}

/// Packs `b` for the microkernel [`gemm_fused_packed`] picks for `isa` into `out`, which holds
/// at least [`packed_len_bound`] values, and returns the view to pass it.
pub fn pack_b_once<'o>(isa: Isa, b: MatRef<'_>, out: &'o mut [f32]) -> PackedB<'o> {
    match Path::of(isa) {
        #[cfg(target_arch = "x86_64")]
        Path::Avx512 => pack_whole::<avx512::Kernel>(b, out),
        #[cfg(target_arch = "x86_64")]
        Path::Avx2 => pack_whole::<avx2::Kernel>(b, out),
        Path::Portable => pack_whole::<portable::Kernel>(b, out),
    }
}

/// The panel width NR of the microkernel the GEMM runs for `isa` (what `pack_b_once` packs for).
pub fn panel_width(isa: Isa) -> usize {
    match Path::of(isa) {
        #[cfg(target_arch = "x86_64")]
        Path::Avx512 => avx512::Kernel::NR,
        #[cfg(target_arch = "x86_64")]
        Path::Avx2 => avx2::Kernel::NR,
        Path::Portable => portable::Kernel::NR,
    }
}

fn pack_whole<'o, K: Microkernel>(b: MatRef<'_>, out: &'o mut [f32]) -> PackedB<'o> {
    b.check("B");
    let (k, n) = (b.rows, b.cols);
    let width = n.div_ceil(K::NR) * K::NR;
    let out = &mut out[..k * width];
    for pc in (0..k).step_by(KC) {
        let kc = KC.min(k - pc);
        pack::pack_b::<K>(b, pc, kc, 0, n, &mut out[pc * width..][..kc * width]);
    }
    PackedB {
        nr: K::NR,
        k,
        n,
        data: out,
    }
}

fn driver<K: Microkernel, A: Activation>(
    a: MatRef<'_>,
    b: MatRef<'_>,
    packed: Option<PackedB<'_>>,
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
    if let Some(p) = packed {
        assert!(
            p.nr == K::NR && p.k == k && p.n == n && p.data.len() >= k * n.div_ceil(K::NR) * K::NR,
            "gemm: packed B was packed for another shape or microkernel"
        );
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

    let threads = crate::par::current_num_threads();
    let grid = if m * n * k >= PARALLEL_MIN_MACS && threads > 1 {
        Grid::choose::<K>(m, n, threads, packed.is_some())
    } else {
        Grid::whole(m, n)
    };
    let task = |i: usize| {
        let (row0, col0) = grid.origin(i);
        if row0 >= m || col0 >= n {
            return;
        }
        let (rows, cols) = (grid.rows.min(m - row0), grid.cols.min(n - col0));
        let a_part = MatRef {
            data: &a.data[row0 * a.rs..],
            rows,
            ..a
        };
        let b_part = MatRef {
            data: &b.data[col0 * b.cs..],
            cols,
            ..b
        };
        let bias_part = bias.map(|b| &b[col0..col0 + cols]);
        let b_source = match packed {
            Some(p) => BSource::Packed {
                packed: p,
                col0,
                cols,
            },
            None => BSource::Pack(b_part),
        };
        PACKS.with(|packs| {
            let (pa, pb) = &mut *packs.borrow_mut();
            // SAFETY: each task writes only its own tile of C and Z: the grid's tiles are
            // disjoint, and `out.offset` points at the tile's first element, inside the m × n
            // buffers whose lengths were checked above.
            unsafe {
                part::<K, A>(
                    a_part,
                    b_source,
                    out.offset(row0 * n + col0),
                    accumulate,
                    bias_part,
                    activation,
                    pa,
                    pb,
                );
            }
        });
    };
    let tasks = grid.tasks();
    if tasks > 1 {
        (0..tasks).into_par_iter().for_each(task);
    } else {
        task(0);
    }
}

/// How a product's output is cut among threads: tiles of `rows × cols` (multiples of MR and
/// NR), `across` of them per row of tiles. Every output element is still summed by one tile in
/// k order, so the cut never changes a result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Grid {
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    pub(crate) down: usize,
    pub(crate) across: usize,
}

impl Grid {
    /// One tile: the whole output.
    pub(crate) fn whole(m: usize, n: usize) -> Grid {
        Grid {
            rows: m,
            cols: n,
            down: 1,
            across: 1,
        }
    }

    /// The cut of an m × n output into at most `threads` tiles whose slowest tile finishes
    /// first. A tile's time, per step of k, is its rows × cols multiply-adds plus the values it
    /// packs: its rows of A, and its columns of B unless B came packed. One packed value costs
    /// about as much as `PACK_COST` multiply-adds (a scalar copy against the 16 lanes two AVX2
    /// FMA ports do per cycle). Splitting rows only makes every thread pack all of B; splitting
    /// columns only gives a 512-wide layer just 16 AVX-512 panels to share out; the grid weighs
    /// both.
    pub(crate) fn choose<K: Microkernel>(
        m: usize,
        n: usize,
        threads: usize,
        b_packed: bool,
    ) -> Grid {
        const PACK_COST: usize = 16;
        let (units_m, units_n) = (m.div_ceil(K::MR), n.div_ceil(K::NR));
        let mut best = (usize::MAX, Grid::whole(m, n));
        for down in 1..=threads.min(units_m) {
            let across = (threads / down).clamp(1, units_n);
            let rows = (units_m.div_ceil(down) * K::MR).min(m);
            let cols = (units_n.div_ceil(across) * K::NR).min(n);
            let packing = rows + if b_packed { 0 } else { cols };
            let cost = rows * cols + PACK_COST * packing;
            if cost < best.0 {
                // Tiles past the edge of the output come out empty; count only the real ones.
                let grid = Grid {
                    rows,
                    cols,
                    down: m.div_ceil(rows),
                    across: n.div_ceil(cols),
                };
                best = (cost, grid);
            }
        }
        best.1
    }

    pub(crate) fn tasks(&self) -> usize {
        self.down * self.across
    }

    /// Row and column of tile `i`'s first element.
    pub(crate) fn origin(&self, i: usize) -> (usize, usize) {
        (i / self.across * self.rows, i % self.across * self.cols)
    }
}

/// Where a part's B panels come from.
#[derive(Clone, Copy)]
enum BSource<'a> {
    /// Packed by the part itself, block by block, from this view of its columns.
    Pack(MatRef<'a>),
    /// Read from weights packed once; the part's `cols` columns start at `col0` of them.
    Packed {
        packed: PackedB<'a>,
        col0: usize,
        cols: usize,
    },
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

/// One thread's share: `a.rows` rows × the B columns `b` names, at `out`: BLIS's five loops
/// around the microkernel, numbered as BLIS and `matrixmultiply` number them. Loop 5 (jc) and
/// loop 4 (pc) are here, loop 3 (ic)'s body with loops 2 (jr) and 1 (ir) in `Part::row_block`,
/// the two innermost swapped against BLIS (ir outside, jr inside: the A panel stays in L1 and
/// the B panels stream from L2, see the module notes), then the register tile in `Part::tile`.
///
/// # Safety
/// `out.c` (and `out.z`) must be writable at `r · out.ldc + j` for r < a.rows, j < the part's
/// columns, and no other thread may touch those elements meanwhile. A `Packed` source was
/// checked against K and the product's shape, and its `col0` is a multiple of NR.
#[allow(clippy::too_many_arguments)]
unsafe fn part<K: Microkernel, A: Activation>(
    a: MatRef<'_>,
    b: BSource<'_>,
    out: Output,
    accumulate: bool,
    bias: Option<&[f32]>,
    activation: &A,
    pa: &mut Vec<f32>,
    pb: &mut Vec<f32>,
) {
    let (m, k) = (a.rows, a.cols);
    let n = match b {
        BSource::Pack(view) => view.cols,
        BSource::Packed { cols, .. } => cols,
    };
    // Scratch for edge tiles, on the stack: no allocation per call.
    let mut tile = [0.0f32; MAX_TILE];
    assert!(
        K::MR * K::NR <= MAX_TILE,
        "microkernel tile larger than the scratch"
    );
    if let BSource::Pack(_) = b {
        let need = NC.min(n).div_ceil(K::NR) * K::NR * KC.min(k);
        if pb.len() < need {
            pb.resize(need, 0.0);
        }
    }
    let part = Part {
        a,
        out,
        accumulate,
        bias,
        activation,
    };
    // Loop 5 (jc): NC columns of B and C at a time, so that loop 4's packed KC × NC block of B
    // (1 MB) fits the L2.
    for jc in (0..n).step_by(NC) {
        let nc = NC.min(n - jc);
        // Loop 4 (pc): KC steps of k at a time (k = 0: one empty block; the tile is zero, or C
        // as it is, before the epilogue). This block of B is packed (or found packed) once and
        // stays in L2 while loop 3 runs every row of A past it; the first block writes C (adds
        // to it with `accumulate`), the others add, and the last runs the epilogue.
        let k_blocks = if k == 0 { 1 } else { k.div_ceil(KC) };
        for kb in 0..k_blocks {
            let pc = kb * KC;
            let block = KBlock {
                pc,
                kc: KC.min(k - pc.min(k)),
                first: kb == 0,
                last: kb + 1 == k_blocks,
            };
            let panels = b_panels::<K>(b, block, jc, nc, pb);
            let b_block = BBlock { panels, jc, nc };
            // Loop 3 (ic): MC rows of A at a time.
            for ic in (0..m).step_by(MC) {
                let mc = MC.min(m - ic);
                // SAFETY: rows ic..ic+mc < m and columns jc..jc+nc < n of this part's output,
                // which the caller makes ours.
                unsafe { part.row_block::<K>(ic, mc, block, b_block, pa, &mut tile) };
            }
        }
    }
}

/// Loop 4's step: k steps pc..pc+kc, and whether it is the first or the last block.
#[derive(Clone, Copy)]
struct KBlock {
    pc: usize,
    kc: usize,
    first: bool,
    last: bool,
}

/// Loop 4's B block: the kc × NR panels of columns jc..jc+nc (the first at `panels[0]`).
#[derive(Clone, Copy)]
struct BBlock<'b> {
    panels: &'b [f32],
    jc: usize,
    nc: usize,
}

/// The packed panels of B's block (rows pc..pc+kc, columns jc..jc+nc): packed into `pb` now,
/// or the place in the weights packed once where they already are.
fn b_panels<'s, K: Microkernel>(
    b: BSource<'s>,
    block: KBlock,
    jc: usize,
    nc: usize,
    pb: &'s mut [f32],
) -> &'s [f32] {
    let (nr, kc) = (K::NR, block.kc);
    match b {
        BSource::Pack(view) => {
            pack::pack_b::<K>(view, block.pc, kc, jc, nc, pb);
            pb
        }
        BSource::Packed { packed, col0, .. } => {
            let width = packed.n.div_ceil(nr) * nr;
            &packed.data[block.pc * width + (col0 + jc) / nr * kc * nr..]
        }
    }
}

/// What every loop of one part shares: A, where C goes, and the epilogue.
struct Part<'a, A: Activation> {
    a: MatRef<'a>,
    out: Output,
    accumulate: bool,
    bias: Option<&'a [f32]>,
    activation: &'a A,
}

/// A register tile's place: rows row..row+rows, columns col..col+cols of the part's output.
#[derive(Clone, Copy)]
struct TileAt {
    row: usize,
    col: usize,
    rows: usize,
    cols: usize,
}

impl<A: Activation> Part<'_, A> {
    /// Loop 3's step: rows ic..ic+mc of A against the B block. A is packed into MR-row panels
    /// (the KC × MC block, 384 KB, lives in L2 or L3; MC mostly bounds the buffer), or, when the
    /// kernel reads a row-major A in place (the forward pass's X), as MLAS does, not packed at
    /// all: only a last partial panel is packed (into pa[0..]), since the kernel reads MR whole
    /// rows. Then loops 1 and 2, BLIS's macro-kernel, inner loops swapped: for each MR-row panel
    /// of A (ir; KC × MR, 12 KB with AVX-512's MR = 12, held in L1), a sweep over the NR-column
    /// panels of B (jr; streamed from L2), one MR × NR register tile each.
    ///
    /// # Safety
    /// Rows ic..ic+mc and the block's columns of the output are the caller's (as `part`).
    // `inline(always)` here and on `tile`: the loops were one function before they were named,
    // and with a plain `inline` the 1024×512×512 AVX-512 product measured 0.93× of that
    // (medians of six interleaved runs); forced inline it measures as before.
    #[inline(always)]
    unsafe fn row_block<K: Microkernel>(
        &self,
        ic: usize,
        mc: usize,
        block: KBlock,
        b: BBlock<'_>,
        pa: &mut Vec<f32>,
        tile: &mut [f32; MAX_TILE],
    ) {
        let (a, mr, nr, pc, kc) = (self.a, K::MR, K::NR, block.pc, block.kc);
        let in_place = K::A_ROWS && a.cs == 1 && kc > 0;
        if !in_place {
            pack::pack_a::<K>(a, ic, mc, pc, kc, pa);
        } else if !mc.is_multiple_of(mr) {
            let full = mc / mr * mr;
            pack::pack_a::<K>(a, ic + full, mc - full, pc, kc, pa);
        }
        let pa: &[f32] = pa;
        // Loop 1 (ir): the MR-row panels of A.
        for ir in (0..mc).step_by(mr) {
            let rows = mr.min(mc - ir);
            let a_rows = in_place && rows == mr;
            let ap: &[f32] = if a_rows {
                &a.data[(ic + ir) * a.rs + pc..]
            } else if in_place {
                pa
            } else {
                &pa[ir / mr * kc * mr..]
            };
            // With `a_rows`, the panel's rows ic+ir .. ic+ir+MR and columns pc .. pc+kc lie
            // inside the checked view: a[r·rs + p] is in `ap` for r < MR, p < kc.
            let a_panel = if a_rows {
                APanel::Rows(ap.as_ptr(), a.rs)
            } else {
                APanel::Packed(ap.as_ptr())
            };
            // Loop 2 (jr): the NR-column panels of B, past the one A panel.
            for jr in (0..b.nc).step_by(nr) {
                let at = TileAt {
                    row: ic + ir,
                    col: b.jc + jr,
                    rows,
                    cols: nr.min(b.nc - jr),
                };
                let bp = &b.panels[jr / nr * kc * nr..];
                // SAFETY: the caller's contract covers the tile at `at`; the A panel is as set
                // up above.
                unsafe { self.tile::<K>(block, a_panel, bp, at, tile) };
            }
        }
    }

    /// One MR × NR register tile at `at` over the k block: the microkernel, then, after the
    /// last block, the epilogue (in registers for a full tile; on the stored tile, still in L1,
    /// for an edge tile or an activation that needs it).
    ///
    /// # Safety
    /// The tile lies inside the caller's region of the output; the A panel reads as
    /// `row_block` set it up; `bp` holds the block's kc × NR panel.
    #[inline(always)]
    unsafe fn tile<K: Microkernel>(
        &self,
        block: KBlock,
        a_panel: APanel,
        bp: &[f32],
        at: TileAt,
        tile: &mut [f32; MAX_TILE],
    ) {
        let (mr, nr, kc, last) = (K::MR, K::NR, block.kc, block.last);
        let (out, bias, activation) = (self.out, self.bias, self.activation);
        let TileAt {
            row,
            col,
            rows,
            cols,
        } = at;
        let ldc = out.ldc;
        let add = self.accumulate || !block.first;
        // SAFETY: the caller makes rows < m, columns < n of `out` ours.
        let c_tile = unsafe { out.c.add(row * ldc + col) };
        let full = rows == mr && cols == nr;
        if full {
            // A full tile's last k-block finishes in registers.
            let finish = last.then(|| TileEpilogue {
                bias: bias.map_or(std::ptr::null(), |b| b[col..].as_ptr()),
                z: out
                    .z
                    .map_or(std::ptr::null_mut(), |z| z.wrapping_add(row * ldc + col)),
                relu: A::IN_REGISTER == InRegister::Relu && !A::ROW_WISE,
            });
            // SAFETY: the A panel holds kc·MR values (packed, padded) or reads MR rows in place
            // (row_block); the packed B panel holds kc·NR values (pack_b pads to full
            // panels); the full tile lies inside our m × n region of C and Z, and bias[col..]
            // has NR values (it has n); the dispatch in gemm_fused chose K after detecting its
            // ISA.
            unsafe { tile_call::<K>(kc, a_panel, bp.as_ptr(), c_tile, ldc, add, finish) };
        } else {
            // An edge tile goes through the scratch tile; a panel of fewer than MR rows (always
            // packed) computes only its rows: the same bits, MR/rows times less work (m = 64
            // on AVX-512's 12-row tile: a sixth panel of 4 rows, 17 % of the product's time
            // when it ran all 12).
            // SAFETY: as above, with a full MR×NR scratch tile as the output.
            unsafe {
                match a_panel {
                    APanel::Packed(ap) if rows < mr => {
                        K::run_partial(rows, kc, ap, bp.as_ptr(), tile.as_mut_ptr(), nr);
                    }
                    _ => {
                        tile_call::<K>(kc, a_panel, bp.as_ptr(), tile.as_mut_ptr(), nr, false, None)
                    }
                }
            }
            for r in 0..rows {
                // SAFETY: row r < rows of the tile, `cols` values, in our region.
                let dst = unsafe { std::slice::from_raw_parts_mut(c_tile.add(r * ldc), cols) };
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

/// Where a register tile's A comes from.
#[derive(Clone, Copy)]
enum APanel {
    /// An MR-row panel packed by `pack_a`: k step p's MR values at [p·MR..].
    Packed(*const f32),
    /// MR rows of a row-major A read in place, `lda` apart.
    Rows(*const f32, usize),
}

/// One register tile: `K::run` on a packed A panel, `K::run_rows` on rows in place.
///
/// # Safety
/// `K::run`'s contract (or `K::run_rows`' for `APanel::Rows`).
#[inline]
#[allow(clippy::too_many_arguments)]
unsafe fn tile_call<K: Microkernel>(
    kc: usize,
    a: APanel,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
    finish: Option<TileEpilogue>,
) {
    // SAFETY: the caller's contract.
    unsafe {
        match a {
            APanel::Packed(a) => K::run(kc, a, b, c, ldc, accumulate, finish),
            APanel::Rows(a, lda) => K::run_rows(kc, a, lda, b, c, ldc, accumulate, finish),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every output element in exactly one tile, tiles on whole microkernel tiles, no more
    /// tiles than threads.
    fn check_grid<K: Microkernel>(m: usize, n: usize, threads: usize, b_packed: bool) -> Grid {
        let grid = Grid::choose::<K>(m, n, threads, b_packed);
        assert!(grid.tasks() <= threads.max(1), "{grid:?}");
        assert!(
            grid.rows.is_multiple_of(K::MR) || grid.rows == m,
            "{grid:?}"
        );
        assert!(
            grid.cols.is_multiple_of(K::NR) || grid.cols == n,
            "{grid:?}"
        );
        let mut seen = vec![0u8; m * n];
        for i in 0..grid.tasks() {
            let (r0, c0) = grid.origin(i);
            assert!(r0 < m && c0 < n, "empty tile {i} of {grid:?}");
            for r in r0..(r0 + grid.rows).min(m) {
                for c in c0..(c0 + grid.cols).min(n) {
                    seen[r * n + c] += 1;
                }
            }
        }
        assert!(
            seen.iter().all(|&s| s == 1),
            "{m}×{n} on {threads}: {grid:?}"
        );
        grid
    }

    fn grids_of<K: Microkernel>() {
        for (m, n) in [
            (1, 1),
            (7, 33),
            (256, 512),
            (1024, 512),
            (1024, 10),
            (13, 4000),
        ] {
            for threads in [1, 2, 3, 7, 16] {
                for b_packed in [false, true] {
                    check_grid::<K>(m, n, threads, b_packed);
                }
            }
        }
        // The case: a 256-row chunk of a 512-wide layer must keep 16 threads busy,
        // which a split of rows alone (22 AVX-512 row tiles) or columns alone (16) did not
        // balance.
        for b_packed in [false, true] {
            let grid = check_grid::<K>(256, 512, 16, b_packed);
            assert!(grid.tasks() >= 12, "{grid:?}");
        }
    }

    /// `run_rows` on A in place gives `run`'s bits on the packed panel, for every kernel
    /// (the portable one through the trait's packing default), and so does `run_partial` on
    /// the panel's first rows (writing no more than those rows where `only_rows`: the x86
    /// kernels).
    fn rows_match_packed<K: Microkernel>(only_rows: bool) {
        let (kc, lda) = (37, 41);
        // Values with long mantissas: products and sums round, so a different order of the
        // sums would show in the bits.
        let a: Vec<f32> = (0..K::MR * lda)
            .map(|i| ((i * 7919) % 1000) as f32 / 997.0 - 0.5)
            .collect();
        let b: Vec<f32> = (0..kc * K::NR)
            .map(|i| ((i * 104_729) % 1000) as f32 / 991.0 - 0.5)
            .collect();
        let mut panel = vec![0.0f32; kc * K::MR];
        for p in 0..kc {
            for r in 0..K::MR {
                panel[p * K::MR + r] = a[r * lda + p];
            }
        }
        let tile = K::MR * K::NR;
        let (mut packed, mut in_place) = (vec![0.0f32; tile], vec![f32::NAN; tile]);
        // SAFETY: the panels hold kc·MR and kc·NR values, A's rows MR × lda with kc ≤ lda, the
        // tiles MR × NR at row stride NR; the kernel's ISA is checked by the caller.
        unsafe {
            K::run(
                kc,
                panel.as_ptr(),
                b.as_ptr(),
                packed.as_mut_ptr(),
                K::NR,
                false,
                None,
            );
            K::run_rows(
                kc,
                a.as_ptr(),
                lda,
                b.as_ptr(),
                in_place.as_mut_ptr(),
                K::NR,
                false,
                None,
            );
        }
        assert_eq!(packed, in_place);
        // A panel's first rows alone: those rows' bits, nothing written past them.
        for rows in 1..K::MR {
            let mut partial = vec![f32::NAN; tile];
            // SAFETY: as above; the tile has MR ≥ rows rows.
            unsafe {
                K::run_partial(
                    rows,
                    kc,
                    panel.as_ptr(),
                    b.as_ptr(),
                    partial.as_mut_ptr(),
                    K::NR,
                );
            }
            let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            let done = rows * K::NR;
            assert_eq!(bits(&partial[..done]), bits(&packed[..done]), "{rows} rows");
            if only_rows {
                assert!(partial[done..].iter().all(|v| v.is_nan()), "{rows} rows");
            }
        }
    }

    #[test]
    fn kernels_read_a_in_place_and_partial_panels_as_they_read_it_packed() {
        rows_match_packed::<portable::Kernel>(false);
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                rows_match_packed::<avx2::Kernel>(true);
            }
            if is_x86_feature_detected!("avx512f") {
                rows_match_packed::<avx512::Kernel>(true);
            }
        }
    }

    #[test]
    fn grids_cover_the_output_once_and_find_work_for_sixteen_threads() {
        grids_of::<portable::Kernel>();
        #[cfg(target_arch = "x86_64")]
        {
            grids_of::<avx2::Kernel>();
            grids_of::<avx512::Kernel>();
        }
    }
}
