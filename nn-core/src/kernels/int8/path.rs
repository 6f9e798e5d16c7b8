//! Which int8 kernel runs, chosen once at run time like [`Isa`](super::super::isa::Isa).

use crate::kernels::isa::from_env;
use std::sync::OnceLock;

/// An int8 GEMM path, lowest first. AMX int8 tiles would sit above `Avx512Vnni`: they need
/// `arch_prctl(ARCH_REQ_XCOMP_PERM)` and `asm!`, and this module has none yet (a new variant,
/// its detection here and its tile in `x86.rs` are the whole seam).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Int8Path {
    /// Plain Rust, any target.
    Portable,
    /// AVX2 without VNNI: int8 sign-extended to int16, `vpmaddwd` (exact, never saturates).
    Avx2,
    /// AVX-VNNI: `vpdpbusd` on 256-bit registers (VEX encoding).
    AvxVnni,
    /// AVX512-VNNI: `vpdpbusd` on 512-bit registers.
    Avx512Vnni,
}

impl Int8Path {
    /// Every path this CPU can run, lowest first (`Portable` always first).
    pub fn available() -> Vec<Int8Path> {
        #[cfg(target_arch = "x86_64")]
        {
            let mut v = vec![Int8Path::Portable];
            if is_x86_feature_detected!("avx2") {
                v.push(Int8Path::Avx2);
                if is_x86_feature_detected!("avxvnni") {
                    v.push(Int8Path::AvxVnni);
                }
            }
            if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512vnni") {
                v.push(Int8Path::Avx512Vnni);
            }
            v
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            vec![Int8Path::Portable]
        }
    }

    /// `self` if this CPU can run it, else `Portable`: every public entry point passes its
    /// path through this, so a path named for another CPU never runs its instructions here
    /// (the variants are public values anyone can write). The list is made once.
    pub fn runnable(self) -> Int8Path {
        static AVAILABLE: OnceLock<Vec<Int8Path>> = OnceLock::new();
        if AVAILABLE.get_or_init(Int8Path::available).contains(&self) {
            self
        } else {
            Int8Path::Portable
        }
    }

    /// The best path, or the one `SEQNET_ISA` asks for when the CPU has it. Decided once.
    pub fn current() -> Int8Path {
        static CHOSEN: OnceLock<Int8Path> = OnceLock::new();
        *CHOSEN
            .get_or_init(|| from_env(&Int8Path::available(), Int8Path::parse, Int8Path::Portable))
    }

    /// `avx512vnni`, `avxvnni`, `avx2` or `portable`; `avx512` (or `avx512f`) means the best
    /// int8 path the CPU has, the same answer as no name at all.
    pub fn parse(name: &str) -> Option<Int8Path> {
        match name.trim().to_ascii_lowercase().as_str() {
            "avx512vnni" | "avx512_vnni" => Some(Int8Path::Avx512Vnni),
            "avxvnni" | "avx_vnni" => Some(Int8Path::AvxVnni),
            "avx2" => Some(Int8Path::Avx2),
            "portable" | "wide" => Some(Int8Path::Portable),
            _ => None,
        }
    }

    /// The name `parse` reads.
    #[cfg_attr(not(feature = "bench-internals"), allow(dead_code))] // benchmarks' tables
    pub fn name(self) -> &'static str {
        match self {
            Int8Path::Portable => "portable",
            Int8Path::Avx2 => "avx2",
            Int8Path::AvxVnni => "avxvnni",
            Int8Path::Avx512Vnni => "avx512vnni",
        }
    }
}
