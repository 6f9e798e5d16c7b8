//! Pooling over channels-last images: `MaxPooling2D`, `AveragePooling2D` (windows with Keras'
//! padding rules, see `kernels::conv::Axis`) and their global forms over all positions.
//!
//! Max pooling ignores padded cells and, on a training tape, keeps the arg-max of each output
//! (as `u32` bits in the scratch) so its backward pass routes the gradient to the winning cell;
//! of equal values the first in row-major window order wins, and a NaN wins over every number,
//! so it reaches the output. Average pooling divides by the number of real cells in the window,
//! as Keras does, not by the pool's area.

use super::{Backward, Forward, Layer, Weights};
use crate::kernels::conv::{Axis, Window2d};
use crate::params::InitRng;
use crate::spec::WeightSpec;

/// The scratch of a max pooling pass, as arg-max indices.
fn indices(scratch: &mut [f32]) -> &mut [u32] {
    bytemuck::cast_slice_mut(scratch)
}

/// Whether `x` replaces the running maximum `best`: larger, or NaN (which then stays).
#[inline(always)]
fn wins(x: f32, best: f32) -> bool {
    x > best || (x.is_nan() && !best.is_nan())
}

/// Visits the real cells of each output position of one image: `f(position, cell)` with cell
/// the input position index (h·W + w), in row-major window order.
#[inline(always)]
fn for_each_cell(window: &Window2d, mut f: impl FnMut(usize, usize)) {
    let (rows, cols) = (window.rows, window.cols);
    for oh in 0..rows.output {
        for ow in 0..cols.output {
            let p = oh * cols.output + ow;
            for kh in rows.inside(oh) {
                let ih = oh * rows.stride + kh - rows.pad_before;
                for kw in cols.inside(ow) {
                    let iw = ow * cols.stride + kw - cols.pad_before;
                    f(p, ih * cols.input + iw);
                }
            }
        }
    }
}

macro_rules! pooling_layer {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $name<
            const H: usize,
            const W: usize,
            const C: usize,
            const PH: usize,
            const PW: usize,
            const SH: usize,
            const SW: usize,
            const SAME: bool,
        >;

        impl<
                const H: usize,
                const W: usize,
                const C: usize,
                const PH: usize,
                const PW: usize,
                const SH: usize,
                const SW: usize,
                const SAME: bool,
            > $name<H, W, C, PH, PW, SH, SW, SAME>
        {
            /// The window geometry.
            pub const WINDOW: Window2d = Window2d {
                rows: Axis::new(H, PH, SH, SAME),
                cols: Axis::new(W, PW, SW, SAME),
                channels: C,
            };
            const IN: usize = H * W * C;
            const OUT: usize = Self::WINDOW.positions() * C;
        }
    };
}

pooling_layer!(
    /// Keras' `MaxPooling2D(pool_size = (PH, PW), strides = (SH, SW), padding)` on (H, W, C).
    MaxPooling2D
);
pooling_layer!(
    /// Keras' `AveragePooling2D(pool_size = (PH, PW), strides = (SH, SW), padding)` on
    /// (H, W, C).
    AveragePooling2D
);

impl<
        const H: usize,
        const W: usize,
        const C: usize,
        const PH: usize,
        const PW: usize,
        const SH: usize,
        const SW: usize,
        const SAME: bool,
    > MaxPooling2D<H, W, C, PH, PW, SH, SW, SAME>
{
    /// One image's maxima, and their input indices when `arg` is given.
    fn pool(image: &[f32], out: &mut [f32], mut arg: Option<&mut [u32]>) {
        out.fill(f32::NEG_INFINITY);
        for_each_cell(&Self::WINDOW, |p, cell| {
            let (o, x) = (&mut out[p * C..][..C], &image[cell * C..][..C]);
            let mut a = arg.as_deref_mut().map(|a| &mut a[p * C..][..C]);
            for c in 0..C {
                if wins(x[c], o[c]) {
                    o[c] = x[c];
                    if let Some(a) = a.as_deref_mut() {
                        a[c] = (cell * C + c) as u32;
                    }
                }
            }
        });
    }
}

