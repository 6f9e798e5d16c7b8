//! Compute kernels: the fused Dense forward, activations, and the naive references they are
//! tested against.

pub mod activations;
pub mod dense;
pub mod reference;
