//! `Conv2D`: channels-last 2-D convolution as im2col + the packed GEMM with the Dense epilogue.
//!
//! Forward: a group of images is copied into its patch matrix (`kernels::conv`), which times
//! the kernel viewed as (KH·KW·C) × F is the output, `positions × F` per image, exactly the
//! channels-last layout; bias, pre-activation copy and activation run in the GEMM's epilogue. A
//! 1×1 convolution with stride 1 needs no copy: its input already is the patch matrix.
//!
//! Backward, per group: dZ from dY through the activation, db = Σ dZ, dW = patchesᵀ·dZ, and
//! dX = col2im(dZ·Wᵀ). The groups' dW and db are summed in group order.
//!
//! Groups are a fixed number of images (chosen from the layer's shape, never from the thread
//! count) and may run on rayon's threads; so every sum is formed in the same order and the
//! results are bit-identical on any number of threads.

use super::{weight, Backward, Forward, Layer, Weights};
use crate::kernels::activations::Activation;
use crate::kernels::conv::{Axis, Window2d};
use crate::kernels::dense::Delta;
use crate::kernels::gemm::{gemm, gemm_fused, Epilogue, MatRef, PARALLEL_MIN_MACS};
use crate::kernels::isa::Isa;
use crate::params::InitRng;
use crate::spec::WeightSpec;
use rayon::prelude::*;
use std::cell::RefCell;

/// Rows of the patch matrix one group aims for: enough for the GEMM's tiles to amortise its
/// packing, few enough that a group's patches stay in L2.
const GROUP_ROWS: usize = 512;

/// One group's share of a backward pass.
struct GroupBackward<'a> {
    input: &'a [f32],
    z: &'a [f32],
    output: &'a [f32],
    delta: &'a mut [f32],
    /// The group's dW then db.
    partial: &'a mut [f32],
    input_delta: Option<&'a mut [f32]>,
}

