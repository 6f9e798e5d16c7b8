//! How a Conv2D pass splits into groups of images and where the groups run, the same on both
//! paths (`im2col`, `implicit`): a group is a fixed number of images (about `GROUP_ROWS` output
//! positions, chosen from the shape, never from the thread count); the groups run on rayon's
//! threads when the pass is large enough; a backward pass writes each group's dW and db to its
//! own partial buffer and sums the partials in group order. So every sum is formed in the same
//! order, and the results are bit-identical on any number of threads. Also the two steps every
//! group's backward starts with on both paths: dL/dy → dL/dz (`to_dz`) and db (`add_rows`).
//!
//! Its own module so that the two paths share one fan-out (they had a copy each) and differ only
//! in what a group computes.
// Indexing stays bounds-checked: `split_at` positions are the shape's kernel length, which
// `Conv2dShape::backward` asserted against the buffers at entry.
#![allow(clippy::indexing_slicing)]

use super::{Conv2dShape, ConvGrads};
use crate::kernels::activations::Activation;
use crate::kernels::dense::Delta;
use crate::kernels::gemm::PARALLEL_MIN_MACS;
use crate::par::prelude::*;

/// Rows of the patch matrix one group aims for: enough for the GEMM's tiles to amortise its
/// packing, few enough that a group's patches stay in L2.
const GROUP_ROWS: usize = 512;

impl Conv2dShape {
    /// Images per group: enough for GROUP_ROWS patch rows.
    pub const fn group(&self) -> usize {
        let positions = self.window.positions();
        let g = GROUP_ROWS.div_ceil(if positions == 0 { 1 } else { positions });
        if g == 0 {
            1
        } else {
            g
        }
    }

    /// Scratch values a backward pass of `rows` images needs for its groups' partial gradients.
    pub const fn partials_len(&self, rows: usize) -> usize {
        rows.div_ceil(self.group()) * (self.kernel_len() + self.filters)
    }

    /// Whether a pass of `rows` images is worth spreading its groups over threads.
    fn parallel(&self, rows: usize) -> bool {
        rows > self.group()
            && rows.saturating_mul(self.macs()) >= PARALLEL_MIN_MACS
            && crate::par::current_num_threads() > 1
    }
}

/// Splits a forward pass over `x.len() / input_len` images into the shape's groups and runs
/// `group(x, y, z)` on each: its images, their outputs, and their pre-activations when `z` is
/// given (on rayon's threads when the pass is large enough).
pub(super) fn forward_groups(
    shape: &Conv2dShape,
    x: &[f32],
    y: &mut [f32],
    z: Option<&mut [f32]>,
    group: impl Fn(&[f32], &mut [f32], Option<&mut [f32]>) + Sync + Send,
) {
    let rows = x.len() / shape.input_len();
    let (in_group, out_group) = (
        shape.group() * shape.input_len(),
        shape.group() * shape.output_len(),
    );
    match (z, shape.parallel(rows)) {
        (Some(z), true) => x
            .par_chunks(in_group)
            .zip(y.par_chunks_mut(out_group))
            .zip(z.par_chunks_mut(out_group))
            .for_each(|((x, y), z)| group(x, y, Some(z))),
        (Some(z), false) => x
            .chunks(in_group)
            .zip(y.chunks_mut(out_group))
            .zip(z.chunks_mut(out_group))
            .for_each(|((x, y), z)| group(x, y, Some(z))),
        (None, true) => x
            .par_chunks(in_group)
            .zip(y.par_chunks_mut(out_group))
            .for_each(|(x, y)| group(x, y, None)),
        (None, false) => x
            .chunks(in_group)
            .zip(y.chunks_mut(out_group))
            .for_each(|(x, y)| group(x, y, None)),
    }
}

/// One group's share of a backward pass.
pub(super) struct GroupBackward<'a> {
    pub(super) input: &'a [f32],
    pub(super) z: &'a [f32],
    pub(super) output: &'a [f32],
    pub(super) delta: &'a mut [f32],
    /// The group's dW then db.
    pub(super) partial: &'a mut [f32],
    pub(super) input_delta: Option<&'a mut [f32]>,
}

