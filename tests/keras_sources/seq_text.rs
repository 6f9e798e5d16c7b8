sequential! {
    pub struct SeqText {
        Input(shape = (12,), dtype = "int32"),
        Embedding(30, 8, mask_zero = true),
        Bidirectional(LSTM(8, activation = tanh, recurrent_activation = sigmoid, return_sequences = true)),
        GRU(6, activation = tanh, recurrent_activation = sigmoid),
        Dense(3, activation = softmax),
    }
}
