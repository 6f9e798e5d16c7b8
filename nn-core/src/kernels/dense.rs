//! The fused Dense forward kernel: y = act(x·W + b) in one pass, the bias add and (element-wise)
//! activation applied to each output tile while it is still in registers.
//!
//! Layouts are Keras': `x` is `rows × k` row-major, `w` is the kernel `[k][n]` row-major, `b` has
//! `n` values. The register tile is `R` rows × 8 columns (one `f32x8` per row), accumulated with
//! FMA over the whole `k`; columns past the last full tile take a scalar loop.

use super::activations::Activation;
use wide::f32x8;

/// Width of one SIMD register in `f32`s.
const LANES: usize = 8;
/// Rows per register tile: 4 accumulators reuse each kernel load four times.
const TILE_ROWS: usize = 4;

/// Shapes of one Dense product: `rows × k` input times `k × n` kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DenseDims {
    /// Rows of the batch.
    pub rows: usize,
    /// Input width (fan-in).
    pub k: usize,
    /// Output width (units).
    pub n: usize,
}

/// y = act(x·W + b). When `z` is given it receives the pre-activation x·W + b (training needs it
/// for the backward pass); inference passes `None` and never writes it.
///
/// Panics only on a caller bug (slice lengths not matching `dims`); layer code guarantees them.
#[inline]
pub fn dense_forward_fused<A: Activation>(
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    act: &A,
    dims: DenseDims,
    y: &mut [f32],
    mut z: Option<&mut [f32]>,
) {
    let DenseDims { rows, k, n } = dims;
    assert_eq!(x.len(), rows * k, "dense forward: x is not rows × k");
    assert_eq!(w.len(), k * n, "dense forward: kernel is not k × n");
    assert_eq!(y.len(), rows * n, "dense forward: y is not rows × n");
    if let Some(b) = bias {
        assert_eq!(b.len(), n, "dense forward: bias is not n long");
    }
    if let Some(z) = z.as_deref() {
        assert_eq!(z.len(), rows * n, "dense forward: z is not rows × n");
    }

    let mut row = 0;
    while row + TILE_ROWS <= rows {
        row_block::<A, TILE_ROWS>(x, w, bias, act, dims, row, y, z.as_deref_mut());
        row += TILE_ROWS;
    }
    while row < rows {
        row_block::<A, 1>(x, w, bias, act, dims, row, y, z.as_deref_mut());
        row += 1;
    }

    if A::ROW_WISE {
        // Row-wise activations need the whole row of pre-activations, which the tiles left in y.
        for out in y.chunks_exact_mut(n) {
            act.apply_row(out);
        }
    }
}

/// Rows `row0 .. row0 + R` of the output: full 8-wide column tiles in registers, then the tail.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn row_block<A: Activation, const R: usize>(
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    act: &A,
    DenseDims { k, n, .. }: DenseDims,
    row0: usize,
    y: &mut [f32],
    mut z: Option<&mut [f32]>,
) {
    let x_rows: [&[f32]; R] = std::array::from_fn(|r| &x[(row0 + r) * k..(row0 + r + 1) * k]);
    let full_cols = n - n % LANES;

    let mut col = 0;
    while col < full_cols {
        let start = match bias {
            Some(b) => load8(&b[col..]),
            None => f32x8::ZERO,
        };
        let mut acc = [start; R];
        for p in 0..k {
            let wv = load8(&w[p * n + col..]);
            for r in 0..R {
                acc[r] = f32x8::splat(x_rows[r][p]).mul_add(wv, acc[r]);
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            let at = (row0 + r) * n + col;
            if let Some(z) = z.as_deref_mut() {
                z[at..at + LANES].copy_from_slice(acc.as_array());
            }
            let out = if A::ROW_WISE {
                *acc
            } else {
                act.apply_x8(*acc)
            };
            y[at..at + LANES].copy_from_slice(out.as_array());
        }
        col += LANES;
    }

    for col in full_cols..n {
        for (r, xr) in x_rows.iter().enumerate() {
            let mut acc = bias.map_or(0.0, |b| b[col]);
            for (p, &xv) in xr.iter().enumerate() {
                acc = xv.mul_add(w[p * n + col], acc);
            }
            let at = (row0 + r) * n + col;
            if let Some(z) = z.as_deref_mut() {
                z[at] = acc;
            }
            y[at] = if A::ROW_WISE { acc } else { act.apply(acc) };
        }
    }
}

#[inline(always)]
fn load8(s: &[f32]) -> f32x8 {
    let lanes: [f32; LANES] = s[..LANES].try_into().expect("eight lanes");
    f32x8::new(lanes)
}

/// Which gradient the backward pass starts from in `delta`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delta {
    /// dL/dy, the gradient with respect to the layer's output: the activation's derivative is
    /// applied first.
    Output,
    /// dL/dz, already with respect to the pre-activation (a loss fused with its output
    /// activation, e.g. sigmoid + binary cross-entropy gives p − y directly).
    PreActivation,
}

