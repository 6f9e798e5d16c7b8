//! Keras' recurrent layers, `SimpleRNN`, `LSTM` and `GRU` (both `reset_after` forms), on one
//! driver: the input projection of every step as one product (inference: each step's just
//! before it), then one recurrent product per step over the whole batch (or a block of its rows
//! per thread), then the gates row by row. The backward pass runs back through
//! time with the same products transposed (over 64 rows or more, in fixed blocks of 32 rows on
//! the threads, each with its own dR, summed in block order: `back_through_blocks`), and ends
//! with one product each for dW and dX.
//!
//! The math is Keras 3's (`keras/src/layers/rnn/`): gates in Keras' order (LSTM i, f, c, o; GRU
//! z, r, h), the kernel `(F, G·U)`, the recurrent kernel `(U, G·U)`, the bias `(G·U)`, or
//! `(2, 3·U)` for GRU with `reset_after` (an input and a recurrent bias). A masked step carries
//! the state on and repeats the previous output, as Keras' `backend.rnn` does without
//! `zero_output_for_mask`, or outputs zero with it; `go_backwards` reads the steps last to first and returns the outputs
//! in that order.
//!
//! What a pass keeps on its scratch (all per batch, `rows` sequences of `T` steps):
//! - `z`, `rows × T × G·U` at each step's input position: first the input projection, then the
//!   gates' total pre-activations; the backward pass overwrites it with their gradients, which
//!   give dW, db and dX in one product each;
//! - `gates`, `rows × T × G·U` beside `z`: the gates' activations, computed vectorised and
//!   read back by the backward pass instead of recomputed;
//! - (inference, GRU without reset_after aside: `z` and `gates` are `max(rows, T) × G·U`
//!   (`step_rows`): over several rows they hold only the current step, projected just before
//!   it, and one row's pass projects all T steps up front; the LSTM and GRU steps store only
//!   what their cells' second loops read (the LSTM's o gate; GRU's update gate, and its
//!   candidate's total over the projection in `z`), SimpleRNN its totals; GRU's `extra` is
//!   not written;)
//! - `hs`, `rows × T × U`: the output after each processed step (the layer's output sequence);
//! - `extra`, `rows × T × U`: the LSTM's cell state; GRU's recurrent part of its candidate
//!   (`reset_after`) or `r·h` (`reset_after = false`);
//! - `tmp`, `rows × G·U`: one step's recurrent product (backward: its gradient);
//! - `carry`, `2 × rows × U`: dL/dh and the LSTM's dL/dc flowing to the previous step;
//! - `square` (`U × U`, GRU without reset_after's dR_h), `row` (`G·U`, the LSTM's tanh(c) in the
//!   backward pass) and `packed`: the recurrent kernel's GEMM panels, packed once per pass
//!   (R forward, Rᵀ backward) instead of once per step. One row at inference takes
//!   `one_row.rs` (the model's packs of R in blocks of units, the product and the cell block
//!   by block) where the step has them, else the GEMV and then the cell.
//!
//! A training pass with dropout keeps its masks after these parts (`dropout.rs`). A stream's
//! step runs the same forward code from the carried state (`run(.., initial)`).
//!
//! Activations are applied as act(z) + z·0, as every kernel of the crate applies them, so an
//! overflow inside the recurrence reaches the output as NaN instead of saturating away.
//!
//! Indexing: every buffer is cut from the scratch, parameters and pass slices the model sized
//! from this layer's own consts (`scratch_len`, `PARAMS`, the widths), and the raw passes check
//! their tape before any layer runs; as the `Layer` trait documents, a direct call with other
//! lengths panics on an index rather than reading out of bounds.
#![allow(clippy::indexing_slicing)]

mod dropout;
mod one_row;

use super::{head, head_mut, part, weight, Backward, Forward, Layer, Step, TrainingPass, Weights};
use crate::kernels::activations::{Activation, Linear};
use crate::kernels::dense::{dense_forward_fused, DenseDims};
use crate::kernels::gemm::{
    gemm, gemm_fused_packed, gemv, pack_b_once, packed_len_bound, Epilogue, MatRef, PackedB,
};
use crate::kernels::isa::Isa;
use crate::params::InitRng;
use crate::spec::WeightSpec;
use std::cell::RefCell;

/// `KIND` of a [`Recurrent`] layer: Keras' `SimpleRNN`.
pub const SIMPLE_RNN: u8 = 0;
/// `KIND`: Keras' `LSTM`.
pub const LSTM: u8 = 1;
/// `KIND`: Keras' `GRU` with `reset_after = true` (Keras 3's default; bias `(2, 3·U)`).
pub const GRU: u8 = 2;
/// `KIND`: Keras' `GRU` with `reset_after = false` (older models; bias `(3·U)`).
pub const GRU_V1: u8 = 3;

/// A recurrent layer of kind `KIND` over (T, F) sequences with `U` units: `activation` A,
/// `recurrent_activation` RA (unused by SimpleRNN), `return_sequences` SEQ, `go_backwards`
/// BACK, `use_bias` BIAS. Output (T, U) with SEQ, else (U).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Recurrent<
    const KIND: u8,
    const T: usize,
    const F: usize,
    const U: usize,
    A: Activation,
    RA: Activation,
    const SEQ: bool,
    const BACK: bool,
    const BIAS: bool = true,
> {
    /// `activation`.
    pub activation: A,
    /// `recurrent_activation` (the gates').
    pub recurrent_activation: RA,
    /// LSTM's `unit_forget_bias`: the forget gate's bias starts at 1.
    pub unit_forget_bias: bool,
    /// Keras' `zero_output_for_mask`: with `return_sequences`, a masked step's output is zero
    /// instead of the previous output (the state still carries on). Bidirectional sets it on
    /// both its layers when they return sequences.
    pub zero_output_for_mask: bool,
    /// `dropout`: the rate of the input features each gate's kernel loses in training.
    pub dropout: f64,
    /// `recurrent_dropout`: the rate of the previous output each gate's recurrent kernel loses.
    pub recurrent_dropout: f64,
    /// `seed` of the masks; `None` draws from the model's seed, as Dropout does.
    pub seed: Option<u64>,
    /// Keeps this layer's masks apart from every other layer's (its place in the model).
    pub salt: u64,
}

/// A layer's weights: kernel, recurrent kernel, input bias, recurrent bias (GRU `reset_after`).
#[derive(Clone, Copy)]
struct Split<'a> {
    kernel: &'a [f32],
    recurrent: &'a [f32],
    bias: Option<&'a [f32]>,
    recurrent_bias: Option<&'a [f32]>,
}

/// The scratch of a pass, cut into its parts.
struct Parts<'a> {
    z: &'a mut [f32],
    /// `rows × T × G·U` (inference: see `step_rows`), beside `z`: the gates' activations (LSTM
    /// i, f, g, o; GRU z, r and the candidate), which the backward pass reads instead of
    /// recomputing them.
    gates: &'a mut [f32],
    hs: &'a mut [f32],
    extra: &'a mut [f32],
    tmp: &'a mut [f32],
    carry: &'a mut [f32],
    /// `U × U`: GRU (`reset_after = false`)'s step gradient of R_h.
    square: &'a mut [f32],
    /// `G·U`: one row's temporary (the LSTM's tanh(c) in the backward pass).
    row: &'a mut [f32],
    /// `PACKED_LEN`: the recurrent kernel's GEMM panels for this pass.
    packed: &'a mut [f32],
    /// Training over `bptt_block_rows` blocks: each block's own dR, recurrent-bias gradient
    /// and one-row temporary (`BLOCK_PART` each), summed in block order after the blocks.
    blocks: &'a mut [f32],
}

/// What every block of rows of a forward pass reads: the weights, and the recurrent kernel's
/// GEMM panels (R, and R_h apart for GRU without reset_after) when the pass packed them.
struct Shared<'a> {
    split: Split<'a>,
    /// Whether the pass keeps every step's `z` and `gates` (training: the backward pass reads
    /// them); inference over several rows projects each step just before it instead.
    keep_steps: bool,
    packed_r: Option<PackedB<'a>>,
    packed_h: Option<PackedB<'a>>,
    /// The model's packs of this layer (`Layer::PACKED`: `one_row`'s blocks), empty on a path
    /// without them.
    one_row: &'a [f32],
}

/// A block of `rows` rows of a forward pass: their input sequences, mask (empty: none) and a
/// stream's carried state, their rows of the scratch parts that keep rows (`z`, `gates`, `hs`,
/// `extra`; `tmp`, one step's product) and their output rows.
struct Block<'a> {
    rows: usize,
    x: &'a [f32],
    mask: &'a [f32],
    initial: Option<&'a [f32]>,
    z: &'a mut [f32],
    gates: &'a mut [f32],
    hs: &'a mut [f32],
    extra: &'a mut [f32],
    tmp: &'a mut [f32],
    y: &'a mut [f32],
}

