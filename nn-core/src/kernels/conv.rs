//! Sliding windows over channels-last images: Keras' padding arithmetic, and the im2col /
//! col2im copies that turn a convolution into one GEMM.
//!
//! im2col writes, for each output position, the window's input values in the kernel's own
//! order (kh, kw, c), so the patch matrix (positions × KH·KW·C) times the kernel viewed as
//! (KH·KW·C) × F is the convolution, with the Dense epilogue (bias, activation) applied to the
//! product as it is. Padded cells are zeros.

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
                        let iw = ow * self.cols.stride + kw_in.start - self.cols.pad_before;
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
                let iw = ow * self.cols.stride + kw_in.start - self.cols.pad_before;
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
