// A quantized model is a type of its own: it is not a `Network` (so it cannot be compiled or
// passed where the float model is expected), and it has no `fit`, with a message saying why.
use seqnet::prelude::*;

sequential! {
    struct Net {
        Input(shape = (4,)),
        Dense(2, activation = softmax),
    }
}

fn float_only<N: Network>(_model: &N) {}

fn main() {
    let mut q = Net::new(0).quantize("int8").unwrap();
    float_only(&q);
    let x = [[0.0f32; 4]; 2];
    let y = [0.0f32, 1.0];
    let _ = q.fit(&x, &y[..], Fit::default());
}
