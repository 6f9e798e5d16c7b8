use seqnet::prelude::*;

sequential! {
    struct Net {
        Dense(64, activation = rellu, input_shape = (10,)),
        Dense(1, activation = "sigmod"),
    }
}

fn main() {}
