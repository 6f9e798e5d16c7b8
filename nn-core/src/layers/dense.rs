//! `Dense`: y = act(x·W + b), the layer the macro instantiates with literal widths.

use crate::kernels::activations::Activation;
use crate::kernels::dense::{
    dense_backward_fused, dense_forward_fused, Delta, DenseDims, DenseGrads,
};
use crate::network::BackwardIo;
use crate::params::InitRng;

/// A fully connected layer from `IN` to `OUT` units with activation `A`, with a bias when `BIAS`.
///
/// It owns no weights: its parameters are the slice `[kernel IN×OUT][bias OUT]` of the network's
/// flat buffer that the generated code hands it, so the whole network stays one allocation.
#[derive(Clone, Copy, Debug)]
pub struct Dense<const IN: usize, const OUT: usize, A: Activation, const BIAS: bool = true> {
    /// The activation applied to x·W + b.
    pub activation: A,
}

impl<const IN: usize, const OUT: usize, A: Activation, const BIAS: bool> Dense<IN, OUT, A, BIAS> {
    /// Number of kernel weights, `IN × OUT`.
    pub const KERNEL_LEN: usize = IN * OUT;
    /// Number of parameters: kernel, then bias when there is one.
    pub const PARAM_COUNT: usize = IN * OUT + if BIAS { OUT } else { 0 };

    /// The layer with this activation.
    pub const fn new(activation: A) -> Self {
        Dense { activation }
    }

    /// Number of parameters (for code that holds the layer as a value).
    pub const fn param_count(&self) -> usize {
        Self::PARAM_COUNT
    }

    /// Keras' defaults: `glorot_uniform` kernel, zero bias.
    pub fn init(&self, params: &mut [f32], rng: &mut InitRng) {
        let (kernel, bias) = params.split_at_mut(Self::KERNEL_LEN);
        rng.glorot_uniform(kernel, IN, OUT);
        bias.fill(0.0);
    }

    /// The kernel `[IN][OUT]` within this layer's parameters.
    #[inline]
    pub fn kernel(params: &[f32]) -> &[f32] {
        &params[..Self::KERNEL_LEN]
    }

    /// The bias within this layer's parameters, if the layer has one.
    #[inline]
    pub fn bias(params: &[f32]) -> Option<&[f32]> {
        BIAS.then(|| &params[Self::KERNEL_LEN..Self::PARAM_COUNT])
    }

    /// Forward one row without keeping the pre-activation (`predict_one`): the GEMV
    /// monomorphized for this layer's widths.
    #[inline]
    pub fn forward_one(&self, params: &[f32], x: &[f32], y: &mut [f32]) {
        crate::kernels::gemm::gemv_fixed::<IN, OUT, A>(
            crate::kernels::isa::Isa::current(),
            x,
            Self::kernel(params),
            Self::bias(params),
            &self.activation,
            y,
        );
        if A::ROW_WISE {
            self.activation.apply_row(y);
        }
    }

    /// Forward `rows` rows: `y = act(x·W + b)`; `z`, when given, receives x·W + b.
    #[inline]
    pub fn forward(
        &self,
        params: &[f32],
        x: &[f32],
        rows: usize,
        y: &mut [f32],
        z: Option<&mut [f32]>,
    ) {
        dense_forward_fused(
            x,
            Self::kernel(params),
            Self::bias(params),
            &self.activation,
            DenseDims {
                rows,
                k: IN,
                n: OUT,
            },
            y,
            z,
        );
    }

    /// Backward `rows` rows: from the gradient in `io.delta` (dL/dy, or dL/dz when `start` says
    /// so), writes dL/dW and dL/db into `grads` (this layer's slice of the gradient buffer, laid
    /// out like its parameters) and dL/dx into `io.input_delta` when there is one.
    #[inline]
    pub fn backward(
        &self,
        params: &[f32],
        io: BackwardIo<'_>,
        rows: usize,
        start: Delta,
        grads: &mut [f32],
    ) {
        let (kernel, bias) = grads.split_at_mut(Self::KERNEL_LEN);
        dense_backward_fused(
            io.input,
            Self::kernel(params),
            io.pre_activation,
            io.output,
            io.delta,
            &self.activation,
            start,
            DenseDims {
                rows,
                k: IN,
                n: OUT,
            },
            DenseGrads {
                kernel,
                bias: BIAS.then_some(bias),
                input: io.input_delta,
            },
        );
    }
}