thread_local! {
    /// The scratch of a `forward_one`, grown once per thread.
    static ONE_ROW: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// C = A·B (or C += A·B), B read from `packed` when given (bit-identical either way).
fn product(
    isa: Isa,
    a: MatRef<'_>,
    b: MatRef<'_>,
    packed: Option<PackedB<'_>>,
    c: &mut [f32],
    accumulate: bool,
) {
    let epilogue = Epilogue {
        bias: None,
        activation: &Linear,
        pre_activation: None,
    };
    gemm_fused_packed(isa, a, b, packed, c, accumulate, epilogue);
}

/// `gates` = act(`z`), eight lanes at a time, as act(z) + z·0: NaN for a non-finite z (see the
/// module docs).
#[inline(always)]
fn activated<A: Activation>(a: &A, gates: &mut [f32], z: &[f32]) {
    gates.copy_from_slice(z);
    a.apply_slice(gates);
}

/// One LSTM step of one row, in two passes over the units: the gates' total pre-activations
/// z += rec (kept in `z`: the backward pass reads them), their activations into `gates` (i, f,
/// g, o; kept for the backward pass) and the cell state c = f·c₋₁ + i·g (from a zero c₋₁ at
/// the start, f·0 kept: NaN stays NaN); then h = o·act(c). Every activation is applied as
/// [`Activation::fire`] (act(z) + z·0). Two loops rather than one per operation (each row's
/// 4·U values are read and written once, and the four gates' activations overlap) or one in
/// all (act(c) waits on the gates: one chain per iteration too long for iterations to overlap;
/// splitting made a batch of 64 3 % faster). Slices cut to one length in a function of its
/// own, so the loops vectorise. Inference (`keep` false) stores neither the totals nor the
/// gates but o, which the second loop reads.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn lstm_cell<A: Activation, RA: Activation>(
    keep: bool,
    a: &A,
    ra: &RA,
    z: &mut [f32],
    rec: &[f32],
    gates: &mut [f32],
    c: &mut [f32],
    c_prev: Option<&[f32]>,
    h: &mut [f32],
) {
    let u = h.len();
    let (zi, rest) = z.split_at_mut(u);
    let (zf, rest) = rest.split_at_mut(u);
    let (zg, zo) = rest.split_at_mut(u);
    let (gi, rest) = gates.split_at_mut(u);
    let (gf, rest) = rest.split_at_mut(u);
    let (gg, go) = rest.split_at_mut(u);
    let (ri, rest) = rec.split_at(u);
    let (rf, rest) = rest.split_at(u);
    let (rg, ro) = rest.split_at(u);
    lstm_units(
        keep,
        a,
        ra,
        [zi, zf, zg, zo],
        [ri, rf, rg, ro],
        [gi, gf, gg, go],
        c,
        c_prev,
        h,
    );
}

/// [`lstm_cell`] over units given gate by gate (i, f, g, o): `z`'s input projections, `rec`'s
/// recurrent products and `gates`, each at least `h.len()` long. One row's step
/// ([`one_row`]) runs it on a block of units at a time.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn lstm_units<A: Activation, RA: Activation>(
    keep: bool,
    a: &A,
    ra: &RA,
    z: [&mut [f32]; 4],
    rec: [&[f32]; 4],
    gates: [&mut [f32]; 4],
    c: &mut [f32],
    c_prev: Option<&[f32]>,
    h: &mut [f32],
) {
    let u = h.len();
    let [zi, zf, zg, zo] = z.map(|z| &mut z[..u]);
    let [ri, rf, rg, ro] = rec.map(|r| &r[..u]);
    let [gi, gf, gg, go] = gates.map(|g| &mut g[..u]);
    let c = &mut c[..u];
    // One loop per case, the choices made before it. Left inside, LLVM compiled them into
    // masked stores, and inference's all-false masks on `z` and `gates` pages it never writes
    // cost a microcode assist per store: 64 LSTM streams stepping together ran 5× slower.
    macro_rules! units {
        ($j:ident, $keep:literal, $c_prev:expr) => {
            for $j in 0..u {
                let (ti, tf) = (zi[$j] + ri[$j], zf[$j] + rf[$j]);
                let (tg, to) = (zg[$j] + rg[$j], zo[$j] + ro[$j]);
                let (i, f, g, o) = (ra.fire(ti), ra.fire(tf), a.fire(tg), ra.fire(to));
                if $keep {
                    (zi[$j], zf[$j], zg[$j], zo[$j]) = (ti, tf, tg, to);
                    (gi[$j], gf[$j], gg[$j]) = (i, f, g);
                }
                go[$j] = o;
                c[$j] = f * $c_prev + i * g;
            }
        };
    }
    match (keep, c_prev.map(|c_prev| &c_prev[..u])) {
        (true, Some(c_prev)) => units!(j, true, c_prev[j]),
        (true, None) => units!(j, true, 0.0),
        (false, Some(c_prev)) => units!(j, false, c_prev[j]),
        (false, None) => units!(j, false, 0.0),
    }
    // h = o·act(c) in a loop of its own. In the loop above, act(c) waits for a gate's
    // activation, so each iteration was one long chain (two exponentials and divisions deep),
    // more than the core's window holds two of; split, each loop's iterations overlap.
    for ((h, &c), &o) in h.iter_mut().zip(&*c).zip(&*go) {
        *h = a.fire(c) * o;
    }
}

/// One GRU (`reset_after`) step of one row, in two passes over the units as [`lstm_cell`]: the
/// update and reset gates' totals z += rec + b_rec (kept in `z`), the candidate's recurrent part
/// rec_h + b_rec,h into `extra` (the backward pass reads it), the candidate's total
/// z_h += r·extra, the gates' activations into `gates`; then the candidate ĥ and h = u·h₋₁ +
/// (1 − u)·ĥ (h₋₁ zero at the start). Inference (`keep` false) stores the update gate and the
/// candidate's total, which the second loop reads, and h (the split: a batch of 64 9 % faster).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn gru_cell<A: Activation, RA: Activation>(
    keep: bool,
    a: &A,
    ra: &RA,
    z: &mut [f32],
    rec: &[f32],
    recurrent_bias: Option<&[f32]>,
    gates: &mut [f32],
    extra: &mut [f32],
    h_prev: Option<&[f32]>,
    h: &mut [f32],
) {
    let u = h.len();
    let (zu, rest) = z.split_at_mut(u);
    let (zr, zh) = rest.split_at_mut(u);
    let (gu, rest) = gates.split_at_mut(u);
    let (gr, gh) = rest.split_at_mut(u);
    let (ru, rest) = rec.split_at(u);
    let (rr, rh) = rest.split_at(u);
    let bias = recurrent_bias.map(|b| [&b[..u], &b[u..2 * u], &b[2 * u..3 * u]]);
    gru_units(
        keep,
        a,
        ra,
        [zu, zr, zh],
        [ru, rr, rh],
        bias,
        [gu, gr, gh],
        extra,
        h_prev,
        h,
    );
}

/// [`gru_cell`] over units given gate by gate (update, reset, candidate), as [`lstm_units`].
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn gru_units<A: Activation, RA: Activation>(
    keep: bool,
    a: &A,
    ra: &RA,
    z: [&mut [f32]; 3],
    rec: [&[f32]; 3],
    recurrent_bias: Option<[&[f32]; 3]>,
    gates: [&mut [f32]; 3],
    extra: &mut [f32],
    h_prev: Option<&[f32]>,
    h: &mut [f32],
) {
    let u = h.len();
    let [zu, zr, zh] = z.map(|z| &mut z[..u]);
    let [ru, rr, rh] = rec.map(|r| &r[..u]);
    let [gu, gr, gh] = gates.map(|g| &mut g[..u]);
    let extra = &mut extra[..u];
    let bias = recurrent_bias.map(|b| b.map(|b| &b[..u]));
    let bias = bias.map(|[bu, br, bh]| (bu, br, bh));
    let h_prev = h_prev.map(|h| &h[..u]);
    // A loop with the stores and one without, as in `lstm_cell` (masked stores otherwise);
    // the candidate and h in a second loop, as there (the candidate waits on the reset gate).
    // The first loop leaves the update gate in `gu` and the candidate's total in `zh`.
    macro_rules! gates {
        ($keep:literal) => {
            for j in 0..u {
                let (bu, br, bh) =
                    bias.map_or((0.0, 0.0, 0.0), |(bu, br, bh)| (bu[j], br[j], bh[j]));
                let (tu, tr) = (zu[j] + (ru[j] + bu), zr[j] + (rr[j] + br));
                let e = rh[j] + bh;
                let (update, reset) = (ra.fire(tu), ra.fire(tr));
                if $keep {
                    (zu[j], zr[j], extra[j], gr[j]) = (tu, tr, e, reset);
                }
                (gu[j], zh[j]) = (update, zh[j] + reset * e);
            }
        };
    }
    macro_rules! outputs {
        ($j:ident, $keep:literal, $hp:expr) => {
            for $j in 0..u {
                let candidate = a.fire(zh[$j]);
                if $keep {
                    gh[$j] = candidate;
                }
                h[$j] = gu[$j] * $hp + (1.0 - gu[$j]) * candidate;
            }
        };
    }
    if keep {
        gates!(true);
    } else {
        gates!(false);
    }
    match (keep, h_prev) {
        (true, Some(hp)) => outputs!(j, true, hp[j]),
        (true, None) => outputs!(j, true, 0.0),
        (false, Some(hp)) => outputs!(j, false, hp[j]),
        (false, None) => outputs!(j, false, 0.0),
    }
}

