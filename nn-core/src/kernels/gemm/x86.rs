//! The x86 microkernels, one template instantiated per instruction set: MR rows × NRV vectors of
//! accumulators; per k step NRV loads of the packed B panel and MR broadcasts of the packed A
//! panel feed MR·NRV FMAs. The shapes fill the register file (AVX-512: 12 × 2 zmm = 24 of 32;
//! AVX2: 6 × 2 ymm = 12 of 16) leaving room for the B vectors and a broadcast.

use super::{Microkernel, TileEpilogue};

macro_rules! x86_microkernel {
    (
        $(#[$doc:meta])*
        $module:ident, feature = $feature:literal, mr = $mr:literal, partial = [$($rows:literal),*], nrv = $nrv:literal,
        isa = $isa:ident, lanes = $lanes:literal, vector = $vector:ident, zero = $zero:ident, load = $load:ident,
        broadcast = $broadcast:ident, fma = $fma:ident, add = $add:ident, max = $max:ident, store = $store:ident
    ) => {
        $(#[$doc])*
        pub(crate) mod $module {
            use super::{Microkernel, TileEpilogue};
            use crate::kernels::isa::Isa;

            pub(crate) struct Kernel;

            impl Microkernel for Kernel {
                const MR: usize = $mr;
                const NR: usize = $lanes * $nrv;
                const ISA: Isa = Isa::$isa;
                const A_ROWS: bool = true;

                #[inline]
                unsafe fn run(
                    kc: usize,
                    a: *const f32,
                    b: *const f32,
                    c: *mut f32,
                    ldc: usize,
                    accumulate: bool,
                    finish: Option<TileEpilogue>,
                ) {
                    // SAFETY: the caller's contract (Microkernel::run) is the kernel's.
                    unsafe {
                        kernel::<false, $mr>(kc, a, 0, b, c, ldc, accumulate, finish)
                    }
                }

                #[inline]
                unsafe fn run_partial(
                    rows: usize,
                    kc: usize,
                    a: *const f32,
                    b: *const f32,
                    c: *mut f32,
                    ldc: usize,
                ) {
                    // SAFETY: the caller's contract (Microkernel::run_partial, `run`'s); a tile
                    // of its first `rows` < MR rows reads and writes a subset of the whole
                    // tile's places.
                    unsafe {
                        match rows {
                            $($rows => kernel::<false, $rows>(kc, a, 0, b, c, ldc, false, None),)*
                            _ => kernel::<false, $mr>(kc, a, 0, b, c, ldc, false, None),
                        }
                    }
                }

                #[inline]
                unsafe fn run_rows(
                    kc: usize,
                    a: *const f32,
                    lda: usize,
                    b: *const f32,
                    c: *mut f32,
                    ldc: usize,
                    accumulate: bool,
                    finish: Option<TileEpilogue>,
                ) {
                    // SAFETY: the caller's contract (Microkernel::run_rows) is the kernel's.
                    unsafe {
                        kernel::<true, $mr>(kc, a, lda, b, c, ldc, accumulate, finish)
                    }
                }
            }

            /// The register tile's first `M` rows (MR, or fewer for the last panel of a product
            /// whose rows are not a multiple of MR: the same sums, only the rows that exist);
            /// A is the packed panel (`ROWS` false: k step p's MR values at a[p·MR..]) or read
            /// in place (`ROWS` true: row r's value at a[r·lda + p]).
            #[target_feature(enable = $feature)]
            #[allow(clippy::too_many_arguments)]
            unsafe fn kernel<const ROWS: bool, const M: usize>(
                kc: usize,
                a: *const f32,
                lda: usize,
                b: *const f32,
                c: *mut f32,
                ldc: usize,
                accumulate: bool,
                finish: Option<TileEpilogue>,
            ) {
                use std::arch::x86_64::*;
                // SAFETY (whole body): M ≤ MR; reads stay within a[..kc·MR] (packed) or
                // a[r·lda + p] for r < M, p < kc (in place), b[..kc·NR] and the NR bias values,
                // writes within the first M rows of the MR×NR tiles at c (and z) with row
                // stride ldc, as Microkernel::run, run_rows and run_partial require.
                unsafe {
                    // Ask for the C tile now: it is read (accumulate) or written only after
                    // the k loop, and on a large C it sits in L2 or L3; a prefetch per row (its
                    // first and last value, in case the row crosses a line) overlaps those
                    // misses with the FMAs, as BLIS's kernels do. A hint: never faults.
                    for r in 0..M {
                        let row = c.wrapping_add(r * ldc);
                        _mm_prefetch::<_MM_HINT_T0>(row.cast::<i8>());
                        _mm_prefetch::<_MM_HINT_T0>(row.wrapping_add($lanes * $nrv - 1).cast::<i8>());
                    }
                    let mut acc: [[$vector; $nrv]; M] = [[$zero(); $nrv]; M];
                    let (mut a, mut b) = (a, b);
                    for _ in 0..kc {
                        let mut bv: [$vector; $nrv] = [$zero(); $nrv];
                        for (v, slot) in bv.iter_mut().enumerate() {
                            *slot = $load(b.add($lanes * v));
                        }
                        for (r, row) in acc.iter_mut().enumerate() {
                            let av = $broadcast(*a.add(if ROWS { r * lda } else { r }));
                            for (acc, bv) in row.iter_mut().zip(&bv) {
                                *acc = $fma(av, *bv, *acc);
                            }
                        }
                        a = a.add(if ROWS { 1 } else { $mr });
                        b = b.add($lanes * $nrv);
                    }
                    // Two store loops, the epilogue's choice made once per tile: with the
                    // choices inside one loop LLVM stopped unrolling it and kept the
                    // accumulators on the stack (a 1.5 KB memset per call, 10% of a step).
                    match finish {
                        None => {
                            for (r, row) in acc.iter().enumerate() {
                                let out = c.add(r * ldc);
                                for (v, value) in row.iter().enumerate() {
                                    let mut value = *value;
                                    if accumulate {
                                        value = $add(value, $load(out.add($lanes * v)));
                                    }
                                    $store(out.add($lanes * v), value);
                                }
                            }
                        }
                        Some(f) => {
                            let has_bias = !f.bias.is_null();
                            let mut bias = [$zero(); $nrv];
                            if has_bias {
                                for (v, slot) in bias.iter_mut().enumerate() {
                                    *slot = $load(f.bias.add($lanes * v));
                                }
                            }
                            for (r, row) in acc.iter().enumerate() {
                                let out = c.add(r * ldc);
                                for (v, value) in row.iter().enumerate() {
                                    let mut value = *value;
                                    if accumulate {
                                        value = $add(value, $load(out.add($lanes * v)));
                                    }
                                    if has_bias {
                                        value = $add(value, bias[v]);
                                    }
                                    if !f.z.is_null() {
                                        $store(f.z.add(r * ldc + $lanes * v), value);
                                    }
                                    if f.relu {
                                        // relu(v) + v·0: NaN for a non-finite v (see
                                        // `activations`), the same bits otherwise.
                                        value = $fma(value, $zero(), $max(value, $zero()));
                                    }
                                    $store(out.add($lanes * v), value);
                                }
                            }
                        }
                    }
                }
            }
        }
    };
}

x86_microkernel!(
    /// AVX-512F: 12 rows × 32 columns.
    avx512, feature = "avx512f", mr = 12, partial = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], nrv = 2, isa = Avx512, lanes = 16, vector = __m512,
    zero = _mm512_setzero_ps, load = _mm512_loadu_ps, broadcast = _mm512_set1_ps,
    fma = _mm512_fmadd_ps, add = _mm512_add_ps, max = _mm512_max_ps, store = _mm512_storeu_ps
);

x86_microkernel!(
    /// AVX2 + FMA: 6 rows × 16 columns (the classic Haswell shape).
    avx2, feature = "avx2,fma", mr = 6, partial = [1, 2, 3, 4, 5], nrv = 2, isa = Avx2, lanes = 8, vector = __m256,
    zero = _mm256_setzero_ps, load = _mm256_loadu_ps, broadcast = _mm256_set1_ps,
    fma = _mm256_fmadd_ps, add = _mm256_add_ps, max = _mm256_max_ps, store = _mm256_storeu_ps
);
