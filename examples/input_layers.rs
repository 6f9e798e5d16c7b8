//! The tutorial's two ways of giving the input shape, side by side: implicit (`input_shape` on
//! the first layer) and explicit (an `Input` entry, named `input_features`). Both are
//! 10 → 32 relu → 16 relu → 1 sigmoid, 897 parameters; only the explicit one lists its input
//! layer in the summary.
//!
//! Run: `cargo run --release --example input_layers`

use rand::{Rng, SeedableRng};
use seqnet::prelude::*;

sequential! {
    /// The input shape rides on the first layer.
    pub struct ImplicitInput {
        Dense(32, activation = relu, input_shape = (10,)),
        Dense(16, activation = relu),
        Dense(1, activation = sigmoid),
    }
}

sequential! {
    /// The input is its own entry, with a name.
    pub struct ExplicitInput {
        Input(shape = (10,), name = "input_features"),
        Dense(32, activation = relu),
        Dense(16, activation = relu),
        Dense(1, activation = sigmoid),
    }
}

fn main() -> Result<()> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let row: [f32; 10] = std::array::from_fn(|_| rng.random_range(0.0..10.0));
    println!("input row: {row:?}\n");

    let implicit = ImplicitInput::new(42);
    implicit.summary();
    println!(
        "implicit-input prediction: {:.6}\n",
        implicit.predict_one(&row)?[0]
    );

    let explicit = ExplicitInput::new(42);
    explicit.summary();
    println!(
        "explicit-input prediction: {:.6}",
        explicit.predict_one(&row)?[0]
    );
    Ok(())
}
