//! Conv2D by im2col, the portable path: per group of images, the patch matrix
//! (one row per output position: the window's input values in the kernel's (kh, kw, c) order,
//! zeros in the padding), then the packed GEMM against the kernel viewed as (KH·KW·C) × F, which
//! is the channels-last output as it is; the Dense epilogue (bias, pre-activation copy,
//! activation) runs on the product. A 1×1 convolution with stride 1 needs no copy: its input
//! already is the patch matrix.
//!
//! Backward, per group: dZ from dY through the activation, db = Σ dZ, dW = patchesᵀ·dZ, and
//! dX = col2im(dZ·Wᵀ).
//!
//! Its own module because the patch copies and their per-thread buffer are this path's alone:
//! the implicit path (`implicit`) reads windows in place. How passes split into groups and where
//! the groups run is `groups`, shared by both.
// Indexing stays bounds-checked: every index is bounded by the `Window2d` dimensions, which
// `Conv2dShape::forward`/`backward` assert against the buffers' lengths at entry.
#![allow(clippy::indexing_slicing)]

use super::groups::{add_rows, backward_groups, forward_groups, to_dz, GroupBackward};
use super::{BackwardPass, Conv2dShape, ConvTensors, Window2d};
use crate::kernels::activations::Activation;
use crate::kernels::dense::Delta;
use crate::kernels::gemm::{gemm, gemm_fused, Epilogue, MatRef};
use crate::kernels::isa::Isa;
use std::cell::RefCell;

impl Window2d {
    /// Writes one image's patch matrix (`positions × patch_len`, row-major) into `col`.
    pub fn im2col(&self, image: &[f32], col: &mut [f32]) {
        let (c, kw) = (self.channels, self.cols.window);
        let k = self.patch_len();
        let row_len = self.cols.input * c;
        debug_assert!(image.len() == self.input_len() && col.len() == self.positions() * k);
        for oh in 0..self.rows.output {
            for ow in 0..self.cols.output {
                let patch = &mut col[(oh * self.cols.output + ow) * k..][..k];
                let kw_in = self.cols.inside(ow);
                for (kh, run) in patch.chunks_exact_mut(kw * c).enumerate() {
                    let Some(ih) = self.rows.source(oh, kh) else {
                        run.fill(0.0);
                        continue;
                    };
                    // The window's cells on this input row are contiguous, channels last.
                    run[..kw_in.start * c].fill(0.0);
                    run[kw_in.end * c..].fill(0.0);
                    if kw_in.start < kw_in.end {
                        let iw = self.cols.cell(ow, kw_in.start);
                        let src = &image[ih * row_len + iw * c..][..(kw_in.end - kw_in.start) * c];
                        run[kw_in.start * c..kw_in.end * c].copy_from_slice(src);
                    }
                }
            }
        }
    }

    /// The adjoint of `im2col`: adds each patch value of `col` back onto the image cell it was
    /// read from (`image` is not cleared first).
    pub fn col2im_add(&self, col: &[f32], image: &mut [f32]) {
        let (c, kw) = (self.channels, self.cols.window);
        let k = self.patch_len();
        let row_len = self.cols.input * c;
        debug_assert!(image.len() == self.input_len() && col.len() == self.positions() * k);
        for oh in 0..self.rows.output {
            for ow in 0..self.cols.output {
                let patch = &col[(oh * self.cols.output + ow) * k..][..k];
                let kw_in = self.cols.inside(ow);
                if kw_in.start >= kw_in.end {
                    continue;
                }
                let iw = self.cols.cell(ow, kw_in.start);
                for (kh, run) in patch.chunks_exact(kw * c).enumerate() {
                    let Some(ih) = self.rows.source(oh, kh) else {
                        continue;
                    };
                    let dst = &mut image[ih * row_len + iw * c..][..(kw_in.end - kw_in.start) * c];
                    let src = &run[kw_in.start * c..kw_in.end * c];
                    dst.iter_mut().zip(src).for_each(|(d, s)| *d += s);
                }
            }
        }
    }
}