/// Splits a backward pass over `x.len() / input_len` images into the shape's groups, runs
/// `run` on each (on rayon's threads when the pass is large enough), then sums the groups'
/// partial dW and db into `grads` in group order.
#[allow(clippy::too_many_arguments)]
pub(super) fn backward_groups(
    shape: &Conv2dShape,
    x: &[f32],
    z: &[f32],
    y: &[f32],
    delta: &mut [f32],
    grads: ConvGrads<'_>,
    partials: &mut [f32],
    run: impl Fn(GroupBackward<'_>) + Sync + Send,
) {
    let rows = x.len() / shape.input_len();
    let (in_group, out_group) = (
        shape.group() * shape.input_len(),
        shape.group() * shape.output_len(),
    );
    let partial_len = shape.kernel_len() + shape.filters;
    macro_rules! jobs {
        ($chunks:ident, $chunks_mut:ident) => {
            x.$chunks(in_group)
                .zip(z.$chunks(out_group))
                .zip(y.$chunks(out_group))
                .zip(delta.$chunks_mut(out_group))
                .zip(partials.$chunks_mut(partial_len))
                .map(|((((input, z), output), delta), partial)| GroupBackward {
                    input,
                    z,
                    output,
                    delta,
                    partial,
                    input_delta: None,
                })
        };
    }
    let with_dx = |(mut group, dx): (GroupBackward<'_>, &mut [f32])| {
        group.input_delta = Some(dx);
        run(group)
    };
    match (grads.input, shape.parallel(rows)) {
        (Some(dx), true) => jobs!(par_chunks, par_chunks_mut)
            .zip(dx.par_chunks_mut(in_group))
            .for_each(with_dx),
        (Some(dx), false) => jobs!(chunks, chunks_mut)
            .zip(dx.chunks_mut(in_group))
            .for_each(with_dx),
        (None, true) => jobs!(par_chunks, par_chunks_mut).for_each(&run),
        (None, false) => jobs!(chunks, chunks_mut).for_each(&run),
    }
    // The groups' gradients, summed in group order (zero for a pass over no images).
    let mut parts = partials.chunks_exact(partial_len);
    let mut bias = grads.bias;
    let Some(first) = parts.next() else {
        grads.kernel.fill(0.0);
        if let Some(b) = bias {
            b.fill(0.0);
        }
        return;
    };
    let (dw, db) = first.split_at(shape.kernel_len());
    grads.kernel.copy_from_slice(dw);
    if let Some(b) = bias.as_deref_mut() {
        b.copy_from_slice(db);
    }
    for p in parts {
        let (dw, db) = p.split_at(shape.kernel_len());
        grads.kernel.iter_mut().zip(dw).for_each(|(g, v)| *g += v);
        if let Some(b) = bias.as_deref_mut() {
            b.iter_mut().zip(db).for_each(|(g, v)| *g += v);
        }
    }
}

/// dL/dy → dL/dz in place over whole pixels of `f` filters (nothing when `start` says `delta`
/// already is dL/dz).
pub(super) fn to_dz<A: Activation>(
    act: &A,
    start: Delta,
    f: usize,
    z: &[f32],
    y: &[f32],
    delta: &mut [f32],
) {
    match start {
        // Softmax's Jacobian couples a pixel's filters: pixel by pixel.
        Delta::Output if A::ROW_WISE => {
            for ((d, z), y) in delta
                .chunks_exact_mut(f)
                .zip(z.chunks_exact(f))
                .zip(y.chunks_exact(f))
            {
                act.backward_row(z, y, d);
            }
        }
        // Element-wise: the same operation on every value, in one sweep.
        Delta::Output => act.backward_row(z, y, delta),
        Delta::PreActivation => {}
    }
}

/// sum += each `sum.len()`-wide row of `rows`, in order.
pub(super) fn add_rows(rows: &[f32], sum: &mut [f32]) {
    for row in rows.chunks_exact(sum.len()) {
        sum.iter_mut().zip(row).for_each(|(s, v)| *s += v);
    }
}
