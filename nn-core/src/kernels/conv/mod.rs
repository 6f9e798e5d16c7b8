//! 2-D convolution over channels-last images: `Conv2dShape`, its forward and backward passes
//! and the choice of the path that computes them. The parts live in one module each:
//!
//! - `window`: Keras' window arithmetic (`Axis`, `Window2d`), which pooling uses too;
//! - `groups`: the split of a pass into fixed groups of images, where they run, and the
//!   in-order sum of their partial gradients, one fan-out both paths call;
//! - `im2col` and `implicit`: the two paths, each only what one group computes.
//!
//! Two paths compute the passes, chosen by instruction set (never by batch, thread count or
//! timing; by shape only in that an empty one, or images too large for the tiles' 32-bit
//! offsets, take im2col):
//!
//! - **AVX-512 and AVX2** (`implicit`): implicit GEMM. Register tiles read the images in place
//!   through a window-origin pointer per row and an offset per patch column, so no patch matrix
//!   is built; the kernel is packed once per call, dW is summed over blocks of 64 positions that
//!   stay in L1, and dX is added straight onto the input cells (col2im fused into the tile's
//!   store). One template builds both instruction sets' tiles (8 × 32 on AVX-512, 6 × 16 on
//!   AVX2). Measured against the im2col path at batch 64, AVX2 (Zen 3): 3.3× (28×28×1 → 32) and
//!   1.45× (13×13×32 → 64) on the forward pass. AVX-512 (Zen 5, one thread, medians of 5
//!   interleaved rounds, GFLOP/s): 28×28×1 → 32 forward 162 against 44, forward+backward 69
//!   against 27; 13×13×32 → 64 forward 252 against 211, forward+backward 231 against 186; the
//!   digits CNN's training step at batch 32 33 µs against 65. Every one of those is also at or
//!   above the AVX2 tiles in the same binary (105, 58, 129, 124 GFLOP/s; 35 µs), so no shape
//!   stays on im2col on AVX-512.
//! - **portable** (`im2col`): the patch matrix of each group of images, then the packed GEMM.
//!
//! Groups are a fixed number of images (chosen from the shape, never from the thread count) and
//! may run on rayon's threads; so every sum is formed in the same order, and the results are
//! bit-identical on any number of threads. The shapes are run-time values: the layer type
//! passes its constants, and tests can draw random shapes.

use super::activations::Activation;
use super::dense::Delta;
#[cfg(target_arch = "x86_64")]
use super::isa::Isa;

mod groups;
mod im2col;
#[cfg(target_arch = "x86_64")]
mod implicit;
mod window;

pub use window::{Axis, Window2d};

/// A convolution's shape: its window over the input and its number of filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dShape {
    /// The kernel's window (kernel size, strides, padding) over the (h, w, c) input.
    pub window: Window2d,
    /// Output channels.
    pub filters: usize,
}

/// The gradient buffers a convolution's backward pass writes.
#[derive(Debug)]
pub struct ConvGrads<'a> {
    /// dL/dW, `[kh][kw][c][f]`, overwritten.
    pub kernel: &'a mut [f32],
    /// dL/db, `f`, overwritten; `None` for a layer without bias.
    pub bias: Option<&'a mut [f32]>,
    /// dL/dx, overwritten; `None` when nothing before the layer needs it.
    pub input: Option<&'a mut [f32]>,
}

/// The tensors of one convolution pass over `rows` images, all row-major channels-last.
#[derive(Debug)]
pub struct ConvTensors<'a> {
    /// The input images, `rows × input_len`.
    pub x: &'a [f32],
    /// The kernel `[kh][kw][c][f]`.
    pub kernel: &'a [f32],
    /// The bias `[f]`, if the layer has one.
    pub bias: Option<&'a [f32]>,
}

/// A backward pass's operands, as `Conv2dShape::backward` checked them, for the path it picks.
struct BackwardPass<'a, A> {
    t: ConvTensors<'a>,
    z: &'a [f32],
    y: &'a [f32],
    delta: &'a mut [f32],
    act: &'a A,
    start: Delta,
    grads: ConvGrads<'a>,
    partials: &'a mut [f32],
}

