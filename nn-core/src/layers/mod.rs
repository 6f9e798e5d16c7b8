//! The layer types the `sequential!` macro instantiates. `Flatten` has no run-time type: on
//! seqnet's row-major rows it changes the shape, not the data, so the macro only records it.

mod dense;

pub use dense::Dense;
