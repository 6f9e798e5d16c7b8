//! Compute kernels: the packed GEMM and its per-ISA microkernels, the fused Dense passes built on
//! it, activations, and the naive references they are tested against.

pub mod activations;
#[cfg(feature = "bench-internals")]
pub mod bandwidth;
pub mod conv;
pub mod conv1d;
pub mod dense;
pub mod gemm;
pub mod int8;
pub mod isa;
#[macro_use]
pub mod multiversion;
#[cfg(feature = "bench-internals")]
pub mod peak;
pub mod pool;
#[cfg(feature = "bench-internals")]
pub mod reference;
#[cfg(target_arch = "x86_64")]
mod simd;
pub mod vmath;