impl Conv2dShape {
    /// Values in one input image.
    pub const fn input_len(&self) -> usize {
        self.window.input_len()
    }

    /// Values in one output image, positions × filters.
    pub const fn output_len(&self) -> usize {
        self.window.positions() * self.filters
    }

    /// Kernel values, kh·kw·c·f.
    pub const fn kernel_len(&self) -> usize {
        self.window.patch_len() * self.filters
    }

    /// Multiply-adds per image.
    pub const fn macs(&self) -> usize {
        self.window.positions() * self.window.patch_len() * self.filters
    }

    /// y = act(conv(x, W) + b) over `rows` images; `z`, when given, receives conv(x, W) + b.
    ///
    /// Panics on a caller bug: buffers not holding `rows` images of this shape.
    pub fn forward<A: Activation>(
        &self,
        t: ConvTensors<'_>,
        act: &A,
        y: &mut [f32],
        z: Option<&mut [f32]>,
    ) {
        let rows = t.x.len() / self.input_len();
        assert!(
            t.x.len() == rows * self.input_len()
                && y.len() == rows * self.output_len()
                && t.kernel.len() == self.kernel_len(),
            "conv2d forward: buffers do not match the shape"
        );
        #[cfg(target_arch = "x86_64")]
        if let Some(tiles) = implicit::tiles(self, Isa::current()) {
            return implicit::forward(self, tiles, t, act, y, z);
        }
        im2col::forward(self, t, act, y, z);
    }

    /// The backward pass over `rows` images after a forward pass that kept `z`: turns `delta`
    /// (dL/dy, or dL/dz when `start` says so) into dL/dz in place and writes the gradients.
    /// `partials` is `partials_len(rows)` values of scratch.
    ///
    /// Panics on a caller bug: buffers not holding `rows` images of this shape.
    #[allow(clippy::too_many_arguments)]
    pub fn backward<A: Activation>(
        &self,
        t: ConvTensors<'_>,
        z: &[f32],
        y: &[f32],
        delta: &mut [f32],
        act: &A,
        start: Delta,
        grads: ConvGrads<'_>,
        partials: &mut [f32],
    ) {
        let rows = t.x.len() / self.input_len();
        let out_len = rows * self.output_len();
        assert!(
            z.len() == out_len
                && y.len() == out_len
                && delta.len() == out_len
                && partials.len() == self.partials_len(rows)
                && grads.kernel.len() == self.kernel_len()
                && grads
                    .bias
                    .as_deref()
                    .is_none_or(|b| b.len() == self.filters)
                && grads
                    .input
                    .as_deref()
                    .is_none_or(|dx| dx.len() == t.x.len()),
            "conv2d backward: buffers do not match the shape"
        );
        let pass = BackwardPass {
            t,
            z,
            y,
            delta,
            act,
            start,
            grads,
            partials,
        };
        #[cfg(target_arch = "x86_64")]
        if let Some(tiles) = implicit::tiles(self, Isa::current()) {
            return implicit::backward(self, tiles, pass);
        }
        im2col::backward(self, pass);
    }
}

