//! Keras' window arithmetic, shared by every sliding-window kernel: `Axis` (one spatial axis:
//! input, window, stride, output cells and the padding before, by Keras' 'same'/'valid' rules)
//! and `Window2d` (the two axes and the channel count of an (h, w, c) image).
//!
//! Its own module because it is the one idea Conv2D's paths (im2col, implicit) and pooling
//! (`kernels::pool`) share: where each window lies. It does no arithmetic on values, so the
//! modules that move values (`im2col`, `implicit`, `pool`) depend on it and never on each other.

/// One spatial axis of a sliding window, with Keras' padding rules:
///
/// - `valid`: out = ⌊(n − k) / s⌋ + 1, no padding; trailing cells that do not fill a window are
///   dropped.
/// - `same`: out = ⌈n / s⌉; the padding total is max((out − 1)·s + k − n, 0), of which
///   ⌊total / 2⌋ goes before and the rest after (the odd cell goes to the bottom or right).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Axis {
    /// Input cells.
    pub input: usize,
    /// Window cells (kernel or pool size).
    pub window: usize,
    /// Step between windows.
    pub stride: usize,
    /// Output cells.
    pub output: usize,
    /// Padding cells before the first input cell.
    pub pad_before: usize,
}

impl Axis {
    /// The axis for `input` cells, a `window` moved by `stride`, 'same' or 'valid' padding.
    /// A window larger than a 'valid' input gives zero outputs (the macro rejects that).
    pub const fn new(input: usize, window: usize, stride: usize, same: bool) -> Axis {
        if same {
            let output = input.div_ceil(stride);
            let total = ((output.saturating_sub(1)) * stride + window).saturating_sub(input);
            Axis {
                input,
                window,
                stride,
                output,
                pad_before: total / 2,
            }
        } else {
            let output = if input >= window {
                (input - window) / stride + 1
            } else {
                0
            };
            Axis {
                input,
                window,
                stride,
                output,
                pad_before: 0,
            }
        }
    }

    /// The input cell under window cell `k` of output `o`, or `None` in the padding.
    #[inline(always)]
    pub fn source(&self, o: usize, k: usize) -> Option<usize> {
        (o * self.stride + k)
            .checked_sub(self.pad_before)
            .filter(|&i| i < self.input)
    }

    /// The input cell under window cell `k` of output `o`, for a `k` in `inside(o)` (which is
    /// never in the padding): `source` without the check, for loops that visit `inside` only.
    #[inline(always)]
    pub const fn cell(&self, o: usize, k: usize) -> usize {
        o * self.stride + k - self.pad_before
    }

    /// Window cells `k` of output `o` that fall on the input: `k_start..k_end`.
    #[inline(always)]
    pub fn inside(&self, o: usize) -> std::ops::Range<usize> {
        let first = o * self.stride;
        let start = self.pad_before.saturating_sub(first).min(self.window);
        let end = (self.pad_before + self.input)
            .saturating_sub(first)
            .min(self.window);
        start..end.max(start)
    }
}

/// A 2-D window over an (h, w, c) image: its two axes and the channel count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window2d {
    /// Along the rows (height).
    pub rows: Axis,
    /// Along the columns (width).
    pub cols: Axis,
    /// Channels per cell.
    pub channels: usize,
}

impl Window2d {
    /// Values in one input image.
    pub const fn input_len(&self) -> usize {
        self.rows.input * self.cols.input * self.channels
    }

    /// Output positions.
    pub const fn positions(&self) -> usize {
        self.rows.output * self.cols.output
    }

    /// Values in one patch (a row of the patch matrix): kh · kw · c.
    pub const fn patch_len(&self) -> usize {
        self.rows.window * self.cols.window * self.channels
    }
}
