use seqnet::prelude::*;

sequential! {
    struct FlatInput {
        Input(shape = (784,)),
        Conv2D(32, (3, 3), activation = relu),
        Flatten,
        Dense(10, activation = softmax),
    }
}

sequential! {
    struct NoChannelAxis {
        Input(shape = (28, 28)),
        MaxPooling2D((2, 2)),
        Flatten,
        Dense(10, activation = softmax),
    }
}

sequential! {
    struct NoInputShape {
        GlobalAveragePooling2D,
        Dense(10, activation = softmax),
    }
}

fn main() {}