thread_local! {
    /// Patch matrices (forward) and their gradients (backward), per thread, grown once.
    static PATCHES: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// Keras' `Conv2D(F, (KH, KW), strides = (SH, SW), padding, activation = A, use_bias = BIAS)`
/// on (H, W, C) images. Parameters: kernel `[KH][KW][C][F]`, then bias `[F]`.
#[derive(Clone, Copy, Debug)]
pub struct Conv2D<
    const H: usize,
    const W: usize,
    const C: usize,
    const F: usize,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const SAME: bool,
    A: Activation,
    const BIAS: bool = true,
> {
    /// The activation applied to the convolution plus bias.
    pub activation: A,
}

impl<
        const H: usize,
        const W: usize,
        const C: usize,
        const F: usize,
        const KH: usize,
        const KW: usize,
        const SH: usize,
        const SW: usize,
        const SAME: bool,
        A: Activation,
        const BIAS: bool,
    > Conv2D<H, W, C, F, KH, KW, SH, SW, SAME, A, BIAS>
{
    /// The window geometry.
    pub const WINDOW: Window2d = Window2d {
        rows: Axis::new(H, KH, SH, SAME),
        cols: Axis::new(W, KW, SW, SAME),
        channels: C,
    };
    /// Output positions per image.
    pub const POSITIONS: usize = Self::WINDOW.positions();
    /// Values per patch, KH·KW·C: the GEMM's k.
    pub const PATCH: usize = KH * KW * C;
    /// Kernel values.
    pub const KERNEL_LEN: usize = KH * KW * C * F;
    /// Images per group.
    pub const GROUP: usize = {
        let g = GROUP_ROWS.div_ceil(if Self::POSITIONS == 0 {
            1
        } else {
            Self::POSITIONS
        });
        if g == 0 {
            1
        } else {
            g
        }
    };
    /// A 1×1, stride-1 convolution: the input is its own patch matrix.
    const POINTWISE: bool = KH == 1 && KW == 1 && SH == 1 && SW == 1;

    /// The layer with this activation.
    pub const fn new(activation: A) -> Self {
        Conv2D { activation }
    }

    fn kernel(params: &[f32]) -> &[f32] {
        &params[..Self::KERNEL_LEN]
    }

    fn bias(params: &[f32]) -> Option<&[f32]> {
        BIAS.then(|| &params[Self::KERNEL_LEN..Self::KERNEL_LEN + F])
    }

    /// Row groups of a pass of `rows` images.
    fn groups(rows: usize) -> usize {
        rows.div_ceil(Self::GROUP)
    }

    /// Whether a pass of `rows` images is worth spreading its groups over threads.
    fn parallel(rows: usize) -> bool {
        Self::groups(rows) > 1
            && rows.saturating_mul(<Self as Layer>::MACS_PER_ROW) >= PARALLEL_MIN_MACS
            && rayon::current_num_threads() > 1
    }

    /// Values of one group's partial gradient (kernel then bias).
    const PARTIAL: usize = Self::KERNEL_LEN + F;

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

    /// One group's forward: `input` holds its images, `output` (and `z`) their outputs.
    fn forward_group(
        &self,
        params: &[f32],
        input: &[f32],
        output: &mut [f32],
        z: Option<&mut [f32]>,
    ) {
        let images = input.len() / (H * W * C);
        let m = images * Self::POSITIONS;
        let isa = Isa::current();
        let run = |patches: &[f32], output: &mut [f32], z: Option<&mut [f32]>| {
            gemm_fused(
                isa,
                MatRef::row_major(patches, m, Self::PATCH),
                MatRef::row_major(Self::kernel(params), Self::PATCH, F),
                output,
                false,
                Epilogue {
                    bias: Self::bias(params),
                    activation: &self.activation,
                    pre_activation: z,
                },
            );
        };
        if Self::POINTWISE {
            run(input, output, z);
        } else {
            Self::with_patches(m * Self::PATCH, |patches, _| {
                for (image, col) in input
                    .chunks_exact(H * W * C)
                    .zip(patches.chunks_exact_mut(Self::POSITIONS * Self::PATCH))
                {
                    Self::WINDOW.im2col(image, col);
                }
                run(patches, output, z);
            });
        }
        if A::ROW_WISE {
            output
                .chunks_exact_mut(F)
                .for_each(|pixel| self.activation.apply_row(pixel));
        }
    }

    /// One group's backward: turns its `delta` (dY) into dZ in place, writes the group's dW and
    /// db into its `partial` and, when asked, dX into its `input_delta`.
    fn backward_group(&self, params: &[f32], start: Delta, group: GroupBackward<'_>) {
        let GroupBackward {
            input,
            z,
            output,
            delta,
            partial,
            input_delta,
        } = group;
        let images = input.len() / (H * W * C);
        let m = images * Self::POSITIONS;
        if start == Delta::Output {
            for ((d, z), y) in delta
                .chunks_exact_mut(F)
                .zip(z.chunks_exact(F))
                .zip(output.chunks_exact(F))
            {
                self.activation.backward_row(z, y, d);
            }
        }
        let (dw, db) = partial.split_at_mut(Self::KERNEL_LEN);
        db.fill(0.0);
        for d in delta.chunks_exact(F) {
            db.iter_mut().zip(d).for_each(|(b, d)| *b += d);
        }
        let isa = Isa::current();
        let dz = MatRef::row_major(delta, m, F);
        let kernel_t = MatRef::row_major(Self::kernel(params), Self::PATCH, F).t();
        if Self::POINTWISE {
            gemm(isa, MatRef::row_major(input, m, C).t(), dz, dw, false);
            if let Some(dx) = input_delta {
                gemm(isa, dz, kernel_t, dx, false);
            }
            return;
        }
        Self::with_patches(m * Self::PATCH, |patches, dpatches| {
            for (image, col) in input
                .chunks_exact(H * W * C)
                .zip(patches.chunks_exact_mut(Self::POSITIONS * Self::PATCH))
            {
                Self::WINDOW.im2col(image, col);
            }
            gemm(
                isa,
                MatRef::row_major(patches, m, Self::PATCH).t(),
                dz,
                dw,
                false,
            );
            if let Some(dx) = input_delta {
                gemm(isa, dz, kernel_t, dpatches, false);
                dx.fill(0.0);
                for (image, col) in dx
                    .chunks_exact_mut(H * W * C)
                    .zip(dpatches.chunks_exact(Self::POSITIONS * Self::PATCH))
                {
                    Self::WINDOW.col2im_add(col, image);
                }
            }
        });
    }
}

impl<
        const H: usize,
        const W: usize,
        const C: usize,
        const F: usize,
        const KH: usize,
        const KW: usize,
        const SH: usize,
        const SW: usize,
        const SAME: bool,
        A: Activation,
        const BIAS: bool,
    > Layer for Conv2D<H, W, C, F, KH, KW, SH, SW, SAME, A, BIAS>
{
    const CLASS_NAME: &'static str = "Conv2D";
    const INPUT_WIDTH: usize = H * W * C;
    const OUTPUT_WIDTH: usize = Self::POSITIONS * F;
    const PARAMS: usize = Self::KERNEL_LEN + if BIAS { F } else { 0 };
    const MACS_PER_ROW: usize = Self::POSITIONS * Self::PATCH * F;
    const OUTPUT_ACTIVATION: &'static str = A::NAME;

    fn activation_name(&self) -> Option<String> {
        Some(self.activation.describe())
    }

    fn weights(&self) -> Vec<WeightSpec> {
        let mut w = vec![weight("kernel", vec![KH, KW, C, F], true)];
        if BIAS {
            w.push(weight("bias", vec![F], true));
        }
        w
    }

    /// Keras' defaults: `glorot_uniform` with fan_in = KH·KW·C and fan_out = KH·KW·F, zero bias.
    fn init(&self, params: &mut [f32], _state: &mut [f32], rng: &mut InitRng) {
        let (kernel, bias) = params.split_at_mut(Self::KERNEL_LEN);
        rng.glorot_uniform(kernel, KH * KW * C, KH * KW * F);
        bias.fill(0.0);
    }

    /// Training: the pre-activation, then one partial gradient per group.
    fn scratch_len(&self, rows: usize, training: bool) -> usize {
        if training {
            rows * <Self as Layer>::OUTPUT_WIDTH + Self::groups(rows) * Self::PARTIAL
        } else {
            0
        }
    }

    fn forward(&self, weights: Weights<'_>, pass: Forward<'_>) {
        let rows = pass.rows;
        let (in_group, out_group) = (
            Self::GROUP * <Self as Layer>::INPUT_WIDTH,
            Self::GROUP * <Self as Layer>::OUTPUT_WIDTH,
        );
        let z: Option<&mut [f32]> = (!pass.scratch.is_empty())
            .then(|| &mut pass.scratch[..rows * <Self as Layer>::OUTPUT_WIDTH]);
        let params = weights.params;
        let (x, y) = (pass.input, pass.output);
        match (z, Self::parallel(rows)) {
            (Some(z), true) => x
                .par_chunks(in_group)
                .zip(y.par_chunks_mut(out_group))
                .zip(z.par_chunks_mut(out_group))
                .for_each(|((x, y), z)| self.forward_group(params, x, y, Some(z))),
            (Some(z), false) => x
                .chunks(in_group)
                .zip(y.chunks_mut(out_group))
                .zip(z.chunks_mut(out_group))
                .for_each(|((x, y), z)| self.forward_group(params, x, y, Some(z))),
            (None, true) => x
                .par_chunks(in_group)
                .zip(y.par_chunks_mut(out_group))
                .for_each(|(x, y)| self.forward_group(params, x, y, None)),
            (None, false) => x
                .chunks(in_group)
                .zip(y.chunks_mut(out_group))
                .for_each(|(x, y)| self.forward_group(params, x, y, None)),
        }
    }

    fn backward(&self, weights: Weights<'_>, pass: Backward<'_>, grads: &mut [f32]) {
        let rows = pass.rows;
        let out_len = rows * <Self as Layer>::OUTPUT_WIDTH;
        let (z, partials) = pass.scratch.split_at_mut(out_len);
        let partials = &mut partials[..Self::groups(rows) * Self::PARTIAL];
        let (in_group, out_group) = (
            Self::GROUP * <Self as Layer>::INPUT_WIDTH,
            Self::GROUP * <Self as Layer>::OUTPUT_WIDTH,
        );
        let (params, start) = (weights.params, pass.start);
        let run = |group: GroupBackward<'_>| self.backward_group(params, start, group);
        macro_rules! jobs {
            ($chunks:ident, $chunks_mut:ident) => {
                pass.input
                    .$chunks(in_group)
                    .zip(z.$chunks(out_group))
                    .zip(pass.output.$chunks(out_group))
                    .zip(pass.delta.$chunks_mut(out_group))
                    .zip(partials.$chunks_mut(Self::PARTIAL))
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
        match (pass.input_delta, Self::parallel(rows)) {
            (Some(dx), true) => jobs!(par_chunks, par_chunks_mut)
                .zip(dx.par_chunks_mut(in_group))
                .for_each(with_dx),
            (Some(dx), false) => jobs!(chunks, chunks_mut)
                .zip(dx.chunks_mut(in_group))
                .for_each(with_dx),
            (None, true) => jobs!(par_chunks, par_chunks_mut).for_each(run),
            (None, false) => jobs!(chunks, chunks_mut).for_each(run),
        }
        // The groups' gradients, summed in group order.
        let grads = &mut grads[..<Self as Layer>::PARAMS];
        let mut parts = partials.chunks_exact(Self::PARTIAL);
        let first = parts.next().expect("a pass has at least one row");
        let take = |p: &[f32], grads: &mut [f32], add: bool| {
            let (dw, db) = p.split_at(Self::KERNEL_LEN);
            let (gw, gb) = grads.split_at_mut(Self::KERNEL_LEN);
            if add {
                gw.iter_mut().zip(dw).for_each(|(g, v)| *g += v);
                gb.iter_mut().zip(db).for_each(|(g, v)| *g += v);
            } else {
                gw.copy_from_slice(dw);
                gb.copy_from_slice(&db[..gb.len()]);
            }
        };
        take(first, grads, false);
        for p in parts {
            take(p, grads, true);
        }
    }

    /// The batched path on one image (its patch buffer is this thread's, grown once).
    fn forward_one(&self, weights: Weights<'_>, x: &[f32], y: &mut [f32]) {
        self.forward_group(weights.params, x, y, None);
    }

    fn logits<'a>(&self, _input: &'a [f32], scratch: &'a [f32], rows: usize) -> &'a [f32] {
        scratch
            .get(..rows * <Self as Layer>::OUTPUT_WIDTH)
            .unwrap_or(&[])
    }
}
