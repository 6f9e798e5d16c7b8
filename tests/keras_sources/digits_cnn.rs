sequential! {
    pub struct DigitsCnn {
        Input(shape = (8, 8, 1)),
        Conv2D(8, (3, 3), activation = relu),
        MaxPooling2D((2, 2)),
        Flatten,
        Dense(10, activation = softmax),
    }
}
