//! Packing: copies a block of A into MR-row panels and a block of B into NR-column panels, in
//! the order the microkernel reads them (one k step = MR, or NR, consecutive values), padding
//! the last panel with zeros. Strided sources make transposed operands free.

use super::MatRef;

/// A[ic..ic+mc][pc..pc+kc] into `buf` as ⌈mc/mr⌉ panels of kc × mr.
pub(super) fn pack_a(
    a: MatRef<'_>,
    ic: usize,
    mc: usize,
    pc: usize,
    kc: usize,
    mr: usize,
    buf: &mut Vec<f32>,
) {
    let panels = mc.div_ceil(mr);
    let len = panels * kc * mr;
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
    for panel in 0..panels {
        let out = &mut buf[panel * kc * mr..][..kc * mr];
        let r0 = ic + panel * mr;
        let rows = mr.min(ic + mc - r0);
        if rows < mr {
            out.fill(0.0);
        }
        if a.cs == 1 {
            // Rows contiguous in the source: read along rows, write with stride mr.
            for r in 0..rows {
                let src = &a.data[(r0 + r) * a.rs + pc..][..kc];
                for (p, &v) in src.iter().enumerate() {
                    out[p * mr + r] = v;
                }
            }
        } else {
            for p in 0..kc {
                let base = (pc + p) * a.cs + r0 * a.rs;
                for r in 0..rows {
                    out[p * mr + r] = a.data[base + r * a.rs];
                }
            }
        }
    }
}

/// B[pc..pc+kc][jc..jc+nc] into `buf` as ⌈nc/nr⌉ panels of kc × nr.
pub(super) fn pack_b(
    b: MatRef<'_>,
    pc: usize,
    kc: usize,
    jc: usize,
    nc: usize,
    nr: usize,
    buf: &mut Vec<f32>,
) {
    let panels = nc.div_ceil(nr);
    let len = panels * kc * nr;
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
    for panel in 0..panels {
        let out = &mut buf[panel * kc * nr..][..kc * nr];
        let j0 = jc + panel * nr;
        let cols = nr.min(jc + nc - j0);
        if cols < nr {
            out.fill(0.0);
        }
        if b.cs == 1 {
            for p in 0..kc {
                let src = &b.data[(pc + p) * b.rs + j0..][..cols];
                out[p * nr..p * nr + cols].copy_from_slice(src);
            }
        } else {
            // Columns contiguous in the source (a transposed view): read down columns.
            for j in 0..cols {
                let src = &b.data[(j0 + j) * b.cs + pc * b.rs..];
                for p in 0..kc {
                    out[p * nr + j] = src[p * b.rs];
                }
            }
        }
    }
}
