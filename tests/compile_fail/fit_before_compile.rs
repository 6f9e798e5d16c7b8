// Keras' habit: `model.compile(...)` changes the model in place, then `model.fit(...)`. In seqnet
// `compile` returns the trainable model; the error must say so, not "no method named `fit`".
use seqnet::prelude::*;

sequential! {
    struct Net {
        Input(shape = (10,)),
        Dense(1, activation = sigmoid),
    }
}

fn main() {
    let x = vec![[0.0f32; 10]; 4];
    let y = vec![0.0f32; 4];
    let mut model = Net::new(42);
    model.compile(Adam::new(0.001), Loss::binary_crossentropy(), [Metric::Accuracy]);
    let _ = model.fit(&x, &y, Fit::default());
}
