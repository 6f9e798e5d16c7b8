//! Implicit-GEMM convolution on AVX-512 and AVX2: the patch matrix is never built. A register
//! tile reads its A operand straight from the images, each of its rows through its own pointer
//! (a window's origin) plus a per-column offset table, and its B operand from the kernel packed
//! once per call into panels two vectors wide (32 columns on AVX-512, 16 on AVX2).
//!
//! - Forward: tile = MR output positions × two vectors of filters, one FMA chain per output
//!   over the patch columns in the kernel's (kh, kw, c) order, then the Dense epilogue in
//!   registers (+ bias, the pre-activation stored, relu) and one store. A row's chain never
//!   depends on which positions share its tile, so an image's output does not depend on its
//!   batch.
//! - dW (per group): tile = MR patch columns × two vectors of filters, one FMA chain per weight
//!   over the group's positions in order: Σ patch[pos][k] · dZ[pos][f].
//! - dX (per group): tile = MR positions × two vectors of patch columns, Σ_f dZ[pos][f] · W[k][f]
//!   against the kernel transposed and packed once per call, then added straight onto the
//!   window's cells of dX (col2im fused into the tile's store), tiles in a fixed order.
//!
//! The tiles of both instruction sets come from one template (`implicit_tiles!`, as
//! `gemm::direct`'s `direct_kernel!`): the same FMA chains in the same order, differing only in
//! vector width, intrinsics, lane masks and tile height (MR = 8 rows × 32 columns, 16 zmm
//! accumulators, on AVX-512; 6 × 16, 12 ymm, on AVX2). A tile whose columns fit one vector
//! (the last panel of F = 40, F = 16 on AVX-512) runs the one-vector form (`WIDE` = false)
//! rather than FMAs on a vector of zeros. Everything around the tiles (plans, padding,
//! blocking, the order of the sums) is shared code that takes the `Tiles` to run.
//!
//! 'same' padding: the group's images are first copied into zero-bordered images (and dX is
//! formed in such a copy), so every window lies inside its image and the tiles need no bounds.
// Indexing outside the tiles stays bounds-checked: every index is bounded by the `Conv2dShape`
// and plan dimensions, which `Conv2dShape::forward`/`backward` and the group functions here
// assert against the buffers' lengths. A checked index turns an internal bug into a panic,
// never UB.
#![allow(clippy::indexing_slicing)]

use super::groups::{add_rows, backward_groups, forward_groups, to_dz, GroupBackward};
use super::{BackwardPass, Conv2dShape, ConvTensors};
use crate::kernels::activations::Activation;
use crate::kernels::dense::Delta;
use crate::kernels::isa::Isa;
use std::cell::RefCell;

/// The most rows a register tile has on any instruction set (room for the row pointers).
const MAX_MR: usize = 8;

/// Which instruction set's register tiles run a pass: its tile height and width and its tile
/// functions (`avx512` or `avx2`, both from `implicit_tiles!`). Only [`tiles`] makes one, after
/// checking the CPU, so holding one is the proof that its tiles may run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Tiles(Kind);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// 8 rows × 32 columns (two zmm vectors), mask registers for the last columns.
    Avx512,
    /// 6 rows × 16 columns (two ymm vectors), `vmaskmovps` for the last columns.
    Avx2,
}

impl Tiles {
    /// Rows per register tile.
    const fn mr(self) -> usize {
        match self.0 {
            Kind::Avx512 => avx512::MR,
            Kind::Avx2 => avx2::MR,
        }
    }

    /// Columns per register tile (and per packed panel): two vectors.
    const fn nr(self) -> usize {
        match self.0 {
            Kind::Avx512 => avx512::NR,
            Kind::Avx2 => avx2::NR,
        }
    }
}

/// Where windows lie in the (padded) images, and the kernel in panels: built once per call.
#[derive(Default)]
struct Plan {
    /// Zero borders to add around each image (rows before, cols before, padded rows, padded cols).
    pad: Option<(usize, usize, usize, usize)>,
    /// Values per (padded) image.
    image_len: usize,
    /// Each output position's window origin in a (padded) image.
    origins: Vec<u32>,
    /// Each patch column's (kh, kw, c) offset from a window origin.
    offsets: Vec<u32>,
    /// The kernel as ⌈F/NR⌉ panels of K × NR (forward).
    panels: Vec<f32>,
    /// The kernel transposed, ⌈K/NR⌉ panels of F × NR (dX).
    panels_t: Vec<f32>,
}

thread_local! {
    /// The plan buffers of the call running on this thread, grown once.
    static PLAN: RefCell<Plan> = RefCell::new(Plan::default());
    /// The group running on this thread: its window origins, padded images and padded dX.
    static GROUP: RefCell<GroupScratch> = const { RefCell::new(GroupScratch::new()) };
}

/// Per-group buffers, grown once per thread.
struct GroupScratch {
    origins: Vec<usize>,
    images: Vec<f32>,
    dx: Vec<f32>,
}

impl GroupScratch {
    const fn new() -> Self {
        GroupScratch {
            origins: Vec::new(),
            images: Vec::new(),
            dx: Vec::new(),
        }
    }
}

