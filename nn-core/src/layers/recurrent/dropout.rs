//! A recurrent layer's `dropout` and `recurrent_dropout` in training, as Keras 3's cells apply
//! them: one mask per sequence, drawn once per pass and used at every step (Keras'
//! `DropoutRNNCell`), scaled by 1 / (1 − rate).
//!
//! - `dropout` masks the input features a gate's kernel sees (`rows × F` per gate);
//!   `recurrent_dropout` masks the previous output a gate's recurrent kernel sees (`rows × U`
//!   per gate). The state itself is not masked: GRU's h = z·h₋₁ + (1 − z)·ĥ and LSTM's
//!   c = f·c₋₁ + i·g read the unmasked values, as Keras' do.
//! - Per gate or shared: LSTM and GRU with `recurrent_dropout` run Keras' "implementation 1",
//!   an independent mask for each gate's input and each gate's recurrent product; without it,
//!   one input mask serves every gate (implementation 2). SimpleRNN has one of each. A shared
//!   mask is kept once per gate here too (copied), so that one code path serves both.
//!
//! With masks the products go gate by gate (the same multiply-adds as the fused product, in
//! `G` pieces): the input projection `(x ⊙ m_g)·W_g`, the recurrent `(h ⊙ r_g)·R_g` per step, and
//! their transposes in the backward pass. Masks are drawn by [`Dropout::draw_mask`]'s generator
//! from the model's seed (or the layer's `seed`), the optimizer step and each row's place in
//! the batch, so a training run is the same on any number of threads.
#![allow(clippy::indexing_slicing)]

use super::{Recurrent, GRU_V1, SIMPLE_RNN};
use crate::kernels::activations::Activation;
use crate::kernels::gemm::{gemm, MatRef};
use crate::kernels::isa::Isa;
use crate::layers::{Dropout, TrainingPass};

/// The dropout part of a training pass's scratch.
pub(super) struct Masks<'a> {
    /// `G × rows × F`: each gate's input mask (empty without `dropout`).
    pub input: &'a mut [f32],
    /// `G × rows × U`: each gate's recurrent mask (empty without `recurrent_dropout`).
    pub recurrent: &'a mut [f32],
    /// `rows × T × F`: a gate's masked input.
    pub xm: &'a mut [f32],
    /// `rows × U`: a gate's masked previous output.
    pub hm: &'a mut [f32],
    /// A gate's product: `rows × T × max(U, F)`, `F × U` and `U × U` fit.
    pub product: &'a mut [f32],
}

/// Marks dropout salts apart from the Dropout layers' (their model index, bit 63 clear).
const RECURRENT_SALT: u64 = 1 << 63;

