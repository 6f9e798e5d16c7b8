// Keras' habit: `fit(x, y, epochs=10, batch_size=32)`. Rust has no keyword arguments, and what
// rustc reports here (E0425 for each name, E0061 for the count) is rustc's own: a library cannot
// attach a message to either. This case pins that nothing worse appears (no trait-bound noise
// from seqnet's signature); `fit`'s docs and the guide show `Fit { epochs: 10, ..Fit::default() }`.
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
    let mut model = Net::new(42).compile(Adam::new(0.001), Loss::binary_crossentropy(), []);
    let _ = model.fit(&x, &y, epochs = 10, batch_size = 32);
}
