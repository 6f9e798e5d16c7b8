//! Pooling over channels-last images, for run-time shapes: windows with Keras' padding rules
//! (`conv::Axis`) and the global forms over all positions. Every function takes any number of
//! whole images.
//!
//! Max pooling ignores padded cells and can record the arg-max of each output (its index in the
//! image), which the backward pass routes the gradient to; of equal values the first in
//! row-major window order wins, and a NaN wins over every number, so it reaches the output.
//! Average pooling divides by the number of real cells in the window, as Keras does, not by the
//! pool's area.
// Indexing stays bounds-checked: every index is bounded by the `Window2d` (or channels ×
// positions) that each entry point asserts against the buffers' lengths, and the arg-max
// indices it follows were written by `max_pool`/`global_max_pool` over the same window.
// Tested on odd shapes against `kernels::reference`; a bad index panics, never UB.
#![allow(clippy::indexing_slicing)]

use super::conv::Window2d;

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
                let ih = rows.cell(oh, kh);
                for kw in cols.inside(ow) {
                    let iw = cols.cell(ow, kw);
                    f(p, ih * cols.input + iw);
                }
            }
        }
    }
}

/// Values of one pooled image.
fn output_len(window: &Window2d) -> usize {
    window.positions() * window.channels
}

/// Max pooling of whole images `x` into `y`; with `args`, each output's input index.
pub fn max_pool(window: &Window2d, x: &[f32], y: &mut [f32], mut args: Option<&mut [u32]>) {
    let (c, out_len) = (window.channels, output_len(window));
    assert!(
        x.len() / window.input_len().max(1) * out_len == y.len()
            && args.as_ref().is_none_or(|a| a.len() == y.len()),
        "max_pool: buffers do not match the window"
    );
    for (i, (image, out)) in x
        .chunks_exact(window.input_len())
        .zip(y.chunks_exact_mut(out_len))
        .enumerate()
    {
        out.fill(f32::NEG_INFINITY);
        let mut arg = args
            .as_deref_mut()
            .map(|a| &mut a[i * out_len..][..out_len]);
        for_each_cell(window, |p, cell| {
            let (o, v) = (&mut out[p * c..][..c], &image[cell * c..][..c]);
            for j in 0..c {
                if wins(v[j], o[j]) {
                    o[j] = v[j];
                    if let Some(a) = arg.as_deref_mut() {
                        a[p * c + j] = (cell * c + j) as u32;
                    }
                }
            }
        });
    }
}

/// The gradient of max pooling: each output's gradient onto the input value that won (`args`
/// from the forward pass), onto a cleared `dx`. Also the backward of global max pooling.
pub fn max_pool_backward(image_len: usize, dy: &[f32], args: &[u32], dx: &mut [f32]) {
    let images = dx.len() / image_len.max(1);
    let out_len = dy.len() / images.max(1);
    dx.fill(0.0);
    for ((dx, dy), arg) in dx
        .chunks_exact_mut(image_len)
        .zip(dy.chunks_exact(out_len))
        .zip(args.chunks_exact(out_len))
    {
        for (d, &i) in dy.iter().zip(arg) {
            dx[i as usize] += d;
        }
    }
}

/// Real cells in output position `p`'s window.
fn cells(window: &Window2d, p: usize) -> usize {
    let (oh, ow) = (p / window.cols.output, p % window.cols.output);
    window.rows.inside(oh).len() * window.cols.inside(ow).len()
}

/// Average pooling of whole images `x` into `y`.
pub fn average_pool(window: &Window2d, x: &[f32], y: &mut [f32]) {
    let (c, out_len) = (window.channels, output_len(window));
    for (image, out) in x
        .chunks_exact(window.input_len())
        .zip(y.chunks_exact_mut(out_len))
    {
        out.fill(0.0);
        for_each_cell(window, |p, cell| {
            let (o, v) = (&mut out[p * c..][..c], &image[cell * c..][..c]);
            o.iter_mut().zip(v).for_each(|(o, v)| *o += v);
        });
        for (p, o) in out.chunks_exact_mut(c).enumerate() {
            let n = cells(window, p) as f32;
            o.iter_mut().for_each(|v| *v /= n);
        }
    }
}

