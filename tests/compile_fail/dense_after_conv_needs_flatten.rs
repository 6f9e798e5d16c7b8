use seqnet::prelude::*;

sequential! {
    struct Net {
        Conv2D(32, (3, 3), activation = relu, input_shape = (28, 28, 1)),
        MaxPooling2D((2, 2)),
        Dense(10, activation = softmax),
    }
}

fn main() {}
