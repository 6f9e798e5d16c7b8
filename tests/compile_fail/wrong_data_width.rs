use seqnet::prelude::*;

sequential! {
    struct Net {
        Input(shape = (10,)),
        Dense(1, activation = sigmoid),
    }
}

fn main() {
    let model = Net::new(42);
    let rows = vec![[0.0f32; 11]; 4];
    let _ = model.predict(&rows);
}
