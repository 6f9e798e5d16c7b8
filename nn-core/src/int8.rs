//! One layer's weights after Keras 3's `quantize("int8")` ([`Int8Weights`]), and the forward
//! passes that read them: Dense's (`Dense._int8_call`) and Embedding's lookup.
//!
//! A Dense kernel is quantized per output unit (`abs_max_quantize(kernel, axis=0)`: one
//! `kernel_scale` per column), an Embedding table per id (`axis=-1`: one `embeddings_scale` per
//! row). Dense then runs one of two ways, as Keras' `Int8QuantizationConfig` says:
//! - inputs quantized too (Keras' default): each input row quantized by its abs-max at run time,
//!   the int8 product summed exactly in int32, then `acc / (kernel_scale · input_scale) + bias`
//!   in f32 (`kernels::int8::dense_s8`);
//! - weight-only (`activation_quantizer=None`): the float inputs times the int8 kernel's values
//!   as f32, then `/ kernel_scale + bias` (Keras' float `matmul` with an int8 operand).
//!
//! The activation follows in f32, as in Keras. Embedding's output is `int8 / embeddings_scale`.
//!
//! These sit below the layers (`Weights::int8` hands them to a layer); the model type that
//! owns them is [`crate::quantized`].

use crate::kernels::activations::{Activation, Linear};
use crate::kernels::dense::{dense_forward_fused, DenseDims};
use crate::kernels::int8::{
    dense_s8, quantize_kernel, quantize_rows, quantize_rows_f32, DenseS8, Int8Path, PackedS8,
};
use crate::spec::Quantize;

/// One quantized layer's int8 tensor and scales, and the form its forward pass reads.
#[derive(Clone, Debug)]
pub struct Int8Weights {
    /// Keras' int8 tensor, row-major: a Dense `kernel` (`rows` = in, `cols` = out) or the
    /// `embeddings` (`rows` = input_dim, `cols` = output_dim).
    values: Vec<i8>,
    rows: usize,
    cols: usize,
    /// Keras' `kernel_scale` (one per column) or `embeddings_scale` (one per row).
    scale: Vec<f32>,
    form: Form,
}

/// The deepest product whose int8 sums f32 holds exactly: 1024 · 128² = 2^24 (every partial
/// sum an integer of at most 2^24, so any order of f32 multiply-adds gives the int32 sum).
const EXACT_F32_K: usize = 1024;

/// Kernels up to this many weights also keep their int8 values as f32, for `predict_one`'s
/// fixed-size GEMV: on a small layer the int8 product's fixed costs outweigh its work.
const SMALL_WEIGHTS: usize = 1 << 14;

/// The smallest weight-only kernel kept packed for the f32 GEMM: the float Dense layer's bound
/// (`layers::dense`'s `PACK_MIN_WEIGHTS`).
const PACK_MIN_WEIGHTS: usize = 1 << 16;

/// Rows per block of a small kernel's exact f32 product.
const EXACT_BLOCK: usize = 64;

