//! The machine's single-core FMA peak, measured: the denominator benchmarks report GEMM speed
//! against. Independent FMA chains (at least latency × ports of them) keep both FMA ports busy,
//! and no more than the register file holds, or the probe measures spills instead: 16 of 32 zmm
//! for AVX-512, 12 of 16 ymm for AVX2, 6 `f32x8` (12 of 16 xmm) for the portable path.

use super::isa::Isa;
use std::time::Instant;

/// Measured GFLOP/s of back-to-back FMAs on one core for `isa`, best of `repeats` runs of about
/// `iterations` × (chains × lanes × 2) flops each.
pub fn fma_peak_gflops(isa: Isa, iterations: usize, repeats: usize) -> f64 {
    let mut best = 0.0f64;
    for _ in 0..repeats.max(1) {
        let start = Instant::now();
        let (sink, flops) = run(isa, iterations);
        let seconds = start.elapsed().as_secs_f64();
        std::hint::black_box(sink);
        best = best.max(flops as f64 / seconds / 1e9);
    }
    best
}

fn run(isa: Isa, iterations: usize) -> (f32, usize) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 if is_x86_feature_detected!("avx512f") => {
            // SAFETY: AVX-512F was just detected.
            (
                unsafe { chains_avx512(iterations) },
                iterations * 16 * 16 * 2,
            )
        }
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") => {
            // SAFETY: AVX2 and FMA were just detected.
            (unsafe { chains_avx2(iterations) }, iterations * 12 * 8 * 2)
        }
        _ => {
            let mut acc = [wide::f32x8::splat(1.0); 6];
            let (x, y) = (wide::f32x8::splat(0.999_999), wide::f32x8::splat(1e-7));
            for _ in 0..iterations {
                for a in &mut acc {
                    *a = a.mul_add(x, y);
                }
            }
            let sum: f32 = acc.iter().map(|a| a.reduce_add()).sum();
            (sum, iterations * 6 * 8 * 2)
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn chains_avx512(iterations: usize) -> f32 {
    use std::arch::x86_64::*;
    let mut acc = [_mm512_set1_ps(1.0); 16];
    let (x, y) = (_mm512_set1_ps(0.999_999), _mm512_set1_ps(1e-7));
    for _ in 0..iterations {
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
unsafe fn chains_avx2(iterations: usize) -> f32 {
    use std::arch::x86_64::*;
    let mut acc = [_mm256_set1_ps(1.0); 12];
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
