use seqnet::prelude::*;

sequential! {
    struct Net {
        Input(shape = (28, 28, 1)),
        Conv2D(0, (3, -1), strides = (0, 1), padding = "full"),
        Conv2D(8, 3, dilation_rate = (2, 2), kernel_initializer = "he_normal"),
        MaxPooling2D(pool_size = 2, padding = "sane"),
        Dropout(1.0),
        Dropout(rate = -0.1),
        BatchNormalization(momentum = 1.5, epsilon = 0),
        Flatten,
        Dense(10, activation = softmax),
    }
}

fn main() {}