/// The gradient buffers one Dense backward pass writes.
pub struct DenseGrads<'a> {
    /// dL/dW, `k × n`, overwritten.
    pub kernel: &'a mut [f32],
    /// dL/db, `n`, overwritten; `None` for a layer without bias.
    pub bias: Option<&'a mut [f32]>,
    /// dL/dx, `rows × k`, overwritten; `None` for the first layer, whose input needs none.
    pub input: Option<&'a mut [f32]>,
}

/// The fused Dense backward, one sweep over the rows: each row of `delta` is turned into dz in
/// place (the activation derivative, unless it is already dz), added into db, accumulated into
/// dW = xᵀ·dz as a rank-1 update, and multiplied by Wᵀ into dx, while the row is in L1.
///
/// `z` and `y` are the forward pass's pre-activation and output. Row order is fixed, so the
/// result does not depend on anything but the inputs.
#[allow(clippy::too_many_arguments)]
pub fn dense_backward_fused<A: Activation>(
    x: &[f32],
    w: &[f32],
    z: &[f32],
    y: &[f32],
    delta: &mut [f32],
    act: &A,
    start: Delta,
    dims: DenseDims,
    grads: DenseGrads<'_>,
) {
    let DenseDims { rows, k, n } = dims;
    let DenseGrads {
        kernel: dw,
        bias: mut db,
        input: mut dx,
    } = grads;
    assert_eq!(x.len(), rows * k, "dense backward: x is not rows × k");
    assert_eq!(w.len(), k * n, "dense backward: kernel is not k × n");
    assert!(z.len() == rows * n && y.len() == rows * n && delta.len() == rows * n);
    assert_eq!(dw.len(), k * n, "dense backward: dW is not k × n");

    dw.fill(0.0);
    if let Some(db) = db.as_deref_mut() {
        assert_eq!(db.len(), n, "dense backward: db is not n long");
        db.fill(0.0);
    }
    if let Some(dx) = dx.as_deref() {
        assert_eq!(dx.len(), rows * k, "dense backward: dx is not rows × k");
    }

    for r in 0..rows {
        let d = &mut delta[r * n..(r + 1) * n];
        if start == Delta::Output {
            act.backward_row(&z[r * n..(r + 1) * n], &y[r * n..(r + 1) * n], d);
        }
        let d: &[f32] = d;
        if let Some(db) = db.as_deref_mut() {
            axpy(1.0, d, db);
        }
        let xr = &x[r * k..(r + 1) * k];
        for (p, &xv) in xr.iter().enumerate() {
            axpy(xv, d, &mut dw[p * n..(p + 1) * n]);
        }
        if let Some(dx) = dx.as_deref_mut() {
            for (p, out) in dx[r * k..(r + 1) * k].iter_mut().enumerate() {
                *out = dot(d, &w[p * n..(p + 1) * n]);
            }
        }
    }
}

/// acc += a · v, eight lanes at a time.
#[inline(always)]
fn axpy(a: f32, v: &[f32], acc: &mut [f32]) {
    let full = v.len() - v.len() % LANES;
    let av = f32x8::splat(a);
    let mut i = 0;
    while i < full {
        let sum = av.mul_add(load8(&v[i..]), load8(&acc[i..]));
        acc[i..i + LANES].copy_from_slice(sum.as_array());
        i += LANES;
    }
    for j in full..v.len() {
        acc[j] = a.mul_add(v[j], acc[j]);
    }
}

/// Σ a_i b_i, eight lanes at a time, then the lanes summed.
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let full = a.len() - a.len() % LANES;
    let mut acc = f32x8::ZERO;
    let mut i = 0;
    while i < full {
        acc = load8(&a[i..]).mul_add(load8(&b[i..]), acc);
        i += LANES;
    }
    let mut sum = acc.reduce_add();
    for j in full..a.len() {
        sum = a[j].mul_add(b[j], sum);
    }
    sum
}
