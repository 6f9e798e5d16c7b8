use seqnet::prelude::*;

sequential! {
    struct Net {
        Dense(8, activation = relu(0.5), input_shape = (4,)),
        Dense(4, activation = leaky_relu(slope = 0.1)),
        Dense(1, activation = leaky_relu(-1.0)),
    }
}

fn main() {}