/// An LSTM step's cell values for its backward pass, one row: c, c₋₁ and tanh(c).
struct LstmCell<'a> {
    c: &'a [f32],
    c_prev: &'a [f32],
    tanh_c: &'a [f32],
}

impl LstmCell<'_> {
    /// With dL/dh (`dh`, zeroed after) and dL/dc from the next step (`dc`, replaced by dL/dc₋₁),
    /// the gates' pre-activation gradients into `zs` (i, f, g, o), which held their
    /// pre-activations; `gates` their activations. A function of its own, slices cut to one
    /// length, so the compiler sees no aliasing and vectorises the loop.
    #[inline(always)]
    fn backward<A: Activation, RA: Activation>(
        &self,
        a: &A,
        ra: &RA,
        zs: &mut [f32],
        gates: &[f32],
        dh: &mut [f32],
        dc: &mut [f32],
    ) {
        let u = self.c.len();
        let (zi, rest) = zs.split_at_mut(u);
        let (zf, rest) = rest.split_at_mut(u);
        let (zg, zo) = rest.split_at_mut(u);
        let (i, rest) = gates.split_at(u);
        let (f, rest) = rest.split_at(u);
        let (g, o) = rest.split_at(u);
        let (zo, o) = (&mut zo[..u], &o[..u]);
        let (c, c_prev, tc) = (self.c, &self.c_prev[..u], &self.tanh_c[..u]);
        let (dh, dc) = (&mut dh[..u], &mut dc[..u]);
        for j in 0..u {
            let d_o = dh[j] * tc[j];
            let dcj = dc[j] + dh[j] * o[j] * a.derivative(c[j], tc[j]);
            let (di, dg, df) = (dcj * g[j], dcj * i[j], dcj * c_prev[j]);
            dc[j] = dcj * f[j];
            zi[j] = di * ra.derivative(zi[j], i[j]);
            zf[j] = df * ra.derivative(zf[j], f[j]);
            zg[j] = dg * a.derivative(zg[j], g[j]);
            zo[j] = d_o * ra.derivative(zo[j], o[j]);
            dh[j] = 0.0;
        }
    }
}

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
    /// Gates per unit: 1 (SimpleRNN), 4 (LSTM), 3 (GRU).
    pub const GATES: usize = match KIND {
        SIMPLE_RNN => 1,
        LSTM => 4,
        _ => 3,
    };
    const GU: usize = Self::GATES * U;
    const KERNEL: usize = F * Self::GU;
    const RECURRENT: usize = U * Self::GU;
    const BIAS_LEN: usize = if !BIAS {
        0
    } else if KIND == GRU {
        2 * Self::GU
    } else {
        Self::GU
    };

    /// The layer with these activations.
    pub const fn new(activation: A, recurrent_activation: RA, unit_forget_bias: bool) -> Self {
        Recurrent {
            activation,
            recurrent_activation,
            unit_forget_bias,
            zero_output_for_mask: false,
            dropout: 0.0,
            recurrent_dropout: 0.0,
            seed: None,
            salt: 0,
        }
    }

    /// The layer with Keras' `dropout` and `recurrent_dropout` (rates in [0, 1)), their
    /// `seed`, and `salt` (its place in the model) to keep its masks its own.
    pub const fn dropout(
        mut self,
        dropout: f64,
        recurrent_dropout: f64,
        seed: Option<u64>,
        salt: u64,
    ) -> Self {
        self.dropout = dropout;
        self.recurrent_dropout = recurrent_dropout;
        self.seed = seed;
        self.salt = salt;
        self
    }

    /// The layer with Keras' `zero_output_for_mask` set to `on`.
    pub const fn zero_output_for_mask(mut self, on: bool) -> Self {
        self.zero_output_for_mask = on;
        self
    }

    /// Whether processing step `s` of row `r` outputs zero: a masked step of a sequence
    /// output with `zero_output_for_mask`.
    #[inline(always)]
    fn zero_output(&self, mask: &[f32], r: usize, s: usize) -> bool {
        SEQ && self.zero_output_for_mask && Self::masked(mask, r, Self::position(s))
    }

    /// Scratch values for `rows` sequences, for a pass that keeps every step (training) or not.
    fn scratch_for(rows: usize, keep_steps: bool) -> usize {
        2 * Self::step_rows(rows, keep_steps) * Self::GU
            + rows * (2 * T * U + Self::GU + 2 * U)
            + U * U
            + Self::GU
            + Self::PACKED_LEN
            + if keep_steps {
                Self::bptt_blocks(rows) * Self::BLOCK_PART
            } else {
                0
            }
    }

    /// Rows per block of the backward pass: fixed (never the thread count), so dR, summed
    /// over the blocks in their order, has the same bits on any number of threads.
    const BPTT_BLOCK_ROWS: usize = 32;
    /// What each block of the backward pass keeps apart: dR, the recurrent bias' gradient and
    /// a one-row temporary.
    const BLOCK_PART: usize = Self::RECURRENT + 2 * Self::GU;

    /// Blocks the backward pass over `rows` sequences runs in: 0 (one pass over all rows)
    /// below two whole blocks, and for GRU without reset_after (its candidate's gradient keeps
    /// a `U × U` temporary of its own).
    fn bptt_blocks(rows: usize) -> usize {
        if rows >= 2 * Self::BPTT_BLOCK_ROWS && KIND != GRU_V1 && T > 0 && U > 0 {
            rows.div_ceil(Self::BPTT_BLOCK_ROWS)
        } else {
            0
        }
    }

    /// The `G·U`-wide rows `z` and `gates` hold: every step of every row for a pass that keeps
    /// them, and for GRU without reset_after; otherwise the one step inference over several
    /// rows projects at a time (`rows`), or the whole projection of one row (`T`) — the larger,
    /// so that the scratch of a tape made for more rows always holds a pass over fewer.
    fn step_rows(rows: usize, keep_steps: bool) -> usize {
        if keep_steps || KIND == GRU_V1 {
            rows * T
        } else {
            rows.max(T)
        }
    }

    /// The recurrent kernel packed once per pass for the GEMM (R, and R_h apart for GRU
    /// without reset_after), then Rᵀ for the backward pass: every step's product reads the
    /// same panels instead of packing them again.
    const PACKED_LEN: usize = packed_len_bound(U, Self::GU) + packed_len_bound(Self::GU, U);

    fn parts(scratch: &mut [f32], rows: usize, keep_steps: bool) -> Parts<'_> {
        let steps = Self::step_rows(rows, keep_steps) * Self::GU;
        let (z, rest) = scratch.split_at_mut(steps.min(scratch.len()));
        let (gates, rest) = rest.split_at_mut(steps.min(rest.len()));
        let (hs, rest) = rest.split_at_mut((rows * T * U).min(rest.len()));
        let (extra, rest) = rest.split_at_mut((rows * T * U).min(rest.len()));
        let (tmp, rest) = rest.split_at_mut((rows * Self::GU).min(rest.len()));
        let (carry, rest) = rest.split_at_mut((2 * rows * U).min(rest.len()));
        let (square, rest) = rest.split_at_mut((U * U).min(rest.len()));
        let (row, rest) = rest.split_at_mut(Self::GU.min(rest.len()));
        let (packed, rest) = rest.split_at_mut(Self::PACKED_LEN.min(rest.len()));
        let blocks = if keep_steps {
            head_mut(rest, Self::bptt_blocks(rows) * Self::BLOCK_PART)
        } else {
            &mut []
        };
        Parts {
            z,
            gates,
            hs,
            extra,
            tmp,
            carry,
            square,
            row,
            packed,
            blocks,
        }
    }

    /// The input position of processing step `s`.
    #[inline(always)]
    fn position(s: usize) -> usize {
        if BACK {
            T - 1 - s
        } else {
            s
        }
    }

    /// Values of a stream's state per row: h, and the LSTM's c after it.
    const STATE_WIDTH: usize = if KIND == LSTM { 2 * U } else { U };

    /// Row `r`'s h in a stream's state, if stepping from one.
    fn initial_h(initial: Option<&[f32]>, r: usize) -> Option<&[f32]> {
        initial.and_then(|st| st.get(r * Self::STATE_WIDTH..r * Self::STATE_WIDTH + U))
    }

    /// Row `r`'s LSTM c in a stream's state, if stepping from one.
    fn initial_c(initial: Option<&[f32]>, r: usize) -> Option<&[f32]> {
        match KIND {
            LSTM => initial
                .and_then(|st| st.get(r * Self::STATE_WIDTH + U..(r + 1) * Self::STATE_WIDTH)),
            _ => None,
        }
    }

    /// Whether row `r`'s step at input position `p` is masked out.
    #[inline(always)]
    fn masked(mask: &[f32], r: usize, p: usize) -> bool {
        mask.get(r * T + p).is_some_and(|&m| m == 0.0)
    }

    /// The weights in Keras' order.
    fn split(params: &[f32]) -> Split<'_> {
        Split {
            kernel: head(params, Self::KERNEL),
            recurrent: part(params, Self::KERNEL, Self::RECURRENT),
            bias: BIAS.then(|| part(params, Self::KERNEL + Self::RECURRENT, Self::GU)),
            recurrent_bias: (BIAS && KIND == GRU)
                .then(|| part(params, Self::KERNEL + Self::RECURRENT + Self::GU, Self::GU)),
        }
    }

    /// h after step `s - 1` as a `rows × U` view of `hs` (rows `T·U` apart).
    fn h_before(hs: &[f32], rows: usize, s: usize) -> MatRef<'_> {
        MatRef {
            data: hs.get((s - 1) * U..).unwrap_or_default(),
            rows,
            cols: U,
            rs: T * U,
            cs: 1,
        }
    }

    /// The gradient rows of step position `p` in `z` as a `rows × cols` view from column `from`.
    fn z_rows(z: &[f32], rows: usize, p: usize, from: usize, cols: usize) -> MatRef<'_> {
        MatRef {
            data: z.get(p * Self::GU + from..).unwrap_or_default(),
            rows,
            cols,
            rs: T * Self::GU,
            cs: 1,
        }
    }

    /// Columns `from..from + cols` of the recurrent kernel, as a `U × cols` view.
    fn r_cols(recurrent: &[f32], from: usize, cols: usize) -> MatRef<'_> {
        MatRef {
            data: recurrent.get(from..).unwrap_or_default(),
            rows: U,
            cols,
            rs: Self::GU,
            cs: 1,
        }
    }

    /// The forward pass over `rows` sequences: writes the scratch parts and the output.
    /// `training` draws the dropout masks, into the scratch after the parts. Without masks and
    /// with several threads, the rows are cut into blocks that sweep through time on their own
    /// threads (each part of the scratch keeps a row's values together, so a block's are one
    /// slice); a row's values do not depend on the rows beside it, so any cut gives the same
    /// bits.
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        weights: Weights<'_>,
        x: &[f32],
        mask: &[f32],
        rows: usize,
        scratch: &mut [f32],
        y: &mut [f32],
        training: Option<TrainingPass>,
        initial: Option<&[f32]>,
    ) {
        let isa = Isa::current();
        let split = Self::split(weights.params);
        let keep_steps = training.is_some();
        let (scratch, rest) =
            scratch.split_at_mut(Self::scratch_for(rows, keep_steps).min(scratch.len()));
        let Parts {
            z,
            gates,
            hs,
            extra,
            tmp,
            packed,
            ..
        } = Self::parts(scratch, rows, keep_steps);
        // Several rows over several steps: the recurrent kernel's panels, packed once for every
        // step and every block (one row takes `one_row` or the GEMV instead; a stream's single
        // step would pack it for one product).
        let rec_cols = if KIND == GRU_V1 { 2 * U } else { Self::GU };
        let (packed_r, packed_h) =
            packed.split_at_mut(packed_len_bound(U, Self::GU).min(packed.len()));
        let packs = rows > 1 && T > 1;
        let packed_r =
            packs.then(|| pack_b_once(isa, Self::r_cols(split.recurrent, 0, rec_cols), packed_r));
        let packed_h = (packs && KIND == GRU_V1)
            .then(|| pack_b_once(isa, Self::r_cols(split.recurrent, 2 * U, U), packed_h));
        let shared = Shared {
            split,
            keep_steps,
            packed_r,
            packed_h,
            one_row: weights.packed,
        };
        let mut masks = training.filter(|_| self.drops()).map(|pass| {
            let mut masks = self.masks(rest, rows);
            self.draw(pass, rows, &mut masks);
            masks
        });
        let block = Block {
            rows,
            x,
            mask,
            initial,
            z,
            gates,
            hs,
            extra,
            tmp,
            y,
        };
        let block_rows = Self::block_rows(rows, crate::par::current_num_threads());
        match (masks.as_mut(), block_rows) {
            (None, Some(block_rows)) => self.sweep_blocks(&shared, block, block_rows),
            (masks, _) => self.sweep(&shared, block, masks),
        }
    }

    /// Rows per block when `rows` sequences sweep on `threads` threads: `None` for one block.
    /// Blocks of at least `MIN_BLOCK_ROWS`, and no block of one row (one row takes `one_row`
    /// or the GEMV instead of the GEMM, which need not round alike).
    fn block_rows(rows: usize, threads: usize) -> Option<usize> {
        const MIN_BLOCK_ROWS: usize = 8;
        let blocks = threads.min(rows / MIN_BLOCK_ROWS);
        if blocks < 2 || T == 0 || U == 0 {
            return None;
        }
        let mut block_rows = rows.div_ceil(blocks);
        while rows % block_rows == 1 {
            block_rows += 1;
        }
        Some(block_rows)
    }

    /// [`sweep`](Self::sweep) on blocks of `block_rows` rows, in parallel.
    fn sweep_blocks(&self, shared: &Shared<'_>, block: Block<'_>, block_rows: usize) {
        use crate::par::prelude::*;
        let (t, gu, u) = (T, Self::GU, U);
        let (rows, x, mask, initial) = (block.rows, block.x, block.mask, block.initial);
        let out = block.y.len() / rows.max(1);
        // `z` and `gates` keep every step of a block's rows, or (inference, blocks of two rows
        // or more) the one step it projects at a time: see `step_rows`.
        let steps = if shared.keep_steps || KIND == GRU_V1 {
            block_rows * t * gu
        } else {
            block_rows * gu
        };
        block
            .z
            .par_chunks_mut(steps)
            .zip(block.gates.par_chunks_mut(steps))
            .zip(block.hs.par_chunks_mut(block_rows * t * u))
            .zip(block.extra.par_chunks_mut(block_rows * t * u))
            .zip(block.tmp.par_chunks_mut(block_rows * gu))
            .zip(block.y.par_chunks_mut(block_rows * out))
            .enumerate()
            .for_each(|(b, (((((z, gates), hs), extra), tmp), y))| {
                let first = b * block_rows;
                let rows = block_rows.min(rows - first);
                let block = Block {
                    rows,
                    x: part(x, first * t * F, rows * t * F),
                    mask: if mask.is_empty() {
                        mask
                    } else {
                        part(mask, first * t, rows * t)
                    },
                    initial: initial
                        .map(|st| part(st, first * Self::STATE_WIDTH, rows * Self::STATE_WIDTH)),
                    z,
                    gates,
                    hs,
                    extra,
                    tmp,
                    y,
                };
                self.sweep(shared, block, None);
            });
    }

    crate::multiversion_method! {
        /// The pass over one block of rows: every step's input projection, then the steps, then
        /// the output. Compiled per instruction set: the gate loops are most of a batch's time
        /// after the products.
        fn sweep(
            &self,
            shared: &Shared<'_>,
            block: Block<'_>,
            masks: Option<&mut dropout::Masks<'_>>,
        ) => sweep_in, sweep_avx512, sweep_avx2;
    }

    /// [`sweep`](Self::sweep)'s body.
    #[inline(always)]
    fn sweep_in(
        &self,
        shared: &Shared<'_>,
        block: Block<'_>,
        mut masks: Option<&mut dropout::Masks<'_>>,
    ) {
        let isa = Isa::current();
        let (gu, u) = (Self::GU, U);
        let rec_cols = if KIND == GRU_V1 { 2 * U } else { Self::GU };
        let Split {
            kernel,
            recurrent,
            bias,
            recurrent_bias,
        } = shared.split;
        let (packed_r, packed_h) = (shared.packed_r, shared.packed_h);
        let Block {
            rows,
            x,
            mask,
            initial,
            z,
            gates,
            hs,
            extra,
            tmp,
            y,
        } = block;
        // Inference over several rows projects each step's input just before the step, into
        // the first rows × G·U values of `z` (and the gates into the first of `gates`), which
        // stay in cache; all T steps' projections up front are megabytes at batch 64, read back
        // from L3 one step at a time. Training keeps every step's for the backward pass. (GRU
        // without reset_after keeps its own layout: its candidate's second product reads it.)
        let keep = shared.keep_steps;
        let per_step = !keep && masks.is_none() && rows > 1 && T > 1 && KIND != GRU_V1;
        let z_at = |r: usize, p: usize| if per_step { r * gu } else { (r * T + p) * gu };
        // Otherwise every step's input projection, one product: z = x·W + b (at input
        // positions); with input dropout, one per gate.
        match masks.as_deref_mut().filter(|m| !m.input.is_empty()) {
            Some(m) => Self::project_masked(isa, x, kernel, bias, rows, z, m),
            None if per_step => {}
            None => {
                let dims = DenseDims {
                    rows: rows * T,
                    k: F,
                    n: gu,
                };
                dense_forward_fused(x, kernel, bias, &Linear, dims, z, None, None);
            }
        }
        let no_masks: &[f32] = &[];
        for s in 0..T {
            let p = Self::position(s);
            if per_step {
                // This step's rows of x (T·F apart) times W, plus b: the product the whole
                // pass's projection computes for these rows, so the same values.
                let x_p = MatRef {
                    data: x.get(p * F..).unwrap_or_default(),
                    rows,
                    cols: F,
                    rs: T * F,
                    cs: 1,
                };
                let epilogue = Epilogue {
                    bias,
                    activation: &Linear,
                    pre_activation: None,
                };
                let w = MatRef::row_major(kernel, F, gu);
                gemm_fused_packed(isa, x_p, w, None, head_mut(z, rows * gu), false, epilogue);
            }
            // The recurrent product of the state so far (zero before the first step).
            let tmp = head_mut(tmp, rows * rec_cols);
            let no_recurrent_masks = masks.as_deref().is_none_or(|m| m.recurrent.is_empty());
            let previous = match (s, initial) {
                (0, Some(initial)) => initial.get(..u),
                (0, None) => None,
                _ => hs.get((s - 1) * u..s * u),
            };
            let one_row = rows == 1 && !keep && no_recurrent_masks && !Self::masked(mask, 0, p);
            if let (true, LSTM | GRU, Some(_), false) =
                (one_row, KIND, previous, shared.one_row.is_empty())
            {
                // One row at inference: the product and the cell block by block (`one_row`).
                self.one_row_step(isa, shared, s, z_at(0, p), z, gates, hs, extra, initial);
                continue;
            }
            if let (1, true, true, Some(h)) = (rows, rec_cols == gu, no_recurrent_masks, previous) {
                // One row without the model's packs (inside Bidirectional), in training or with
                // a masked neighbour step: the recurrent kernel streams through once per step,
                // a GEMV (the bound is reading it, not the multiply-adds).
                gemv(isa, h, recurrent, None, tmp);
            } else if let (0, Some(initial)) = (s, initial) {
                // A stream's step: the state it carried in (h first in each row's state).
                let h0 = MatRef {
                    data: initial,
                    rows,
                    cols: u,
                    rs: Self::STATE_WIDTH,
                    cs: 1,
                };
                gemm(isa, h0, Self::r_cols(recurrent, 0, rec_cols), tmp, false);
            } else if s == 0 {
                tmp.fill(0.0);
            } else if let Some(m) = masks.as_deref_mut().filter(|m| !m.recurrent.is_empty()) {
                Self::recurrent_masked(isa, recurrent, hs, rows, s, tmp, rec_cols, m);
            } else {
                product(
                    isa,
                    Self::h_before(hs, rows, s),
                    Self::r_cols(recurrent, 0, rec_cols),
                    packed_r,
                    tmp,
                    false,
                );
            }
            let rec_masks: &[f32] = masks.as_deref().map_or(no_masks, |m| &*m.recurrent);
            for r in 0..rows {
                let at = (r * T + s) * u;
                let (before, now) = hs.split_at_mut(at);
                let h_prev = if s == 0 {
                    Self::initial_h(initial, r)
                } else {
                    before.get(at - u..)
                };
                let Some(h) = now.get_mut(..u) else { continue };
                let (ex_before, ex_now) = extra.split_at_mut(at);
                let ex_prev = if s == 0 {
                    Self::initial_c(initial, r)
                } else {
                    ex_before.get(at - u..)
                };
                let Some(ex) = ex_now.get_mut(..u) else {
                    continue;
                };
                if Self::masked(mask, r, p) {
                    // Keras: the state goes on unchanged and the output repeats the last one.
                    match h_prev {
                        Some(prev) => h.copy_from_slice(&prev[..u]),
                        None => h.fill(0.0),
                    }
                    match ex_prev {
                        Some(prev) if KIND == LSTM => ex.copy_from_slice(&prev[..u]),
                        _ => ex.fill(0.0),
                    }
                    continue;
                }
                let zs = &mut z[z_at(r, p)..][..gu];
                let gs = &mut gates[z_at(r, p)..][..gu];
                let rec = &tmp[r * rec_cols..][..rec_cols];
                let hp = |j: usize| h_prev.map_or(0.0, |h| h[j]);
                let (ra, a) = (&self.recurrent_activation, &self.activation);
                match KIND {
                    SIMPLE_RNN => {
                        for ((h, z), rec) in h.iter_mut().zip(zs.iter_mut()).zip(rec) {
                            *z += rec;
                            *h = *z;
                        }
                        a.apply_slice(h);
                    }
                    LSTM => lstm_cell(keep, a, ra, zs, rec, gs, ex, ex_prev, h),
                    GRU => gru_cell(keep, a, ra, zs, rec, recurrent_bias, gs, ex, h_prev, h),
                    _ => {
                        // GRU without reset_after: r·h goes through the candidate's kernel.
                        for j in 0..2 * u {
                            zs[j] += rec[j];
                        }
                        activated(ra, &mut gs[..2 * u], &zs[..2 * u]);
                        for j in 0..u {
                            ex[j] =
                                gs[u + j] * hp(j) * Self::recurrent_mask(rec_masks, 2, rows, r, j);
                        }
                    }
                }
            }
            if KIND == GRU_V1 {
                self.gru_v1_candidate(
                    isa, recurrent, packed_h, rows, s, z, gates, hs, extra, tmp, mask, initial,
                );
            }
        }
        // The output: the whole (processed-order) sequence, or the last state (the initial,
        // zero state for a model made for sequences of no steps).
        if T == 0 {
            y.fill(0.0);
            return;
        }
        for (r, out) in y.chunks_exact_mut(if SEQ { T * u } else { u }).enumerate() {
            let from = if SEQ { r * T * u } else { (r * T + T - 1) * u };
            out.copy_from_slice(&hs[from..][..out.len()]);
            if SEQ && self.zero_output_for_mask {
                for (s, step) in out.chunks_exact_mut(u).enumerate() {
                    if self.zero_output(mask, r, s) {
                        step.fill(0.0);
                    }
                }
            }
        }
    }

    /// Step `s` of one row at inference (LSTM, GRU with `reset_after`), from the h (and c)
    /// before it: [`one_row`]'s product and cell, into `hs` (and the LSTM's `extra`).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn one_row_step(
        &self,
        isa: Isa,
        shared: &Shared<'_>,
        s: usize,
        z_at: usize,
        z: &mut [f32],
        gates: &mut [f32],
        hs: &mut [f32],
        extra: &mut [f32],
        initial: Option<&[f32]>,
    ) {
        let (gu, u) = (Self::GU, U);
        let at = s * u;
        let (before, now) = hs.split_at_mut(at);
        let (ex_before, ex_now) = extra.split_at_mut(at);
        let (h_prev, c_prev) = match s {
            0 => (Self::initial_h(initial, 0), Self::initial_c(initial, 0)),
            _ => (before.get(at - u..), ex_before.get(at - u..)),
        };
        let (Some(h_prev), Some(h), Some(ex)) = (h_prev, now.get_mut(..u), ex_now.get_mut(..u))
        else {
            return;
        };
        let (zs, gs) = (&mut z[z_at..][..gu], &mut gates[z_at..][..gu]);
        let (a, ra, r) = (&self.activation, &self.recurrent_activation, shared.one_row);
        if KIND == LSTM {
            one_row::lstm_step(isa, a, ra, &h_prev[..u], r, zs, gs, ex, c_prev, h);
        } else {
            let bias = shared.split.recurrent_bias;
            one_row::gru_step(isa, a, ra, &h_prev[..u], r, bias, zs, gs, ex, h);
        }
    }

    /// GRU (`reset_after = false`), step `s` after the gates: (r·h)·R_h into the candidate,
    /// then the new state.
    #[allow(clippy::too_many_arguments)]
    fn gru_v1_candidate(
        &self,
        isa: Isa,
        recurrent: &[f32],
        packed_h: Option<PackedB<'_>>,
        rows: usize,
        s: usize,
        z: &mut [f32],
        gates: &mut [f32],
        hs: &mut [f32],
        extra: &[f32],
        tmp: &mut [f32],
        mask: &[f32],
        initial: Option<&[f32]>,
    ) {
        let (gu, u) = (Self::GU, U);
        let p = Self::position(s);
        let tmp = head_mut(tmp, rows * u);
        product(
            isa,
            MatRef {
                data: extra.get(s * u..).unwrap_or_default(),
                rows,
                cols: u,
                rs: T * u,
                cs: 1,
            },
            Self::r_cols(recurrent, 2 * u, u),
            packed_h,
            tmp,
            false,
        );
        for r in 0..rows {
            if Self::masked(mask, r, p) {
                continue;
            }
            let at = (r * T + s) * u;
            let (before, now) = hs.split_at_mut(at);
            let h_prev = if s == 0 {
                Self::initial_h(initial, r)
            } else {
                before.get(at - u..)
            };
            let zs = &mut z[(r * T + p) * gu..][..gu];
            let gs = &mut gates[(r * T + p) * gu..][..gu];
            for j in 0..u {
                zs[2 * u + j] += tmp[r * u + j];
            }
            activated(&self.activation, &mut gs[2 * u..], &zs[2 * u..]);
            for j in 0..u {
                let (zg, hh) = (gs[j], gs[2 * u + j]);
                now[j] = zg * h_prev.map_or(0.0, |h| h[j]) + (1.0 - zg) * hh;
            }
        }
    }

    /// [`back_through_time`](Self::back_through_time) on blocks of `BPTT_BLOCK_ROWS` rows,
    /// in parallel: a row's gradients flow back through its own steps only, so each block runs
    /// on its own rows of every part (`z`, `gates`, `hs`, `extra`, `tmp`, the carried
    /// gradients), with its own dR and recurrent-bias gradient, which are then summed in block
    /// order. The blocks are fixed by the row count, so the sums, and the bits, are the same on
    /// any number of threads. (No dropout masks: those passes run whole.)
    #[allow(clippy::too_many_arguments)]
    fn back_through_blocks(
        &self,
        recurrent: &[f32],
        delta: &[f32],
        mask: &[f32],
        rows: usize,
        parts: Parts<'_>,
        packed_t: PackedB<'_>,
        d_recurrent: &mut [f32],
        mut d_recurrent_bias: Option<&mut [f32]>,
    ) {
        use crate::par::prelude::*;
        let (t, gu, u, block_rows) = (T, Self::GU, U, Self::BPTT_BLOCK_ROWS);
        let out = if SEQ { T * U } else { U };
        let has_bias = d_recurrent_bias.is_some();
        let Parts {
            z,
            gates,
            hs,
            extra,
            tmp,
            carry,
            blocks,
            ..
        } = parts;
        z.par_chunks_mut(block_rows * t * gu)
            .zip(gates.par_chunks_mut(block_rows * t * gu))
            .zip(hs.par_chunks_mut(block_rows * t * u))
            .zip(extra.par_chunks_mut(block_rows * t * u))
            .zip(tmp.par_chunks_mut(block_rows * gu))
            .zip(carry.par_chunks_mut(2 * block_rows * u))
            .zip(blocks.par_chunks_mut(Self::BLOCK_PART))
            .enumerate()
            .for_each(|(b, ((((((z, gates), hs), extra), tmp), carry), own))| {
                let first = b * block_rows;
                let rows = block_rows.min(rows - first);
                let (d_r, rest) = own.split_at_mut(Self::RECURRENT);
                let (d_rb, row) = rest.split_at_mut(gu);
                self.back_through_time(
                    recurrent,
                    part(delta, first * out, rows * out),
                    if mask.is_empty() {
                        mask
                    } else {
                        part(mask, first * t, rows * t)
                    },
                    rows,
                    Parts {
                        z,
                        gates,
                        hs,
                        extra,
                        tmp,
                        carry,
                        square: &mut [],
                        row,
                        packed: &mut [],
                        blocks: &mut [],
                    },
                    packed_t,
                    d_r,
                    has_bias.then_some(d_rb),
                    None,
                );
            });
        // The blocks' sums, in block order: the first copied, the others added.
        for (b, block) in blocks.chunks_exact(Self::BLOCK_PART).enumerate() {
            let (d_r, d_rb) = block.split_at(Self::RECURRENT);
            let sum = |into: &mut [f32], from: &[f32]| match b {
                0 => into.copy_from_slice(from),
                _ => into.iter_mut().zip(from).for_each(|(d, v)| *d += v),
            };
            sum(d_recurrent, d_r);
            if let Some(db) = d_recurrent_bias.as_deref_mut() {
                sum(db, &d_rb[..gu]);
            }
        }
    }

    crate::multiversion_method! {
        /// Back through time: dL/d(total pre-activation) of every step into `z` (at input
        /// positions), the recurrent kernel's and recurrent bias' gradients accumulated per
        /// step. Compiled per instruction set, as [`run`](Self::run).
        #[allow(clippy::too_many_arguments)]
        fn back_through_time(
            &self,
            recurrent: &[f32],
            delta: &[f32],
            mask: &[f32],
            rows: usize,
            parts: Parts<'_>,
            packed_t: PackedB<'_>,
            d_recurrent: &mut [f32],
            d_recurrent_bias: Option<&mut [f32]>,
            masks: Option<&mut dropout::Masks<'_>>,
        ) => back_through_time_in, back_through_time_avx512, back_through_time_avx2;
    }

    /// [`back_through_time`](Self::back_through_time)'s body.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn back_through_time_in(
        &self,
        recurrent: &[f32],
        delta: &[f32],
        mask: &[f32],
        rows: usize,
        parts: Parts<'_>,
        packed_t: PackedB<'_>,
        d_recurrent: &mut [f32],
        mut d_recurrent_bias: Option<&mut [f32]>,
        mut masks: Option<&mut dropout::Masks<'_>>,
    ) {
        let isa = Isa::current();
        let (gu, u) = (Self::GU, U);
        // dL/dh₋₁ += dz·Rᵀ at every step reads Rᵀ's panels, `packed_t`, packed once per pass.
        let Parts {
            z,
            gates,
            hs,
            extra,
            tmp,
            carry,
            square,
            row,
            ..
        } = parts;
        let (dh_carry, dc_carry) = carry.split_at_mut(rows * u);
        dh_carry.fill(0.0);
        dc_carry.fill(0.0);
        d_recurrent.fill(0.0);
        if let Some(b) = d_recurrent_bias.as_deref_mut() {
            b.fill(0.0);
        }
        for s in (0..T).rev() {
            let p = Self::position(s);
            // dL/dh of this step: what flows back from later steps plus the output's own.
            for r in 0..rows {
                let dh = &mut dh_carry[r * u..][..u];
                let from = if SEQ {
                    // A zeroed output step does not depend on the state.
                    (!self.zero_output(mask, r, s)).then_some((r * T + s) * u)
                } else if s == T - 1 {
                    Some(r * u)
                } else {
                    None
                };
                if let Some(from) = from {
                    dh.iter_mut()
                        .zip(&delta[from..][..u])
                        .for_each(|(d, g)| *d += g);
                }
            }
            // tmp: this step's dL/d(recurrent product); for GRU `reset_after` it differs from
            // the input projection's gradient in the candidate's part.
            let tmp = head_mut(tmp, rows * gu);
            for r in 0..rows {
                let zs = &mut z[(r * T + p) * gu..][..gu];
                let gs = &gates[(r * T + p) * gu..][..gu];
                let dz = &mut tmp[r * gu..][..gu];
                let dh = &mut dh_carry[r * u..][..u];
                let dc = &mut dc_carry[r * u..][..u];
                if Self::masked(mask, r, p) {
                    // The state passed through unchanged: its gradient passes back as it is.
                    zs.fill(0.0);
                    dz.fill(0.0);
                    continue;
                }
                let at = (r * T + s) * u;
                let h_prev = (s > 0).then(|| &hs[at - u..at]);
                let hp = |j: usize| h_prev.map_or(0.0, |h| h[j]);
                match KIND {
                    SIMPLE_RNN => {
                        for j in 0..u {
                            let d = dh[j] * self.activation.derivative(zs[j], hs[at + j]);
                            zs[j] = d;
                            dz[j] = d;
                            dh[j] = 0.0;
                        }
                    }
                    LSTM => {
                        // tanh(c) as the forward pass computed it, and c₋₁ (zero before
                        // the first step) beside it in `row`.
                        let (tcs, rest) = row.split_at_mut(u);
                        let a = &self.activation;
                        tcs.iter_mut()
                            .zip(&extra[at..at + u])
                            .for_each(|(t, &c)| *t = a.fire(c));
                        let c_prev = match s {
                            0 => {
                                rest[..u].fill(0.0);
                                &rest[..u]
                            }
                            _ => &extra[at - u..at],
                        };
                        let cell = LstmCell {
                            c: &extra[at..at + u],
                            c_prev,
                            tanh_c: tcs,
                        };
                        cell.backward(&self.activation, &self.recurrent_activation, zs, gs, dh, dc);
                        dz.copy_from_slice(zs);
                    }
                    GRU => {
                        for j in 0..u {
                            let ra = &self.recurrent_activation;
                            let (zz, zr, zh) = (zs[j], zs[u + j], zs[2 * u + j]);
                            let (zg, rg, hh) = (gs[j], gs[u + j], gs[2 * u + j]);
                            let rec_h = extra[at + j];
                            let dhh = dh[j] * (1.0 - zg);
                            let dzh = dhh * self.activation.derivative(zh, hh);
                            let dzz = dh[j] * (hp(j) - hh) * ra.derivative(zz, zg);
                            let dzr = dzh * rec_h * ra.derivative(zr, rg);
                            zs[j] = dzz;
                            zs[u + j] = dzr;
                            zs[2 * u + j] = dzh;
                            dz[j] = dzz;
                            dz[u + j] = dzr;
                            dz[2 * u + j] = dzh * rg;
                            // The direct path h = z·h_prev + …; the rest comes from dz·Rᵀ.
                            dh[j] *= zg;
                        }
                    }
                    _ => {
                        for j in 0..u {
                            let ra = &self.recurrent_activation;
                            let (zz, zh) = (zs[j], zs[2 * u + j]);
                            let (zg, hh) = (gs[j], gs[2 * u + j]);
                            let dzh = dh[j] * (1.0 - zg) * self.activation.derivative(zh, hh);
                            zs[j] = dh[j] * (hp(j) - hh) * ra.derivative(zz, zg);
                            zs[2 * u + j] = dzh;
                            dz[j] = zs[j];
                            // The candidate's recurrent product is (r·h)·R_h, not h·R: its
                            // gradient goes through `gru_v1_reset_gradient`, not the step's
                            // product below.
                            dz[2 * u + j] = 0.0;
                            dh[j] *= zg;
                        }
                    }
                }
            }
            if KIND == GRU_V1 {
                self.gru_v1_reset_gradient(
                    isa,
                    recurrent,
                    rows,
                    s,
                    GruV1Backward {
                        z,
                        gates,
                        hs,
                        extra,
                        tmp,
                        dh: dh_carry,
                        d_rh: dc_carry,
                        square,
                        d_recurrent,
                    },
                    mask,
                    masks.as_deref().map_or(&[][..], |m| &*m.recurrent),
                );
            }
            // The recurrent bias (GRU `reset_after`) gets every step's dz.
            if let Some(b) = d_recurrent_bias.as_deref_mut() {
                for dz in tmp.chunks_exact(gu) {
                    b.iter_mut().zip(dz).for_each(|(b, d)| *b += d);
                }
            }
            // dR += H_{s−1}ᵀ · dz and dL/dh_{s−1} += dz · Rᵀ (H_{−1} = 0: nothing for s = 0);
            // with recurrent dropout, gate by gate through each gate's mask.
            if s > 0 {
                if let Some(m) = masks.as_deref_mut().filter(|m| !m.recurrent.is_empty()) {
                    Self::recurrent_masked_backward(
                        isa,
                        recurrent,
                        hs,
                        tmp,
                        rows,
                        s,
                        d_recurrent,
                        dh_carry,
                        m,
                    );
                    continue;
                }
                let dz = MatRef::row_major(tmp, rows, gu);
                gemm(isa, Self::h_before(hs, rows, s).t(), dz, d_recurrent, true);
                let rt = Self::r_cols(recurrent, 0, gu).t();
                product(isa, dz, rt, Some(packed_t), dh_carry, true);
            }
        }
    }

    /// GRU (`reset_after = false`), back through step `s`'s candidate: d(r·h) = dz_h · R_hᵀ
    /// gives the reset gate's gradient and part of dL/dh_{s−1}; dR_h += (r·h)ᵀ · dz_h.
    #[allow(clippy::too_many_arguments)]
    fn gru_v1_reset_gradient(
        &self,
        isa: Isa,
        recurrent: &[f32],
        rows: usize,
        s: usize,
        b: GruV1Backward<'_>,
        mask: &[f32],
        rec_masks: &[f32],
    ) {
        let (gu, u) = (Self::GU, U);
        let p = Self::position(s);
        let GruV1Backward {
            z,
            gates,
            hs,
            extra,
            tmp,
            dh,
            d_rh,
            square,
            d_recurrent,
        } = b;
        let dzh = Self::z_rows(z, rows, p, 2 * u, u);
        gemm(isa, dzh, Self::r_cols(recurrent, 2 * u, u).t(), d_rh, false);
        let rh = MatRef {
            data: extra.get(s * u..).unwrap_or_default(),
            rows,
            cols: u,
            rs: T * u,
            cs: 1,
        };
        gemm(isa, rh.t(), dzh, square, false);
        for (row, sq) in d_recurrent.chunks_exact_mut(gu).zip(square.chunks_exact(u)) {
            row[2 * u..].iter_mut().zip(sq).for_each(|(d, g)| *d += g);
        }
        for r in 0..rows {
            if Self::masked(mask, r, p) {
                continue;
            }
            let at = (r * T + s) * u;
            let zs = &mut z[(r * T + p) * gu..][..gu];
            for j in 0..u {
                // The candidate reads r · (h_{s−1} ⊙ its recurrent dropout mask).
                let keep = Self::recurrent_mask(rec_masks, 2, rows, r, j);
                let h_prev = if s > 0 { hs[at - u + j] * keep } else { 0.0 };
                let ra = &self.recurrent_activation;
                let rg = gates[(r * T + p) * gu + u + j];
                let drh = d_rh[r * u + j];
                let dzr = drh * h_prev * ra.derivative(zs[u + j], rg);
                dh[r * u + j] += drh * rg * keep;
                zs[u + j] = dzr;
                tmp[r * gu + u + j] = dzr;
            }
        }
    }
}