thread_local! {
    /// Patch matrices (forward) and their gradients (backward), per thread, grown once.
    static PATCHES: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// Runs `f` with this thread's patch buffers, each at least `len` long. A re-entrant call
/// (rayon running another group on this thread while this one waits) gets fresh buffers.
fn with_patches<R>(len: usize, f: impl FnOnce(&mut [f32], &mut [f32]) -> R) -> R {
    let (mut a, mut b) = PATCHES.with(|p| std::mem::take(&mut *p.borrow_mut()));
    if a.len() < len {
        a.resize(len, 0.0);
        b.resize(len, 0.0);
    }
    let result = f(&mut a[..len], &mut b[..len]);
    PATCHES.with(|p| *p.borrow_mut() = (a, b));
    result
}

/// A 1×1, stride-1 convolution: the input is its own patch matrix.
const fn pointwise(shape: &Conv2dShape) -> bool {
    shape.window.rows.window == 1
        && shape.window.cols.window == 1
        && shape.window.rows.stride == 1
        && shape.window.cols.stride == 1
}

/// The forward pass over the images of `t.x`: `Conv2dShape::forward` on this path.
pub(super) fn forward<A: Activation>(
    shape: &Conv2dShape,
    t: ConvTensors<'_>,
    act: &A,
    y: &mut [f32],
    z: Option<&mut [f32]>,
) {
    forward_groups(shape, t.x, y, z, |x, y, z| {
        forward_group(shape, &ConvTensors { x, ..t }, act, y, z)
    });
}

/// One group's forward: `t.x` holds its images, `y` (and `z`) their outputs.
fn forward_group<A: Activation>(
    shape: &Conv2dShape,
    t: &ConvTensors<'_>,
    act: &A,
    y: &mut [f32],
    z: Option<&mut [f32]>,
) {
    let m = t.x.len() / shape.input_len() * shape.window.positions();
    let k = shape.window.patch_len();
    let isa = Isa::current();
    let run = |patches: &[f32], y: &mut [f32], z: Option<&mut [f32]>| {
        gemm_fused(
            isa,
            MatRef::row_major(patches, m, k),
            MatRef::row_major(t.kernel, k, shape.filters),
            y,
            false,
            Epilogue {
                bias: t.bias,
                activation: act,
                pre_activation: z,
            },
        );
    };
    if pointwise(shape) {
        run(t.x, y, z);
    } else {
        with_patches(m * k, |patches, _| {
            im2col_images(shape, t.x, patches);
            run(patches, y, z);
        });
    }
    if A::ROW_WISE {
        y.chunks_exact_mut(shape.filters)
            .for_each(|pixel| act.apply_row(pixel));
    }
}

/// The patch matrices of consecutive images, one after the other.
fn im2col_images(shape: &Conv2dShape, images: &[f32], patches: &mut [f32]) {
    let per_image = shape.window.positions() * shape.window.patch_len();
    for (image, col) in images
        .chunks_exact(shape.input_len())
        .zip(patches.chunks_exact_mut(per_image))
    {
        shape.window.im2col(image, col);
    }
}

/// The backward pass: `Conv2dShape::backward` on this path.
pub(super) fn backward<A: Activation>(shape: &Conv2dShape, pass: BackwardPass<'_, A>) {
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
    let run = |group: GroupBackward<'_>| backward_group(shape, &t, act, start, group);
    backward_groups(shape, t.x, z, y, delta, grads, partials, run);
}

/// One group's backward: dZ in place, the group's dW and db into its partial, dX if asked.
fn backward_group<A: Activation>(
    shape: &Conv2dShape,
    t: &ConvTensors<'_>,
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
    let m = input.len() / shape.input_len() * shape.window.positions();
    let k = shape.window.patch_len();
    delta_and_bias(shape, act, start, z, output, delta, partial);
    let (dw, _) = partial.split_at_mut(shape.kernel_len());
    let isa = Isa::current();
    let dz = MatRef::row_major(delta, m, f);
    let kernel_t = MatRef::row_major(t.kernel, k, f).t();
    if pointwise(shape) {
        gemm(isa, MatRef::row_major(input, m, k).t(), dz, dw, false);
        if let Some(dx) = input_delta {
            gemm(isa, dz, kernel_t, dx, false);
        }
        return;
    }
    with_patches(m * k, |patches, dpatches| {
        im2col_images(shape, input, patches);
        gemm(isa, MatRef::row_major(patches, m, k).t(), dz, dw, false);
        if let Some(dx) = input_delta {
            gemm(isa, dz, kernel_t, dpatches, false);
            dx.fill(0.0);
            let per_image = shape.window.positions() * k;
            for (image, col) in dx
                .chunks_exact_mut(shape.input_len())
                .zip(dpatches.chunks_exact(per_image))
            {
                shape.window.col2im_add(col, image);
            }
        }
    });
}

/// A group's first backward step: dL/dz in `delta` (through the activation when `start` is
/// dL/dy), and db = Σ dZ into the partial's last `filters` values.
fn delta_and_bias<A: Activation>(
    shape: &Conv2dShape,
    act: &A,
    start: Delta,
    z: &[f32],
    output: &[f32],
    delta: &mut [f32],
    partial: &mut [f32],
) {
    to_dz(act, start, shape.filters, z, output, delta);
    let (_, db) = partial.split_at_mut(shape.kernel_len());
    db.fill(0.0);
    add_rows(delta, db);
}
