use seqnet::prelude::*;

sequential! {
    struct Net {
        Input(shape = (28, 28)),
        Dense(64, activation = relu),
        Dense(10, activation = softmax),
    }
}

fn main() {}
