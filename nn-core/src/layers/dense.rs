//! `Dense`: y = act(x·W + b).

use super::{head, head_mut, part, weight, Backward, Forward, Layer, Weights};
use crate::kernels::activations::Activation;
use crate::kernels::dense::{dense_backward_fused, dense_forward_fused, DenseDims, DenseGrads};
use crate::kernels::gemm::{pack_b_once, packed_len_bound, MatRef};
use crate::kernels::isa::Isa;
use crate::params::InitRng;
use crate::spec::{Quantize, WeightSpec};

/// The smallest kernel (IN × OUT) kept packed: 256 × 256. Below it the products are a few
/// microseconds, where the GEMM's direct path (no packing) or one pack per call is as fast.
const PACK_MIN_WEIGHTS: usize = 1 << 16;

/// A fully connected layer from `IN` to `OUT` units with activation `A`, with a bias when `BIAS`.
///
/// Its parameters are `[kernel IN×OUT][bias OUT]`, Keras' layout and order. On a training (or
/// evaluating) tape its scratch keeps the pre-activation x·W + b, which the backward pass and a
/// loss computed from logits read.
#[derive(Clone, Copy, Debug)]
pub struct Dense<const IN: usize, const OUT: usize, A: Activation, const BIAS: bool = true> {
    /// The activation applied to x·W + b.
    pub activation: A,
}

impl<const IN: usize, const OUT: usize, A: Activation, const BIAS: bool> Dense<IN, OUT, A, BIAS> {
    /// Number of kernel weights, `IN × OUT`.
    pub const KERNEL_LEN: usize = IN * OUT;

    /// The layer with this activation.
    pub const fn new(activation: A) -> Self {
        Dense { activation }
    }

    /// The kernel `[IN][OUT]` within this layer's parameters.
    #[inline]
    pub fn kernel(params: &[f32]) -> &[f32] {
        head(params, Self::KERNEL_LEN)
    }

    /// The bias within this layer's parameters, if the layer has one.
    #[inline]
    pub fn bias(params: &[f32]) -> Option<&[f32]> {
        BIAS.then(|| part(params, Self::KERNEL_LEN, OUT))
    }

    fn dims(rows: usize) -> DenseDims {
        DenseDims {
            rows,
            k: IN,
            n: OUT,
        }
    }
}

impl<const IN: usize, const OUT: usize, A: Activation, const BIAS: bool> Layer
    for Dense<IN, OUT, A, BIAS>
{
    const CLASS_NAME: &'static str = "Dense";
    const INPUT_WIDTH: usize = IN;
    const OUTPUT_WIDTH: usize = OUT;
    const PARAMS: usize = IN * OUT + if BIAS { OUT } else { 0 };
    const MACS_PER_ROW: usize = IN * OUT;
    const OUTPUT_ACTIVATION: &'static str = A::NAME;
    const QUANTIZE: Quantize = Quantize::Kernel;
    /// Large kernels only: a small one takes the GEMM's unpacked path (or packing it costs
    /// less than a lookup), and its copy would be memory for nothing.
    const PACKED: usize = if IN * OUT >= PACK_MIN_WEIGHTS && OUT > 1 {
        packed_len_bound(IN, OUT)
    } else {
        0
    };

    fn activation_name(&self) -> Option<String> {
        Some(self.activation.describe())
    }

    fn weights(&self) -> Vec<WeightSpec> {
        let mut w = vec![weight("kernel", vec![IN, OUT], true)];
        if BIAS {
            w.push(weight("bias", vec![OUT], true));
        }
        w
    }

    /// Keras' defaults: `glorot_uniform` kernel, zero bias.
    fn init(&self, params: &mut [f32], _state: &mut [f32], rng: &mut InitRng) {
        let (kernel, bias) = params.split_at_mut(Self::KERNEL_LEN);
        rng.glorot_uniform(kernel, IN, OUT);
        bias.fill(0.0);
    }

    fn pack(&self, params: &[f32], isa: Isa, out: &mut [f32]) {
        pack_b_once(isa, MatRef::row_major(Self::kernel(params), IN, OUT), out);
    }

    fn scratch_len(&self, rows: usize, training: bool) -> usize {
        if training {
            rows * OUT
        } else {
            0
        }
    }

    /// y = act(x·W + b); on a training tape the scratch receives x·W + b. Quantized, the
    /// product is Keras' int8 one (`Int8Weights::dense_forward`).
    #[inline]
    fn forward(&self, weights: Weights<'_>, pass: Forward<'_>) {
        let rows = pass.rows;
        let z = (!pass.scratch.is_empty()).then(|| head_mut(pass.scratch, rows * OUT));
        if let Some(q) = weights.int8 {
            let bias = Self::bias(weights.params);
            q.dense_forward(&self.activation, pass.input, rows, bias, pass.output, z);
            return;
        }
        dense_forward_fused(
            pass.input,
            Self::kernel(weights.params),
            Self::bias(weights.params),
            &self.activation,
            Self::dims(rows),
            pass.output,
            z,
            (!weights.packed.is_empty()).then_some(weights.packed),
        );
    }

    /// From the gradient in `pass.delta` (dL/dy, or dL/dz when `pass.start` says so), writes
    /// dL/dW and dL/db into `grads` and dL/dx into `pass.input_delta` when there is one.
    #[inline]
    fn backward(&self, weights: Weights<'_>, pass: Backward<'_>, grads: &mut [f32]) {
        let rows = pass.rows;
        let (kernel, bias) = grads.split_at_mut(Self::KERNEL_LEN);
        dense_backward_fused(
            pass.input,
            Self::kernel(weights.params),
            head(pass.scratch, rows * OUT),
            pass.output,
            pass.delta,
            &self.activation,
            pass.start,
            Self::dims(rows),
            DenseGrads {
                kernel,
                bias: BIAS.then_some(bias),
                input: pass.input_delta,
            },
        );
    }

    /// The GEMV monomorphized for this layer's widths (quantized: the int8 product on one row,
    /// its buffer per thread).
    #[inline]
    fn forward_one(&self, weights: Weights<'_>, x: &[f32], y: &mut [f32]) {
        if let Some(q) = weights.int8 {
            q.dense_one::<IN, OUT, A>(&self.activation, x, Self::bias(weights.params), y);
            return;
        }
        crate::kernels::gemm::gemv_fixed::<IN, OUT, A>(
            crate::kernels::isa::Isa::current(),
            x,
            Self::kernel(weights.params),
            Self::bias(weights.params),
            &self.activation,
            y,
        );
        if A::ROW_WISE {
            self.activation.apply_row(y);
        }
    }

    fn logits<'a>(&self, _input: &'a [f32], scratch: &'a [f32], rows: usize) -> &'a [f32] {
        scratch.get(..rows * OUT).unwrap_or(&[])
    }
}
