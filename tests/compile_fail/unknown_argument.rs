use seqnet::prelude::*;

sequential! {
    struct Net {
        Dense(64, activaton = relu, input_shape = (10,)),
        Dense(1, activation = sigmoid, kernel_initializer = "he_normal"),
    }
}

fn main() {}
