use seqnet::prelude::*;

sequential! {
    struct EmbeddingNotFirst {
        Input(shape = (10,)),
        Dense(8),
        Embedding(100, 4),
        GlobalAveragePooling1D,
        Dense(1),
    }
}

sequential! {
    struct EmbeddingOnSequence {
        Input(shape = (10, 2), dtype = "int32"),
        Embedding(100, 4),
        Flatten,
        Dense(1),
    }
}

sequential! {
    struct EmbeddingWithoutLength {
        Embedding(100, 4),
        GlobalAveragePooling1D,
        Dense(1),
    }
}

sequential! {
    struct IntegerRowsWithoutEmbedding {
        Input(shape = (10,), dtype = "int32"),
        Dense(1),
    }
}

sequential! {
    struct DoubleRows {
        Input(shape = (10,), dtype = "float64"),
        Dense(1),
    }
}

sequential! {
    struct BatchNormAfterMask {
        Input(shape = (10, 3)),
        Masking,
        BatchNormalization,
        GlobalAveragePooling1D,
        Dense(1),
    }
}

sequential! {
    struct MaskingFlat {
        Input(shape = (10,)),
        Masking(mask_value = -1.0),
        Dense(1),
    }
}

sequential! {
    struct PerStepOutput {
        Input(shape = (12,), dtype = "int32"),
        Embedding(100, 4),
        Dense(8, activation = relu),
        Dense(1, activation = sigmoid),
    }
}

sequential! {
    struct FlattenOverAnyLength {
        Input(shape = (None, 4)),
        Dense(8),
        Flatten,
        Dense(1),
    }
}

sequential! {
    struct PoolingOverAnyLength {
        Input(shape = (None, 4)),
        MaxPooling1D(2),
        GlobalAveragePooling1D,
        Dense(1),
    }
}

sequential! {
    struct ValidConvOverAnyLength {
        Input(shape = (None, 4)),
        Conv1D(8, 3),
        GlobalAveragePooling1D,
        Dense(1),
    }
}

sequential! {
    struct NoneFeatures {
        Input(shape = (10, None)),
        GlobalAveragePooling1D,
        Dense(1),
    }
}

sequential! {
    struct OutputOverAnyLength {
        Input(shape = (None,), dtype = "int32"),
        Embedding(10, 1),
        Dense(1),
    }
}

sequential! {
    struct RecurrentSettings {
        Input(shape = (10, 3)),
        LSTM(4, return_state = true, return_sequences = true),
        GRU(4, stateful = true, return_sequences = true),
        SimpleRNN(4, dropout = 1.5, recurrent_dropout = -0.1, seed = -1, activation = softmax),
        Dense(1),
    }
}

sequential! {
    struct RecurrentOnFlatRows {
        Input(shape = (10,)),
        LSTM(4),
        Dense(1),
    }
}

fn main() {}
