//! `Conv1D`: Keras' 1-D convolution over (steps, features) sequences, as a product of the
//! windows and the kernel (`kernels::conv1d` has the geometry). Inference with undilated windows
//! reads them in place: window t is the K·C values from step t·S on, so a sequence's windows
//! are a matrix with overlapping rows S·C apart (the padded sequence copied first where there
//! is padding), multiplied by the kernel's GEMM panels that the model keeps packed
//! (`Layer::PACKED`, as Dense's; packed again only when the weights change), one sequence per
//! task on the threads
//! (Conv1D(64, 5) on 100 × 32 at batch 64: 1.2× the copied windows on one thread, and now
//! shared by two). Training, and dilated windows, copy the windows into the scratch (zeros in
//! the padding) for one Dense product (`kernels::dense`: bias and activation fused), which the
//! backward pass reads again, summing the windows' gradients back onto the steps.

use super::{head, head_mut, part, weight, Backward, Forward, Layer, Step, Weights};
use crate::kernels::activations::Activation;
use crate::kernels::conv1d::Conv1dShape;
use crate::kernels::conv1d::CAUSAL;
use crate::kernels::dense::{dense_backward_fused, dense_forward_fused, DenseDims, DenseGrads};
use crate::kernels::gemm::{
    gemm_fused_packed, pack_b_once, packed_len_bound, panel_width, Epilogue, MatRef, PackedB,
};
use crate::kernels::isa::Isa;
use crate::params::InitRng;
use crate::spec::WeightSpec;

/// Keras' `Conv1D(FL, K, strides = S, padding, dilation_rate = D, activation = A, use_bias =
/// BIAS)` on (T, C) sequences; `PAD` is `kernels::conv1d::{VALID, SAME, CAUSAL}`. Parameters:
/// kernel `[K][C][FL]`, then bias `[FL]`.
#[derive(Clone, Copy, Debug)]
pub struct Conv1D<
    const T: usize,
    const C: usize,
    const FL: usize,
    const K: usize,
    const S: usize,
    const D: usize,
    const PAD: u8,
    A: Activation,
    const BIAS: bool = true,
> {
    /// The activation applied to the convolution plus bias.
    pub activation: A,
}

impl<
        const T: usize,
        const C: usize,
        const FL: usize,
        const K: usize,
        const S: usize,
        const D: usize,
        const PAD: u8,
        A: Activation,
        const BIAS: bool,
    > Conv1D<T, C, FL, K, S, D, PAD, A, BIAS>
{
    /// The convolution's geometry.
    pub const SHAPE: Conv1dShape = Conv1dShape::new(T, C, K, S, D, PAD);
    const OUT: usize = Self::SHAPE.out_steps * FL;
    const KERNEL_LEN: usize = K * C * FL;
    /// Window values of one sequence.
    const PATCHES: usize = Self::SHAPE.out_steps * K * C;

    /// The layer with this activation.
    pub const fn new(activation: A) -> Self {
        Conv1D { activation }
    }

    /// Whether inference reads the windows in place: undilated windows (or one tap) are
    /// consecutive runs of the sequence, so window t is the K·C values from step t·S on, and a
    /// sequence's windows are a matrix with rows S·C apart (overlapping) that the product reads
    /// as it is. Dilated taps are not one run: those windows are copied (`im2col`).
    const IN_PLACE: bool = D == 1 || K == 1;
    /// Steps of a sequence with its padding around it: what the last window reaches, and at
    /// least the sequence itself.
    const PADDED_STEPS: usize = {
        let reach = if Self::SHAPE.out_steps == 0 {
            0
        } else {
            (Self::SHAPE.out_steps - 1) * Self::SHAPE.stride + K
        };
        let steps = Self::SHAPE.pad_before + T;
        if reach > steps {
            reach
        } else {
            steps
        }
    };
    /// Values of a padded sequence in the inference scratch: none when there is no padding
    /// (`valid`: the windows are read from the input itself).
    const PADDED: usize = if Self::SHAPE.pad_before == 0 && Self::PADDED_STEPS == T {
        0
    } else {
        Self::PADDED_STEPS * C
    };
    /// Inference with the windows read in place ([`IN_PLACE`](Self::IN_PLACE)): each
    /// sequence's windows times the kernel's panels (bias and activation fused),
    /// sequences spread over the threads. No window is copied, and each sequence's product
    /// reads its input while it is in cache; the values are the batched product's (a row of
    /// the GEMM depends only on its own inputs, not on the rows beside it), at any thread
    /// count.
    fn forward_in_place(&self, weights: Weights<'_>, pass: Forward<'_>) {
        use crate::par::prelude::*;
        let (isa, rows, steps) = (Isa::current(), pass.rows, Self::SHAPE.out_steps);
        if rows == 0 || Self::OUT == 0 {
            return;
        }
        let padded = head_mut(pass.scratch, rows * Self::PADDED);
        let kernel = MatRef::row_major(head(weights.params, Self::KERNEL_LEN), K * C, FL);
        let packed = Self::packed(isa, weights.packed);
        let bias = BIAS.then(|| part(weights.params, Self::KERNEL_LEN, FL));
        let one = |x: &[f32], y: &mut [f32], padded: &mut [f32]| {
            let source: &[f32] = if Self::PADDED == 0 {
                x
            } else {
                let (before, rest) = padded.split_at_mut(Self::SHAPE.pad_before * C);
                let (sequence, after) = rest.split_at_mut(T * C);
                before.fill(0.0);
                sequence.copy_from_slice(x);
                after.fill(0.0);
                padded
            };
            let windows = MatRef {
                data: source,
                rows: steps,
                cols: K * C,
                rs: Self::SHAPE.stride * C,
                cs: 1,
            };
            let epilogue = Epilogue {
                bias,
                activation: &self.activation,
                pre_activation: None,
            };
            gemm_fused_packed(isa, windows, kernel, packed, y, false, epilogue);
            if A::ROW_WISE {
                for step in y.chunks_exact_mut(FL) {
                    self.activation.apply_row(step);
                }
            }
        };
        let sequences = pass
            .input
            .par_chunks((T * C).max(1))
            .zip(pass.output.par_chunks_mut(Self::OUT));
        if Self::PADDED == 0 {
            sequences.for_each(|(x, y)| one(x, y, &mut []));
        } else {
            sequences
                .zip(padded.par_chunks_mut(Self::PADDED))
                .for_each(|((x, y), padded)| one(x, y, padded));
        }
    }

    /// The kernel's panels the model keeps packed, as the GEMM takes them (none: a pass
    /// without the model's packs, where each product packs the kernel itself).
    fn packed(isa: Isa, packed: &[f32]) -> Option<PackedB<'_>> {
        (!packed.is_empty()).then(|| PackedB {
            nr: panel_width(isa),
            k: K * C,
            n: FL,
            data: packed,
        })
    }

    fn dims(rows: usize) -> DenseDims {
        DenseDims {
            rows: rows * Self::SHAPE.out_steps,
            k: K * C,
            n: FL,
        }
    }
}