/// A group as the tiles read it.
struct Group<'a> {
    /// Its images, zero-bordered when the plan pads.
    images: &'a [f32],
    /// Every output position's window origin in `images`, positions in order.
    origins: &'a [usize],
}

/// The tiles that take this shape on `isa`, if any: AVX-512F present for `Isa::Avx512`, AVX2
/// and FMA for `Isa::Avx2` (none for portable), something to compute, and every offset of a
/// padded image within u32.
pub(super) fn tiles(shape: &Conv2dShape, isa: Isa) -> Option<Tiles> {
    let w = &shape.window;
    let (ph, pw) = padded_dims(shape);
    let fits = w.positions() > 0
        && w.patch_len() > 0
        && shape.filters > 0
        && ph.saturating_mul(pw).saturating_mul(w.channels) < u32::MAX as usize;
    match isa {
        _ if !fits => None,
        Isa::Avx512 if is_x86_feature_detected!("avx512f") => Some(Tiles(Kind::Avx512)),
        Isa::Avx2 if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") => {
            Some(Tiles(Kind::Avx2))
        }
        _ => None,
    }
}

/// Rows and columns of an image once every window fits: the input, the padding before, and
/// whatever the last window reaches past the input.
fn padded_dims(shape: &Conv2dShape) -> (usize, usize) {
    let axis = |a: super::Axis| {
        let reach = a.output.saturating_sub(1) * a.stride + a.window;
        (a.pad_before + a.input).max(reach)
    };
    (axis(shape.window.rows), axis(shape.window.cols))
}

/// Runs `f` with this thread's plan for `shape` (the kernel packed as `kernel` says, in panels
/// as wide as `tiles`' tiles). A re-entrant call gets a fresh plan.
fn with_plan<R>(
    shape: &Conv2dShape,
    tiles: Tiles,
    kernel: &[f32],
    forward: bool,
    transposed: bool,
    f: impl FnOnce(&Plan) -> R,
) -> R {
    let mut plan = PLAN.with(|p| std::mem::take(&mut *p.borrow_mut()));
    let w = &shape.window;
    let (rows, cols, c) = (w.rows, w.cols, w.channels);
    let (ph, pw) = padded_dims(shape);
    let padded = rows.pad_before > 0 || cols.pad_before > 0 || ph > rows.input || pw > cols.input;
    plan.pad = padded.then_some((rows.pad_before, cols.pad_before, ph, pw));
    plan.image_len = ph * pw * c;
    plan.origins.clear();
    for oh in 0..rows.output {
        for ow in 0..cols.output {
            plan.origins
                .push(((oh * rows.stride * pw + ow * cols.stride) * c) as u32);
        }
    }
    plan.offsets.clear();
    for kh in 0..rows.window {
        for kw in 0..cols.window {
            for ch in 0..c {
                plan.offsets.push(((kh * pw + kw) * c + ch) as u32);
            }
        }
    }
    let (k, n) = (w.patch_len(), shape.filters);
    let nr = tiles.nr();
    if forward {
        pack_panels(&mut plan.panels, nr, k, n, |p, j| kernel[p * n + j]);
    }
    if transposed {
        pack_panels(&mut plan.panels_t, nr, n, k, |q, col| kernel[col * n + q]);
    }
    let result = f(&plan);
    PLAN.with(|p| *p.borrow_mut() = plan);
    result
}

/// ⌈cols/nr⌉ panels of `rows` × `nr` values: `value(row, col)`, zeros past the last column.
fn pack_panels(
    buf: &mut Vec<f32>,
    nr: usize,
    rows: usize,
    cols: usize,
    value: impl Fn(usize, usize) -> f32,
) {
    let panels = cols.div_ceil(nr);
    buf.clear();
    buf.resize(panels * rows * nr, 0.0);
    for (panel, out) in buf.chunks_exact_mut(rows * nr).enumerate() {
        let j0 = panel * nr;
        let live = nr.min(cols - j0);
        for (row, dst) in out.chunks_exact_mut(nr).enumerate() {
            for (j, d) in dst[..live].iter_mut().enumerate() {
                *d = value(row, j0 + j);
            }
        }
    }
}

/// Copies whole images into zero-bordered ones (`pad` = rows before, cols before, padded
/// rows, padded cols).
fn pad_images(shape: &Conv2dShape, pad: (usize, usize, usize, usize), x: &[f32], out: &mut [f32]) {
    let (top, left, _, pw) = pad;
    let c = shape.window.channels;
    let row = shape.window.cols.input * c;
    out.fill(0.0);
    let padded_len = out.len() / (x.len() / shape.input_len());
    for (image, dst) in x
        .chunks_exact(shape.input_len())
        .zip(out.chunks_exact_mut(padded_len))
    {
        for (h, src) in image.chunks_exact(row).enumerate() {
            dst[((top + h) * pw + left) * c..][..row].copy_from_slice(src);
        }
    }
}

