//! Naive reference implementations, written for obviousness rather than speed. Every kernel is
//! tested against these, and benchmarks report speed as a ratio to them.

use super::activations::Activation;

/// y = act(x·W + b) by the textbook triple loop, accumulating in `f64` so the reference is
/// closer to the exact value than any kernel under test.
pub fn dense_forward<A: Activation>(
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    act: &A,
    rows: usize,
    k: usize,
    n: usize,
) -> Vec<f32> {
    let mut y = vec![0.0f32; rows * n];
    for i in 0..rows {
        for j in 0..n {
            let mut acc = bias.map_or(0.0, |b| b[j] as f64);
            for p in 0..k {
                acc += x[i * k + p] as f64 * w[p * n + j] as f64;
            }
            y[i * n + j] = acc as f32;
        }
        let row = &mut y[i * n..(i + 1) * n];
        if A::ROW_WISE {
            act.apply_row(row);
        } else {
            for v in row {
                *v = act.apply(*v);
            }
        }
    }
    y
}

/// Gradients of one Dense layer from dL/dz by the textbook loops in f64:
/// (dW = xᵀ·dz, db = Σ_rows dz, dx = dz·Wᵀ).
pub fn dense_backward_from_dz(
    x: &[f32],
    w: &[f32],
    dz: &[f32],
    rows: usize,
    k: usize,
    n: usize,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let mut dw = vec![0.0f32; k * n];
    let mut db = vec![0.0f32; n];
    let mut dx = vec![0.0f32; rows * k];
    for p in 0..k {
        for j in 0..n {
            dw[p * n + j] = (0..rows)
                .map(|r| x[r * k + p] as f64 * dz[r * n + j] as f64)
                .sum::<f64>() as f32;
        }
    }
    for j in 0..n {
        db[j] = (0..rows).map(|r| dz[r * n + j] as f64).sum::<f64>() as f32;
    }
    for r in 0..rows {
        for p in 0..k {
            dx[r * k + p] = (0..n)
                .map(|j| dz[r * n + j] as f64 * w[p * n + j] as f64)
                .sum::<f64>() as f32;
        }
    }
    (dw, db, dx)
}

/// C = A·B for strided views by the textbook triple loop in f64.
pub fn gemm(a: super::gemm::MatRef<'_>, b: super::gemm::MatRef<'_>) -> Vec<f32> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    let mut c = vec![0.0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0.0f64;
            for p in 0..k {
                acc += a.data[i * a.rs + p * a.cs] as f64 * b.data[p * b.rs + j * b.cs] as f64;
            }
            c[i * n + j] = acc as f32;
        }
    }
    c
}
