//! The machine's single-core read bandwidth from a cache level, measured: the bound of a
//! product that reads its whole matrix once per use, as a recurrent layer's step does at batch
//! 1 (LSTM(128)'s recurrent kernel, 128 × 512 floats = 256 KB, is read once per step and
//! multiplied by one vector: two flops per float loaded, far below what the FMA units need to
//! be the limit). Beside [`super::peak`]'s FMA peak, benchmarks report such rows against
//! whichever bound binds.
//!
//! The probe sums a buffer of the asked size with the widest loads the instruction set has, in
//! several independent accumulators, over and over: after the first pass the buffer sits in
//! the cache level its size fits (256 KB: L2 on current x86 cores), and the loop's speed is that
//! level's read bandwidth to the core.

use super::isa::Isa;
use std::time::Instant;

/// Measured GB/s of reading `bytes` (rounded up to 64 bytes) again and again on one core with
/// `isa`'s loads: the best of `repeats` runs of `passes` passes each.
pub fn read_gbs(isa: Isa, bytes: usize, passes: usize, repeats: usize) -> f64 {
    let floats = bytes.div_ceil(64) * 16;
    let buffer: Vec<f32> = (0..floats).map(|i| (i % 7) as f32 * 1e-3).collect();
    let mut best = 0.0f64;
    // One untimed pass brings the buffer into the cache.
    std::hint::black_box(sum(isa, &buffer, 1));
    for _ in 0..repeats.max(1) {
        let start = Instant::now();
        std::hint::black_box(sum(isa, &buffer, passes.max(1)));
        let seconds = start.elapsed().as_secs_f64();
        best = best.max((floats * 4 * passes.max(1)) as f64 / seconds / 1e9);
    }
    best
}

/// The sum of `passes` passes over `values` (a length that is a multiple of 16).
fn sum(isa: Isa, values: &[f32], passes: usize) -> f32 {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 if is_x86_feature_detected!("avx512f") => {
            // SAFETY: AVX-512F was just detected.
            unsafe { sum_avx512(values, passes) }
        }
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 if is_x86_feature_detected!("avx2") => {
            // SAFETY: AVX2 was just detected.
            unsafe { sum_avx2(values, passes) }
        }
        _ => sum_portable(values, passes),
    }
}

fn sum_portable(values: &[f32], passes: usize) -> f32 {
    let mut acc = [wide::f32x8::ZERO; 4];
    for _ in 0..passes {
        let (chunks, rest) = values.as_chunks::<32>();
        for chunk in chunks {
            let (lanes, _) = chunk.as_chunks::<8>();
            for (a, lane) in acc.iter_mut().zip(lanes) {
                *a += wide::f32x8::new(*lane);
            }
        }
        for lane in rest.as_chunks::<8>().0 {
            acc[0] += wide::f32x8::new(*lane);
        }
    }
    acc.iter().map(|a| a.reduce_add()).sum()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn sum_avx2(values: &[f32], passes: usize) -> f32 {
    use std::arch::x86_64::*;
    let mut acc = [_mm256_setzero_ps(); 4];
    for _ in 0..passes {
        for chunk in values.chunks_exact(32) {
            for (k, a) in acc.iter_mut().enumerate() {
                // SAFETY: `chunk` holds 32 floats, so 8 are readable from 8·k for k < 4.
                *a = _mm256_add_ps(*a, unsafe { _mm256_loadu_ps(chunk.as_ptr().add(8 * k)) });
            }
        }
        for chunk in values.chunks_exact(32).remainder().chunks_exact(8) {
            // SAFETY: `chunk` holds 8 floats.
            acc[0] = _mm256_add_ps(acc[0], unsafe { _mm256_loadu_ps(chunk.as_ptr()) });
        }
    }
    let mut total = _mm256_setzero_ps();
    for a in acc {
        total = _mm256_add_ps(total, a);
    }
    let mut lanes = [0.0f32; 8];
    // SAFETY: `lanes` has room for the 8 values stored.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), total) };
    lanes.iter().sum()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn sum_avx512(values: &[f32], passes: usize) -> f32 {
    use std::arch::x86_64::*;
    let mut acc = [_mm512_setzero_ps(); 4];
    for _ in 0..passes {
        for chunk in values.chunks_exact(64) {
            for (k, a) in acc.iter_mut().enumerate() {
                // SAFETY: `chunk` holds 64 floats, so 16 are readable from 16·k for k < 4.
                *a = _mm512_add_ps(*a, unsafe { _mm512_loadu_ps(chunk.as_ptr().add(16 * k)) });
            }
        }
        // A length that is a multiple of 16 but not 64: the rest with one accumulator.
        for chunk in values.chunks_exact(64).remainder().chunks_exact(16) {
            // SAFETY: `chunk` holds 16 floats.
            acc[0] = _mm512_add_ps(acc[0], unsafe { _mm512_loadu_ps(chunk.as_ptr()) });
        }
    }
    let mut total = _mm512_setzero_ps();
    for a in acc {
        total = _mm512_add_ps(total, a);
    }
    _mm512_reduce_add_ps(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The probe's sums are the buffer's (the loops read every value once per pass), on every
    /// path this machine has, for lengths that are and are not a multiple of each chunk.
    #[test]
    fn the_probe_reads_every_value() {
        for floats in [16usize, 48, 64, 112, 4096] {
            let values: Vec<f32> = (0..floats).map(|i| (i % 5) as f32).collect();
            let want: f32 = values.iter().sum::<f32>() * 3.0;
            for isa in [Isa::Portable, Isa::Avx2, Isa::Avx512] {
                let got = sum(isa, &values, 3);
                assert!(
                    (got - want).abs() <= 1e-3 * want,
                    "{isa:?} {floats}: {got} vs {want}"
                );
            }
        }
        assert!(read_gbs(Isa::current(), 4096, 10, 2) > 0.0);
    }
}
