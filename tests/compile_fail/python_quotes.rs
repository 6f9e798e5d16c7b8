// Python's single quotes: rustc rejects each token (and suggests double quotes); the macro must
// not add a second error of its own at the same token.
use seqnet::prelude::*;

sequential! {
    struct Net {
        Input(shape = (8, 8, 1), name = 'pixels'),
        Conv2D(4, 3, padding = 'same', activation = 'relu'),
        Flatten,
        Dense(1, activation = "sigmoid"),
    }
}

fn main() {}
