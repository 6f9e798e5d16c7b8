use seqnet::prelude::*;

sequential! {
    struct Net {
        Dens(64, activation = relu, input_shape = (10,)),
        Dense(1, activation = sigmoid),
    }
}

fn main() {}
