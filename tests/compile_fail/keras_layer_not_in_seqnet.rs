use seqnet::prelude::*;

sequential! {
    struct Net {
        Input(shape = (20, 8)),
        MultiHeadAttention(2, 16),
        Dense(10, activation = softmax),
    }
}

fn main() {}
