//! Dense's int8 product over float rows two ways: the int8 tiles (`kernels::int8::dense_s8`,
//! every path this CPU has) and, for a small kernel, the f32 product of the quantized rows
//! (`Int8Weights::dense_forward`), whose integer sums are exact up to k = 1024: the same bits,
//! extreme values included. And the rows quantized to f32 are the int8 quantization's values.

use nn_core::activations::Linear;
use nn_core::int8::Int8Weights;
use nn_core::kernels::int8::{
    dense_s8, quantize_rows, quantize_rows_f32, DenseS8, Int8Path, PackedS8,
};
use nn_core::Quantize;
use rand::{Rng, SeedableRng};

fn rng(seed: u64) -> rand_chacha::ChaCha8Rng {
    rand_chacha::ChaCha8Rng::seed_from_u64(seed)
}

#[test]
fn rows_quantized_to_f32_are_the_int8_values() {
    let mut r = rng(1);
    for k in [1, 7, 16, 33, 100] {
        let mut x: Vec<f32> = (0..k * 9).map(|_| r.random_range(-3.0..3.0)).collect();
        // Ties: with 127 in the row the scale is exactly 1 (127 + 1e-7 rounds to 127 in
        // f32), so n + 0.5 scales to itself and must round to the even integer.
        let ties = [127.0, 0.5, 1.5, 2.5, -0.5, -2.5, 126.5, -126.5, 3.5];
        for (v, &t) in x[..k].iter_mut().zip(ties.iter().cycle()) {
            *v = t;
        }
        x[k..2 * k].fill(0.0);
        let (mut q, mut s) = (vec![0i8; x.len()], vec![0.0f32; 9]);
        quantize_rows(Int8Path::Portable, &x, k, &mut q, &mut s);
        let (mut qf, mut sf) = (vec![0.0f32; x.len()], vec![0.0f32; 9]);
        quantize_rows_f32(&x, k, &mut qf, &mut sf);
        let qi: Vec<f32> = q.iter().map(|&v| f32::from(v)).collect();
        assert_eq!(qf, qi, "k = {k}");
        assert_eq!(sf, s, "k = {k}");
        for path in Int8Path::available() {
            let (mut qp, mut sp) = (vec![0i8; x.len()], vec![0.0f32; 9]);
            quantize_rows(path, &x, k, &mut qp, &mut sp);
            assert_eq!((&qp, &sp), (&q, &s), "{path:?}, k = {k}");
        }
        if k >= 7 {
            assert_eq!(s[0], 1.0);
            assert_eq!(&qi[..7], &[127.0, 0.0, 2.0, 2.0, 0.0, -2.0, 126.0]);
        }
    }
}

#[test]
fn the_exact_f32_product_is_the_int8_tiles_bits() {
    let mut r = rng(2);
    for (k, n) in [(1usize, 5usize), (13, 37), (64, 16), (1024, 3)] {
        // The kernel at its extremes (-128 and 127 included) and random values.
        let kernel: Vec<i8> = (0..k * n)
            .map(|i| match i % 5 {
                0 => -128,
                1 => 127,
                _ => r.random_range(-128..=127),
            })
            .collect();
        let scale: Vec<f32> = (0..n).map(|_| r.random_range(0.5..200.0)).collect();
        let bias: Vec<f32> = (0..n).map(|_| r.random_range(-1.0..1.0)).collect();
        let rows = 70;
        // Rows whose values all quantize to ±127: the largest sums there are.
        let mut x: Vec<f32> = (0..rows * k).map(|_| r.random_range(-2.0..2.0)).collect();
        x[..k]
            .iter_mut()
            .enumerate()
            .for_each(|(i, v)| *v = if i % 2 == 0 { 1.5 } else { -1.5 });
        let q =
            Int8Weights::from_parts(Quantize::Kernel, kernel.clone(), scale.clone(), k, n, true)
                .expect("a kernel");
        let mut exact = vec![0.0f32; rows * n];
        q.dense_forward(&Linear, &x, rows, Some(&bias), &mut exact, None);
        let packed = PackedS8::pack(&kernel, k, n);
        for path in Int8Path::available() {
            let mut tiles = vec![0.0f32; rows * n];
            let dense = DenseS8 {
                kernel: &packed,
                kernel_scale: &scale,
                bias: Some(&bias),
            };
            dense_s8(path, &x, rows, dense, &mut tiles, &|_, _| {});
            let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&tiles), bits(&exact), "{path:?}, k = {k}, n = {n}");
        }
    }
}

#[test]
fn a_row_with_a_nan_or_infinity_gives_nan_outputs() {
    // An earlier layer that overflowed: a NaN among finite values would quantize to a finite
    // row (the abs-max skips it) and hide the overflow. Small (exact f32) and large (tile)
    // kernels alike; the other rows keep their values.
    for (k, n) in [(13usize, 37usize), (300, 200)] {
        let kernel: Vec<i8> = (0..k * n).map(|i| (i % 255) as i8).collect();
        let q = Int8Weights::from_parts(Quantize::Kernel, kernel, vec![50.0; n], k, n, true)
            .expect("a kernel");
        let mut x = vec![0.5f32; 3 * k];
        x[k + 3] = f32::NAN;
        x[2 * k + 1] = f32::INFINITY;
        let mut out = vec![0.0f32; 3 * n];
        q.dense_forward(&Linear, &x, 3, None, &mut out, None);
        assert!(out[..n].iter().all(|v| v.is_finite()), "k = {k}: row 0");
        assert!(out[n..].iter().all(|v| v.is_nan()), "k = {k}: rows 1 and 2");
    }
}
