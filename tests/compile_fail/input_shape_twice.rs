use seqnet::prelude::*;

sequential! {
    struct Net {
        Input(shape = (10,)),
        Dense(64, activation = relu, input_shape = (10,)),
        Dense(1, activation = sigmoid),
    }
}

fn main() {}