#[cfg(test)]
// why: tests fail by panicking, and the f64 references index by the definition's subscripts
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod tests {
    //! Every path (the one `Isa::current()` picks; CI runs the suite under each `SEQNET_ISA`)
    //! against f64 loops, and the determinism rules: a row's forward result does not depend on
    //! its batch, and nothing depends on the thread count.

    use super::*;
    use crate::kernels::activations::{Linear, Relu, Tanh};
    use crate::kernels::gemm::PARALLEL_MIN_MACS;
    use rand::{Rng, SeedableRng};

    fn random(len: usize, seed: u64) -> Vec<f32> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..len).map(|_| rng.random_range(-1.0..1.0)).collect()
    }

    /// (h, w, c, f, kh, kw, sh, sw, same).
    type Dims = (usize, usize, usize, usize, usize, usize, usize, usize, bool);

    /// Tile edges (F and K not multiples of 16 or 32, positions not of 6 or 8; F and K past one
    /// AVX-512 tile's 32 columns with a last panel of one vector or less), strides, both
    /// paddings, 1×1, windows wider than tall.
    const SHAPES: [Dims; 12] = [
        (8, 8, 1, 4, 3, 3, 1, 1, false),
        (9, 9, 2, 3, 3, 3, 2, 2, true),
        (8, 8, 2, 3, 3, 3, 2, 2, true),
        (7, 6, 3, 17, 2, 3, 1, 1, false),
        (6, 7, 5, 33, 3, 2, 1, 2, true),
        (5, 5, 16, 16, 3, 3, 1, 1, true),
        (6, 6, 32, 20, 3, 3, 1, 1, false),
        (4, 4, 7, 9, 1, 1, 1, 1, false),
        (9, 7, 4, 8, 1, 1, 2, 2, false),
        (13, 13, 3, 40, 5, 5, 2, 1, true),
        (7, 9, 3, 48, 3, 3, 1, 1, true),
        (10, 11, 6, 70, 3, 2, 2, 1, false),
    ];

    fn shape(s: Dims) -> Conv2dShape {
        let (h, w, c, f, kh, kw, sh, sw, same) = s;
        Conv2dShape {
            window: Window2d {
                rows: Axis::new(h, kh, sh, same),
                cols: Axis::new(w, kw, sw, same),
                channels: c,
            },
            filters: f,
        }
    }

    /// conv(x, W) + b by the definition, in f64.
    fn reference_z(s: &Conv2dShape, x: &[f32], kernel: &[f32], bias: &[f32]) -> Vec<f64> {
        let (win, f) = (s.window, s.filters);
        let c = win.channels;
        let mut z = Vec::new();
        for image in x.chunks_exact(s.input_len()) {
            for oh in 0..win.rows.output {
                for ow in 0..win.cols.output {
                    for o in 0..f {
                        let mut sum = bias[o] as f64;
                        for kh in 0..win.rows.window {
                            for kw in 0..win.cols.window {
                                let (Some(ih), Some(iw)) =
                                    (win.rows.source(oh, kh), win.cols.source(ow, kw))
                                else {
                                    continue;
                                };
                                for ch in 0..c {
                                    sum += image[(ih * win.cols.input + iw) * c + ch] as f64
                                        * kernel[((kh * win.cols.window + kw) * c + ch) * f + o]
                                            as f64;
                                }
                            }
                        }
                        z.push(sum);
                    }
                }
            }
        }
        z
    }

    /// dW, db and dX for a given dZ, by the definition, in f64.
    #[allow(clippy::needless_range_loop)] // the definition's indices, as written
    fn reference_grads(
        s: &Conv2dShape,
        x: &[f32],
        kernel: &[f32],
        dz: &[f32],
    ) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let (win, f) = (s.window, s.filters);
        let c = win.channels;
        let (mut dw, mut db, mut dx) =
            (vec![0.0; s.kernel_len()], vec![0.0; f], vec![0.0; x.len()]);
        let mut at = 0;
        for (n, image) in x.chunks_exact(s.input_len()).enumerate() {
            for oh in 0..win.rows.output {
                for ow in 0..win.cols.output {
                    for o in 0..f {
                        let d = dz[at] as f64;
                        at += 1;
                        db[o] += d;
                        for kh in 0..win.rows.window {
                            for kw in 0..win.cols.window {
                                let (Some(ih), Some(iw)) =
                                    (win.rows.source(oh, kh), win.cols.source(ow, kw))
                                else {
                                    continue;
                                };
                                for ch in 0..c {
                                    let xi = (ih * win.cols.input + iw) * c + ch;
                                    let wi = ((kh * win.cols.window + kw) * c + ch) * f + o;
                                    dw[wi] += image[xi] as f64 * d;
                                    dx[n * s.input_len() + xi] += kernel[wi] as f64 * d;
                                }
                            }
                        }
                    }
                }
            }
        }
        (dw, db, dx)
    }

    fn assert_close(what: &str, got: &[f32], want: &[f64], scale: f64) {
        assert_eq!(got.len(), want.len(), "{what}: length");
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g as f64 - w).abs() <= 1e-5 * scale * (1.0 + w.abs()),
                "{what}[{i}]: {g} against {w}"
            );
        }
    }

    struct Pass {
        y: Vec<f32>,
        z: Vec<f32>,
        dz: Vec<f32>,
        dw: Vec<f32>,
        db: Vec<f32>,
        dx: Vec<f32>,
    }

    /// Forward keeping z, then backward from dL/dy = `dy`, on the path `Isa::current()` picks.
    fn pass<A: Activation>(
        s: &Conv2dShape,
        act: &A,
        x: &[f32],
        kernel: &[f32],
        bias: &[f32],
        dy: &[f32],
    ) -> Pass {
        pass_on(
            s,
            act,
            (x, kernel, bias, dy),
            |t, y, z| s.forward(t, act, y, Some(z)),
            |p| {
                let BackwardPass {
                    t,
                    z,
                    y,
                    delta,
                    act,
                    start,
                    grads,
                    partials,
                } = p;
                s.backward(t, z, y, delta, act, start, grads, partials);
            },
        )
    }

    /// [`pass`] through the given forward and backward calls: the buffers, then the passes.
    fn pass_on<A: Activation>(
        s: &Conv2dShape,
        act: &A,
        (x, kernel, bias, dy): (&[f32], &[f32], &[f32], &[f32]),
        forward: impl FnOnce(ConvTensors<'_>, &mut [f32], &mut [f32]),
        backward: impl FnOnce(BackwardPass<'_, A>),
    ) -> Pass {
        let rows = x.len() / s.input_len();
        let t = || ConvTensors {
            x,
            kernel,
            bias: Some(bias),
        };
        let n = rows * s.output_len();
        let (mut y, mut z) = (vec![0.0; n], vec![0.0; n]);
        forward(t(), &mut y, &mut z);
        let mut dz = dy.to_vec();
        let (mut dw, mut db, mut dx) = (
            vec![0.0; s.kernel_len()],
            vec![0.0; s.filters],
            vec![0.0; x.len()],
        );
        let mut partials = vec![0.0; s.partials_len(rows)];
        backward(BackwardPass {
            t: t(),
            z: &z,
            y: &y,
            delta: &mut dz,
            act,
            start: Delta::Output,
            grads: ConvGrads {
                kernel: &mut dw,
                bias: Some(&mut db),
                input: Some(&mut dx),
            },
            partials: &mut partials,
        });
        Pass {
            y,
            z,
            dz,
            dw,
            db,
            dx,
        }
    }

    fn on_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a pool")
            .install(f)
    }

    #[test]
    fn passes_match_the_definition() {
        for (i, &dims) in SHAPES.iter().enumerate() {
            let s = shape(dims);
            let rows = 2 * s.group() + 1;
            let seed = 10 * i as u64;
            let x = random(rows * s.input_len(), seed);
            let kernel = random(s.kernel_len(), seed + 1);
            let bias = random(s.filters, seed + 2);
            let dy = random(rows * s.output_len(), seed + 3);
            let p = pass(&s, &Linear, &x, &kernel, &bias, &dy);
            let scale = s.window.patch_len() as f64;
            let z = reference_z(&s, &x, &kernel, &bias);
            assert_close(&format!("{dims:?} z"), &p.z, &z, scale);
            assert_close(&format!("{dims:?} y"), &p.y, &z, scale);
            let (dw, db, dx) = reference_grads(&s, &x, &kernel, &dy);
            let sum = (rows * s.window.positions()) as f64;
            assert_close(&format!("{dims:?} dW"), &p.dw, &dw, sum);
            assert_close(&format!("{dims:?} db"), &p.db, &db, sum);
            assert_close(&format!("{dims:?} dX"), &p.dx, &dx, scale);
            // A relu pass: dZ is dY masked where z ≤ 0.
            let r = pass(&s, &Relu, &x, &kernel, &bias, &dy);
            assert_eq!(r.z, p.z, "{dims:?}: relu's z");
            for ((&y, &z), (&d, &dy)) in r.y.iter().zip(&r.z).zip(r.dz.iter().zip(&dy)) {
                assert_eq!(y, z.max(0.0));
                assert_eq!(d, if z > 0.0 { dy } else { 0.0 });
            }
        }
    }

    #[test]
    fn a_row_does_not_depend_on_its_batch() {
        for (i, &dims) in SHAPES.iter().enumerate() {
            let s = shape(dims);
            let rows = s.group() + 3;
            let x = random(rows * s.input_len(), 100 + i as u64);
            let kernel = random(s.kernel_len(), 200 + i as u64);
            let bias = random(s.filters, 300 + i as u64);
            let mut all = vec![0.0; rows * s.output_len()];
            let t = |x| ConvTensors {
                x,
                kernel: &kernel,
                bias: Some(&bias),
            };
            s.forward(t(&x), &Tanh, &mut all, None);
            for (image, want) in x
                .chunks_exact(s.input_len())
                .zip(all.chunks_exact(s.output_len()))
            {
                let mut one = vec![0.0; s.output_len()];
                s.forward(t(image), &Tanh, &mut one, None);
                assert_eq!(one, want, "{dims:?}");
            }
        }
    }

    /// Forward (relu, z kept) and backward with dX on the implicit path's `tiles`.
    #[cfg(target_arch = "x86_64")]
    fn implicit_pass(
        s: &Conv2dShape,
        tiles: implicit::Tiles,
        x: &[f32],
        kernel: &[f32],
        bias: &[f32],
        dy: &[f32],
    ) -> Pass {
        pass_on(
            s,
            &Relu,
            (x, kernel, bias, dy),
            |t, y, z| implicit::forward(s, tiles, t, &Relu, y, Some(z)),
            |p| implicit::backward(s, tiles, p),
        )
    }

    /// The AVX-512 and AVX2 tiles form every output's sum in the same order, so y, z, dZ, dW
    /// and db agree bit for bit (whatever `SEQNET_ISA` says; skipped on a CPU without both). dX
    /// agrees when a patch is at most 16 columns (one AVX2 panel, as in the first layers); past
    /// that a cell's terms are added in panel order, and the panels are 32 columns against 16.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_avx512_and_avx2_tiles_agree() {
        use crate::kernels::isa::Isa;
        for (i, &dims) in SHAPES.iter().enumerate() {
            let s = shape(dims);
            let (Some(wide), Some(narrow)) = (
                implicit::tiles(&s, Isa::Avx512),
                implicit::tiles(&s, Isa::Avx2),
            ) else {
                continue;
            };
            let rows = 2 * s.group() + 1;
            let seed = 500 + 10 * i as u64;
            let x = random(rows * s.input_len(), seed);
            let kernel = random(s.kernel_len(), seed + 1);
            let bias = random(s.filters, seed + 2);
            let dy = random(rows * s.output_len(), seed + 3);
            let a = implicit_pass(&s, wide, &x, &kernel, &bias, &dy);
            let b = implicit_pass(&s, narrow, &x, &kernel, &bias, &dy);
            assert_eq!(a.y, b.y, "{dims:?} y");
            assert_eq!(a.z, b.z, "{dims:?} z");
            assert_eq!(a.dz, b.dz, "{dims:?} dZ");
            assert_eq!(a.dw, b.dw, "{dims:?} dW");
            assert_eq!(a.db, b.db, "{dims:?} db");
            if s.window.patch_len() <= 16 {
                assert_eq!(a.dx, b.dx, "{dims:?} dX");
            }
        }
    }

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        // Large enough that the groups run in parallel (`parallel`).
        for dims in [
            (13, 13, 32, 64, 3, 3, 1, 1, false),
            (28, 28, 1, 32, 3, 3, 1, 1, false),
            (12, 12, 8, 24, 3, 3, 2, 2, true),
        ] {
            let s = shape(dims);
            let rows = (4 * s.group() + 3).max(PARALLEL_MIN_MACS.div_ceil(s.macs()) + 1);
            let x = random(rows * s.input_len(), 1);
            let kernel = random(s.kernel_len(), 2);
            let bias = random(s.filters, 3);
            let dy = random(rows * s.output_len(), 4);
            let run = |threads| on_threads(threads, || pass(&s, &Relu, &x, &kernel, &bias, &dy));
            let (a, b) = (run(1), run(2));
            assert_eq!(a.y, b.y, "{dims:?} y");
            assert_eq!(a.dw, b.dw, "{dims:?} dW");
            assert_eq!(a.db, b.db, "{dims:?} db");
            assert_eq!(a.dx, b.dx, "{dims:?} dX");
        }
    }
}
