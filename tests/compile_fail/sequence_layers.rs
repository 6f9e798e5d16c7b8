use seqnet::prelude::*;

sequential! {
    struct FlatInput {
        Input(shape = (64,)),
        Conv1D(8, 3),
        GlobalMaxPooling1D,
        Dense(1),
    }
}

sequential! {
    struct StridesAndDilation {
        Input(shape = (20, 3)),
        Conv1D(8, 3, strides = 2, dilation_rate = 2),
        Flatten,
        Dense(1),
    }
}

sequential! {
    struct KernelLongerThanInput {
        Input(shape = (20, 3)),
        Conv1D(8, 11, dilation_rate = 2),
        Flatten,
        Dense(1),
    }
}

sequential! {
    struct BadPaddingAndPool {
        Input(shape = (3, 2)),
        Conv1D(8, 2, padding = "full"),
        MaxPooling1D(5),
        Flatten,
        Dense(1),
    }
}

sequential! {
    struct PoolLongerThanInput {
        Input(shape = (3, 2)),
        MaxPooling1D(5),
        Flatten,
        Dense(1),
    }
}

sequential! {
    struct NoFlatten {
        Input(shape = (20, 3)),
        Conv1D(8, 3),
        Dense(1),
    }
}

fn main() {}
