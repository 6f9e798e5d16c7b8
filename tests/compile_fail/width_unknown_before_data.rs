// A model with no input shape is generic over its width, which data fixes; used before any data
// (`summary()` right after `new`), the width must be named: `Tiny::<10>::new(42)`.
use seqnet::prelude::*;

sequential! {
    struct Tiny {
        Dense(8, activation = relu),
        Dense(1, activation = sigmoid),
    }
}

fn main() {
    Tiny::new(42).summary();
}