/// The inverse of `pad_images` for gradients: the cells of each padded image that are input.
fn unpad_images(
    shape: &Conv2dShape,
    pad: (usize, usize, usize, usize),
    padded: &[f32],
    x: &mut [f32],
) {
    let (top, left, _, pw) = pad;
    let c = shape.window.channels;
    let row = shape.window.cols.input * c;
    let padded_len = padded.len() / (x.len() / shape.input_len());
    for (image, src) in x
        .chunks_exact_mut(shape.input_len())
        .zip(padded.chunks_exact(padded_len))
    {
        for (h, dst) in image.chunks_exact_mut(row).enumerate() {
            dst.copy_from_slice(&src[((top + h) * pw + left) * c..][..row]);
        }
    }
}

/// Runs `f` on the group of `images` as the tiles read it (padded into this thread's buffer
/// when the plan pads), with a zeroed padded dX when `dx` asks for one.
fn with_group<R>(
    shape: &Conv2dShape,
    plan: &Plan,
    images: &[f32],
    dx: bool,
    f: impl FnOnce(Group<'_>, Option<&mut [f32]>) -> R,
) -> R {
    let mut g = GROUP.with(|p| std::mem::replace(&mut *p.borrow_mut(), GroupScratch::new()));
    let count = images.len() / shape.input_len();
    g.origins.clear();
    for i in 0..count {
        let image = i * plan.image_len;
        g.origins
            .extend(plan.origins.iter().map(|&o| image + o as usize));
    }
    // Every tile reads (and dX writes) origin + offset through raw pointers: the largest of
    // each is the last, so one check bounds them all.
    let reach =
        g.origins.last().copied().unwrap_or(0) + plan.offsets.last().copied().unwrap_or(0) as usize;
    assert!(
        count == 0 || reach < count * plan.image_len,
        "conv2d implicit: a window reaches past its image"
    );
    let out = match plan.pad {
        None => f(
            Group {
                images,
                origins: &g.origins,
            },
            None,
        ),
        Some(pad) => {
            let len = count * plan.image_len;
            if g.images.len() < len {
                g.images.resize(len, 0.0);
            }
            if dx && g.dx.len() < len {
                g.dx.resize(len, 0.0);
            }
            pad_images(shape, pad, images, &mut g.images[..len]);
            let group = Group {
                images: &g.images[..len],
                origins: &g.origins,
            };
            if dx {
                g.dx[..len].fill(0.0);
                f(group, Some(&mut g.dx[..len]))
            } else {
                f(group, None)
            }
        }
    };
    GROUP.with(|p| *p.borrow_mut() = g);
    out
}

/// The forward pass over the images of `t.x`: `Conv2dShape::forward` on this path.
pub(super) fn forward<A: Activation>(
    shape: &Conv2dShape,
    tiles: Tiles,
    t: ConvTensors<'_>,
    act: &A,
    y: &mut [f32],
    z: Option<&mut [f32]>,
) {
    with_plan(shape, tiles, t.kernel, true, false, |plan| {
        forward_groups(shape, t.x, y, z, |x, y, z| {
            with_group(shape, plan, x, false, |g, _| {
                forward_group(shape, tiles, plan, &g, t.bias, act, y, z)
            });
            if A::ROW_WISE {
                y.chunks_exact_mut(shape.filters)
                    .for_each(|pixel| act.apply_row(pixel));
            }
        })
    })
}

/// One group's forward into `y` (and `z`).
#[allow(clippy::too_many_arguments)]
fn forward_group<A: Activation>(
    shape: &Conv2dShape,
    tiles: Tiles,
    plan: &Plan,
    g: &Group<'_>,
    bias: Option<&[f32]>,
    act: &A,
    y: &mut [f32],
    z: Option<&mut [f32]>,
) {
    let (k, n) = (shape.window.patch_len(), shape.filters);
    let m = g.origins.len();
    let nr = tiles.nr();
    assert!(
        y.len() == m * n
            && plan.panels.len() == n.div_ceil(nr) * k * nr
            && z.as_deref().is_none_or(|z| z.len() == y.len())
            && bias.is_none_or(|b| b.len() == n),
        "conv2d implicit forward: buffers do not match the plan"
    );
    let out = ForwardOut {
        y: y.as_mut_ptr(),
        z: z.map_or(std::ptr::null_mut(), |z| z.as_mut_ptr()),
        bias: bias.map_or(std::ptr::null(), |b| b.as_ptr()),
        k,
        n,
    };
    // SAFETY: `tiles` says which instruction set was detected (`tiles`); y (and z) hold m × n
    // values and bias n (checked above); every origin + offset lies inside the images
    // (`with_group` checked the largest); the panels hold ⌈n/NR⌉ × k × NR values for this
    // `tiles`' NR (checked above).
    unsafe {
        match tiles.0 {
            Kind::Avx512 => avx512::forward_tiles(g, plan, out, act),
            Kind::Avx2 => avx2::forward_tiles(g, plan, out, act),
        }
    }
}

/// Where a group's forward tiles write, and the sizes they need.
#[derive(Clone, Copy)]
struct ForwardOut {
    y: *mut f32,
    /// Null when the pre-activation is not kept.
    z: *mut f32,
    /// Null without bias.
    bias: *const f32,
    k: usize,
    n: usize,
}

/// One forward tile's operands.
struct ForwardTile<'a> {
    /// The window origin of each row (the first MR are used).
    a: [*const f32; MAX_MR],
    offsets: &'a [u32],
    /// K × NR packed kernel values.
    panel: *const f32,
    /// The tile's NR bias values, or null.
    bias: *const f32,
    y: *mut f32,
    /// Null when the pre-activation is not kept.
    z: *mut f32,
    ldc: usize,
    cols: usize,
}

