use seqnet::prelude::*;

sequential! {
    struct Net {
        Input(shape = (10,)),
        Dense(0, activation = relu),
        Dense(-3, activation = relu),
        Dense(6.5),
        Dense(activation = sigmoid),
    }
}

fn main() {}
