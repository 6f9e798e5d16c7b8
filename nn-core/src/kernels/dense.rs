//! The Dense passes on top of the GEMM.
//!
//! Forward: y = act(x·W + b), one GEMM whose epilogue adds the bias, keeps the pre-activation
//! for training and applies an element-wise activation to each output tile while it is in L1;
//! softmax, being row-wise, runs once whole rows exist. A single row takes the GEMV path, which
//! needs no packing; both sum in the same order, so a row's output never depends on its batch.
//!
//! Backward: one sweep over the rows turns dL/dy into dL/dz in place and sums db; then
//! dW = xᵀ·dz and dx = dz·Wᵀ are two GEMMs whose transposed operands are strided views.
//!
//! Layouts are Keras': `x` is `rows × k` row-major, `w` is the kernel `[k][n]` row-major, `b` has
//! `n` values.

use super::activations::Activation;
use super::gemm::{gemm, gemm_fused_packed, gemv, panel_width, Epilogue, MatRef, PackedB};
use super::isa::Isa;
use wide::f32x8;

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
/// for the backward pass); inference passes `None` and never writes it. `packed`, when given, is
/// W packed by `pack_b_once` for `Isa::current()` (a layer's `Layer::pack`): the GEMM reads it
/// instead of packing W itself, with the same result.
///
/// Panics only on a caller bug (slice lengths not matching `dims`); layer code guarantees them.
#[inline]
#[allow(clippy::too_many_arguments)]
pub fn dense_forward_fused<A: Activation>(
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    act: &A,
    dims: DenseDims,
    y: &mut [f32],
    z: Option<&mut [f32]>,
    packed: Option<&[f32]>,
) {
    let DenseDims { rows, k, n } = dims;
    assert_eq!(x.len(), rows * k, "dense forward: x is not rows × k");
    assert_eq!(w.len(), k * n, "dense forward: kernel is not k × n");
    assert_eq!(y.len(), rows * n, "dense forward: y is not rows × n");
    let isa = Isa::current();
    match z {
        None if rows == 1 => {
            gemv(isa, x, w, bias, y);
            if !A::ROW_WISE {
                act.apply_slice(y);
            }
        }
        z => {
            let epilogue = Epilogue {
                bias,
                activation: act,
                pre_activation: z,
            };
            let packed = packed.map(|data| PackedB {
                nr: panel_width(isa),
                k,
                n,
                data,
            });
            gemm_fused_packed(
                isa,
                MatRef::row_major(x, rows, k),
                MatRef::row_major(w, k, n),
                packed,
                y,
                false,
                epilogue,
            );
        }
    }
    if A::ROW_WISE {
        for out in y.chunks_exact_mut(n.max(1)) {
            act.apply_row(out);
        }
    }
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
#[derive(Debug)]
pub struct DenseGrads<'a> {
    /// dL/dW, `k × n`, overwritten.
    pub kernel: &'a mut [f32],
    /// dL/db, `n`, overwritten; `None` for a layer without bias.
    pub bias: Option<&'a mut [f32]>,
    /// dL/dx, `rows × k`, overwritten; `None` for the first layer, whose input needs none.
    pub input: Option<&'a mut [f32]>,
}

/// The Dense backward: dz (in place in `delta`) and db in one sweep over the rows, then
/// dW = xᵀ·dz and dx = dz·Wᵀ as GEMMs.
///
/// `z` and `y` are the forward pass's pre-activation and output. Nothing depends on the number
/// of threads: the GEMMs never split a sum, and the sweep runs in row order.
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
        input: dx,
    } = grads;
    assert_eq!(x.len(), rows * k, "dense backward: x is not rows × k");
    assert_eq!(w.len(), k * n, "dense backward: kernel is not k × n");
    assert!(z.len() == rows * n && y.len() == rows * n && delta.len() == rows * n);
    assert_eq!(dw.len(), k * n, "dense backward: dW is not k × n");

    if let Some(db) = db.as_deref_mut() {
        assert_eq!(db.len(), n, "dense backward: db is not n long");
        db.fill(0.0);
    }
    for r in 0..rows {
        let row = r * n..(r + 1) * n;
        // In range: the lengths were asserted just above.
        let (Some(d), Some(zr), Some(yr)) =
            (delta.get_mut(row.clone()), z.get(row.clone()), y.get(row))
        else {
            continue;
        };
        if start == Delta::Output {
            act.backward_row(zr, yr, d);
        }
        if let Some(db) = db.as_deref_mut() {
            add_into(d, db);
        }
    }

    let isa = Isa::current();
    let dz = MatRef::row_major(delta, rows, n);
    gemm(isa, MatRef::row_major(x, rows, k).t(), dz, dw, false);
    if let Some(dx) = dx {
        assert_eq!(dx.len(), rows * k, "dense backward: dx is not rows × k");
        gemm(isa, dz, MatRef::row_major(w, k, n).t(), dx, false);
    }
}

/// acc += v, eight lanes at a time.
#[inline(always)]
fn add_into(v: &[f32], acc: &mut [f32]) {
    // Both are n long (the caller's checked shapes); the tails then pair up as before.
    debug_assert_eq!(v.len(), acc.len());
    let (a, a_rest) = acc.as_chunks_mut::<8>();
    let (s, s_rest) = v.as_chunks::<8>();
    for (a, s) in a.iter_mut().zip(s) {
        let sum = f32x8::new(*a) + f32x8::new(*s);
        a.copy_from_slice(sum.as_array());
    }
    for (a, s) in a_rest.iter_mut().zip(s_rest) {
        *a += s;
    }
}
