use seqnet::prelude::*;

sequential! {
    struct Net {
        Input(shape = (20, 8)),
        LSTM(32),
        Dense(10, activation = softmax),
    }
}

fn main() {}
