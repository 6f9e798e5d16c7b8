//! Conv1D's geometry, Keras' way — `valid`, `same` (the extra cell after, as TensorFlow pads)
//! and `causal` (all padding before, so step t sees only steps ≤ t), strides and dilation —
//! and the patch copies that make a 1-D convolution one Dense product: each output step's
//! window (kernel × channels values, zeros where it hangs over an edge) is a row, the kernel
//! `[kernel][channels][filters]` is the Dense kernel, so `kernels::dense` does the arithmetic
//! forward and backward.

/// Keras' `padding = "valid"`: windows inside the sequence only.
pub const VALID: u8 = 0;
/// Keras' `padding = "same"`: ⌈steps / stride⌉ outputs, the padding split with the odd cell after.
pub const SAME: u8 = 1;
/// Keras' `padding = "causal"`: dilation·(kernel − 1) zeros before the sequence.
pub const CAUSAL: u8 = 2;

/// One Conv1D's sizes and where its windows fall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv1dShape {
    /// Input steps.
    pub steps: usize,
    /// Input features per step.
    pub channels: usize,
    /// Taps of the kernel.
    pub kernel: usize,
    /// Steps between windows.
    pub stride: usize,
    /// Steps between taps.
    pub dilation: usize,
    /// Zeros before the first step.
    pub pad_before: usize,
    /// Output steps.
    pub out_steps: usize,
}

impl Conv1dShape {
    /// The shape Keras computes for `padding` ([`VALID`], [`SAME`] or [`CAUSAL`]).
    pub const fn new(
        steps: usize,
        channels: usize,
        kernel: usize,
        stride: usize,
        dilation: usize,
        padding: u8,
    ) -> Self {
        let stride = if stride == 0 { 1 } else { stride };
        let span = dilation * kernel.saturating_sub(1) + 1;
        let (out_steps, pad_before) = match padding {
            SAME => {
                let out = steps.div_ceil(stride);
                let total = (out.saturating_sub(1) * stride + span).saturating_sub(steps);
                (out, total / 2)
            }
            CAUSAL => (steps.div_ceil(stride), span - 1),
            _ => (
                if steps >= span {
                    (steps - span) / stride + 1
                } else {
                    0
                },
                0,
            ),
        };
        Conv1dShape {
            steps,
            channels,
            kernel,
            stride,
            dilation,
            pad_before,
            out_steps,
        }
    }

    /// Values in one window (a row of the Dense product): kernel × channels.
    pub const fn patch_len(&self) -> usize {
        self.kernel * self.channels
    }

    /// The input step tap `tap` of output step `t` reads, or `None` in the padding.
    #[inline]
    fn source(&self, t: usize, tap: usize) -> Option<usize> {
        (t * self.stride + tap * self.dilation)
            .checked_sub(self.pad_before)
            .filter(|&s| s < self.steps)
    }

    /// One sequence's windows: `x` is steps × channels, `patches` out_steps × patch_len.
    pub fn im2col(&self, x: &[f32], patches: &mut [f32]) {
        let c = self.channels.max(1);
        for (t, window) in patches
            .chunks_exact_mut(self.patch_len().max(1))
            .enumerate()
        {
            for (tap, dest) in window.chunks_exact_mut(c).enumerate() {
                match self.source(t, tap).and_then(|s| x.get(s * c..(s + 1) * c)) {
                    Some(src) => dest.copy_from_slice(src),
                    None => dest.fill(0.0),
                }
            }
        }
    }

    /// The reverse: `dx` (steps × channels, overwritten) sums each window's gradient back onto
    /// the steps it read.
    pub fn col2im(&self, dpatches: &[f32], dx: &mut [f32]) {
        let c = self.channels.max(1);
        dx.fill(0.0);
        for (t, window) in dpatches.chunks_exact(self.patch_len().max(1)).enumerate() {
            for (tap, src) in window.chunks_exact(c).enumerate() {
                if let Some(dest) = self
                    .source(t, tap)
                    .and_then(|s| dx.get_mut(s * c..(s + 1) * c))
                {
                    for (d, &v) in dest.iter_mut().zip(src) {
                        *d += v;
                    }
                }
            }
        }
    }