impl<
        const H: usize,
        const W: usize,
        const C: usize,
        const PH: usize,
        const PW: usize,
        const SH: usize,
        const SW: usize,
        const SAME: bool,
    > Layer for MaxPooling2D<H, W, C, PH, PW, SH, SW, SAME>
{
    const CLASS_NAME: &'static str = "MaxPooling2D";
    const INPUT_WIDTH: usize = Self::IN;
    const OUTPUT_WIDTH: usize = Self::OUT;
    const PARAMS: usize = 0;

    fn weights(&self) -> Vec<WeightSpec> {
        Vec::new()
    }

    fn init(&self, _params: &mut [f32], _state: &mut [f32], _rng: &mut InitRng) {}

    /// Training: the arg-max of every output value.
    fn scratch_len(&self, rows: usize, training: bool) -> usize {
        if training {
            rows * Self::OUT
        } else {
            0
        }
    }

    fn forward(&self, _weights: Weights<'_>, pass: Forward<'_>) {
        let keep = !pass.scratch.is_empty();
        let args = indices(&mut pass.scratch[..if keep { pass.rows * Self::OUT } else { 0 }]);
        let mut args = keep.then(|| args.chunks_exact_mut(Self::OUT));
        for (image, out) in pass
            .input
            .chunks_exact(Self::IN)
            .zip(pass.output.chunks_exact_mut(Self::OUT))
        {
            Self::pool(image, out, args.as_mut().and_then(|a| a.next()));
        }
    }

    fn backward(&self, _weights: Weights<'_>, pass: Backward<'_>, _grads: &mut [f32]) {
        let Some(dx) = pass.input_delta else { return };
        dx.fill(0.0);
        let args = indices(&mut pass.scratch[..pass.rows * Self::OUT]);
        for ((dx, dy), arg) in dx
            .chunks_exact_mut(Self::IN)
            .zip(pass.delta.chunks_exact(Self::OUT))
            .zip(args.chunks_exact(Self::OUT))
        {
            for (d, &i) in dy.iter().zip(arg.iter()) {
                dx[i as usize] += d;
            }
        }
    }

    fn forward_one(&self, _weights: Weights<'_>, x: &[f32], y: &mut [f32]) {
        Self::pool(x, y, None);
    }
}

impl<
        const H: usize,
        const W: usize,
        const C: usize,
        const PH: usize,
        const PW: usize,
        const SH: usize,
        const SW: usize,
        const SAME: bool,
    > AveragePooling2D<H, W, C, PH, PW, SH, SW, SAME>
{
    /// Real cells in output position `p`'s window.
    fn cells(p: usize) -> usize {
        let w = Self::WINDOW;
        let (oh, ow) = (p / w.cols.output, p % w.cols.output);
        w.rows.inside(oh).len() * w.cols.inside(ow).len()
    }

    fn pool(image: &[f32], out: &mut [f32]) {
        out.fill(0.0);
        for_each_cell(&Self::WINDOW, |p, cell| {
            let (o, x) = (&mut out[p * C..][..C], &image[cell * C..][..C]);
            o.iter_mut().zip(x).for_each(|(o, x)| *o += x);
        });
        for (p, o) in out.chunks_exact_mut(C).enumerate() {
            let n = Self::cells(p) as f32;
            o.iter_mut().for_each(|v| *v /= n);
        }
    }
}

impl<
        const H: usize,
        const W: usize,
        const C: usize,
        const PH: usize,
        const PW: usize,
        const SH: usize,
        const SW: usize,
        const SAME: bool,
    > Layer for AveragePooling2D<H, W, C, PH, PW, SH, SW, SAME>
{
    const CLASS_NAME: &'static str = "AveragePooling2D";
    const INPUT_WIDTH: usize = Self::IN;
    const OUTPUT_WIDTH: usize = Self::OUT;
    const PARAMS: usize = 0;
    const MACS_PER_ROW: usize = Self::OUT * PH * PW;

    fn weights(&self) -> Vec<WeightSpec> {
        Vec::new()
    }

    fn init(&self, _params: &mut [f32], _state: &mut [f32], _rng: &mut InitRng) {}

    fn forward(&self, _weights: Weights<'_>, pass: Forward<'_>) {
        for (image, out) in pass
            .input
            .chunks_exact(Self::IN)
            .zip(pass.output.chunks_exact_mut(Self::OUT))
        {
            Self::pool(image, out);
        }
    }

    /// Each output's gradient, divided by its real cells, onto each of them.
    fn backward(&self, _weights: Weights<'_>, pass: Backward<'_>, _grads: &mut [f32]) {
        let Some(dx) = pass.input_delta else { return };
        dx.fill(0.0);
        for (dx, dy) in dx
            .chunks_exact_mut(Self::IN)
            .zip(pass.delta.chunks_exact(Self::OUT))
        {
            for_each_cell(&Self::WINDOW, |p, cell| {
                let n = Self::cells(p) as f32;
                let (d, g) = (&mut dx[cell * C..][..C], &dy[p * C..][..C]);
                d.iter_mut().zip(g).for_each(|(d, g)| *d += g / n);
            });
        }
    }

    fn forward_one(&self, _weights: Weights<'_>, x: &[f32], y: &mut [f32]) {
        Self::pool(x, y);
    }
}

