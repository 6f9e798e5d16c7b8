//! Which instruction set the kernels use, chosen once at run time.
//!
//! `wide` picks its instructions when it is compiled, so a default build (no RUSTFLAGS) gets SSE2
//! from it. The hot microkernels are therefore `std::arch` code inside `#[target_feature]`
//! functions, reached only after `is_x86_feature_detected!` said the CPU has the feature. On
//! aarch64 the portable path is NEON already (NEON is baseline there and `wide` uses it).
//!
//! `SEQNET_ISA=avx512|avx2|portable` forces a path, for tests and benchmarks; asking for one the
//! CPU lacks falls back to the best it has, so the variable can never make a kernel fault.
//!
//! The int8 kernels choose among their own paths ([`Int8Path`](super::int8::Int8Path)) from the
//! same variable, read the same way: `avx512vnni` and `avxvnni` force those int8 paths (and mean
//! `avx512` and `avx2` for the f32 kernels), `avx2` is AVX2 without VNNI for int8 too,
//! `portable` is portable for both, and `avx512` keeps the f32 AVX-512 kernels and picks the best
//! int8 path the CPU has.

use std::sync::OnceLock;

/// The path `SEQNET_ISA` names (read by `parse`) when `available` has it, else the best there
/// (the last; `lowest` if none): how [`Isa`] and the int8 kernels' `Int8Path` both choose.
pub(crate) fn from_env<T: Copy + PartialEq>(
    available: &[T],
    parse: fn(&str) -> Option<T>,
    lowest: T,
) -> T {
    let best = available.last().copied().unwrap_or(lowest);
    match std::env::var("SEQNET_ISA").ok().as_deref().and_then(parse) {
        Some(asked) if available.contains(&asked) => asked,
        _ => best,
    }
}

/// A kernel family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Isa {
    /// `wide` vectors (SSE2 on a default x86-64 build, NEON on aarch64).
    Portable,
    /// AVX2 + FMA, 256-bit.
    Avx2,
    /// AVX-512F, 512-bit.
    Avx512,
}

impl Isa {
    /// Every path this CPU can run, lowest first.
    pub fn available() -> Vec<Isa> {
        #[cfg(target_arch = "x86_64")]
        {
            let mut v = vec![Isa::Portable];
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                v.push(Isa::Avx2);
            }
            if is_x86_feature_detected!("avx512f") {
                v.push(Isa::Avx512);
            }
            v
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            vec![Isa::Portable]
        }
    }

    /// The best path, or the one `SEQNET_ISA` asks for when the CPU has it. Decided once.
    pub fn current() -> Isa {
        static CHOSEN: OnceLock<Isa> = OnceLock::new();
        *CHOSEN.get_or_init(|| from_env(&Isa::available(), Isa::parse, Isa::Portable))
    }

    /// `avx512`, `avx2` or `portable` (the int8 names `avx512vnni` and `avxvnni` read as
    /// `avx512` and `avx2`).
    pub fn parse(name: &str) -> Option<Isa> {
        match name.trim().to_ascii_lowercase().as_str() {
            "avx512" | "avx512f" | "avx512vnni" | "avx512_vnni" => Some(Isa::Avx512),
            "avx2" | "avxvnni" | "avx_vnni" => Some(Isa::Avx2),
            "portable" | "wide" => Some(Isa::Portable),
            _ => None,
        }
    }

    /// The name `parse` reads.
    #[cfg(feature = "bench-internals")]
    pub fn name(self) -> &'static str {
        match self {
            Isa::Portable => "portable",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }
}
