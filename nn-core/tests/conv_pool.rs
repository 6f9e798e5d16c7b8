//! Conv2D and pooling: the run-time-shape kernels (`Conv2dShape`, `Window2d`, `kernels::pool`)
//! against the naive f64 references of `kernels::reference` on odd shapes (strides 1–3, both
//! paddings, 1 and 3+ channels, non-square and 1×1 windows, batches of 1 and 65 images) and on
//! random ones (proptest); the layer types' backward passes against central differences; and
//! bit-identical results on 1 and 2 threads and for an image alone or inside a batch.

mod common;
use common::*;
use nn_core::activations::*;
use nn_core::kernels::conv::{Axis, Conv2dShape, ConvGrads, ConvTensors, Window2d};
use nn_core::kernels::dense::Delta;
use nn_core::kernels::gemm::PARALLEL_MIN_MACS;
use nn_core::kernels::pool;
use nn_core::kernels::reference::{self, Window};
use nn_core::layers::{
    AveragePooling2D, Conv2D, GlobalAveragePooling2D, GlobalMaxPooling2D, MaxPooling2D,
};
use proptest::prelude::*;

/// A window in the order the cases below list them.
#[allow(clippy::too_many_arguments)]
const fn win(
    h: usize,
    w: usize,
    c: usize,
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
    same: bool,
) -> Window {
    Window {
        h,
        w,
        c,
        kh,
        kw,
        sh,
        sw,
        same,
    }
}

/// The kernels' geometry for a reference window.
fn window2d(w: &Window) -> Window2d {
    Window2d {
        rows: Axis::new(w.h, w.kh, w.sh, w.same),
        cols: Axis::new(w.w, w.kw, w.sw, w.same),
        channels: w.c,
    }
}

fn conv_shape(w: &Window, filters: usize) -> Conv2dShape {
    Conv2dShape {
        window: window2d(w),
        filters,
    }
}

// ---------------------------------------------------------------------------------------------
// Padding arithmetic

