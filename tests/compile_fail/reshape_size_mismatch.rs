use seqnet::prelude::*;

sequential! {
    struct Net {
        Input(shape = (784,)),
        Reshape((28, 27, 1)),
        Conv2D(8, (3, 3), activation = relu),
        Flatten,
        Dense(10, activation = softmax),
    }
}

fn main() {}
