//! `Conv2D`: the layer type over `kernels::conv`'s passes (an implicit GEMM on AVX2, im2col + the
//! packed GEMM elsewhere, both with the Dense epilogue; see there), with every size a const
//! generic.

use super::{head, head_mut, part, weight, Backward, Forward, Layer, Weights};
use crate::kernels::activations::Activation;
use crate::kernels::conv::{Axis, Conv2dShape, ConvGrads, ConvTensors, Window2d};
use crate::params::InitRng;
use crate::spec::WeightSpec;

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
    /// The convolution's shape.
    pub const SHAPE: Conv2dShape = Conv2dShape {
        window: Window2d {
            rows: Axis::new(H, KH, SH, SAME),
            cols: Axis::new(W, KW, SW, SAME),
            channels: C,
        },
        filters: F,
    };
    /// Kernel values.
    pub const KERNEL_LEN: usize = KH * KW * C * F;

    /// The layer with this activation.
    pub const fn new(activation: A) -> Self {
        Conv2D { activation }
    }

    fn tensors<'a>(params: &'a [f32], x: &'a [f32]) -> ConvTensors<'a> {
        ConvTensors {
            x,
            kernel: head(params, Self::KERNEL_LEN),
            bias: BIAS.then(|| part(params, Self::KERNEL_LEN, F)),
        }
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
    const OUTPUT_WIDTH: usize = Self::SHAPE.output_len();
    const PARAMS: usize = Self::KERNEL_LEN + if BIAS { F } else { 0 };
    const MACS_PER_ROW: usize = Self::SHAPE.macs();
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

    /// Training: the pre-activation, then one partial gradient per group of images.
    fn scratch_len(&self, rows: usize, training: bool) -> usize {
        if training {
            rows * Self::SHAPE.output_len() + Self::SHAPE.partials_len(rows)
        } else {
            0
        }
    }

    fn forward(&self, weights: Weights<'_>, pass: Forward<'_>) {
        let len = pass.rows * Self::SHAPE.output_len();
        let z = (!pass.scratch.is_empty()).then(|| head_mut(pass.scratch, len));
        Self::SHAPE.forward(
            Self::tensors(weights.params, pass.input),
            &self.activation,
            pass.output,
            z,
        );
    }

    fn backward(&self, weights: Weights<'_>, pass: Backward<'_>, grads: &mut [f32]) {
        let len = pass.rows * Self::SHAPE.output_len();
        let (z, partials) = pass.scratch.split_at_mut(len);
        let (kernel, bias) = grads.split_at_mut(Self::KERNEL_LEN);
        Self::SHAPE.backward(
            Self::tensors(weights.params, pass.input),
            z,
            pass.output,
            pass.delta,
            &self.activation,
            pass.start,
            ConvGrads {
                kernel,
                bias: BIAS.then_some(bias),
                input: pass.input_delta,
            },
            head_mut(partials, Self::SHAPE.partials_len(pass.rows)),
        );
    }

    /// The batched path on one image (its patch buffer is this thread's, grown once).
    fn forward_one(&self, weights: Weights<'_>, x: &[f32], y: &mut [f32]) {
        Self::SHAPE.forward(Self::tensors(weights.params, x), &self.activation, y, None);
    }

    fn logits<'a>(&self, _input: &'a [f32], scratch: &'a [f32], rows: usize) -> &'a [f32] {
        scratch
            .get(..rows * Self::SHAPE.output_len())
            .unwrap_or(&[])
    }
}
