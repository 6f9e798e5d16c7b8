use seqnet::prelude::*;

sequential! {
    struct Net {
        Input(shape = (3,)),
        Rescaling((1.0, 2.0)),
        Normalization(mean = 0.5),
        Normalization(mean = 0.0, variance = -1.0),
        Normalization(axis = 0),
        Rescaling(offset = 0.5),
        Normalization(mean = "zero", variance = 1.0),
        Rescaling(1e39),
        Dense(1),
    }
}

sequential! {
    struct Generic {
        Rescaling((0.5, 2.0)),
        Dense(1),
    }
}

sequential! {
    struct KerasActivationLayer {
        Input(shape = (3,)),
        Dense(4),
        LeakyReLU,
        Dense(1),
    }
}

fn main() {}
