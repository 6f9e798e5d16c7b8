use seqnet::prelude::*;

sequential! {
    struct Net {
        Dense(64, activation = relu),
        Input(shape = (64,)),
        Dense(1, activation = sigmoid),
    }
}

fn main() {}
