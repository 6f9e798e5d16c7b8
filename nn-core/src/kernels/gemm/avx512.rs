//! The AVX-512F microkernel: 12 rows × 32 columns, 24 zmm accumulators; per k step two B loads
//! and twelve broadcasts of A feed 24 FMAs.

use super::Microkernel;

pub(crate) struct Kernel;

impl Microkernel for Kernel {
    const MR: usize = 12;
    const NR: usize = 32;

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
            kernel_12x32(kc, a, b, c, ldc, accumulate)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (kc, a, b, c, ldc, accumulate);
            unreachable!("AVX-512 is only dispatched on x86-64")
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn kernel_12x32(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
) {
    use std::arch::x86_64::*;
    // SAFETY (whole body): reads stay within a[..kc·12] and b[..kc·32], writes within the 12×32
    // tile at c with row stride ldc, as Microkernel::run requires of its caller.
    unsafe {
        let mut acc = [[_mm512_setzero_ps(); 2]; 12];
        let (mut a, mut b) = (a, b);
        for _ in 0..kc {
            let b0 = _mm512_loadu_ps(b);
            let b1 = _mm512_loadu_ps(b.add(16));
            for (r, row) in acc.iter_mut().enumerate() {
                let av = _mm512_set1_ps(*a.add(r));
                row[0] = _mm512_fmadd_ps(av, b0, row[0]);
                row[1] = _mm512_fmadd_ps(av, b1, row[1]);
            }
            a = a.add(12);
            b = b.add(32);
        }
        for (r, row) in acc.iter().enumerate() {
            let out = c.add(r * ldc);
            let (mut v0, mut v1) = (row[0], row[1]);
            if accumulate {
                v0 = _mm512_add_ps(v0, _mm512_loadu_ps(out));
                v1 = _mm512_add_ps(v1, _mm512_loadu_ps(out.add(16)));
            }
            _mm512_storeu_ps(out, v0);
            _mm512_storeu_ps(out.add(16), v1);
        }
    }
}
