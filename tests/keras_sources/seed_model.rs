sequential! {
    pub struct SeedModel {
        Input(shape = (10,), name = "input_features"),
        Dense(64, activation = relu),
        Dense(32, activation = relu),
        Dense(1, activation = sigmoid),
    }
}
