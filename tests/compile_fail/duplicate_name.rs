use seqnet::prelude::*;

sequential! {
    struct Net {
        Input(shape = (10,)),
        Dense(64, activation = relu),
        Dense(32, activation = relu, name = "dense"),
        Dense(1, activation = sigmoid, name = "out"),
        Dense(1, activation = sigmoid, name = "out"),
    }
}

fn main() {}