impl<
        const T: usize,
        const C: usize,
        const FL: usize,
        const K: usize,
        const S: usize,
        const D: usize,
        const PAD: u8,
        A: Activation,
        const BIAS: bool,
    > Layer for Conv1D<T, C, FL, K, S, D, PAD, A, BIAS>
{
    const CLASS_NAME: &'static str = "Conv1D";
    const INPUT_WIDTH: usize = T * C;
    const OUTPUT_WIDTH: usize = Self::OUT;
    const PARAMS: usize = Self::KERNEL_LEN + if BIAS { FL } else { 0 };
    const MACS_PER_ROW: usize = Self::SHAPE.out_steps * K * C * FL;
    /// The kernel kept in the GEMM's panels: every sequence's product (inference) and the
    /// windows' product (training) read it instead of packing it again.
    const PACKED: usize = packed_len_bound(K * C, FL);

    fn activation_name(&self) -> Option<String> {
        Some(self.activation.describe())
    }

    fn weights(&self) -> Vec<WeightSpec> {
        let mut w = vec![weight("kernel", vec![K, C, FL], true)];
        if BIAS {
            w.push(weight("bias", vec![FL], true));
        }
        w
    }

    /// Keras' defaults: `glorot_uniform` with fan_in = K·C and fan_out = K·FL, zero bias.
    fn init(&self, params: &mut [f32], _state: &mut [f32], rng: &mut InitRng) {
        let (kernel, bias) = params.split_at_mut(Self::KERNEL_LEN.min(params.len()));
        rng.glorot_uniform(kernel, K * C, K * FL);
        bias.fill(0.0);
    }

    fn pack(&self, params: &[f32], isa: Isa, out: &mut [f32]) {
        let kernel = MatRef::row_major(head(params, Self::KERNEL_LEN), K * C, FL);
        pack_b_once(isa, kernel, out);
    }

    /// Training: the windows, the pre-activation and the windows' gradient. Inference: the
    /// windows (dilated), or each padded sequence (read in place). A training tape holds an
    /// inference pass too (`evaluate` runs one on it): a padded sequence can be longer than a
    /// strided one's windows.
    fn scratch_len(&self, rows: usize, training: bool) -> usize {
        let inference = if Self::IN_PLACE {
            rows * Self::PADDED
        } else {
            rows * Self::PATCHES
        };
        if training {
            (rows * (2 * Self::PATCHES + Self::OUT)).max(inference)
        } else {
            inference
        }
    }

    fn forward(&self, weights: Weights<'_>, pass: Forward<'_>) {
        if Self::IN_PLACE && pass.phase.training().is_none() {
            return self.forward_in_place(weights, pass);
        }
        let rows = pass.rows;
        let (patches, rest) = pass
            .scratch
            .split_at_mut((rows * Self::PATCHES).min(pass.scratch.len()));
        for (x, p) in pass
            .input
            .chunks_exact(T * C)
            .zip(patches.chunks_exact_mut(Self::PATCHES.max(1)))
        {
            Self::SHAPE.im2col(x, p);
        }
        let z = (rest.len() >= rows * Self::OUT).then(|| head_mut(rest, rows * Self::OUT));
        dense_forward_fused(
            patches,
            head(weights.params, Self::KERNEL_LEN),
            BIAS.then(|| part(weights.params, Self::KERNEL_LEN, FL)),
            &self.activation,
            Self::dims(rows),
            pass.output,
            z,
            (!weights.packed.is_empty()).then_some(weights.packed),
        );
    }

    fn backward(&self, weights: Weights<'_>, pass: Backward<'_>, grads: &mut [f32]) {
        let rows = pass.rows;
        let (patches, rest) = pass
            .scratch
            .split_at_mut((rows * Self::PATCHES).min(pass.scratch.len()));
        let (z, dpatches) = rest.split_at_mut((rows * Self::OUT).min(rest.len()));
        let dpatches = head_mut(dpatches, rows * Self::PATCHES);
        let (kernel, bias) = grads.split_at_mut(Self::KERNEL_LEN.min(grads.len()));
        let wants_input = pass.input_delta.is_some();
        dense_backward_fused(
            patches,
            head(weights.params, Self::KERNEL_LEN),
            z,
            pass.output,
            pass.delta,
            &self.activation,
            pass.start,
            Self::dims(rows),
            DenseGrads {
                kernel,
                bias: BIAS.then_some(bias),
                input: wants_input.then_some(&mut *dpatches),
            },
        );
        if let Some(dx) = pass.input_delta {
            for (dp, dx) in dpatches
                .chunks_exact(Self::PATCHES.max(1))
                .zip(dx.chunks_exact_mut(T * C))
            {
                Self::SHAPE.col2im(dp, dx);
            }
        }
    }

    /// A causal convolution's stream carries the last `(K − 1)·D` steps of its input (zeros
    /// after a reset: Keras' causal padding).
    const STREAM_STATE: usize = if PAD == CAUSAL { (K - 1) * D * C } else { 0 };

    fn step_scratch_len(&self, rows: usize) -> usize {
        rows * K * C
    }

    /// One step of a causal convolution (the layer built for `T` = 1): the window is the
    /// carried steps and this one, at every D-th position back; then the carried steps move on
    /// by one. Only causal padding streams (the macro builds no stream otherwise).
    fn step(&self, weights: Weights<'_>, pass: Step<'_>) {
        debug_assert!(
            T == 1 && PAD == CAUSAL,
            "streams step a causal Conv1D built for one step"
        );
        let history = (K - 1) * D * C;
        let window = head_mut(pass.scratch, pass.rows * K * C);
        for (r, (x, w)) in pass
            .input
            .chunks_exact(C)
            .zip(window.chunks_exact_mut(K * C))
            .enumerate()
        {
            let past = pass
                .state
                .get_mut(r * history..(r + 1) * history)
                .unwrap_or_default();
            // Tap k reads the step (K − 1 − k)·D before this one: the carried steps, oldest
            // first, then this one.
            for (k, tap) in w.chunks_exact_mut(C).enumerate() {
                let from = k * D * C;
                match past.get(from..from + C) {
                    Some(carried) => tap.copy_from_slice(carried),
                    None => tap.copy_from_slice(x),
                }
            }
            if let Some(last) = history.checked_sub(C) {
                past.copy_within(C.., 0);
                if let Some(newest) = past.get_mut(last..) {
                    newest.copy_from_slice(x);
                }
            }
        }
        dense_forward_fused(
            window,
            head(weights.params, Self::KERNEL_LEN),
            BIAS.then(|| part(weights.params, Self::KERNEL_LEN, FL)),
            &self.activation,
            DenseDims {
                rows: pass.rows,
                k: K * C,
                n: FL,
            },
            pass.output,
            None,
            None,
        );
    }

    /// One sequence without a patch buffer: the same sums in tap order (within float rounding
    /// of the batched product).
    fn forward_one(&self, weights: Weights<'_>, x: &[f32], y: &mut [f32]) {
        Self::SHAPE.direct(
            x,
            head(weights.params, Self::KERNEL_LEN),
            BIAS.then(|| part(weights.params, Self::KERNEL_LEN, FL)),
            y,
        );
        if A::ROW_WISE {
            for step in y.chunks_exact_mut(FL) {
                self.activation.apply_row(step);
            }
        } else {
            self.activation.apply_slice(y);
        }
    }

    fn logits<'a>(&self, _input: &'a [f32], scratch: &'a [f32], rows: usize) -> &'a [f32] {
        let start = rows * Self::PATCHES;
        scratch.get(start..start + rows * Self::OUT).unwrap_or(&[])
    }
}