/// The gradient of average pooling: each output's gradient, divided by its real cells, onto
/// each of them.
pub fn average_pool_backward(window: &Window2d, dy: &[f32], dx: &mut [f32]) {
    let (c, out_len) = (window.channels, output_len(window));
    dx.fill(0.0);
    for (dx, dy) in dx
        .chunks_exact_mut(window.input_len())
        .zip(dy.chunks_exact(out_len))
    {
        for_each_cell(window, |p, cell| {
            let n = cells(window, p) as f32;
            let (d, g) = (&mut dx[cell * c..][..c], &dy[p * c..][..c]);
            d.iter_mut().zip(g).for_each(|(d, g)| *d += g / n);
        });
    }
}

/// The mean of each of `channels` channels over the positions of each image.
pub fn global_average_pool(channels: usize, x: &[f32], y: &mut [f32]) {
    let images = y.len() / channels.max(1);
    let image_len = x.len() / images.max(1);
    let positions = (image_len / channels.max(1)) as f32;
    for (image, out) in x.chunks_exact(image_len).zip(y.chunks_exact_mut(channels)) {
        out.fill(0.0);
        for v in image.chunks_exact(channels) {
            out.iter_mut().zip(v).for_each(|(o, v)| *o += v);
        }
        out.iter_mut().for_each(|o| *o /= positions);
    }
}

/// The gradient of global average pooling: each channel's gradient over its positions.
pub fn global_average_pool_backward(channels: usize, dy: &[f32], dx: &mut [f32]) {
    let images = dy.len() / channels.max(1);
    let image_len = dx.len() / images.max(1);
    let positions = (image_len / channels.max(1)) as f32;
    for (dx, dy) in dx
        .chunks_exact_mut(image_len)
        .zip(dy.chunks_exact(channels))
    {
        for d in dx.chunks_exact_mut(channels) {
            d.iter_mut().zip(dy).for_each(|(d, g)| *d = g / positions);
        }
    }
}

/// Keras' masked global average over steps: each feature's mean over the steps whose `mask`
/// value is 1 (`rows × steps` values), `Σ mask·x / Σ mask` as Keras computes it; a row with
/// every step masked gives 0 / 0 = NaN in Keras, and here too (the output checks name it).
pub fn masked_average_steps(features: usize, x: &[f32], mask: &[f32], y: &mut [f32]) {
    let rows = y.len() / features.max(1);
    let steps = mask.len() / rows.max(1);
    for ((row, m), out) in x
        .chunks_exact(steps * features)
        .zip(mask.chunks_exact(steps.max(1)))
        .zip(y.chunks_exact_mut(features))
    {
        out.fill(0.0);
        for (v, &keep) in row.chunks_exact(features).zip(m) {
            if keep != 0.0 {
                out.iter_mut().zip(v).for_each(|(o, v)| *o += v);
            }
        }
        let count: f32 = m.iter().sum();
        out.iter_mut().for_each(|o| *o /= count);
    }
}

/// The gradient of [`masked_average_steps`]: dy / Σ mask on each unmasked step, 0 on the rest.
pub fn masked_average_steps_backward(features: usize, dy: &[f32], mask: &[f32], dx: &mut [f32]) {
    let rows = dy.len() / features.max(1);
    let steps = mask.len() / rows.max(1);
    for ((dx, m), dy) in dx
        .chunks_exact_mut(steps * features)
        .zip(mask.chunks_exact(steps.max(1)))
        .zip(dy.chunks_exact(features))
    {
        let count: f32 = m.iter().sum();
        for (d, &keep) in dx.chunks_exact_mut(features).zip(m) {
            if keep != 0.0 {
                d.iter_mut().zip(dy).for_each(|(d, g)| *d = g / count);
            } else {
                d.fill(0.0);
            }
        }
    }
}

/// The maximum of each channel over the positions of each image; with `args`, its index.
pub fn global_max_pool(channels: usize, x: &[f32], y: &mut [f32], mut args: Option<&mut [u32]>) {
    let images = y.len() / channels.max(1);
    let image_len = x.len() / images.max(1);
    for (i, (image, out)) in x
        .chunks_exact(image_len)
        .zip(y.chunks_exact_mut(channels))
        .enumerate()
    {
        out.fill(f32::NEG_INFINITY);
        let mut arg = args
            .as_deref_mut()
            .map(|a| &mut a[i * channels..][..channels]);
        for (p, v) in image.chunks_exact(channels).enumerate() {
            for j in 0..channels {
                if wins(v[j], out[j]) {
                    out[j] = v[j];
                    if let Some(a) = arg.as_deref_mut() {
                        a[j] = (p * channels + j) as u32;
                    }
                }
            }
        }
    }
}
