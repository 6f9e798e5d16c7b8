use seqnet::prelude::*;

sequential! {
    struct Net {
        Input(shape = (10,)),
    }
}

fn main() {}