impl<
        const KIND: u8,
        const T: usize,
        const F: usize,
        const U: usize,
        A: Activation,
        RA: Activation,
        const SEQ: bool,
        const BACK: bool,
        const BIAS: bool,
    > Recurrent<KIND, T, F, U, A, RA, SEQ, BACK, BIAS>
{
    /// Gates with a mask of their own: every gate, or SimpleRNN's one.
    const MASKED_GATES: usize = Self::GATES;

    /// Whether a training pass masks anything.
    pub(super) fn drops(&self) -> bool {
        self.dropout > 0.0 || self.recurrent_dropout > 0.0
    }

    /// Scratch values of the masks and their buffers for `rows` sequences.
    pub(super) fn masks_len(&self, rows: usize) -> usize {
        if !self.drops() {
            return 0;
        }
        let g = Self::MASKED_GATES;
        let input = if self.dropout > 0.0 { g * rows * F } else { 0 };
        let recurrent = if self.recurrent_dropout > 0.0 {
            g * rows * U
        } else {
            0
        };
        input + recurrent + rows * T * F + rows * U + Self::product_len(rows)
    }

    fn product_len(rows: usize) -> usize {
        (rows * T * U.max(F)).max(F * U).max(U * U)
    }

    /// Cuts `masks_len(rows)` values into the parts.
    pub(super) fn masks<'s>(&self, scratch: &'s mut [f32], rows: usize) -> Masks<'s> {
        let g = Self::MASKED_GATES;
        let cut = |s: &'s mut [f32], n: usize| s.split_at_mut(n.min(s.len()));
        let (input, rest) = cut(scratch, if self.dropout > 0.0 { g * rows * F } else { 0 });
        let recurrent_len = if self.recurrent_dropout > 0.0 {
            g * rows * U
        } else {
            0
        };
        let (recurrent, rest) = cut(rest, recurrent_len);
        let (xm, rest) = cut(rest, rows * T * F);
        let (hm, rest) = cut(rest, rows * U);
        let (product, _) = cut(rest, Self::product_len(rows));
        Masks {
            input,
            recurrent,
            xm,
            hm,
            product,
        }
    }

    /// Draws this pass's masks. Gate `g`'s masks have their own salt; a shared input mask
    /// (no `recurrent_dropout`, or SimpleRNN) is gate 0's, copied.
    pub(super) fn draw(&self, pass: TrainingPass, rows: usize, m: &mut Masks<'_>) {
        let salt = |what: u64, g: usize| RECURRENT_SALT | (self.salt << 8) | (what << 4) | g as u64;
        let shared = KIND == SIMPLE_RNN || self.recurrent_dropout == 0.0;
        let (fr, ur) = (rows * F, rows * U);
        for g in 0..Self::MASKED_GATES {
            if self.dropout > 0.0 {
                if g > 0 && shared {
                    m.input.copy_within(0..fr, g * fr);
                } else {
                    Dropout::<F>::new(self.dropout, self.seed, salt(1, g))
                        .draw_mask(pass, &mut m.input[g * fr..][..fr]);
                }
            }
            if self.recurrent_dropout > 0.0 {
                Dropout::<U>::new(self.recurrent_dropout, self.seed, salt(2, g))
                    .draw_mask(pass, &mut m.recurrent[g * ur..][..ur]);
            }
        }
    }

    /// Gate `g`'s recurrent mask value for row `r`, unit `j` (1 without recurrent dropout).
    #[inline(always)]
    pub(super) fn recurrent_mask(
        recurrent: &[f32],
        g: usize,
        rows: usize,
        r: usize,
        j: usize,
    ) -> f32 {
        recurrent
            .get((g * rows + r) * U + j)
            .copied()
            .unwrap_or(1.0)
    }

    /// `xm = x ⊙ m_g` over every step of every row.
    fn mask_input(x: &[f32], input: &[f32], g: usize, rows: usize, xm: &mut [f32]) {
        let mask = &input[g * rows * F..][..rows * F];
        for ((xm, x), m) in xm
            .chunks_exact_mut(T * F)
            .zip(x.chunks_exact(T * F))
            .zip(mask.chunks_exact(F))
        {
            for (xm, x) in xm.chunks_exact_mut(F).zip(x.chunks_exact(F)) {
                xm.iter_mut()
                    .zip(x.iter().zip(m))
                    .for_each(|(o, (x, m))| *o = x * m);
            }
        }
    }

    /// The input projection with input masks: `z[:, g] = (x ⊙ m_g)·W_g + b_g`.
    pub(super) fn project_masked(
        isa: Isa,
        x: &[f32],
        kernel: &[f32],
        bias: Option<&[f32]>,
        rows: usize,
        z: &mut [f32],
        m: &mut Masks<'_>,
    ) {
        let (gu, n) = (Self::GU, rows * T);
        for g in 0..Self::GATES {
            Self::mask_input(x, m.input, g, rows, m.xm);
            let product = &mut m.product[..n * U];
            gemm(
                isa,
                MatRef::row_major(m.xm, n, F),
                Self::kernel_cols(kernel, g),
                product,
                false,
            );
            let b = bias.map(|b| &b[g * U..][..U]);
            for (z, p) in z.chunks_exact_mut(gu).zip(product.chunks_exact(U)) {
                let z = &mut z[g * U..][..U];
                match b {
                    Some(b) => z
                        .iter_mut()
                        .zip(p.iter().zip(b))
                        .for_each(|(z, (p, b))| *z = p + b),
                    None => z.copy_from_slice(p),
                }
            }
        }
    }

    /// Columns of gate `g` of the kernel, an `F × U` view.
    fn kernel_cols(kernel: &[f32], g: usize) -> MatRef<'_> {
        MatRef {
            data: kernel.get(g * U..).unwrap_or_default(),
            rows: F,
            cols: U,
            rs: Self::GU,
            cs: 1,
        }
    }

    /// `h ⊙ r_g` of the output after processing step `s − 1`, into `hm`.
    fn mask_previous(
        hs: &[f32],
        recurrent_masks: &[f32],
        g: usize,
        rows: usize,
        s: usize,
        hm: &mut [f32],
    ) {
        for r in 0..rows {
            let h = &hs[(r * T + s - 1) * U..][..U];
            let m = &recurrent_masks[(g * rows + r) * U..][..U];
            hm[r * U..][..U]
                .iter_mut()
                .zip(h.iter().zip(m))
                .for_each(|(o, (h, m))| *o = h * m);
        }
    }

    /// The recurrent product of step `s > 0` with recurrent masks, gate by gate, into `tmp`
    /// (`rows × cols`, the first `cols / U` gates).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn recurrent_masked(
        isa: Isa,
        recurrent: &[f32],
        hs: &[f32],
        rows: usize,
        s: usize,
        tmp: &mut [f32],
        cols: usize,
        m: &mut Masks<'_>,
    ) {
        for g in 0..cols / U {
            Self::mask_previous(hs, m.recurrent, g, rows, s, m.hm);
            let product = &mut m.product[..rows * U];
            gemm(
                isa,
                MatRef::row_major(m.hm, rows, U),
                Self::r_cols(recurrent, g * U, U),
                product,
                false,
            );
            for (t, p) in tmp.chunks_exact_mut(cols).zip(product.chunks_exact(U)) {
                t[g * U..][..U].copy_from_slice(p);
            }
        }
    }

    /// Back through step `s > 0`'s masked recurrent product: dR_g += (h ⊙ r_g)ᵀ·dz_g and
    /// dL/dh₋₁ += (dz_g·R_gᵀ) ⊙ r_g, for every gate (`dz` is `rows × G·U`).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn recurrent_masked_backward(
        isa: Isa,
        recurrent: &[f32],
        hs: &[f32],
        dz: &[f32],
        rows: usize,
        s: usize,
        d_recurrent: &mut [f32],
        dh: &mut [f32],
        m: &mut Masks<'_>,
    ) {
        let gu = Self::GU;
        // GRU without reset_after: the candidate's product is (r·h)·R_h, whose gradients
        // `gru_v1_reset_gradient` gives; its columns of dz are zero here.
        let gates = if KIND == GRU_V1 { 2 } else { Self::GATES };
        for g in 0..gates {
            let dz_g = MatRef {
                data: dz.get(g * U..).unwrap_or_default(),
                rows,
                cols: U,
                rs: gu,
                cs: 1,
            };
            Self::mask_previous(hs, m.recurrent, g, rows, s, m.hm);
            let square = &mut m.product[..U * U];
            gemm(
                isa,
                MatRef::row_major(m.hm, rows, U).t(),
                dz_g,
                square,
                false,
            );
            for (row, sq) in d_recurrent.chunks_exact_mut(gu).zip(square.chunks_exact(U)) {
                row[g * U..][..U]
                    .iter_mut()
                    .zip(sq)
                    .for_each(|(d, p)| *d += p);
            }
            let product = &mut m.product[..rows * U];
            gemm(
                isa,
                dz_g,
                Self::r_cols(recurrent, g * U, U).t(),
                product,
                false,
            );
            for r in 0..rows {
                let mask = &m.recurrent[(g * rows + r) * U..][..U];
                dh[r * U..][..U]
                    .iter_mut()
                    .zip(product[r * U..][..U].iter().zip(mask))
                    .for_each(|(d, (p, m))| *d += p * m);
            }
        }
    }

    /// The input projection's gradients with input masks: dW_g = (x ⊙ m_g)ᵀ·dz_g and
    /// dx = Σ_g (dz_g·W_gᵀ) ⊙ m_g (`dz` is `rows·T × G·U`).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn project_masked_backward(
        isa: Isa,
        x: &[f32],
        kernel: &[f32],
        dz: &[f32],
        rows: usize,
        d_kernel: &mut [f32],
        mut dx: Option<&mut [f32]>,
        m: &mut Masks<'_>,
    ) {
        let (gu, n) = (Self::GU, rows * T);
        for g in 0..Self::GATES {
            let dz_g = MatRef {
                data: dz.get(g * U..).unwrap_or_default(),
                rows: n,
                cols: U,
                rs: gu,
                cs: 1,
            };
            Self::mask_input(x, m.input, g, rows, m.xm);
            let dw = &mut m.product[..F * U];
            gemm(isa, MatRef::row_major(m.xm, n, F).t(), dz_g, dw, false);
            for (row, d) in d_kernel.chunks_exact_mut(gu).zip(dw.chunks_exact(U)) {
                row[g * U..][..U].copy_from_slice(d);
            }
            if let Some(dx) = dx.as_deref_mut() {
                let product = &mut m.product[..n * F];
                gemm(isa, dz_g, Self::kernel_cols(kernel, g).t(), product, false);
                let mask = &m.input[g * rows * F..][..rows * F];
                for ((dx, p), m) in dx
                    .chunks_exact_mut(T * F)
                    .zip(product.chunks_exact(T * F))
                    .zip(mask.chunks_exact(F))
                {
                    for (dx, p) in dx.chunks_exact_mut(F).zip(p.chunks_exact(F)) {
                        for ((d, p), m) in dx.iter_mut().zip(p).zip(m) {
                            *d = if g == 0 { p * m } else { *d + p * m };
                        }
                    }
                }
            }
        }
    }
}
