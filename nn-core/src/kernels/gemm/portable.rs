//! The portable microkernel on `wide`: 4 rows × 16 columns, 8 `f32x8` accumulators. On a default
//! x86-64 build `wide` lowers it to SSE2 pairs; on aarch64 to NEON.

use super::{Microkernel, TileEpilogue};
#[cfg(target_arch = "x86_64")]
use crate::kernels::isa::Isa;
use wide::f32x8;

pub(crate) struct Kernel;

const MR: usize = 4;
const NR: usize = 16;

impl Microkernel for Kernel {
    const MR: usize = MR;
    const NR: usize = NR;
    #[cfg(target_arch = "x86_64")]
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
        for (ap, bp) in a.chunks_exact(MR).zip(b.as_chunks::<NR>().0) {
            // NR = 16: exactly two halves of eight (the indices fold to constants).
            let (halves, _) = bp.as_chunks::<8>();
            let (b0, b1) = (f32x8::new(halves[0]), f32x8::new(halves[1]));
            for (row, &av) in acc.iter_mut().zip(ap) {
                let av = f32x8::splat(av);
                row[0] = av.mul_add(b0, row[0]);
                row[1] = av.mul_add(b1, row[1]);
            }
        }
        for (r, row) in acc.iter().enumerate() {
            // SAFETY: row r of the tile, NR values from c + r·ldc, inside the caller's tile.
            let out = unsafe { std::slice::from_raw_parts_mut(c.add(r * ldc), NR) };
            for (h, (half, v)) in out.as_chunks_mut::<8>().0.iter_mut().zip(row).enumerate() {
                let mut v = *v;
                if accumulate {
                    v += f32x8::new(*half);
                }
                if let Some(f) = finish {
                    // SAFETY: NR bias values and the tile at z, as Microkernel::run requires.
                    unsafe {
                        if !f.bias.is_null() {
                            let b = f.bias.add(8 * h).cast::<[f32; 8]>().read_unaligned();
                            v += f32x8::new(b);
                        }
                        if !f.z.is_null() {
                            let z = std::slice::from_raw_parts_mut(f.z.add(r * ldc + 8 * h), 8);
                            z.copy_from_slice(v.as_array());
                        }
                    }
                    if f.relu {
                        // relu(v) + v·0: NaN for a non-finite v (see `activations`).
                        v = v.max(f32x8::ZERO) + v * f32x8::ZERO;
                    }
                }
                half.copy_from_slice(v.as_array());
            }
        }
    }
}
