//! The AVX2 + FMA microkernel: 6 rows × 16 columns, 12 ymm accumulators (the classic Haswell
//! shape: 2 B loads and 6 broadcasts feed 12 FMAs per k step).

use super::Microkernel;

pub(crate) struct Kernel;

impl Microkernel for Kernel {
    const MR: usize = 6;
    const NR: usize = 16;

    #[inline]
    unsafe fn run(
        kc: usize,
        a: *const f32,
        b: *const f32,
        c: *mut f32,
        ldc: usize,
        accumulate: bool,
    ) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the caller's contract (Microkernel::run) is the kernel's.
        unsafe {
            kernel_6x16(kc, a, b, c, ldc, accumulate)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (kc, a, b, c, ldc, accumulate);
            unreachable!("AVX2 is only dispatched on x86-64")
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn kernel_6x16(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
) {
    use std::arch::x86_64::*;
    // SAFETY (whole body): reads stay within a[..kc·6] and b[..kc·16], writes within the 6×16
    // tile at c with row stride ldc, as Microkernel::run requires of its caller.
    unsafe {
        let mut acc = [[_mm256_setzero_ps(); 2]; 6];
        let (mut a, mut b) = (a, b);
        for _ in 0..kc {
            let b0 = _mm256_loadu_ps(b);
            let b1 = _mm256_loadu_ps(b.add(8));
            for (r, row) in acc.iter_mut().enumerate() {
                let av = _mm256_set1_ps(*a.add(r));
                row[0] = _mm256_fmadd_ps(av, b0, row[0]);
                row[1] = _mm256_fmadd_ps(av, b1, row[1]);
            }
            a = a.add(6);
            b = b.add(16);
        }
        for (r, row) in acc.iter().enumerate() {
            let out = c.add(r * ldc);
            let (mut v0, mut v1) = (row[0], row[1]);
            if accumulate {
                v0 = _mm256_add_ps(v0, _mm256_loadu_ps(out));
                v1 = _mm256_add_ps(v1, _mm256_loadu_ps(out.add(8)));
            }
            _mm256_storeu_ps(out, v0);
            _mm256_storeu_ps(out.add(8), v1);
        }
    }
}
