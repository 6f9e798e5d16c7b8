//! The flat parameter buffer: every weight of a network in one 64-byte-aligned `f32` run, per layer
//! kernel `[in][out]` then bias, in Keras' `get_weights()` order. One buffer makes an optimizer step
//! a single sweep and save/load a single copy; the alignment lets SIMD loads start on cache lines.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// One cache line of `f32`s; the unit the buffer is allocated in, which is what aligns it.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct CacheLine([f32; 16]);

/// A heap buffer of `f32`, 64-byte aligned, zero-initialised, fixed length.
#[derive(Clone)]
pub struct AlignedBuf {
    lines: Vec<CacheLine>,
    len: usize,
}

impl AlignedBuf {
    /// `len` zeros.
    pub fn zeros(len: usize) -> Self {
        AlignedBuf {
            lines: vec![CacheLine([0.0; 16]); len.div_ceil(16)],
            len,
        }
    }

    /// Number of `f32`s (not counting the padding up to the cache line).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the buffer holds no value.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The values as a slice.
    pub fn as_slice(&self) -> &[f32] {
        // SAFETY: `CacheLine` is `repr(C)` over `[f32; 16]`, so `lines` is `16 * lines.len()`
        // contiguous, initialised `f32`s, and `len <= 16 * lines.len()` by construction.
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr().cast::<f32>(), self.len) }
    }

    /// The values as a mutable slice.
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        // SAFETY: as in `as_slice`; the `&mut self` borrow makes this the only view.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr().cast::<f32>(), self.len) }
    }
}

impl std::ops::Deref for AlignedBuf {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        self.as_slice()
    }
}

impl std::ops::DerefMut for AlignedBuf {
    fn deref_mut(&mut self) -> &mut [f32] {
        self.as_mut_slice()
    }
}

impl std::fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlignedBuf")
            .field("len", &self.len)
            .finish()
    }
}

/// The random stream weight initialisers draw from. ChaCha8 because its output for a seed is
/// fixed by its specification, so a seed gives the same weights on every platform and version.
#[derive(Debug)]
pub struct InitRng(ChaCha8Rng);

impl InitRng {
    /// The stream for `seed`.
    pub fn seeded(seed: u64) -> Self {
        InitRng(ChaCha8Rng::seed_from_u64(seed))
    }

    /// U(lo, hi) in order: Keras' `RandomUniform(minval, maxval)` (Embedding's default
    /// initializer, "uniform", is U(−0.05, 0.05)).
    pub fn uniform(&mut self, values: &mut [f32], lo: f32, hi: f32) {
        for v in values {
            *v = self.0.random_range(lo..hi);
        }
    }

    /// Keras' `orthogonal` for a `rows × cols` matrix (a recurrent kernel, `rows` ≤ `cols`):
    /// a standard normal matrix made orthonormal, so its rows are orthonormal, as Keras' QR
    /// with the diagonal's signs gives (Gram–Schmidt on the columns of the transpose, in f64).
    /// Normal draws by Box–Muller from this stream.
    pub fn orthogonal(&mut self, values: &mut [f32], rows: usize, cols: usize) {
        let (long, short) = (rows.max(cols), rows.min(cols));
        // `short` orthonormal vectors of length `long`: the long matrix's columns.
        let mut columns: Vec<Vec<f64>> = (0..short)
            .map(|_| {
                (0..long)
                    .map(|_| {
                        let u1: f64 = self.0.random_range(f64::EPSILON..1.0);
                        let u2: f64 = self.0.random();
                        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
                    })
                    .collect()
            })
            .collect();
        for j in 0..short {
            let (done, rest) = columns.split_at_mut(j);
            let Some(v) = rest.first_mut() else { break };
            for q in done.iter() {
                let dot: f64 = q.iter().zip(v.iter()).map(|(a, b)| a * b).sum();
                v.iter_mut().zip(q).for_each(|(x, q)| *x -= dot * q);
            }
            let norm = v
                .iter()
                .map(|x| x * x)
                .sum::<f64>()
                .sqrt()
                .max(f64::MIN_POSITIVE);
            v.iter_mut().for_each(|x| *x /= norm);
        }
        // The matrix is the long one itself when rows ≥ cols (column c is `columns[c]`), else
        // its transpose (row r is `columns[r]`).
        for (idx, v) in values.iter_mut().enumerate().take(rows * cols) {
            let (r, c) = (idx / cols.max(1), idx % cols.max(1));
            let (column, at) = if rows >= cols { (c, r) } else { (r, c) };
            *v = columns
                .get(column)
                .and_then(|col| col.get(at))
                .copied()
                .unwrap_or_default() as f32;
        }
    }

    /// Keras' `glorot_uniform`: U(−l, l) with l = √(6 / (fan_in + fan_out)), drawn in the
    /// kernel's row-major order. For a Dense kernel the fans are its input and output widths;
    /// for a Conv2D kernel they are KH·KW·C and KH·KW·F, as Keras computes them.
    pub fn glorot_uniform(&mut self, kernel: &mut [f32], fan_in: usize, fan_out: usize) {
        let limit = (6.0 / (fan_in + fan_out) as f64).sqrt() as f32;
        for w in kernel {
            *w = self.0.random_range(-limit..limit);
        }
    }
}
