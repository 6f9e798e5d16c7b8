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
