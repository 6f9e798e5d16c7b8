//! Prints the `sequential!` declaration that builds the model of a Keras 3 `.keras` file, so a
//! Python team's model becomes a compile-time-checked Rust type in one step. A setting seqnet
//! does not build is an error naming the layer and the setting.
//!
//! Run: `cargo run --features keras --example keras2seqnet -- model.keras [StructName]`
//! (the `keras` feature needs the system HDF5 library: `apt-get install libhdf5-dev`).

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: keras2seqnet MODEL.keras [StructName]");
        std::process::exit(2);
    };
    let name = args.next().unwrap_or_else(|| "Model".to_string());
    match seqnet::keras::sequential_source(&path, &name) {
        Ok(source) => print!("{source}"),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