thread_local! {
    /// A block's quantized rows for the exact f32 product (grown, never shrunk).
    static EXACT_ROWS: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `f` on this thread's buffer of at least `len` values (taken out while in use).
fn with_block_buffer(len: usize, f: impl FnOnce(&mut [f32])) {
    let mut buffer = EXACT_ROWS.with(|b| std::mem::take(&mut *b.borrow_mut()));
    if buffer.len() < len {
        buffer.resize(len, 0.0);
    }
    f(&mut buffer);
    EXACT_ROWS.with(|b| *b.borrow_mut() = buffer);
}

/// How the forward pass reads the tensor.
#[derive(Clone, Debug)]
enum Form {
    /// Dense with its inputs quantized: the kernel packed for the int8 product, and for a
    /// small one (`SMALL_WEIGHTS`, k ≤ `EXACT_F32_K`) its values as f32 too.
    Dynamic(PackedS8, Option<Vec<f32>>),
    /// Dense, weight-only: the kernel's values as f32, for the f32 product, and for a large
    /// kernel those values packed once in the GEMM's panel layout (as the float Dense layer
    /// keeps its own, `Layer::PACKED`), rather than packed again at every call.
    WeightOnly(Vec<f32>, Option<crate::params::AlignedBuf>),
    /// Embedding: rows read in place.
    Table,
}

impl Int8Weights {
    /// Quantizes a float tensor (`rows × cols`, row-major) as Keras' `quantize("int8")` does for
    /// a layer of kind `kind`; `inputs` says whether a Dense layer quantizes its inputs too.
    /// `None` for a layer Keras does not quantize, or a tensor of another size.
    pub fn quantize(
        kind: Quantize,
        float: &[f32],
        rows: usize,
        cols: usize,
        inputs: bool,
    ) -> Option<Int8Weights> {
        if float.len() != rows * cols || rows == 0 || cols == 0 {
            return None;
        }
        let (values, scale) = match kind {
            Quantize::No => return None,
            Quantize::Kernel => quantize_kernel(float, rows, cols),
            Quantize::Embeddings => {
                let mut q = vec![0i8; rows * cols];
                let mut scale = vec![0.0f32; rows];
                // Portable: the table is quantized once, and every path gives the same bits.
                quantize_rows(Int8Path::Portable, float, cols, &mut q, &mut scale);
                (q, scale)
            }
        };
        Self::from_parts(kind, values, scale, rows, cols, inputs)
    }

    /// The weights from Keras' int8 tensor and its scales (as a file holds them). `None` when
    /// the sizes do not fit `rows × cols` and the kind's scale count, or for `Quantize::No`.
    pub fn from_parts(
        kind: Quantize,
        values: Vec<i8>,
        scale: Vec<f32>,
        rows: usize,
        cols: usize,
        inputs: bool,
    ) -> Option<Int8Weights> {
        let scales = match kind {
            Quantize::No => return None,
            Quantize::Kernel => cols,
            Quantize::Embeddings => rows,
        };
        if values.len() != rows * cols || scale.len() != scales || rows == 0 || cols == 0 {
            return None;
        }
        let form = match kind {
            Quantize::Kernel if inputs => {
                if rows > crate::kernels::int8::MAX_K {
                    return None;
                }
                let small = (rows <= EXACT_F32_K && rows * cols <= SMALL_WEIGHTS)
                    .then(|| values.iter().map(|&v| f32::from(v)).collect());
                Form::Dynamic(PackedS8::pack(&values, rows, cols), small)
            }
            Quantize::Kernel => {
                let kernel: Vec<f32> = values.iter().map(|&v| f32::from(v)).collect();
                let packs = (rows * cols >= PACK_MIN_WEIGHTS && cols > 1).then(|| {
                    use crate::kernels::gemm::{pack_b_once, packed_len_bound, MatRef};
                    let mut packs = crate::params::AlignedBuf::zeros(packed_len_bound(rows, cols));
                    pack_b_once(
                        crate::kernels::isa::Isa::current(),
                        MatRef::row_major(&kernel, rows, cols),
                        packs.as_mut_slice(),
                    );
                    packs
                });
                Form::WeightOnly(kernel, packs)
            }
            _ => Form::Table,
        };
        Some(Int8Weights {
            values,
            rows,
            cols,
            scale,
            form,
        })
    }

    /// Keras' int8 tensor, row-major.
    pub fn values(&self) -> &[i8] {
        &self.values
    }

    /// Keras' `kernel_scale` or `embeddings_scale`.
    pub fn scale(&self) -> &[f32] {
        &self.scale
    }

    /// Whether a Dense layer quantizes its inputs (false: weight-only, or an Embedding).
    pub fn quantizes_inputs(&self) -> bool {
        matches!(self.form, Form::Dynamic(..))
    }

    /// The float values the int8 tensor stands for (`q / scale`, Keras' dequantization), in
    /// the layout of the float layer's weight.
    pub fn dequantized(&self) -> Vec<f32> {
        let cols = self.cols.max(1);
        let by_column = !matches!(self.form, Form::Table);
        self.values
            .chunks_exact(cols)
            .zip(0..)
            .flat_map(|(row, r)| {
                row.iter().zip(0..).map(move |(&v, c)| {
                    let s = if by_column { c } else { r };
                    (v, s)
                })
            })
            .map(|(v, s)| f32::from(v) / self.scale.get(s).copied().unwrap_or(1.0))
            .collect()
    }

    /// Dense's forward pass over `rows` rows of `x` (`rows × in`): `out` = act(z), and `pre`,
    /// when given, = z (the logits a loss reads). `bias` is the layer's, if it has one.
    ///
    /// # Panics
    /// If `x`, `out`, `pre` or `bias` do not have this kernel's sizes for `rows` rows (the
    /// Dense layer that holds it always passes its own).
    #[allow(clippy::too_many_arguments)]
    pub fn dense_forward<A: Activation>(
        &self,
        act: &A,
        x: &[f32],
        rows: usize,
        bias: Option<&[f32]>,
        out: &mut [f32],
        pre: Option<&mut [f32]>,
    ) {
        let n = self.cols;
        let finish = |_first: usize, block: &mut [f32]| {
            for row in block.chunks_exact_mut(n) {
                if A::ROW_WISE {
                    act.apply_row(row);
                } else {
                    act.apply_slice(row);
                }
            }
        };
        match pre {
            // z first (no activation), then the activation on a copy.
            Some(pre) => {
                self.pre_activation(x, rows, bias, pre, &|_, _| {});
                self.poison_non_finite_rows(x, pre);
                out.copy_from_slice(pre);
                finish(0, out);
            }
            None => {
                self.pre_activation(x, rows, bias, out, &finish);
                self.poison_non_finite_rows(x, out);
            }
        }
    }

    /// A row with a NaN or infinity (an earlier layer overflowed) quantizes to arbitrary
    /// values, which would hide the overflow: its outputs become NaN, as the float product's
    /// would, and `predict`'s output check names it. Weight-only products are float ones,
    /// which carry it themselves.
    fn poison_non_finite_rows(&self, x: &[f32], out: &mut [f32]) {
        // One vectorised scan of the whole input; rows only when it finds something.
        if !matches!(self.form, Form::Dynamic(..)) || crate::error::first_non_finite(x).is_none() {
            return;
        }
        for (row, y) in x
            .chunks_exact(self.rows.max(1))
            .zip(out.chunks_exact_mut(self.cols.max(1)))
        {
            if !row.iter().all(|v| v.is_finite()) {
                y.fill(f32::NAN);
            }
        }
    }

    /// z = x·W/scale + b (Keras' dequantized product) into `z`, then `finish` on blocks of rows.
    fn pre_activation(
        &self,
        x: &[f32],
        rows: usize,
        bias: Option<&[f32]>,
        z: &mut [f32],
        finish: &(dyn Fn(usize, &mut [f32]) + Sync),
    ) {
        let (k, n) = (self.rows, self.cols);
        match &self.form {
            Form::Dynamic(_, Some(kernel)) => {
                // A small kernel: the f32 product of the quantized rows, exact (see
                // `EXACT_F32_K`), a block of rows at a time in this thread's buffer.
                with_block_buffer(EXACT_BLOCK * k, |xq| {
                    let mut scales = [0.0f32; EXACT_BLOCK];
                    for (b, (x, z)) in x
                        .chunks(EXACT_BLOCK * k)
                        .zip(z.chunks_mut(EXACT_BLOCK * n))
                        .enumerate()
                    {
                        let r = x.len() / k;
                        let xq = xq.get_mut(..r * k).unwrap_or_default();
                        let scales = scales.get_mut(..r).unwrap_or_default();
                        quantize_rows_f32(x, k, xq, scales);
                        dense_forward_fused(
                            xq,
                            kernel,
                            None,
                            &Linear,
                            DenseDims { rows: r, k, n },
                            z,
                            None,
                            None,
                        );
                        dequantize_rows(z, scales, &self.scale, bias);
                        finish(b * EXACT_BLOCK, z);
                    }
                });
            }
            Form::Dynamic(kernel, _) => dense_s8(
                Int8Path::current(),
                x,
                rows,
                DenseS8 {
                    kernel,
                    kernel_scale: &self.scale,
                    bias,
                },
                z,
                finish,
            ),
            Form::WeightOnly(kernel, packs) => {
                dense_forward_fused(
                    x,
                    kernel,
                    None,
                    &Linear,
                    DenseDims { rows, k, n },
                    z,
                    None,
                    packs.as_ref().map(crate::params::AlignedBuf::as_slice),
                );
                dequantize_weight_only(z, &self.scale, bias);
                finish(0, z);
            }
            // A table is never a Dense kernel (the layer asked for `Quantize::Kernel`).
            Form::Table => z.fill(f32::NAN),
        }
    }

    /// Dense's forward pass over one row, monomorphized for a layer of `K` inputs and `N`
    /// outputs: `y` = act(z). A small kernel's int8 product runs as the fixed-size f32 GEMV
    /// over the quantized row and the kernel's int8 values, whose sums are exact integers (k ≤
    /// 1024), so `y` is the same bits as the int8 kernels give in `predict`; weight-only runs
    /// the same GEMV over the float row. Larger kernels take [`dense_forward`](Self::dense_forward).
    pub fn dense_one<const K: usize, const N: usize, A: Activation>(
        &self,
        act: &A,
        x: &[f32],
        bias: Option<&[f32]>,
        y: &mut [f32],
    ) {
        let isa = crate::kernels::isa::Isa::current();
        let row_scale = match &self.form {
            Form::Dynamic(_, Some(kernel)) if K == self.rows && N == self.cols => {
                // The quantized row in this thread's buffer (a `[f32; K]` would reserve K values
                // of stack in every layer's `predict_one`, and zeroing a fixed one costs more
                // than the row).
                let mut s = [0.0f32];
                with_block_buffer(K, |buffer| {
                    let q = buffer.get_mut(..K).unwrap_or_default();
                    quantize_rows_f32(x, K, q, &mut s);
                    crate::kernels::gemm::gemv_fixed::<K, N, Linear>(
                        isa, q, kernel, None, &Linear, y,
                    );
                });
                if crate::error::first_non_finite(x).is_some() {
                    y.fill(f32::NAN);
                    return;
                }
                let [s] = s;
                Some(s)
            }
            Form::WeightOnly(kernel, _) if K == self.rows && N == self.cols => {
                crate::kernels::gemm::gemv_fixed::<K, N, Linear>(isa, x, kernel, None, &Linear, y);
                None
            }
            _ => return self.dense_forward(act, x, 1, bias, y, None),
        };
        // Keras' epilogue, as `kernels::int8::Dequant` writes it: acc / (row · column scale)
        // (weight-only: acc / column scale), then the bias.
        match row_scale {
            Some(rs) => dequantize_rows(y, &[rs], &self.scale, bias),
            None => dequantize_weight_only(y, &self.scale, bias),
        }
        if A::ROW_WISE {
            act.apply_row(y);
        } else {
            act.apply_slice(y);
        }
    }

    /// Embedding's row for `id`: `int8 / embeddings_scale[id]` into `y` (`cols` values).
    /// Returns false (and leaves `y`) for an id outside the table.
    pub fn embed(&self, id: usize, y: &mut [f32]) -> bool {
        let (Some(row), Some(&s)) = (
            self.values.get(id * self.cols..(id + 1) * self.cols),
            self.scale.get(id),
        ) else {
            return false;
        };
        y.iter_mut()
            .zip(row)
            .for_each(|(y, &q)| *y = f32::from(q) / s);
        true
    }
}

crate::multiversion! {
    /// Keras' dequantizing epilogue on rows of `scale.len()` values, one row scale each, as
    /// `kernels::int8::Dequant` writes it: `z / (row_scale · scale) + bias`, each operation in
    /// f32 in Keras' order; compiled per instruction set, a block per call.
    fn dequantize_rows(z: &mut [f32], row_scales: &[f32], scale: &[f32], bias: Option<&[f32]>) {
        for (z, &rs) in z.chunks_exact_mut(scale.len().max(1)).zip(row_scales) {
            match bias {
                Some(b) => z
                    .iter_mut()
                    .zip(scale)
                    .zip(b)
                    .for_each(|((v, &c), &b)| *v = *v / (rs * c) + b),
                None => z.iter_mut().zip(scale).for_each(|(v, &c)| *v /= rs * c),
            }
        }
    }
}

crate::multiversion! {
    /// Weight-only Dense's epilogue on rows of `scale.len()` values: `z / scale + bias`.
    fn dequantize_weight_only(z: &mut [f32], scale: &[f32], bias: Option<&[f32]>) {
        for z in z.chunks_exact_mut(scale.len().max(1)) {
            match bias {
                Some(b) => z
                    .iter_mut()
                    .zip(scale)
                    .zip(b)
                    .for_each(|((v, &s), &b)| *v = *v / s + b),
                None => z.iter_mut().zip(scale).for_each(|(v, &s)| *v /= s),
            }
        }
    }
}

/// A quantized model's int8 weights, by layer index (`None` for a layer that stays float): what
/// the generated chain hands each layer as `Weights::int8`.
#[derive(Clone, Debug, Default)]
pub struct Int8Layers(Vec<Option<Int8Weights>>);

/// No layer quantized: a float model's passes.
static NONE: Int8Layers = Int8Layers(Vec::new());

impl Int8Layers {
    /// No layer quantized (a float model's forward pass).
    pub fn none() -> &'static Int8Layers {
        &NONE
    }

    /// One entry per layer (made by `Quantized`, from the model's own spec: each entry's
    /// sizes are its layer's, which the layers' passes rely on).
    pub(crate) fn new(layers: Vec<Option<Int8Weights>>) -> Self {
        Int8Layers(layers)
    }

    /// Layer `i`'s int8 weights, if it is quantized.
    #[inline]
    pub fn layer(&self, i: usize) -> Option<&Int8Weights> {
        self.0.get(i).and_then(Option::as_ref)
    }
}