/// The buffers GRU (`reset_after = false`) needs back through one step's candidate.
struct GruV1Backward<'a> {
    z: &'a mut [f32],
    gates: &'a [f32],
    hs: &'a [f32],
    extra: &'a [f32],
    tmp: &'a mut [f32],
    dh: &'a mut [f32],
    d_rh: &'a mut [f32],
    square: &'a mut [f32],
    d_recurrent: &'a mut [f32],
}

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
    > Layer for Recurrent<KIND, T, F, U, A, RA, SEQ, BACK, BIAS>
{
    const CLASS_NAME: &'static str = match KIND {
        SIMPLE_RNN => "SimpleRNN",
        LSTM => "LSTM",
        _ => "GRU",
    };
    const INPUT_WIDTH: usize = T * F;
    const OUTPUT_WIDTH: usize = if SEQ { T * U } else { U };
    const PARAMS: usize = Self::KERNEL + Self::RECURRENT + Self::BIAS_LEN;
    const MACS_PER_ROW: usize = T * (F + U) * Self::GU;
    /// Keras 3 keeps a recurrent layer's variables under its `cell`.
    const KERAS_VARS: &'static str = "cell/vars";
    /// One row's recurrent kernel in blocks of units (`one_row`), for LSTM and GRU with
    /// `reset_after`; the other kinds read theirs as it is.
    const PACKED: usize = if KIND == LSTM || KIND == GRU {
        one_row::packed_len(U, Self::GATES)
    } else {
        0
    };

    fn activation_name(&self) -> Option<String> {
        Some(self.activation.describe())
    }

    fn weights(&self) -> Vec<WeightSpec> {
        let gu = Self::GU;
        let mut w = vec![
            weight("kernel", vec![F, gu], true),
            weight("recurrent_kernel", vec![U, gu], true),
        ];
        if BIAS {
            w.push(weight(
                "bias",
                if KIND == GRU { vec![2, gu] } else { vec![gu] },
                true,
            ));
        }
        w
    }

    /// Keras' initializers: `glorot_uniform` kernel, `orthogonal` recurrent kernel, zero bias
    /// (the LSTM's forget gate at 1 with `unit_forget_bias`).
    fn init(&self, params: &mut [f32], _state: &mut [f32], rng: &mut InitRng) {
        let (kernel, rest) = params.split_at_mut(Self::KERNEL.min(params.len()));
        rng.glorot_uniform(kernel, F, Self::GU);
        let (recurrent, bias) = rest.split_at_mut(Self::RECURRENT.min(rest.len()));
        rng.orthogonal(recurrent, U, Self::GU);
        bias.fill(0.0);
        if KIND == LSTM && self.unit_forget_bias {
            if let Some(forget) = bias.get_mut(U..2 * U) {
                forget.fill(1.0);
            }
        }
    }

    fn pack(&self, params: &[f32], _isa: Isa, out: &mut [f32]) {
        one_row::pack(Self::split(params).recurrent, U, Self::GATES, out);
    }

    fn scratch_len(&self, rows: usize, training: bool) -> usize {
        Self::scratch_for(rows, training) + if training { self.masks_len(rows) } else { 0 }
    }

    fn forward(&self, weights: Weights<'_>, pass: Forward<'_>) {
        self.run(
            weights,
            pass.input,
            pass.mask,
            pass.rows,
            pass.scratch,
            pass.output,
            pass.phase.training(),
            None,
        );
    }

    fn backward(&self, weights: Weights<'_>, pass: Backward<'_>, grads: &mut [f32]) {
        let isa = Isa::current();
        let (rows, gu) = (pass.rows, Self::GU);
        let Split {
            kernel, recurrent, ..
        } = Self::split(weights.params);
        let (d_kernel, rest) = grads.split_at_mut(Self::KERNEL.min(grads.len()));
        let (d_recurrent, d_bias) = rest.split_at_mut(Self::RECURRENT.min(rest.len()));
        let (d_bias, d_recurrent_bias) = if BIAS && KIND == GRU {
            let (input, recurrent) = d_bias.split_at_mut(gu.min(d_bias.len()));
            (Some(input), Some(recurrent))
        } else {
            (BIAS.then_some(d_bias), None)
        };
        let (scratch, rest) = pass
            .scratch
            .split_at_mut(Self::scratch_for(rows, true).min(pass.scratch.len()));
        let parts = Self::parts(scratch, rows, true);
        // The masks the training forward pass drew, where it dropped anything.
        let mut masks = self.drops().then(|| self.masks(rest, rows));
        // Rᵀ's panels, packed once for every step and every block (after the forward pass's R
        // in `packed`).
        let (_, packed_t) = parts
            .packed
            .split_at_mut(packed_len_bound(U, gu).min(parts.packed.len()));
        let packed_t = pack_b_once(isa, Self::r_cols(recurrent, 0, gu).t(), packed_t);
        let steps = Parts {
            z: &mut *parts.z,
            gates: &mut *parts.gates,
            row: &mut *parts.row,
            packed: &mut [],
            hs: &mut *parts.hs,
            extra: &mut *parts.extra,
            tmp: &mut *parts.tmp,
            carry: &mut *parts.carry,
            square: &mut *parts.square,
            blocks: &mut *parts.blocks,
        };
        if masks.is_none() && Self::bptt_blocks(rows) > 0 {
            self.back_through_blocks(
                recurrent,
                pass.delta,
                pass.mask,
                rows,
                steps,
                packed_t,
                d_recurrent,
                d_recurrent_bias,
            );
        } else {
            self.back_through_time(
                recurrent,
                pass.delta,
                pass.mask,
                rows,
                steps,
                packed_t,
                d_recurrent,
                d_recurrent_bias,
                masks.as_mut(),
            );
        }
        // Every step's projection gradient at once: dW = Xᵀ·dZ, db = Σ dZ, dX = dZ·Wᵀ; with
        // input dropout, gate by gate through each gate's mask.
        let dz = MatRef::row_major(parts.z, rows * T, gu);
        let input_masks = masks.as_mut().filter(|m| !m.input.is_empty());
        let input_delta = match input_masks {
            Some(m) => {
                Self::project_masked_backward(
                    isa,
                    pass.input,
                    kernel,
                    parts.z,
                    rows,
                    d_kernel,
                    pass.input_delta,
                    m,
                );
                None
            }
            None => {
                gemm(
                    isa,
                    MatRef::row_major(pass.input, rows * T, F).t(),
                    dz,
                    d_kernel,
                    false,
                );
                pass.input_delta
            }
        };
        if let Some(db) = d_bias {
            db.fill(0.0);
            for row in parts.z.chunks_exact(gu) {
                db.iter_mut().zip(row).for_each(|(b, d)| *b += d);
            }
        }
        if let Some(dx) = input_delta {
            gemm(isa, dz, MatRef::row_major(kernel, F, gu).t(), dx, false);
        }
    }

    /// h (and the LSTM's c) of each stream.
    const STREAM_STATE: usize = Self::STATE_WIDTH;

    fn step_scratch_len(&self, rows: usize) -> usize {
        Self::scratch_for(rows, false)
    }

    /// One step (this is the layer built for `T` = 1) from each stream's state: the forward
    /// pass's code with the carried state in place of the zero one, then the new state back.
    /// A masked step leaves the state as it was.
    fn step(&self, weights: Weights<'_>, pass: Step<'_>) {
        debug_assert_eq!(T, 1, "streams step the layer built for one step");
        let rows = pass.rows;
        let scratch = head_mut(pass.scratch, Self::scratch_for(rows, false));
        let state = &*pass.state;
        self.run(
            weights,
            pass.input,
            pass.mask,
            rows,
            scratch,
            pass.output,
            None,
            Some(state),
        );
        let Parts { hs, extra, .. } = Self::parts(scratch, rows, false);
        for (r, st) in pass.state.chunks_exact_mut(Self::STATE_WIDTH).enumerate() {
            let (h, c) = st.split_at_mut(U);
            h.copy_from_slice(&hs[r * T * U..][..U]);
            if KIND == LSTM {
                c.copy_from_slice(&extra[r * T * U..][..U]);
            }
        }
    }

    fn forward_one(&self, weights: Weights<'_>, x: &[f32], y: &mut [f32]) {
        self.forward_one_masked(weights, x, &[], y);
    }

    fn forward_one_masked(&self, weights: Weights<'_>, x: &[f32], mask: &[f32], y: &mut [f32]) {
        ONE_ROW.with(|buffer| {
            let mut buffer = buffer.borrow_mut();
            let len = Self::scratch_for(1, false);
            if buffer.len() < len {
                buffer.resize(len, 0.0);
            }
            self.run(weights, x, mask, 1, &mut buffer[..len], y, None, None);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::activations::{Sigmoid, Tanh};

    /// One row at inference reads the model's packs of R (`one_row`) where it has them: with
    /// them it gives the GEMV path's values to rounding, and with packs made from other weights
    /// other values, so the packed path is the one taken.
    #[test]
    fn one_row_reads_the_models_packs() {
        macro_rules! check {
            ($kind:expr) => {{
                type L = Recurrent<{ $kind }, 6, 3, 40, Tanh, Sigmoid, false, false, true>;
                let layer = L::new(Tanh, Sigmoid, true);
                let mut params = vec![0.0; L::PARAMS];
                layer.init(&mut params, &mut [], &mut InitRng::seeded(7));
                // Keras' zero bias would leave part of the cell untested.
                let bias_at = L::KERNEL + L::RECURRENT;
                for (i, b) in params[bias_at..].iter_mut().enumerate() {
                    *b = (i % 7) as f32 * 0.1 - 0.3;
                }
                let pack = |params: &[f32]| {
                    let mut packs = vec![0.0; L::PACKED];
                    layer.pack(params, Isa::current(), &mut packs);
                    packs
                };
                let halved: Vec<f32> = params.iter().map(|v| v * 0.5).collect();
                let (packs, other) = (pack(&params), pack(&halved));
                let x: Vec<f32> = (0..18).map(|i| ((i * 5) % 11) as f32 * 0.2 - 1.0).collect();
                let run = |packed: &[f32]| {
                    let mut y = [0.0f32; 40];
                    let weights = Weights {
                        params: &params,
                        state: &[],
                        packed,
                        int8: None,
                    };
                    layer.forward_one(weights, &x, &mut y);
                    y
                };
                let (with, without, wrong) = (run(&packs), run(&[]), run(&other));
                let most = |a: &[f32; 40], b: &[f32; 40]| {
                    a.iter()
                        .zip(b)
                        .map(|(a, b)| (a - b).abs())
                        .fold(0.0f32, f32::max)
                };
                assert!(most(&with, &without) < 1e-6, "kind {}", $kind);
                assert!(
                    most(&with, &wrong) > 1e-3,
                    "kind {}: the packs were not read",
                    $kind
                );
            }};
        }
        check!(LSTM);
        check!(GRU);
    }
}