/// The backward pass: `Conv2dShape::backward` on this path (same groups, same partials).
pub(super) fn backward<A: Activation>(
    shape: &Conv2dShape,
    tiles: Tiles,
    pass: BackwardPass<'_, A>,
) {
    let BackwardPass {
        t,
        z,
        y,
        delta,
        act,
        start,
        grads,
        partials,
    } = pass;
    let dx = grads.input.is_some();
    with_plan(shape, tiles, t.kernel, false, dx, |plan| {
        backward_groups(shape, t.x, z, y, delta, grads, partials, |group| {
            backward_group(shape, tiles, plan, act, start, group)
        })
    })
}

/// One group's backward: dZ in place, its dW and db into its partial, dX if asked. dZ is
/// formed block by block just before the block's dW tiles read it, while it is in cache.
fn backward_group<A: Activation>(
    shape: &Conv2dShape,
    tiles: Tiles,
    plan: &Plan,
    act: &A,
    start: Delta,
    group: GroupBackward<'_>,
) {
    let GroupBackward {
        input,
        z,
        output,
        delta,
        partial,
        input_delta,
    } = group;
    let f = shape.filters;
    let (dw, db) = partial.split_at_mut(shape.kernel_len());
    db.fill(0.0);
    let want_dx = input_delta.is_some();
    with_group(shape, plan, input, want_dx, |g, padded_dx| {
        let m = g.origins.len();
        for q0 in (0..m).step_by(WEIGHT_BLOCK) {
            let rows = q0 * f..m.min(q0 + WEIGHT_BLOCK) * f;
            to_dz(
                act,
                start,
                f,
                &z[rows.clone()],
                &output[rows.clone()],
                &mut delta[rows.clone()],
            );
            add_rows(&delta[rows.clone()], db);
            weight_tiles(shape, tiles, plan, &g, q0, &delta[rows], dw);
        }
        if let Some(dx) = input_delta {
            // `with_group` hands a padded dX buffer exactly when the plan pads.
            match (padded_dx, plan.pad) {
                (Some(pdx), Some(pad)) => {
                    input_group(shape, tiles, plan, &g, delta, pdx);
                    unpad_images(shape, pad, pdx, dx);
                }
                (padded_dx, _) => {
                    debug_assert!(padded_dx.is_none(), "a padded dX buffer without padding");
                    dx.fill(0.0);
                    input_group(shape, tiles, plan, &g, delta, dx);
                }
            }
        }
    });
}

/// Positions per dW block: the block's dZ rows and image cells stay in L1 while every dW tile
/// passes over them (64 measured 12 % faster than whole groups at 13×13×32 → 64; 32 to 256
/// were within 5 % of each other).
const WEIGHT_BLOCK: usize = 64;

/// The dW tiles over the block of positions `first..` whose dZ rows are `dz`: stored for the
/// group's first block, added for the others, so every weight sums its positions in order.
fn weight_tiles(
    shape: &Conv2dShape,
    tiles: Tiles,
    plan: &Plan,
    g: &Group<'_>,
    first: usize,
    dz: &[f32],
    dw: &mut [f32],
) {
    let (k, n) = (shape.window.patch_len(), shape.filters);
    let origins = &g.origins[first..first + dz.len() / n];
    assert!(
        dw.len() == k * n && dz.len() == origins.len() * n,
        "conv2d implicit dW: buffers do not match the plan"
    );
    // Patch columns in tiles of MR, the last one shorter. Tiles of equal height (K = 9: 5 + 4)
    // measured no faster on AVX-512 and 5–8 % slower on AVX2's digits CNN step at batch 128.
    let (mr, nr) = (tiles.mr(), tiles.nr());
    for j0 in (0..n).step_by(nr) {
        let cols = nr.min(n - j0);
        for k0 in (0..k).step_by(mr) {
            let rows = mr.min(k - k0);
            let mut offs = [0usize; MAX_MR];
            for (r, o) in offs.iter_mut().enumerate() {
                *o = plan.offsets[k0 + r.min(rows - 1)] as usize;
            }
            let args = WeightTile {
                images: g.images.as_ptr(),
                origins,
                offs,
                dz: dz[j0..].as_ptr(),
                ldz: n,
                cols,
                out: dw[k0 * n + j0..].as_mut_ptr(),
                accumulate: first > 0,
            };
            // SAFETY: `tiles`' instruction set was detected (`tiles`); every origin + offset
            // lies in the images (`with_group` checked the largest); dZ is read at its rows
            // 0..origins.len(), columns j0..j0+cols ≤ n; dw is written at rows
            // k0..k0+rows ≤ k, columns j0..j0+cols; rows ≤ MR and cols ≤ NR of `tiles`.
            unsafe {
                match tiles.0 {
                    Kind::Avx512 => avx512::weight_tile_dispatch(rows, cols == nr, args),
                    Kind::Avx2 => avx2::weight_tile_dispatch(rows, cols == nr, args),
                }
            }
        }
    }
}

