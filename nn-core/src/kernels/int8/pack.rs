//! B (`k × n` int8, row-major) packed once into the layout the VNNI and portable tiles read:
//! panels of [`NR`] columns, each panel `k4 = ⌈k/4⌉` groups of four k, a group holding for each
//! column its four consecutive k values (64 bytes: one zmm, the operand of `vpdpbusd`). k and n
//! are padded with zeros, which add nothing to any sum. Beside it, each column's Σ_k B, for the
//! VNNI paths' +128 correction (see `x86.rs`).
//!
//! The AVX2 path (no VNNI) multiplies int16 pairs with `vpmaddwd` and reads B already widened,
//! so that its inner loop has no conversion in it: the same panels of NR columns, each `2·k4`
//! pairs of k, a pair holding for each column its two consecutive k values as int16 (64 bytes:
//! two ymm of eight columns, each 32-bit lane one column's pair). That copy is twice the bytes
//! of the int8 one and only that path reads it, so it is built from the int8 panels the first
//! time the AVX2 path asks for it ([`PackedS8::wide_panels_from`]) and kept.
// Indexing: bounded by k, n and the panel geometry computed here.
#![allow(clippy::indexing_slicing)]

use std::sync::OnceLock;

/// Columns per packed panel: sixteen int32 accumulators, one zmm or two ymm.
pub const NR: usize = 16;

/// The deepest product the int32 accumulators hold exactly on every path: the VNNI paths sum
/// (a + 128) · b, at most 255 · 128 per k (a = -128 is not a value Keras makes, but allowed),
/// and 65 536 · 255 · 128 < 2³¹.
pub const MAX_K: usize = 65_536;

/// A Dense kernel in int8, packed for [`gemm_s8_i32`](super::gemm_s8_i32) and
/// [`gemm_s8_f32`](super::gemm_s8_f32). Build it once per kernel with [`PackedS8::pack`].
#[derive(Clone, Debug)]
pub struct PackedS8 {
    k: usize,
    n: usize,
    /// `panels · k4 · 4 · NR` bytes.
    data: Vec<i8>,
    /// 128 · Σ_k B[k][j] per column, padded to whole panels with zeros.
    correction: Vec<i32>,
    /// The AVX2 path's int16 pairs (`panels · 2·k4 · 2 · NR` values), built on first use.
    // Only x86's AVX2 tile reads it; elsewhere it stays empty.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    wide: OnceLock<Vec<i16>>,
}

/// Two packings are equal when they pack the same matrix, whether or not either has built its
/// int16 copy (which `data` determines).
impl PartialEq for PackedS8 {
    fn eq(&self, other: &PackedS8) -> bool {
        (self.k, self.n, &self.data) == (other.k, other.n, &other.data)
    }
}

impl Eq for PackedS8 {}

impl PackedS8 {
    /// Packs `b` (`k × n`, row-major).
    ///
    /// # Panics
    /// If `b.len() != k · n`.
    pub fn pack(b: &[i8], k: usize, n: usize) -> PackedS8 {
        assert_eq!(b.len(), k * n, "PackedS8::pack: {k}×{n} matrix");
        assert!(k <= MAX_K, "PackedS8::pack: k = {k} > {MAX_K}");
        let k4 = k.div_ceil(4);
        let panels = n.div_ceil(NR);
        let mut data = vec![0i8; panels * k4 * 4 * NR];
        let mut correction = vec![0i32; panels * NR];
        for kk in 0..k {
            let (g, r) = (kk / 4, kk % 4);
            for (j, &v) in b[kk * n..(kk + 1) * n].iter().enumerate() {
                let (p, c) = (j / NR, j % NR);
                data[(p * k4 + g) * 4 * NR + c * 4 + r] = v;
                correction[j] += 128 * i32::from(v);
            }
        }
        PackedS8 {
            k,
            n,
            data,
            correction,
            wide: OnceLock::new(),
        }
    }

    /// The unpacked shape's k.
    pub fn k(&self) -> usize {
        self.k
    }

    /// The unpacked shape's n.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Groups of four k (the packed depth).
    pub(crate) fn k4(&self) -> usize {
        self.k.div_ceil(4)
    }

    /// Panels `p..`, contiguous, each `k4 · 4 · NR` bytes.
    pub(crate) fn panels_from(&self, p: usize) -> &[i8] {
        &self.data[p * self.k4() * 4 * NR..]
    }

    /// The corrections (128 · Σ_k B) of panels `p..`, NR per panel.
    pub(crate) fn correction_from(&self, p: usize) -> &[i32] {
        &self.correction[p * NR..]
    }

    /// The AVX2 layout's panels `p..`, contiguous, each `2·k4` pairs of `2 · NR` int16 (column
    /// c's values of k = 2q and 2q + 1 at `q · 2·NR + 2c` and the next), built from the int8
    /// panels on the first call.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub(crate) fn wide_panels_from(&self, p: usize) -> &[i16] {
        let wide = self.wide.get_or_init(|| {
            // Group g's byte 4c + r (column c, k = 4g + r) is pair 2g + r/2's value 2c + r%2:
            // the first 2·NR bytes of a group hold its first pair, the rest its second.
            let mut w = vec![0i16; self.data.len()];
            for (d, s) in w
                .chunks_exact_mut(4 * NR)
                .zip(self.data.chunks_exact(4 * NR))
            {
                for (c, v) in s.chunks_exact(4).enumerate() {
                    d[2 * c] = i16::from(v[0]);
                    d[2 * c + 1] = i16::from(v[1]);
                    d[2 * NR + 2 * c] = i16::from(v[2]);
                    d[2 * NR + 2 * c + 1] = i16::from(v[3]);
                }
            }
            w
        });
        &wide[p * self.k4() * 4 * NR..]
    }

    /// How many panels.
    pub(crate) fn panels(&self) -> usize {
        self.n.div_ceil(NR)
    }
}