/// Keras' `GlobalAveragePooling2D`: the mean of each channel over all `P` positions (H·W) of
/// an image with `C` channels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GlobalAveragePooling2D<const P: usize, const C: usize>;

impl<const P: usize, const C: usize> GlobalAveragePooling2D<P, C> {
    fn pool(image: &[f32], out: &mut [f32]) {
        out.fill(0.0);
        for x in image.chunks_exact(C) {
            out.iter_mut().zip(x).for_each(|(o, x)| *o += x);
        }
        out.iter_mut().for_each(|o| *o /= P as f32);
    }
}

impl<const P: usize, const C: usize> Layer for GlobalAveragePooling2D<P, C> {
    const CLASS_NAME: &'static str = "GlobalAveragePooling2D";
    const INPUT_WIDTH: usize = P * C;
    const OUTPUT_WIDTH: usize = C;
    const PARAMS: usize = 0;
    const MACS_PER_ROW: usize = P * C;

    fn weights(&self) -> Vec<WeightSpec> {
        Vec::new()
    }

    fn init(&self, _params: &mut [f32], _state: &mut [f32], _rng: &mut InitRng) {}

    fn forward(&self, _weights: Weights<'_>, pass: Forward<'_>) {
        for (image, out) in pass
            .input
            .chunks_exact(P * C)
            .zip(pass.output.chunks_exact_mut(C))
        {
            Self::pool(image, out);
        }
    }

    fn backward(&self, _weights: Weights<'_>, pass: Backward<'_>, _grads: &mut [f32]) {
        let Some(dx) = pass.input_delta else { return };
        for (dx, dy) in dx.chunks_exact_mut(P * C).zip(pass.delta.chunks_exact(C)) {
            for d in dx.chunks_exact_mut(C) {
                d.iter_mut().zip(dy).for_each(|(d, g)| *d = g / P as f32);
            }
        }
    }

    fn forward_one(&self, _weights: Weights<'_>, x: &[f32], y: &mut [f32]) {
        Self::pool(x, y);
    }
}

/// Keras' `GlobalMaxPooling2D`: the maximum of each channel over all `P` positions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GlobalMaxPooling2D<const P: usize, const C: usize>;

impl<const P: usize, const C: usize> GlobalMaxPooling2D<P, C> {
    fn pool(image: &[f32], out: &mut [f32], mut arg: Option<&mut [u32]>) {
        out.fill(f32::NEG_INFINITY);
        for (p, x) in image.chunks_exact(C).enumerate() {
            for c in 0..C {
                if wins(x[c], out[c]) {
                    out[c] = x[c];
                    if let Some(a) = arg.as_deref_mut() {
                        a[c] = (p * C + c) as u32;
                    }
                }
            }
        }
    }
}

impl<const P: usize, const C: usize> Layer for GlobalMaxPooling2D<P, C> {
    const CLASS_NAME: &'static str = "GlobalMaxPooling2D";
    const INPUT_WIDTH: usize = P * C;
    const OUTPUT_WIDTH: usize = C;
    const PARAMS: usize = 0;

    fn weights(&self) -> Vec<WeightSpec> {
        Vec::new()
    }

    fn init(&self, _params: &mut [f32], _state: &mut [f32], _rng: &mut InitRng) {}

    fn scratch_len(&self, rows: usize, training: bool) -> usize {
        if training {
            rows * C
        } else {
            0
        }
    }

    fn forward(&self, _weights: Weights<'_>, pass: Forward<'_>) {
        let keep = !pass.scratch.is_empty();
        let args = indices(&mut pass.scratch[..if keep { pass.rows * C } else { 0 }]);
        let mut args = keep.then(|| args.chunks_exact_mut(C));
        for (image, out) in pass
            .input
            .chunks_exact(P * C)
            .zip(pass.output.chunks_exact_mut(C))
        {
            Self::pool(image, out, args.as_mut().and_then(|a| a.next()));
        }
    }

    fn backward(&self, _weights: Weights<'_>, pass: Backward<'_>, _grads: &mut [f32]) {
        let Some(dx) = pass.input_delta else { return };
        dx.fill(0.0);
        let args = indices(&mut pass.scratch[..pass.rows * C]);
        for ((dx, dy), arg) in dx
            .chunks_exact_mut(P * C)
            .zip(pass.delta.chunks_exact(C))
            .zip(args.chunks_exact(C))
        {
            for (d, &i) in dy.iter().zip(arg.iter()) {
                dx[i as usize] += d;
            }
        }
    }

    fn forward_one(&self, _weights: Weights<'_>, x: &[f32], y: &mut [f32]) {
        Self::pool(x, y, None);
    }
}