/// One dW tile's operands.
struct WeightTile<'a> {
    images: *const f32,
    /// The block's window origins.
    origins: &'a [usize],
    /// The tile rows' patch-column offsets (the first MR are used).
    offs: [usize; MAX_MR],
    /// dZ at the block's first row, the tile's first column.
    dz: *const f32,
    ldz: usize,
    cols: usize,
    /// dW at the tile's first row and column (row stride ldz).
    out: *mut f32,
    /// Add the block's sums to `out` rather than store them.
    accumulate: bool,
}

/// dX of a group: each position's dZ · Wᵀ added onto its window's cells of `dx` (the group's
/// images, zeroed, padded as the plan says). Panels of NR patch columns outside (32 on AVX-512,
/// 16 on AVX2), position
/// tiles in order inside: a panel of Wᵀ stays in L1 while dZ streams past.
fn input_group(
    shape: &Conv2dShape,
    tiles: Tiles,
    plan: &Plan,
    g: &Group<'_>,
    dz: &[f32],
    dx: &mut [f32],
) {
    let (k, n) = (shape.window.patch_len(), shape.filters);
    let m = g.origins.len();
    let (mr, nr) = (tiles.mr(), tiles.nr());
    assert!(
        dx.len() == g.images.len()
            && dz.len() == m * n
            && plan.panels_t.len() == k.div_ceil(nr) * n * nr,
        "conv2d implicit dX: buffers do not match the plan"
    );
    let dx_ptr = dx.as_mut_ptr();
    for c0 in (0..k).step_by(nr) {
        let cols = nr.min(k - c0);
        let offsets = &plan.offsets[c0..c0 + cols];
        let contiguous = offsets
            .iter()
            .enumerate()
            .all(|(i, &o)| o as usize == offsets[0] as usize + i);
        let panel = plan.panels_t[c0 / nr * n * nr..].as_ptr();
        for i0 in (0..m).step_by(mr) {
            let rows = mr.min(m - i0);
            let mut targets = [dx_ptr; MAX_MR];
            for (r, slot) in targets.iter_mut().enumerate() {
                *slot = dx_ptr.wrapping_add(g.origins[i0 + r.min(rows - 1)]);
            }
            let args = InputTile {
                dz: dz[i0 * n..].as_ptr(),
                f: n,
                panel,
                targets,
                offsets,
                contiguous,
            };
            // SAFETY: `tiles`' instruction set was detected (`tiles`); dZ rows i0..i0+rows hold
            // n values each; the panel holds n × NR values; every target + offset is a cell of
            // dx, which is as long as the images (`with_group` checked the largest origin +
            // offset); rows ≤ MR and cols ≤ NR of `tiles`.
            unsafe {
                match tiles.0 {
                    Kind::Avx512 => avx512::input_tile_dispatch(rows, cols == nr, args),
                    Kind::Avx2 => avx2::input_tile_dispatch(rows, cols == nr, args),
                }
            }
        }
    }
}

/// One dX tile's operands.
struct InputTile<'a> {
    /// dZ at the tile's first row (row stride f).
    dz: *const f32,
    /// Filters: the sum's length and dZ's row stride.
    f: usize,
    /// f × NR values of Wᵀ.
    panel: *const f32,
    /// Each row's window origin in dX (the first MR are used).
    targets: [*mut f32; MAX_MR],
    /// The tile columns' offsets from a window origin.
    offsets: &'a [u32],
    /// The columns are consecutive cells (`offsets[j] = offsets[0] + j`): one vector add per
    /// row rather than cell by cell.
    contiguous: bool,
}

