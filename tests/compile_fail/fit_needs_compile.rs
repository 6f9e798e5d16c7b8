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
    // Not compiled: there is no `fit` to call.
    let mut model = Net::new(42);
    let _ = model.fit(&x, &y, Fit::default());

    // Compiled, but rows of the wrong width.
    let mut model = Net::new(42).compile(Adam::new(0.001), Loss::binary_crossentropy(), []);
    let wide = vec![[0.0f32; 11]; 4];
    let _ = model.fit(&wide, &y, Fit::default());
}