    /// One sequence's convolution without a patch buffer (for `predict_one`, which allocates
    /// nothing): `y` (out_steps × filters) = Σ taps x[step]·kernel[tap] + bias, before the
    /// activation.
    pub fn direct(&self, x: &[f32], kernel: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
        let c = self.channels.max(1);
        let filters = y.len() / self.out_steps.max(1);
        for (t, out) in y.chunks_exact_mut(filters.max(1)).enumerate() {
            match bias {
                Some(b) => out.copy_from_slice(b),
                None => out.fill(0.0),
            }
            for (tap, taps) in kernel.chunks_exact(c * filters.max(1)).enumerate() {
                let Some(src) = self.source(t, tap).and_then(|s| x.get(s * c..(s + 1) * c)) else {
                    continue;
                };
                for (&v, w) in src.iter().zip(taps.chunks_exact(filters.max(1))) {
                    for (o, &w) in out.iter_mut().zip(w) {
                        *o += v * w;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_steps_and_padding_follow_keras() {
        // same: 16 steps, kernel 5 → 16 out, 2 before; stride 2 on 9 → 5 out, span 5: total 4.
        assert_eq!(Conv1dShape::new(16, 2, 5, 1, 1, SAME).out_steps, 16);
        assert_eq!(Conv1dShape::new(16, 2, 5, 1, 1, SAME).pad_before, 2);
        assert_eq!(Conv1dShape::new(9, 1, 5, 2, 1, SAME).pad_before, 2);
        // causal, dilation 2, kernel 3: 4 zeros before, one output per step.
        let causal = Conv1dShape::new(18, 3, 3, 1, 2, CAUSAL);
        assert_eq!((causal.out_steps, causal.pad_before), (18, 4));
        // valid: 10 steps, kernel 3, dilation 2 (span 5), stride 2 → 3.
        assert_eq!(Conv1dShape::new(10, 1, 3, 2, 2, VALID).out_steps, 3);
        assert_eq!(Conv1dShape::new(4, 1, 5, 1, 1, VALID).out_steps, 0);
    }

    /// im2col + a product equals the direct sum; col2im is im2col's transpose (⟨im2col x, p⟩ =
    /// ⟨x, col2im p⟩), on odd sizes and every padding.
    #[test]
    fn patches_match_the_direct_sum_and_col2im_is_the_transpose() {
        for padding in [VALID, SAME, CAUSAL] {
            for (steps, channels, kernel, stride, dilation) in [
                (7, 3, 3, 1, 1),
                (11, 2, 4, 2, 1),
                (9, 1, 3, 1, 3),
                (5, 5, 1, 3, 1),
            ] {
                let s = Conv1dShape::new(steps, channels, kernel, stride, dilation, padding);
                let filters = 3;
                let x: Vec<f32> = (0..steps * channels)
                    .map(|i| (i as f32 * 0.37).sin())
                    .collect();
                let w: Vec<f32> = (0..s.patch_len() * filters)
                    .map(|i| (i as f32 * 0.11).cos())
                    .collect();
                let mut patches = vec![0.0; s.out_steps * s.patch_len()];
                s.im2col(&x, &mut patches);
                let mut direct = vec![0.0; s.out_steps * filters];
                s.direct(&x, &w, None, &mut direct);
                for (t, row) in patches.chunks_exact(s.patch_len()).enumerate() {
                    for f in 0..filters {
                        let sum: f32 = row
                            .iter()
                            .enumerate()
                            .map(|(i, v)| v * w[i * filters + f])
                            .sum();
                        assert!((sum - direct[t * filters + f]).abs() < 1e-5);
                    }
                }
                let p: Vec<f32> = (0..patches.len()).map(|i| (i as f32 * 0.7).sin()).collect();
                let mut dx = vec![0.0; x.len()];
                s.col2im(&p, &mut dx);
                let lhs: f32 = patches.iter().zip(&p).map(|(a, b)| a * b).sum();
                let rhs: f32 = x.iter().zip(&dx).map(|(a, b)| a * b).sum();
                assert!(
                    (lhs - rhs).abs() < 1e-4,
                    "{padding} {steps}: {lhs} vs {rhs}"
                );
            }
        }
    }
}