/// The register tiles of one instruction set, as a module `$isa`: `forward_tiles` (every
/// forward tile of a group), `weight_tile_dispatch` (one dW tile) and `input_tile_dispatch`
/// (one dX tile), MR rows × NR = 2·LANES columns each. One template for AVX-512 and AVX2: the
/// same FMA chains in the same order, differing only in vector width, intrinsics, the lane
/// masks (mask registers against `vmaskmovps`) and the row dispatch (`by_rows8!`, one masked
/// tile per row count, against `by_rows!`, whose FULL tiles take plain loads and stores).
macro_rules! implicit_tiles {
    (
        $(#[$doc:meta])*
        $isa:ident, feature = $feature:literal, mr = $mr:literal, lanes = $lanes:literal,
        zero = $zero:ident, broadcast = $broadcast:ident, fma = $fma:ident, add = $add:ident,
        max = $max:ident, loadu = $loadu:ident, storeu = $storeu:ident, mask = $mask:ident,
        load = $load:ident, store = $store:ident, by_rows = $by_rows:ident
    ) => {
        $(#[$doc])*
        mod $isa {
            use super::{ForwardOut, ForwardTile, Group, InputTile, Plan, WeightTile, MAX_MR};
            use crate::kernels::activations::{Activation, InRegister};
            use crate::kernels::simd::{$by_rows, $load, $mask, $store};
            use std::arch::x86_64::*;

            /// Rows per register tile.
            pub(super) const MR: usize = $mr;
            /// Columns per register tile: two vectors.
            pub(super) const NR: usize = 2 * $lanes;
            const _: () = assert!(MR <= MAX_MR);

            /// Every tile of a group's forward, position tiles outside, filter panels inside,
            /// in one function: with K = 9 a tile is ~50 cycles of FMAs, and a dispatched call
            /// per tile measured 7–11 % slower at 28×28×1 → 32 on AVX2 (no difference at
            /// K = 288).
            ///
            /// # Safety
            /// The CPU has this module's instruction set; `out.y` (and `out.z` if not null)
            /// hold origins.len() × n values, `out.bias` (if not null) n; every origin + offset
            /// lies inside `g.images`; the plan's panels hold ⌈n/NR⌉ × k × NR values.
            #[target_feature(enable = $feature)]
            pub(super) unsafe fn forward_tiles<A: Activation>(
                g: &Group<'_>,
                plan: &Plan,
                out: ForwardOut,
                act: &A,
            ) {
                let (m, k, n) = (g.origins.len(), out.k, out.n);
                let tile = |i0: usize, j0: usize, rows: usize| {
                    let at = i0 * n + j0;
                    ForwardTile {
                        a: std::array::from_fn(|r| {
                            g.images
                                .as_ptr()
                                .wrapping_add(g.origins[i0 + r.min(rows - 1)])
                        }),
                        offsets: &plan.offsets,
                        panel: plan.panels[j0 / NR * k * NR..].as_ptr(),
                        bias: if out.bias.is_null() {
                            out.bias
                        } else {
                            out.bias.wrapping_add(j0)
                        },
                        y: out.y.wrapping_add(at),
                        z: if out.z.is_null() {
                            out.z
                        } else {
                            out.z.wrapping_add(at)
                        },
                        ldc: n,
                        cols: NR.min(n - j0),
                    }
                };
                let (full_m, full_n) = (m / MR * MR, n / NR * NR);
                // SAFETY (both loops): each tile covers rows i0..i0+rows ≤ m and columns
                // j0..j0+cols ≤ n of y and z; its row pointers are window origins in the
                // images; as the caller guarantees.
                unsafe {
                    for i0 in (0..full_m).step_by(MR) {
                        for j0 in (0..full_n).step_by(NR) {
                            forward_tile::<MR, true, A, true>(tile(i0, j0, MR), act);
                        }
                        for j0 in (full_n..n).step_by(NR) {
                            if n - j0 > $lanes {
                                forward_tile::<MR, false, A, true>(tile(i0, j0, MR), act);
                            } else {
                                forward_tile::<MR, false, A, false>(tile(i0, j0, MR), act);
                            }
                        }
                    }
                    for i0 in (full_m..m).step_by(MR) {
                        let rows = MR.min(m - i0);
                        for j0 in (0..n).step_by(NR) {
                            forward_tile_dispatch(rows, j0 + NR <= n, tile(i0, j0, rows), act);
                        }
                    }
                }
            }

            /// # Safety
            /// As `forward_tile`.
            #[target_feature(enable = $feature)]
            unsafe fn forward_tile_dispatch<A: Activation>(
                rows: usize,
                full: bool,
                t: ForwardTile<'_>,
                act: &A,
            ) {
                // SAFETY: the caller's contract is forward_tile's.
                unsafe {
                    if t.cols > $lanes {
                        $by_rows!(rows, full, forward_tile::<_, _, A, true>(t, act))
                    } else {
                        $by_rows!(rows, full, forward_tile::<_, _, A, false>(t, act))
                    }
                }
            }

            /// R positions × up to NR filters (up to LANES, one vector, unless WIDE): one FMA
            /// chain per output over the patch columns, then + bias, z, relu in registers and
            /// one store; other activations run on the stored tile.
            ///
            /// # Safety
            /// The CPU has this module's instruction set. `a[r] + offsets[p]` is readable for
            /// r < R, p < offsets.len(); `panel` holds offsets.len() × NR values; `y` (and `z`
            /// if not null) are writable at `r·ldc + j` for r < R, j < cols; `bias`, if not
            /// null, is readable at j < cols; cols ≤ LANES unless WIDE.
            #[target_feature(enable = $feature)]
            #[inline]
            unsafe fn forward_tile<
                const R: usize,
                const FULL: bool,
                A: Activation,
                const WIDE: bool,
            >(
                t: ForwardTile<'_>,
                act: &A,
            ) {
                let (m0, m1) = ($mask(t.cols), $mask(t.cols.saturating_sub($lanes)));
                // SAFETY (whole body): reads and writes stay within what the caller
                // guarantees; masked-off lanes are neither read nor written; pointers that may
                // pass the end are wrapping_add.
                unsafe {
                    let mut acc = [[$zero(); 2]; R];
                    let mut b = t.panel;
                    for &off in t.offsets {
                        let off = off as usize;
                        let b0 = $loadu(b);
                        let b1 = if WIDE { $loadu(b.add($lanes)) } else { $zero() };
                        b = b.add(NR);
                        for (r, acc) in acc.iter_mut().enumerate() {
                            let av = $broadcast(*t.a[r].add(off));
                            acc[0] = $fma(av, b0, acc[0]);
                            if WIDE {
                                acc[1] = $fma(av, b1, acc[1]);
                            }
                        }
                    }
                    let bias = (!t.bias.is_null()).then(|| {
                        (
                            $load!(FULL, t.bias, m0),
                            $load!(FULL, t.bias.wrapping_add($lanes), m1),
                        )
                    });
                    let relu = A::IN_REGISTER == InRegister::Relu && !A::ROW_WISE;
                    for (r, acc) in acc.iter().enumerate() {
                        let at = r * t.ldc;
                        let (mut v0, mut v1) = (acc[0], acc[1]);
                        // Output::finish's operations in its order: results match the GEMM
                        // path's.
                        if let Some((b0, b1)) = bias {
                            v0 = $add(v0, b0);
                            v1 = $add(v1, b1);
                        }
                        if !t.z.is_null() {
                            $store!(FULL, t.z.add(at), m0, v0);
                            if WIDE {
                                $store!(FULL, t.z.add(at).wrapping_add($lanes), m1, v1);
                            }
                        }
                        if relu {
                            // relu(v) + v·0: NaN for a non-finite v (see `activations`).
                            let zero = $zero();
                            v0 = $fma(v0, zero, $max(v0, zero));
                            v1 = $fma(v1, zero, $max(v1, zero));
                        }
                        let c = t.y.add(at);
                        $store!(FULL, c, m0, v0);
                        if WIDE {
                            $store!(FULL, c.wrapping_add($lanes), m1, v1);
                        }
                        if A::IN_REGISTER == InRegister::AfterStore && !A::ROW_WISE {
                            act.apply_slice(std::slice::from_raw_parts_mut(c, t.cols));
                        }
                    }
                }
            }

            /// # Safety
            /// As `weight_tile`, for `rows` ≤ MR rows and `full` only when cols = NR.
            #[target_feature(enable = $feature)]
            pub(super) unsafe fn weight_tile_dispatch(rows: usize, full: bool, t: WeightTile<'_>) {
                // SAFETY: the caller's contract is weight_tile's.
                unsafe {
                    if t.cols > $lanes {
                        $by_rows!(rows, full, weight_tile::<_, _, true>(t))
                    } else {
                        $by_rows!(rows, full, weight_tile::<_, _, false>(t))
                    }
                }
            }

            /// R patch columns × up to NR filters (up to LANES unless WIDE) of dW over a block
            /// of positions: one FMA chain per weight over the block's positions in order, then
            /// stored (or added to `out`).
            ///
            /// # Safety
            /// The CPU has this module's instruction set; `images + origins[q] + offs[r]` is
            /// readable for q < origins.len(), r < R; `dz + q·ldz + j` for q < origins.len(),
            /// j < cols; `out + r·ldz + j` is readable and writable for r < R, j < cols;
            /// cols ≤ LANES unless WIDE.
            #[target_feature(enable = $feature)]
            unsafe fn weight_tile<const R: usize, const FULL: bool, const WIDE: bool>(
                t: WeightTile<'_>,
            ) {
                let (m0, m1) = ($mask(t.cols), $mask(t.cols.saturating_sub($lanes)));
                // SAFETY (whole body): as the caller guarantees; masked-off lanes are not
                // touched, and pointers that may pass the end of dZ are formed with
                // wrapping_add.
                unsafe {
                    let mut acc = [[$zero(); 2]; R];
                    let mut d = t.dz;
                    for &origin in t.origins {
                        let b0 = $load!(FULL, d, m0);
                        let b1 = if WIDE {
                            $load!(FULL, d.wrapping_add($lanes), m1)
                        } else {
                            $zero()
                        };
                        d = d.wrapping_add(t.ldz);
                        let base = t.images.add(origin);
                        for (r, acc) in acc.iter_mut().enumerate() {
                            let av = $broadcast(*base.add(t.offs[r]));
                            acc[0] = $fma(av, b0, acc[0]);
                            if WIDE {
                                acc[1] = $fma(av, b1, acc[1]);
                            }
                        }
                    }
                    for (r, acc) in acc.iter().enumerate() {
                        let out = t.out.add(r * t.ldz);
                        let hi = out.wrapping_add($lanes);
                        let (mut v0, mut v1) = (acc[0], acc[1]);
                        if t.accumulate {
                            v0 = $add($load!(FULL, out, m0), v0);
                            if WIDE {
                                v1 = $add($load!(FULL, hi, m1), v1);
                            }
                        }
                        $store!(FULL, out, m0, v0);
                        if WIDE {
                            $store!(FULL, hi, m1, v1);
                        }
                    }
                }
            }

            /// # Safety
            /// As `input_tile`, for `rows` ≤ MR rows and `full` only when
            /// offsets.len() = NR.
            #[target_feature(enable = $feature)]
            pub(super) unsafe fn input_tile_dispatch(rows: usize, full: bool, t: InputTile<'_>) {
                // SAFETY: the caller's contract is input_tile's.
                unsafe {
                    if t.offsets.len() > $lanes {
                        $by_rows!(rows, full, input_tile::<_, _, true>(t))
                    } else {
                        $by_rows!(rows, full, input_tile::<_, _, false>(t))
                    }
                }
            }

            /// R positions × up to NR patch columns (up to LANES unless WIDE) of dZ·Wᵀ, one
            /// FMA chain each over the filters, then added onto dX row by row: one (masked)
            /// vector add per row when the columns are contiguous cells, else cell by cell.
            ///
            /// # Safety
            /// The CPU has this module's instruction set; `dz + r·f + q` is readable for
            /// r < R, q < f; `panel` holds f × NR values; `targets[r] + offsets[j]` is readable
            /// and writable for r < R, j < offsets.len() ≤ NR (≤ LANES unless WIDE), and
            /// nothing else writes there meanwhile.
            #[target_feature(enable = $feature)]
            unsafe fn input_tile<const R: usize, const FULL: bool, const WIDE: bool>(
                t: InputTile<'_>,
            ) {
                let cols = t.offsets.len();
                let (m0, m1) = ($mask(cols), $mask(cols.saturating_sub($lanes)));
                // SAFETY (whole body): as the caller guarantees; masked-off lanes are not
                // touched.
                unsafe {
                    let mut acc = [[$zero(); 2]; R];
                    let mut b = t.panel;
                    for q in 0..t.f {
                        let b0 = $loadu(b);
                        let b1 = if WIDE { $loadu(b.add($lanes)) } else { $zero() };
                        b = b.add(NR);
                        for (r, acc) in acc.iter_mut().enumerate() {
                            let av = $broadcast(*t.dz.add(r * t.f + q));
                            acc[0] = $fma(av, b0, acc[0]);
                            if WIDE {
                                acc[1] = $fma(av, b1, acc[1]);
                            }
                        }
                    }
                    if t.contiguous {
                        let first = t.offsets[0] as usize;
                        for (r, acc) in acc.iter().enumerate() {
                            let dst = t.targets[r].add(first);
                            let hi = dst.wrapping_add($lanes);
                            let v0 = $add($load!(FULL, dst, m0), acc[0]);
                            $store!(FULL, dst, m0, v0);
                            if WIDE {
                                let v1 = $add($load!(FULL, hi, m1), acc[1]);
                                $store!(FULL, hi, m1, v1);
                            }
                        }
                    } else {
                        let mut tile = [[0.0f32; NR]; R];
                        for (row, acc) in tile.iter_mut().zip(&acc) {
                            $storeu(row.as_mut_ptr(), acc[0]);
                            if WIDE {
                                $storeu(row.as_mut_ptr().add($lanes), acc[1]);
                            }
                        }
                        for (r, row) in tile.iter().enumerate() {
                            for (&off, v) in t.offsets.iter().zip(row) {
                                *t.targets[r].add(off as usize) += v;
                            }
                        }
                    }
                }
            }
        }
    };
}

implicit_tiles!(
    /// The AVX-512 tiles: 8 rows × 32 columns (16 zmm accumulators), the last columns through
    /// mask registers. Not 12 rows as the GEMM's microkernel: each row of an implicit tile reads
    /// through its own pointer (a window origin, a patch column's offset, a dZ row), and 12 of
    /// them with the loop's own registers are more than x86-64's 16, so the compiler spilled
    /// accumulators in the FMA loop; 12 × 32 measured 119 GFLOP/s at 13×13×32 → 64 forward
    /// against 203 for 8 × 32 (Zen 5, medians of 3).
    avx512, feature = "avx512f", mr = 8, lanes = 16, zero = _mm512_setzero_ps,
    broadcast = _mm512_set1_ps, fma = _mm512_fmadd_ps, add = _mm512_add_ps, max = _mm512_max_ps,
    loadu = _mm512_loadu_ps, storeu = _mm512_storeu_ps, mask = lanes16, load = load_lanes16,
    store = store_lanes16, by_rows = by_rows8
);

implicit_tiles!(
    /// The AVX2 tiles: 6 rows × 16 columns (12 ymm accumulators), the last columns read and
    /// written with `vmaskmovps`.
    avx2, feature = "avx2,fma", mr = 6, lanes = 8, zero = _mm256_setzero_ps,
    broadcast = _mm256_set1_ps, fma = _mm256_fmadd_ps, add = _mm256_add_ps, max = _mm256_max_ps,
    loadu = _mm256_loadu_ps, storeu = _mm256_storeu_ps, mask = live, load = load_lanes,
    store = store_lanes, by_rows = by_rows
);
