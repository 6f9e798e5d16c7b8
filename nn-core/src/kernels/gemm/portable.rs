//! The portable microkernel on `wide`: 4 rows × 16 columns, 8 `f32x8` accumulators. On a default
//! x86-64 build `wide` lowers it to SSE2 pairs; on aarch64 to NEON.

use super::{Microkernel, TileEpilogue};
use crate::kernels::isa::Isa;
use wide::f32x8;

pub(crate) struct Kernel;

const MR: usize = 4;
const NR: usize = 16;

impl Microkernel for Kernel {
    const MR: usize = MR;
    const NR: usize = NR;
    const ISA: Isa = Isa::Portable;

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
        // SAFETY: the caller guarantees a[..kc·MR], b[..kc·NR] readable and the MR×NR tile at c
        // (row stride ldc) writable; the slices below cover exactly those ranges.
        let (a, b) = unsafe {
            (
                std::slice::from_raw_parts(a, kc * MR),
                std::slice::from_raw_parts(b, kc * NR),
            )
        };
        let mut acc = [[f32x8::ZERO; 2]; MR];
        for (ap, bp) in a.chunks_exact(MR).zip(b.chunks_exact(NR)) {
            let b0 = f32x8::new(bp[..8].try_into().expect("8 lanes"));
            let b1 = f32x8::new(bp[8..].try_into().expect("8 lanes"));
            for (row, &av) in acc.iter_mut().zip(ap) {
                let av = f32x8::splat(av);
                row[0] = av.mul_add(b0, row[0]);
                row[1] = av.mul_add(b1, row[1]);
            }
        }
        for (r, row) in acc.iter().enumerate() {
            // SAFETY: row r of the tile, NR values from c + r·ldc, inside the caller's tile.
            let out = unsafe { std::slice::from_raw_parts_mut(c.add(r * ldc), NR) };
            for (h, (half, v)) in out.chunks_exact_mut(8).zip(row).enumerate() {
                let mut v = *v;
                if accumulate {
                    v += f32x8::new(half.try_into().expect("8 lanes"));
                }
                if let Some(f) = finish {
                    // SAFETY: NR bias values and the tile at z, as Microkernel::run requires.
                    unsafe {
                        if !f.bias.is_null() {
                            let b = std::slice::from_raw_parts(f.bias.add(8 * h), 8);
                            v += f32x8::new(b.try_into().expect("8 lanes"));
                        }
                        if !f.z.is_null() {
                            let z = std::slice::from_raw_parts_mut(f.z.add(r * ldc + 8 * h), 8);
                            z.copy_from_slice(v.as_array());
                        }
                    }
                    if f.relu {
                        v = v.max(f32x8::ZERO);
                    }
                }
                half.copy_from_slice(v.as_array());
            }
        }
    }
}
