//! The Keras tutorial's synthetic data: 10 features uniform in [0, 10); the label is 1 when the
//! first five sum to more than the last five plus N(0, 1) noise. Seeded with seqnet's own
//! generator (ChaCha8), so the rows differ from NumPy's `RandomState(42)`, not their law.

use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

/// `rows` rows of the tutorial's data and their 0/1 labels.
pub fn tutorial_data(rows: usize, seed: u64) -> (Vec<[f32; 10]>, Vec<f32>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let x: Vec<[f32; 10]> = (0..rows)
        .map(|_| std::array::from_fn(|_| rng.random_range(0.0..10.0f64) as f32))
        .collect();
    let y = x
        .iter()
        .map(|r| {
            let first: f64 = r[..5].iter().map(|&v| v as f64).sum();
            let last: f64 = r[5..].iter().map(|&v| v as f64).sum();
            f32::from(first > last + Distribution::<f64>::sample(&StandardNormal, &mut rng))
        })
        .collect();
    (x, y)
}
