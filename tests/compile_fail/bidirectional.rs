use seqnet::prelude::*;

sequential! {
    struct TwoOutputs {
        Input(shape = (10, 3)),
        Bidirectional(LSTM(4), merge_mode = None),
        Dense(1),
    }
}

sequential! {
    struct WrapsDense {
        Input(shape = (10, 3)),
        Bidirectional(Dense(4)),
        Dense(1),
    }
}

sequential! {
    struct WrappedSettings {
        Input(shape = (10, 3)),
        Bidirectional(LSTM(4, return_state = true, unroled = true), merge_mode = "max"),
        Dense(1),
    }
}

sequential! {
    struct NothingWrapped {
        Input(shape = (10, 3)),
        Bidirectional,
        Dense(1),
    }
}

sequential! {
    struct WrappedOnFlatRows {
        Input(shape = (10,)),
        Bidirectional(GRU(4)),
        Dense(1),
    }
}

fn main() {}
