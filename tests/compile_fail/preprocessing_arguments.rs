use seqnet::prelude::*;

sequential! {
    struct Net {
        Input(shape = (3,)),
        Rescaling((1.0, 2.0)),
        Normalization(mean = 0.5),
        Normalization(mean = 0.0, variance = -1.0),
        Normalization(axis = 0),
        Dense(1),
    }
}

fn main() {}
