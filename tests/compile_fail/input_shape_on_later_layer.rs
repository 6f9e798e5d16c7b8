use seqnet::prelude::*;

sequential! {
    struct Net {
        Dense(64, activation = relu),
        Dense(1, activation = sigmoid, input_shape = (64,)),
    }
}

fn main() {}