#[test]
fn axis_follows_keras_padding_arithmetic() {
    // Known values (../shared/reference/README.md): 'same' 8 → 4 with a 3-wide kernel and
    // stride 2 pads 0 before and 1 after; 9 → 5 pads 1 and 1; 'valid' 2×2 pooling of 5 gives 2
    // (the fifth cell is dropped).
    assert_eq!(
        (
            Axis::new(8, 3, 2, true).output,
            Axis::new(8, 3, 2, true).pad_before
        ),
        (4, 0)
    );
    assert_eq!(
        (
            Axis::new(9, 3, 2, true).output,
            Axis::new(9, 3, 2, true).pad_before
        ),
        (5, 1)
    );
    assert_eq!(Axis::new(5, 2, 2, false).output, 2);
    // Every small axis against the reference's own reading of Keras' formulas, and each window
    // cell's source against o·s + k − pad_before.
    for n in 1..=20 {
        for k in 1..=7 {
            for s in 1..=4 {
                for same in [false, true] {
                    let axis = Axis::new(n, k, s, same);
                    let (out, pad) = Window::axis(n, k, s, same);
                    assert_eq!(
                        (axis.output, axis.pad_before),
                        (out, pad),
                        "{n} {k} {s} {same}"
                    );
                    for o in 0..out {
                        for kk in 0..k {
                            let want = (o * s + kk).checked_sub(pad).filter(|&i| i < n);
                            assert_eq!(axis.source(o, kk), want, "{n} {k} {s} {same} o{o} k{kk}");
                            assert_eq!(axis.inside(o).contains(&kk), want.is_some());
                        }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Convolution kernels against the reference

/// Odd convolution geometries: strides 1, 2, 3 (and mixed), both paddings, 1 and 3+ channels,
/// non-square kernels, 1×1 (pointwise, and strided), a kernel as large as its input, a 'same'
/// kernel larger than its input, and a patch longer than the GEMM's KC = 256 (33 channels).
const CONV_CASES: [(Window, usize); 14] = [
    (win(9, 11, 1, 3, 3, 1, 1, false), 4),
    (win(9, 11, 3, 3, 3, 1, 1, true), 5),
    (win(10, 7, 3, 2, 3, 2, 2, true), 2),
    (win(10, 7, 3, 2, 3, 2, 2, false), 3),
    (win(13, 9, 4, 5, 3, 3, 3, true), 3),
    (win(13, 9, 4, 5, 3, 3, 2, false), 6),
    (win(7, 7, 3, 1, 1, 1, 1, false), 6),
    (win(7, 7, 1, 1, 1, 2, 2, true), 3),
    (win(5, 6, 2, 3, 3, 3, 1, true), 3),
    (win(8, 8, 3, 3, 2, 1, 3, true), 7),
    (win(6, 5, 33, 3, 3, 1, 1, true), 4),
    (win(4, 4, 3, 4, 4, 1, 1, false), 3),
    (win(3, 4, 2, 5, 5, 1, 2, true), 3),
    (win(11, 8, 5, 3, 1, 2, 1, false), 5),
];

/// The forward pass (with and without the kept pre-activation) and the backward pass (from
/// dL/dy and from dL/dz) of `Conv2dShape` against `reference::conv2d_forward` /
/// `conv2d_backward` on `rows` images of random values.
fn check_conv<A: Activation>(act: A, win: Window, f: usize, rows: usize, bias: bool, seed: u64) {
    let shape = conv_shape(&win, f);
    let what = format!("{win:?} f{f} ×{rows} {} bias {bias}", A::NAME);
    let x = random(rows * win.input_len(), seed);
    let kernel = random(shape.kernel_len(), seed + 1);
    let b = random(f, seed + 2);
    let b = bias.then_some(&b[..]);
    let t = || ConvTensors {
        x: &x,
        kernel: &kernel,
        bias: b,
    };
    let out_len = rows * shape.output_len();
    assert_eq!(
        out_len,
        rows * win.out_h() * win.out_w() * f,
        "{what}: output size"
    );
    let mut y = vec![f32::NAN; out_len];
    let mut z = vec![f32::NAN; out_len];
    shape.forward(t(), &act, &mut y, Some(&mut z));

    // Each output sums kh·kw·c products of values in [-1, 1] in f32 (plus the bias): its
    // rounding grows like √(terms) times a few ulp; 4e-6·√terms is ~60 ulp·√terms.
    let terms = (win.kh * win.kw * win.c + 1) as f32;
    let tol = 4e-6 * terms.sqrt();
    let want_y = reference::conv2d_forward(&x, &kernel, b, &act, &win, f);
    let want_z = reference::conv2d_forward(&x, &kernel, b, &Linear, &win, f);
    assert_close(&format!("{what}: y"), &y, &want_y, tol, tol);
    assert_close(&format!("{what}: z"), &z, &want_z, tol, tol);

    // Inference (no pre-activation kept) computes the same values in the same order.
    let mut y_inference = vec![f32::NAN; out_len];
    shape.forward(t(), &act, &mut y_inference, None);
    assert_eq!(bits(&y), bits(&y_inference), "{what}: inference output");

    // dL/dz from dL/dy through the activation's own row rule (activations are checked against
    // finite differences in tests/activations.rs), then the three gradients from dL/dz.
    let dy = random(out_len, seed + 3);
    let mut dz = dy.clone();
    for ((d, z), y) in dz
        .chunks_exact_mut(f)
        .zip(z.chunks_exact(f))
        .zip(y.chunks_exact(f))
    {
        act.backward_row(z, y, d);
    }
    let (want_dw, want_db, want_dx) = reference::conv2d_backward(&x, &kernel, &dz, &win, f);
    let positions = win.out_h() * win.out_w();
    // dW and db sum rows·positions products; dX sums at most kh·kw·f.
    let tol_w = 4e-6 * ((rows * positions) as f32).sqrt().max(1.0);
    let tol_x = 4e-6 * ((win.kh * win.kw * f) as f32).sqrt();
    for start in [Delta::Output, Delta::PreActivation] {
        let mut delta = if start == Delta::Output {
            dy.clone()
        } else {
            dz.clone()
        };
        let mut dw = vec![f32::NAN; shape.kernel_len()];
        let mut db = vec![f32::NAN; f];
        let mut dx = vec![f32::NAN; x.len()];
        let mut partials = vec![f32::NAN; shape.partials_len(rows)];
        let grads = ConvGrads {
            kernel: &mut dw,
            bias: Some(&mut db),
            input: Some(&mut dx),
        };
        shape.backward(t(), &z, &y, &mut delta, &act, start, grads, &mut partials);
        let what = format!("{what} {start:?}");
        assert_close(&format!("{what}: dW"), &dw, &want_dw, tol_w, tol_w);
        assert_close(&format!("{what}: db"), &db, &want_db, tol_w, tol_w);
        assert_close(&format!("{what}: dX"), &dx, &want_dx, tol_x, tol_x);
        assert_eq!(
            bits(&delta),
            bits(&dz),
            "{what}: delta must hold dL/dz afterwards"
        );

        // Without bias and input gradients the kernel gradient is the same.
        let mut delta = if start == Delta::Output {
            dy.clone()
        } else {
            dz.clone()
        };
        let mut dw_only = vec![f32::NAN; shape.kernel_len()];
        let grads = ConvGrads {
            kernel: &mut dw_only,
            bias: None,
            input: None,
        };
        shape.backward(t(), &z, &y, &mut delta, &act, start, grads, &mut partials);
        assert_eq!(bits(&dw_only), bits(&dw), "{what}: dW alone");
    }
}

#[test]
fn conv_matches_reference_on_odd_shapes() {
    let mut crossing = 0;
    for (i, &(win, f)) in CONV_CASES.iter().enumerate() {
        for rows in [1, 65] {
            let seed = (i * 100 + rows) as u64;
            check_conv(Relu, win, f, rows, true, seed);
            check_conv(Tanh, win, f, rows, false, seed + 10);
            check_conv(Linear, win, f, rows, true, seed + 20);
            check_conv(Softmax, win, f, rows, true, seed + 30);
        }
        if conv_shape(&win, f).group() < 65 {
            crossing += 1;
        }
    }
    // 65 images must span several of the convolution's groups in most cases, so that the
    // per-group partial gradients and their sum are exercised.
    assert!(
        crossing >= 8,
        "only {crossing} cases cross a group boundary"
    );
}

#[test]
fn im2col_and_col2im_match_reference_on_odd_shapes() {
    for (i, &(win, _)) in CONV_CASES.iter().enumerate() {
        let w2 = window2d(&win);
        let patches = win.out_h() * win.out_w() * win.kh * win.kw * win.c;
        let image = random(win.input_len(), i as u64);
        let mut col = vec![f32::NAN; patches];
        w2.im2col(&image, &mut col);
        // A copy: exactly the reference's values, zeros in the padding.
        assert_eq!(
            bits(&col),
            bits(&reference::im2col(&image, &win)),
            "{win:?}"
        );

        // col2im_add adds onto what the image holds.
        let back = random(patches, i as u64 + 1);
        let start = random(win.input_len(), i as u64 + 2);
        let mut got = start.clone();
        w2.col2im_add(&back, &mut got);
        let want: Vec<f32> = reference::col2im(&back, &win)
            .iter()
            .zip(&start)
            .map(|(a, s)| a + s)
            .collect();
        // A cell sums at most kh·kw patch values plus its start.
        let tol = 4e-7 * (win.kh * win.kw + 1) as f32;
        assert_close(&format!("{win:?} col2im"), &got, &want, tol, tol);
    }
}

// ---------------------------------------------------------------------------------------------
// Pooling kernels against the reference

/// Odd pooling geometries: 'valid' dropping trailing cells, 'same' with asymmetric padding,
/// overlapping windows (stride < pool), non-square pools and strides, 1×1 pools (identity and
/// subsampling), a pool as large as its input.
const POOL_CASES: [Window; 12] = [
    win(9, 11, 1, 2, 2, 2, 2, false),
    win(9, 11, 3, 2, 2, 2, 2, true),
    win(7, 10, 3, 3, 3, 2, 2, true),
    win(7, 10, 4, 3, 3, 1, 1, false),
    win(8, 8, 2, 2, 2, 1, 1, true),
    win(8, 5, 3, 3, 3, 2, 2, true),
    win(10, 9, 3, 2, 3, 2, 3, false),
    win(10, 9, 3, 3, 2, 3, 1, true),
    win(5, 5, 1, 1, 1, 1, 1, false),
    win(6, 7, 3, 1, 1, 2, 3, true),
    win(5, 5, 2, 5, 5, 1, 1, true),
    win(4, 6, 3, 3, 3, 3, 3, true),
];

/// Max and average pooling, forward and backward, against the reference on `rows` images.
/// Inputs are distinct, so every maximum is unique and the arg-max well defined.
fn check_pool(win: Window, rows: usize, seed: u64) {
    let w2 = window2d(&win);
    let what = format!("{win:?} ×{rows}");
    let x = distinct(rows * win.input_len(), 1.0 / 4096.0, seed);
    let out_len = rows * win.out_h() * win.out_w() * win.c;
    let dy = random(out_len, seed + 1);

    let mut y = vec![f32::NAN; out_len];
    let mut args = vec![u32::MAX; out_len];
    pool::max_pool(&w2, &x, &mut y, Some(&mut args));
    // A maximum is one of the inputs: exact.
    assert_eq!(
        bits(&y),
        bits(&reference::max_pool(&x, &win)),
        "{what}: max"
    );
    let mut y_inference = vec![f32::NAN; out_len];
    pool::max_pool(&w2, &x, &mut y_inference, None);
    assert_eq!(bits(&y_inference), bits(&y), "{what}: max without arg-max");
    let mut dx = vec![f32::NAN; x.len()];
    pool::max_pool_backward(w2.input_len(), &dy, &args, &mut dx);
    // Overlapping windows add up to kh·kw gradients on one cell.
    let tol = 2e-7 * (win.kh * win.kw) as f32;
    let want = reference::max_pool_backward(&x, &dy, &win);
    assert_close(&format!("{what}: max dX"), &dx, &want, tol, tol);

    let mut y = vec![f32::NAN; out_len];
    pool::average_pool(&w2, &x, &mut y);
    let want = reference::average_pool(&x, &win);
    assert_close(&format!("{what}: average"), &y, &want, tol, tol);
    let mut dx = vec![f32::NAN; x.len()];
    pool::average_pool_backward(&w2, &dy, &mut dx);
    let want = reference::average_pool_backward(&dy, &win);
    assert_close(&format!("{what}: average dX"), &dx, &want, tol, tol);
}

#[test]
fn pooling_matches_reference_on_odd_shapes() {
    for (i, &win) in POOL_CASES.iter().enumerate() {
        for rows in [1, 65] {
            check_pool(win, rows, (i * 100 + rows) as u64);
        }
    }
}

/// Global average and max pooling, forward and backward, against the reference.
fn check_global_pool(positions: usize, c: usize, rows: usize, seed: u64) {
    let what = format!("{positions}×{c} ×{rows}");
    let x = distinct(rows * positions * c, 1.0 / 4096.0, seed);
    let dy = random(rows * c, seed + 1);

    let mut y = vec![f32::NAN; rows * c];
    pool::global_average_pool(c, &x, &mut y);
    let tol = 2e-7 * positions as f32;
    let want = reference::global_average_pool(&x, positions, c);
    assert_close(&format!("{what}: average"), &y, &want, tol, tol);
    let mut dx = vec![f32::NAN; x.len()];
    pool::global_average_pool_backward(c, &dy, &mut dx);
    let want = reference::global_average_pool_backward(&dy, positions, c);
    assert_close(&format!("{what}: average dX"), &dx, &want, 2e-7, 0.0);

    let mut y = vec![f32::NAN; rows * c];
    let mut args = vec![u32::MAX; rows * c];
    pool::global_max_pool(c, &x, &mut y, Some(&mut args));
    let want = reference::global_max_pool(&x, positions, c);
    assert_eq!(bits(&y), bits(&want), "{what}: max");
    let mut dx = vec![f32::NAN; x.len()];
    pool::max_pool_backward(positions * c, &dy, &args, &mut dx);
    let want = reference::global_max_pool_backward(&x, &dy, positions, c);
    assert_eq!(bits(&dx), bits(&want), "{what}: max dX");
}

#[test]
fn global_pooling_matches_reference_on_odd_shapes() {
    for (i, (positions, c)) in [(1, 1), (1, 5), (7, 1), (7, 3), (30, 5), (121, 2)]
        .into_iter()
        .enumerate()
    {
        for rows in [1, 65] {
            check_global_pool(positions, c, rows, (i * 100 + rows) as u64);
        }
    }
}

#[test]
fn max_pooling_known_values_nan_padding_and_ties() {
    // Documented in kernels::pool: a NaN wins over every number, so it reaches the output (as
    // in Keras); padded cells never win even when every real cell is negative.
    let w = win(2, 2, 1, 2, 2, 1, 1, true); // 'same': 2×2 outputs, padding after
    let w2 = window2d(&w);
    let x = [-3.0, f32::NAN, -1.0, -2.0];
    let mut y = [0.0f32; 4];
    pool::max_pool(&w2, &x, &mut y, None);
    assert!(y[0].is_nan(), "window with the NaN: {y:?}");
    assert!(y[1].is_nan(), "window with the NaN: {y:?}");
    assert_eq!(&y[2..], &[-1.0, -2.0], "padded cells must not win");
    // Average pooling of the same corner windows divides by their real cells (2 and 1).
    let x = [1.0, 2.0, 3.0, 4.0];
    pool::average_pool(&w2, &x, &mut y);
    assert_eq!(y, [2.5, 3.0, 3.5, 4.0]);

    // Ties: the first equal value in row-major window order wins, so a window's gradient goes
    // to one cell whole, never split. Two overlapping 2×2 windows over
    //   5 5 1
    //   5 2 5
    // win at cells 0 and 1.
    let w2 = window2d(&win(2, 3, 1, 2, 2, 1, 1, false));
    let x = [5.0, 5.0, 1.0, 5.0, 2.0, 5.0];
    let (mut y, mut args) = ([0.0f32; 2], [u32::MAX; 2]);
    pool::max_pool(&w2, &x, &mut y, Some(&mut args));
    assert_eq!((y, args), ([5.0, 5.0], [0, 1]));
    let mut dx = [f32::NAN; 6];
    pool::max_pool_backward(6, &[1.0, 10.0], &args, &mut dx);
    assert_eq!(dx, [1.0, 10.0, 0.0, 0.0, 0.0, 0.0]);
    // Global max pooling over the six positions (one channel): position 0.
    let mut arg = [u32::MAX];
    pool::global_max_pool(1, &x, &mut y[..1], Some(&mut arg));
    assert_eq!(arg, [0]);
}

// ---------------------------------------------------------------------------------------------
// Random shapes

fn window_strategy() -> impl Strategy<Value = Window> {
    (
        (1usize..12, 1usize..12, 1usize..6),
        (1usize..6, 1usize..6, 1usize..4, 1usize..4),
        any::<bool>(),
    )
        .prop_map(|((h, w, c), (kh, kw, sh, sw), same)| {
            // 'valid' needs the window to fit (the macro rejects anything else).
            let (kh, kw) = if same {
                (kh, kw)
            } else {
                (kh.min(h), kw.min(w))
            };
            win(h, w, c, kh, kw, sh, sw, same)
        })
}

proptest! {
    // Bounded so the file runs in seconds: each case is a few small passes plus their f64
    // references.
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn conv_matches_reference_on_random_shapes(
        win in window_strategy(), f in 1usize..8, rows in 1usize..24, act in 0usize..4,
        bias: bool, seed: u64,
    ) {
        match act {
            0 => check_conv(Relu, win, f, rows, bias, seed),
            1 => check_conv(Tanh, win, f, rows, bias, seed),
            2 => check_conv(Linear, win, f, rows, bias, seed),
            _ => check_conv(Softmax, win, f, rows, bias, seed),
        }
    }

    #[test]
    fn im2col_and_col2im_are_adjoint(win in window_strategy(), seed: u64) {
        // ⟨im2col(x), p⟩ = ⟨x, col2im(p)⟩. On dyadic values k/64 every sum and product is
        // exact in f32 and f64, so the identity holds bit for bit.
        let w2 = window2d(&win);
        let patches = win.out_h() * win.out_w() * win.kh * win.kw * win.c;
        let x = grid(win.input_len(), 64, 1.0 / 64.0, seed);
        let p = grid(patches, 64, 1.0 / 64.0, seed ^ 1);
        let mut col = vec![f32::NAN; patches];
        w2.im2col(&x, &mut col);
        let mut back = vec![0.0f32; win.input_len()];
        w2.col2im_add(&p, &mut back);
        let dot = |a: &[f32], b: &[f32]| -> f64 {
            a.iter().zip(b).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum()
        };
        prop_assert_eq!(dot(&col, &p), dot(&x, &back));
        prop_assert_eq!(bits(&col), bits(&reference::im2col(&x, &win)));
        prop_assert_eq!(bits(&back), bits(&reference::col2im(&p, &win)));
    }

    #[test]
    fn pooling_matches_reference_on_random_shapes(
        win in window_strategy(), rows in 1usize..12, seed: u64,
    ) {
        check_pool(win, rows, seed);
    }

    #[test]
    fn global_pooling_matches_reference_on_random_shapes(
        positions in 1usize..50, c in 1usize..7, rows in 1usize..12, seed: u64,
    ) {
        check_global_pool(positions, c, rows, seed);
    }
}

// ---------------------------------------------------------------------------------------------
// The layer types against central differences

/// Tolerance of smooth layers (tanh, softmax), step h = 2⁻⁷ on values in [-1, 1]. Truncation:
/// the central difference errs by h²/6·|L'''| ≈ 2.5e-6·|L'''|, with L''' a sum of a few
/// O(1) terms here. Rounding: a step changes only the outputs whose windows see the perturbed
/// value (≤ kh·kw·f, or a filter's positions for a weight), each rounded to a few ulp
/// (≤ 2·6e-8·|y|); divided by 2h that is ≲ 30·1.2e-7/0.016 ≈ 2e-4 in the worst case, against
/// gradients of order 1. 1e-3 leaves a margin over both and still catches any wrong term
/// (those err by O(1)).
const SMOOTH: f64 = 1e-3;

/// Tolerance of piecewise-linear layers on dyadic data (relu conv, pools): the forward values
/// and the losses are exact, the quotient is exact, and only the backward pass's own f32 sums
/// round (a few ulp over sums of at most a few dozen terms).
const EXACT_FORWARD: f64 = 1e-5;

#[test]
fn conv2d_tanh_gradients_match_central_differences() {
    // 'same', non-square kernel, strides (2, 1), 3 channels in, 4 filters, bias.
    type L = Conv2D<7, 6, 3, 4, 3, 2, 2, 1, true, Tanh>;
    let params = uniform(3 * 2 * 3 * 4 + 4, -0.5, 0.5, 1);
    let harness = Harness::new(L::new(Tanh), params, vec![], TRAINING);
    let worst = check_gradients(&harness, &random(2 * 7 * 6 * 3, 2), 1.0 / 128.0, SMOOTH);
    eprintln!("conv2d tanh: worst relative error {worst:e}");
}

#[test]
fn conv2d_softmax_gradients_match_central_differences() {
    // Softmax over each pixel's 4 filters, 'valid', strides (1, 2), 2 channels in.
    type L = Conv2D<5, 6, 2, 4, 2, 3, 1, 2, false, Softmax>;
    let params = uniform(2 * 3 * 2 * 4 + 4, -0.5, 0.5, 3);
    let harness = Harness::new(L::new(Softmax), params, vec![], TRAINING);
    let worst = check_gradients(&harness, &random(3 * 5 * 6 * 2, 4), 1.0 / 128.0, SMOOTH);
    eprintln!("conv2d softmax: worst relative error {worst:e}");
}

#[test]
fn conv2d_relu_gradients_match_central_differences_away_from_the_kink() {
    // Kink-free by construction: inputs are multiples of 1/2 in [-1, 1], weights multiples of
    // 1/8 in [-3/8, 3/8], so Σ x·w is a multiple of 1/16, and the bias is 1/32 plus a
    // multiple of 1/16: every pre-activation is an odd multiple of 1/32, at least 1/32 from
    // relu's kink. A step of h = 2⁻⁸ moves a pre-activation by at most h·max(|x|, |w|, 1) =
    // 1/256 < 1/32, so no step crosses the kink; and all values are exact in f32.
    type L = Conv2D<6, 5, 2, 3, 3, 3, 1, 1, false, Relu>;
    let kernel_len = 3 * 3 * 2 * 3;
    let mut params = grid(kernel_len, 3, 1.0 / 8.0, 5);
    params.extend(grid(3, 2, 1.0 / 16.0, 6).iter().map(|b| b + 1.0 / 32.0));
    let harness = Harness::new(L::new(Relu), params, vec![], TRAINING);
    let x = grid(2 * 6 * 5 * 2, 2, 0.5, 7);
    let (y, scratch) = harness.forward(&x);
    let z = &scratch[..y.len()];
    assert!(z.iter().all(|z| z.abs() >= 1.0 / 32.0), "construction");
    assert!(
        y.contains(&0.0) && y.iter().any(|&y| y > 0.0),
        "both sides of relu"
    );
    let worst = check_gradients(&harness, &x, 1.0 / 256.0, EXACT_FORWARD);
    eprintln!("conv2d relu: worst relative error {worst:e}");
}

#[test]
fn conv2d_pointwise_gradients_match_central_differences() {
    // 1×1, stride 1: the path where the input is its own patch matrix. Linear, so the
    // quotient is exact up to the forward's rounding; a step of 1/4 keeps that small.
    type L = Conv2D<4, 3, 3, 2, 1, 1, 1, 1, false, Linear>;
    let harness = Harness::new(L::new(Linear), random(3 * 2 + 2, 8), vec![], TRAINING);
    let worst = check_gradients(&harness, &random(3 * 4 * 3 * 3, 9), 0.25, EXACT_FORWARD);
    eprintln!("conv2d pointwise: worst relative error {worst:e}");
}

#[test]
fn max_pooling_gradients_match_central_differences() {
    // Distinct inputs on a grid of spacing 2⁻⁶ and a step of 2⁻⁸: no step changes which cell
    // wins a window (no ties, no kink), and every value is exact in f32.
    type Strided = MaxPooling2D<7, 6, 3, 2, 3, 2, 2, true>;
    let harness = Harness::new(Strided::default(), vec![], vec![], TRAINING);
    let x = distinct(2 * 7 * 6 * 3, 1.0 / 64.0, 10);
    let worst = check_gradients(&harness, &x, 1.0 / 256.0, EXACT_FORWARD);
    eprintln!("max pooling (same, 2×3 / 2): worst relative error {worst:e}");
    // Overlapping windows: a cell can win several windows and collect their gradients.
    type Overlapping = MaxPooling2D<6, 7, 2, 3, 3, 1, 1, false>;
    let harness = Harness::new(Overlapping::default(), vec![], vec![], TRAINING);
    let x = distinct(2 * 6 * 7 * 2, 1.0 / 64.0, 11);
    let worst = check_gradients(&harness, &x, 1.0 / 256.0, EXACT_FORWARD);
    eprintln!("max pooling (valid, 3×3 / 1): worst relative error {worst:e}");
}

#[test]
fn average_pooling_gradients_match_central_differences() {
    // Linear: the quotient errs only by the forward's rounding (a few ulp of values of order
    // 1, divided by 2h = 1/2).
    type L = AveragePooling2D<7, 6, 3, 3, 2, 2, 2, true>;
    let harness = Harness::new(L::default(), vec![], vec![], TRAINING);
    let worst = check_gradients(&harness, &random(2 * 7 * 6 * 3, 12), 0.25, EXACT_FORWARD);
    eprintln!("average pooling: worst relative error {worst:e}");
}

#[test]
fn global_pooling_gradients_match_central_differences() {
    type Average = GlobalAveragePooling2D<12, 3>;
    let harness = Harness::new(Average::default(), vec![], vec![], TRAINING);
    let worst = check_gradients(&harness, &random(3 * 12 * 3, 13), 0.25, EXACT_FORWARD);
    eprintln!("global average pooling: worst relative error {worst:e}");
    // As for max pooling: distinct values 2⁻⁶ apart, a step of 2⁻⁸.
    type Max = GlobalMaxPooling2D<12, 3>;
    let harness = Harness::new(Max::default(), vec![], vec![], TRAINING);
    let x = distinct(3 * 12 * 3, 1.0 / 64.0, 14);
    let worst = check_gradients(&harness, &x, 1.0 / 256.0, EXACT_FORWARD);
    eprintln!("global max pooling: worst relative error {worst:e}");
}

// ---------------------------------------------------------------------------------------------
// Determinism

/// One forward pass keeping z and one backward pass with every gradient:
/// (y, z, dW, db, dX, dL/dz).
fn conv_pass<A: Activation>(
    shape: &Conv2dShape,
    act: &A,
    x: &[f32],
    kernel: &[f32],
    bias: &[f32],
    dy: &[f32],
) -> [Vec<f32>; 6] {
    let rows = x.len() / shape.input_len();
    let t = || ConvTensors {
        x,
        kernel,
        bias: Some(bias),
    };
    let mut y = vec![f32::NAN; rows * shape.output_len()];
    let mut z = y.clone();
    shape.forward(t(), act, &mut y, Some(&mut z));
    let mut delta = dy.to_vec();
    let mut dw = vec![f32::NAN; shape.kernel_len()];
    let mut db = vec![f32::NAN; shape.filters];
    let mut dx = vec![f32::NAN; x.len()];
    let mut partials = vec![f32::NAN; shape.partials_len(rows)];
    let grads = ConvGrads {
        kernel: &mut dw,
        bias: Some(&mut db),
        input: Some(&mut dx),
    };
    shape.backward(
        t(),
        &z,
        &y,
        &mut delta,
        act,
        Delta::Output,
        grads,
        &mut partials,
    );
    [y, z, dw, db, dx, delta]
}

#[test]
fn conv_is_bit_identical_on_one_and_two_threads() {
    // Both shapes take the parallel paths on two threads: the first spreads its 33 groups of
    // four images over the threads; the second is one group (one output position per image)
    // whose GEMMs (130 × 512 × 32) are large enough to split themselves.
    let cases = [
        (win(12, 12, 3, 3, 3, 1, 1, true), 16, 130),
        (win(4, 4, 32, 4, 4, 1, 1, false), 32, 130),
    ];
    for (i, &(win, f, rows)) in cases.iter().enumerate() {
        let shape = conv_shape(&win, f);
        assert!(
            rows * shape.macs() >= PARALLEL_MIN_MACS,
            "case {i} must be large enough for threads"
        );
        let x = random(rows * win.input_len(), 20 + i as u64);
        let kernel = random(shape.kernel_len(), 30 + i as u64);
        let bias = random(f, 40 + i as u64);
        let dy = random(rows * shape.output_len(), 50 + i as u64);
        let run = |threads| {
            on_threads(threads, || {
                [
                    conv_pass(&shape, &Tanh, &x, &kernel, &bias, &dy),
                    conv_pass(&shape, &Relu, &x, &kernel, &bias, &dy),
                ]
            })
        };
        let (one, two) = (run(1), run(2));
        for (act, (a, b)) in ["tanh", "relu"].iter().zip(one.iter().zip(&two)) {
            for (what, (a, b)) in ["y", "z", "dW", "db", "dX", "dZ"]
                .iter()
                .zip(a.iter().zip(b))
            {
                assert_eq!(
                    bits(a),
                    bits(b),
                    "case {i} {act}: {what} differs on 1 and 2 threads"
                );
            }
        }
    }
}

#[test]
fn an_image_alone_gives_the_bits_it_gives_inside_a_batch() {
    // A batch is cut into groups of images whose patch matrices form one GEMM; an image's
    // output must not depend on which group (or how large a GEMM) it was in. Cases: several
    // groups, the pointwise path, a patch longer than KC, a single position per image.
    let cases = [
        (win(12, 12, 3, 3, 3, 1, 1, true), 16),
        (win(9, 11, 3, 3, 3, 2, 2, true), 5),
        (win(7, 7, 3, 1, 1, 1, 1, false), 6),
        (win(6, 5, 33, 3, 3, 1, 1, true), 4),
        (win(4, 4, 32, 4, 4, 1, 1, false), 32),
    ];
    let rows = 130;
    for (i, &(win, f)) in cases.iter().enumerate() {
        let shape = conv_shape(&win, f);
        let (in_len, out_len) = (shape.input_len(), shape.output_len());
        let x = random(rows * in_len, 60 + i as u64);
        let kernel = random(shape.kernel_len(), 70 + i as u64);
        let bias = random(f, 80 + i as u64);
        let forward = |x: &[f32]| {
            let mut y = vec![f32::NAN; x.len() / in_len * out_len];
            let t = ConvTensors {
                x,
                kernel: &kernel,
                bias: Some(&bias),
            };
            shape.forward(t, &Tanh, &mut y, None);
            y
        };
        let batch = forward(&x);
        let g = shape.group();
        for r in [0, g - 1, g, 64, rows - 1] {
            let r = r.min(rows - 1);
            let alone = forward(&x[r * in_len..][..in_len]);
            assert_eq!(
                bits(&alone),
                bits(&batch[r * out_len..][..out_len]),
                "case {i} ({win:?}): image {r} (group size {g})"
            );
        }
    }
}
