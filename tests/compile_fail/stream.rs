use seqnet::prelude::*;

sequential! {
    struct BiText {
        Input(shape = (10,), dtype = "int32"),
        Embedding(20, 4),
        Bidirectional(LSTM(4)),
        Dense(1),
    }
}

sequential! {
    struct Backwards {
        Input(shape = (10, 2)),
        GRU(4, go_backwards = true),
        Dense(1),
    }
}

sequential! {
    struct SamePadding {
        Input(shape = (10, 2)),
        Conv1D(4, 3, padding = "same"),
        LSTM(4),
        Dense(1),
    }
}

sequential! {
    struct Pooled {
        Input(shape = (10, 2)),
        LSTM(4, return_sequences = true),
        GlobalAveragePooling1D,
        Dense(1),
    }
}

sequential! {
    struct Flat {
        Input(shape = (10,)),
        Dense(1),
    }
}

fn main() {
    let _ = BiText::new(0).stream();
    let _ = Backwards::new(0).stream();
    let _ = SamePadding::new(0).streams(4);
    let _ = Pooled::new(0).stream();
    let _ = Flat::new(0).stream();
}
