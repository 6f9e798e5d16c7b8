use seqnet::prelude::*;

sequential! {
    struct KernelTooLarge {
        Input(shape = (4, 4, 1)),
        Conv2D(8, (5, 5), activation = relu),
        Flatten,
        Dense(1, activation = sigmoid),
    }
}

sequential! {
    struct PoolLeavesNothing {
        Input(shape = (6, 6, 1)),
        Conv2D(8, (3, 3), strides = 2, activation = relu),
        MaxPooling2D(pool_size = (3, 3)),
        Flatten,
        Dense(1, activation = sigmoid),
    }
}

fn main() {}
