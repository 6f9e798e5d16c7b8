use seqnet::prelude::*;

sequential! {
    struct Net {
        Dense(64, activation = relu, input_shape = (10)),
        Dense(1, activation = sigmoid),
    }
}

sequential! {
    struct Zero {
        Input(shape = (0, 3)),
        Flatten,
        Dense(1),
    }
}

fn main() {}
