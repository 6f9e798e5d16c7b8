// Keras' habit: `compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])`.
// Each argument's error must name the value to write (or the string to parse), not list impls.
use seqnet::prelude::*;

sequential! {
    struct Net {
        Input(shape = (10,)),
        Dense(1, activation = sigmoid),
    }
}

fn main() {
    let _model = Net::new(42).compile("adam", "binary_crossentropy", ["accuracy"]);
}
