//! The shortest model of the Keras tutorial:
//! `Sequential([Dense(32, activation='relu'), Dense(1, activation='sigmoid')])`.
//!
//! No input shape is given, so `Tiny` is generic over its input width and the compiler reads
//! the width (10) from the data handed to `predict`.
//!
//! Run: `cargo run --release --example seed_simple`

use rand::{Rng, SeedableRng};
use seqnet::prelude::*;

sequential! {
    /// Two Dense layers, input width inferred from the data.
    pub struct Tiny {
        Dense(32, activation = relu),
        Dense(1, activation = sigmoid),
    }
}

fn main() -> Result<()> {
    let model = Tiny::new(42);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    // One row of the tutorial's synthetic data: 10 features uniform in [0, 10).
    let row: [f32; 10] = std::array::from_fn(|_| rng.random_range(0.0..10.0));

    let probability = model.predict(&[row])?[0][0];
    model.summary();
    println!("input row:   {row:?}");
    println!(
        "prediction:  {probability:.6} (class {})",
        u8::from(probability > 0.5)
    );
    Ok(())
}
