//! The machine's single-core FMA peak, measured: the denominator benchmarks report GEMM speed
//! against. A loop of independent FMA chains reaches the peak only with at least latency × ports
//! chains in flight (Skylake-SP and Sapphire Rapids: 4 cycles × 2 ports = 8; Zen 3: 4 × 2 = 8;
//! Ice Lake client with one 512-bit port: 4) and no more than the register file holds beside
//! the two constants, or it measures spills. No single count is right for every CPU: a fixed
//! 16-chain AVX-512 probe read 118 GFLOP/s on a 16-core Xeon where a 12-chain loop read 157. So
//! the probe runs several counts per instruction set and keeps the best: 8, 12, 16 and 24 zmm
//! for AVX-512 (of 32), 8, 10, 12 and 14 ymm for AVX2 (of 16), 4 and 6 `f32x8` for the portable
//! path (of 16 xmm, two per vector on SSE2).

use super::isa::Isa;
use std::time::Instant;

/// Measured GFLOP/s of back-to-back FMAs on one core for `isa`: the best chain count's best of
/// `repeats` runs of about `iterations` × (chains × lanes × 2) flops each.
pub fn fma_peak_gflops(isa: Isa, iterations: usize, repeats: usize) -> f64 {
    fma_peak_by_chains(isa, iterations, repeats)
        .into_iter()
        .map(|(_, gflops)| gflops)
        .fold(0.0, f64::max)
}

/// The same measurement per chain count: `(chains, GFLOP/s)` for each count tried on `isa`.
pub fn fma_peak_by_chains(isa: Isa, iterations: usize, repeats: usize) -> Vec<(usize, f64)> {
    let counts: &[usize] = match isa {
        Isa::Avx512 => &[8, 12, 16, 24],
        Isa::Avx2 => &[8, 10, 12, 14],
        Isa::Portable => &[4, 6],
    };
    counts
        .iter()
        .map(|&chains| {
            let mut best = 0.0f64;
            for _ in 0..repeats.max(1) {
                let start = Instant::now();
                let (sink, flops) = run(isa, chains, iterations);
                let seconds = start.elapsed().as_secs_f64();
                std::hint::black_box(sink);
                best = best.max(flops as f64 / seconds / 1e9);
            }
            (chains, best)
        })
        .collect()
}

/// One timed loop: `chains` accumulators, `iterations` FMAs each; returns a value to keep
/// and the flops done.
fn run(isa: Isa, chains: usize, iterations: usize) -> (f32, usize) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 if is_x86_feature_detected!("avx512f") => {
            // SAFETY: AVX-512F was just detected.
            let sink = unsafe {
                match chains {
                    8 => chains_avx512::<8>(iterations),
                    12 => chains_avx512::<12>(iterations),
                    16 => chains_avx512::<16>(iterations),
                    _ => chains_avx512::<24>(iterations),
                }
            };
            (sink, iterations * chains.clamp(8, 24) * 16 * 2)
        }
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") => {
            // SAFETY: AVX2 and FMA were just detected.
            let sink = unsafe {
                match chains {
                    8 => chains_avx2::<8>(iterations),
                    10 => chains_avx2::<10>(iterations),
                    12 => chains_avx2::<12>(iterations),
                    _ => chains_avx2::<14>(iterations),
                }
            };
            (sink, iterations * chains.clamp(8, 14) * 8 * 2)
        }
        _ => {
            let sink = match chains {
                4 => chains_portable::<4>(iterations),
                _ => chains_portable::<6>(iterations),
            };
            (sink, iterations * chains.clamp(4, 6) * 8 * 2)
        }
    }
}

/// `N` chains a ← a·x + y: the values converge to y / (1 − x) = 0.1, never denormal.
fn chains_portable<const N: usize>(iterations: usize) -> f32 {
    let mut acc = [wide::f32x8::splat(1.0); N];
    let (x, y) = (wide::f32x8::splat(0.999_999), wide::f32x8::splat(1e-7));
    for _ in 0..iterations {
        for a in &mut acc {
            *a = a.mul_add(x, y);
        }
    }
    acc.iter().map(|a| a.reduce_add()).sum()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn chains_avx512<const N: usize>(iterations: usize) -> f32 {
    use std::arch::x86_64::*;
    let mut acc = [_mm512_set1_ps(1.0); N];
    let (x, y) = (_mm512_set1_ps(0.999_999), _mm512_set1_ps(1e-7));
    for _ in 0..iterations {
        // N is a constant: LLVM unrolls this into N independent register FMAs (checked in the
        // assembly for 16: `vfmadd213ps zmm, zmm, zmm` ×16, no memory operands).
        for a in &mut acc {
            *a = _mm512_fmadd_ps(*a, x, y);
        }
    }
    let mut total = _mm512_setzero_ps();
    for a in acc {
        total = _mm512_add_ps(total, a);
    }
    _mm512_reduce_add_ps(total)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn chains_avx2<const N: usize>(iterations: usize) -> f32 {
    use std::arch::x86_64::*;
    let mut acc = [_mm256_set1_ps(1.0); N];
    let (x, y) = (_mm256_set1_ps(0.999_999), _mm256_set1_ps(1e-7));
    for _ in 0..iterations {
        for a in &mut acc {
            *a = _mm256_fmadd_ps(*a, x, y);
        }
    }
    let mut lanes = [0.0f32; 8];
    let mut total = _mm256_setzero_ps();
    for a in acc {
        total = _mm256_add_ps(total, a);
    }
    // SAFETY: `lanes` has room for the 8 values stored.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), total) };
    lanes.iter().sum()
}
