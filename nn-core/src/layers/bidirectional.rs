//! Keras' `Bidirectional(layer, merge_mode)`: the layer, and a copy of it that reads the
//! sequence last to first (`go_backwards`), over the same input; their outputs merged by
//! `merge_mode` (concat, sum, mul, ave). Returning sequences, the backward copy's output is
//! reversed back into the input's order before merging, so step t of the merged output sees
//! steps 0..=t forwards and t..T backwards, as Keras' `ops.flip` does.
//!
//! The two layers are any [`Layer`]s of the same input and output width (the macro builds
//! Keras' recurrent layers there, the backward one with `go_backwards` flipped and, when they
//! return sequences, `zero_output_for_mask` set as Keras forces it). Their weights are
//! consecutive in the parameter buffer, the forward layer's first, as Keras lists them; in
//! Keras' files they sit under the wrapper's `forward_layer` and `backward_layer` groups
//! ([`WeightSpec::owner`](crate::spec::WeightSpec::owner)). A mask reaches both layers as it is
//! (each reads it at input positions).
//!
//! Scratch of a pass over `rows` rows: the forward layer's, the backward layer's, then both
//! outputs (`rows × W` each, kept for `mul`'s gradient and for the merge); training adds both
//! output gradients and the backward layer's input gradient, which is added to the forward's.

use super::{head_mut, Backward, Forward, Layer, Weights};
use crate::kernels::dense::Delta;
use crate::params::InitRng;
use crate::spec::WeightSpec;
use std::cell::RefCell;

/// `MERGE` of a [`Bidirectional`]: Keras' `merge_mode`.
pub mod merge_mode {
    /// The two outputs side by side, forward first (Keras' default): twice the width.
    pub const CONCAT: u8 = 0;
    /// Their sum.
    pub const SUM: u8 = 1;
    /// Their product.
    pub const MUL: u8 = 2;
    /// Their mean.
    pub const AVE: u8 = 3;
}
use merge_mode::{CONCAT, MUL, SUM};

/// `forward` and `backward` (the go-backwards copy) over the same (T, F) input, merged by
/// `MERGE`; `SEQ` when they return sequences of `T` steps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bidirectional<L: Layer, B: Layer, const T: usize, const MERGE: u8, const SEQ: bool> {
    /// Keras' `forward_layer`.
    pub forward: L,
    /// Keras' `backward_layer`.
    pub backward: B,
}

thread_local! {
    /// Both outputs of a `forward_one`, grown once per thread.
    static ONE_ROW: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

impl<L: Layer, B: Layer, const T: usize, const MERGE: u8, const SEQ: bool>
    Bidirectional<L, B, T, MERGE, SEQ>
{
    /// One side's output width.
    const W: usize = L::OUTPUT_WIDTH;
    /// Steps per output row: T returning sequences, else 1 (the last state).
    const STEPS: usize = if SEQ { T } else { 1 };
    /// Values per step of one side's output (the units).
    const UNITS: usize = match Self::W.checked_div(Self::STEPS) {
        Some(u) => u,
        None => 0,
    };
    /// Compile-time check of what the macro guarantees: two layers of one shape.
    const SAME_SHAPE: () = assert!(
        L::INPUT_WIDTH == B::INPUT_WIDTH
            && L::OUTPUT_WIDTH == B::OUTPUT_WIDTH
            && Self::UNITS * Self::STEPS == Self::W,
        "Bidirectional's layers must have the same input and output shapes"
    );

    /// The wrapper of `forward` and its go-backwards copy `backward`.
    pub const fn new(forward: L, backward: B) -> Self {
        let () = Self::SAME_SHAPE;
        Bidirectional { forward, backward }
    }

    /// Where the backward layer's value for the merged output's step `t` is: its output runs
    /// in processing order (last step first) when it returns sequences.
    #[inline(always)]
    fn backward_step(t: usize) -> usize {
        if SEQ {
            Self::STEPS - 1 - t
        } else {
            t
        }
    }

    /// `out` (rows of the merged width) from both sides' outputs (`rows × W` each).
    fn merge(y_f: &[f32], y_b: &[f32], out: &mut [f32]) {
        let (u, w) = (Self::UNITS, Self::W);
        if u == 0 {
            return;
        }
        let out_w = if MERGE == CONCAT { 2 * w } else { w };
        for ((f, b), o) in y_f
            .chunks_exact(w)
            .zip(y_b.chunks_exact(w))
            .zip(out.chunks_exact_mut(out_w))
        {
            for ((t, f), o) in f
                .chunks_exact(u)
                .enumerate()
                .zip(o.chunks_exact_mut(if MERGE == CONCAT { 2 * u } else { u }))
            {
                let b = b.get(Self::backward_step(t) * u..).unwrap_or_default();
                match MERGE {
                    CONCAT => {
                        let (of, ob) = o.split_at_mut(u);
                        of.copy_from_slice(f);
                        ob.iter_mut().zip(b).for_each(|(o, b)| *o = *b);
                    }
                    SUM => o
                        .iter_mut()
                        .zip(f.iter().zip(b))
                        .for_each(|(o, (f, b))| *o = f + b),
                    MUL => o
                        .iter_mut()
                        .zip(f.iter().zip(b))
                        .for_each(|(o, (f, b))| *o = f * b),
                    _ => o
                        .iter_mut()
                        .zip(f.iter().zip(b))
                        .for_each(|(o, (f, b))| *o = (f + b) / 2.0),
                }
            }
        }
    }

    /// Both sides' output gradients from the merged output's `delta`.
    fn split_delta(delta: &[f32], y_f: &[f32], y_b: &[f32], d_f: &mut [f32], d_b: &mut [f32]) {
        let (u, w) = (Self::UNITS, Self::W);
        if u == 0 {
            return;
        }
        let out_u = if MERGE == CONCAT { 2 * u } else { u };
        let rows = d_f.len() / w;
        for r in 0..rows {
            for t in 0..Self::STEPS {
                let tb = Self::backward_step(t);
                let at_f = r * w + t * u;
                let at_b = r * w + tb * u;
                let at_o = (r * Self::STEPS + t) * out_u;
                let (Some(df), Some(db)) =
                    (d_f.get_mut(at_f..at_f + u), d_b.get_mut(at_b..at_b + u))
                else {
                    continue;
                };
                let Some(d) = delta.get(at_o..at_o + out_u) else {
                    continue;
                };
                let (Some(f), Some(b)) = (y_f.get(at_f..at_f + u), y_b.get(at_b..at_b + u)) else {
                    continue;
                };
                match MERGE {
                    CONCAT => {
                        let (dl, dr) = d.split_at(u);
                        df.copy_from_slice(dl);
                        db.copy_from_slice(dr);
                    }
                    SUM => {
                        df.copy_from_slice(d);
                        db.copy_from_slice(d);
                    }
                    MUL => {
                        let pairs = df.iter_mut().zip(db.iter_mut());
                        for ((x, y), (g, (fv, bv))) in pairs.zip(d.iter().zip(f.iter().zip(b))) {
                            *x = g * bv;
                            *y = g * fv;
                        }
                    }
                    _ => {
                        df.iter_mut().zip(d).for_each(|(x, g)| *x = g / 2.0);
                        db.iter_mut().zip(d).for_each(|(x, g)| *x = g / 2.0);
                    }
                }
            }
        }
    }

    /// The scratch of a pass cut into: forward's, backward's, both outputs, and (training)
    /// both output gradients and the backward layer's input gradient.
    fn parts<'s>(&self, scratch: &'s mut [f32], rows: usize, training: bool) -> Parts<'s> {
        let (sf, rest) = split(scratch, self.forward.scratch_len(rows, training));
        let (sb, rest) = split(rest, self.backward.scratch_len(rows, training));
        let (yf, rest) = split(rest, rows * Self::W);
        let (yb, rest) = split(rest, rows * Self::W);
        let (df, rest) = split(rest, rows * Self::W);
        let (db, rest) = split(rest, rows * Self::W);
        // Empty outside training: the scratch then ends after the outputs.
        let (dxb, _) = split(rest, rows * L::INPUT_WIDTH);
        Parts {
            sf,
            sb,
            yf,
            yb,
            df,
            db,
            dxb,
        }
    }
}

/// A pass's scratch, cut: each layer's own scratch (`sf`, `sb`), their outputs (`yf`, `yb`),
/// their output gradients (`df`, `db`) and the backward layer's input gradient (`dxb`); the
/// last three are empty outside training.
struct Parts<'s> {
    sf: &'s mut [f32],
    sb: &'s mut [f32],
    yf: &'s mut [f32],
    yb: &'s mut [f32],
    df: &'s mut [f32],
    db: &'s mut [f32],
    dxb: &'s mut [f32],
}

/// `s` cut at `n` (clamped to its length).
fn split(s: &mut [f32], n: usize) -> (&mut [f32], &mut [f32]) {
    let n = n.min(s.len());
    s.split_at_mut(n)
}

/// `(params, state)` cut into the forward layer's and the backward layer's.
fn sides<'a>(weights: Weights<'a>, params: usize, state: usize) -> (Weights<'a>, Weights<'a>) {
    let (pf, pb) = weights.params.split_at(params.min(weights.params.len()));
    let (sf, sb) = weights.state.split_at(state.min(weights.state.len()));
    (
        Weights {
            params: pf,
            state: sf,
            packed: &[],
            int8: None,
        },
        Weights {
            params: pb,
            state: sb,
            packed: &[],
            int8: None,
        },
    )
}

impl<L: Layer, B: Layer, const T: usize, const MERGE: u8, const SEQ: bool> Layer
    for Bidirectional<L, B, T, MERGE, SEQ>
{
    const CLASS_NAME: &'static str = "Bidirectional";
    const INPUT_WIDTH: usize = L::INPUT_WIDTH;
    const OUTPUT_WIDTH: usize = if MERGE == CONCAT {
        2 * L::OUTPUT_WIDTH
    } else {
        L::OUTPUT_WIDTH
    };
    const PARAMS: usize = L::PARAMS + B::PARAMS;
    const STATE: usize = L::STATE + B::STATE;
    const MACS_PER_ROW: usize = L::MACS_PER_ROW + B::MACS_PER_ROW;
    const COUPLES_ROWS: bool = L::COUPLES_ROWS || B::COUPLES_ROWS;
    const KERAS_VARS: &'static str = L::KERAS_VARS;

    /// The forward layer's, then the backward layer's, each under its owner as Keras' files
    /// keep them.
    fn weights(&self) -> Vec<WeightSpec> {
        let own = |owner: &'static str, weights: Vec<WeightSpec>| {
            weights.into_iter().map(move |w| WeightSpec { owner, ..w })
        };
        own("forward_layer", self.forward.weights())
            .chain(own("backward_layer", self.backward.weights()))
            .collect()
    }

    /// Each layer's own initializers, the forward layer's drawn first.
    fn init(&self, params: &mut [f32], state: &mut [f32], rng: &mut InitRng) {
        let (pf, pb) = split(params, L::PARAMS);
        let (sf, sb) = split(state, L::STATE);
        self.forward.init(pf, sf, rng);
        self.backward.init(pb, sb, rng);
    }

    fn scratch_len(&self, rows: usize, training: bool) -> usize {
        let mut len = self.forward.scratch_len(rows, training)
            + self.backward.scratch_len(rows, training)
            + 2 * rows * Self::W;
        if training {
            len += 2 * rows * Self::W + rows * L::INPUT_WIDTH;
        }
        len
    }

    fn forward(&self, weights: Weights<'_>, pass: Forward<'_>) {
        let training = pass.phase.training().is_some();
        let (wf, wb) = sides(weights, L::PARAMS, L::STATE);
        let Parts { sf, sb, yf, yb, .. } = self.parts(pass.scratch, pass.rows, training);
        self.forward.forward(
            wf,
            Forward {
                input: pass.input,
                output: &mut *yf,
                scratch: sf,
                rows: pass.rows,
                phase: pass.phase,
                mask: pass.mask,
            },
        );
        self.backward.forward(
            wb,
            Forward {
                input: pass.input,
                output: &mut *yb,
                scratch: sb,
                rows: pass.rows,
                phase: pass.phase,
                mask: pass.mask,
            },
        );
        Self::merge(yf, yb, pass.output);
    }

    fn backward(&self, weights: Weights<'_>, pass: Backward<'_>, grads: &mut [f32]) {
        let (wf, wb) = sides(weights, L::PARAMS, L::STATE);
        let (gf, gb) = split(grads, L::PARAMS);
        let Parts {
            sf,
            sb,
            yf,
            yb,
            df,
            db,
            dxb,
        } = self.parts(pass.scratch, pass.rows, true);
        Self::split_delta(pass.delta, yf, yb, df, db);
        let mut input_delta = pass.input_delta;
        self.forward.backward(
            wf,
            Backward {
                input: pass.input,
                output: yf,
                scratch: sf,
                delta: df,
                input_delta: input_delta.as_deref_mut(),
                rows: pass.rows,
                start: Delta::Output,
                mask: pass.mask,
            },
            gf,
        );
        self.backward.backward(
            wb,
            Backward {
                input: pass.input,
                output: yb,
                scratch: sb,
                delta: db,
                input_delta: input_delta.is_some().then_some(&mut *dxb),
                rows: pass.rows,
                start: Delta::Output,
                mask: pass.mask,
            },
            gb,
        );
        // Both read the same input: its gradient is the sum of theirs.
        if let Some(dx) = input_delta {
            dx.iter_mut().zip(&*dxb).for_each(|(dx, d)| *dx += d);
        }
    }

    fn forward_one(&self, weights: Weights<'_>, x: &[f32], y: &mut [f32]) {
        self.forward_one_masked(weights, x, &[], y);
    }

    fn forward_one_masked(&self, weights: Weights<'_>, x: &[f32], mask: &[f32], y: &mut [f32]) {
        let (wf, wb) = sides(weights, L::PARAMS, L::STATE);
        ONE_ROW.with(|buffer| {
            let mut buffer = buffer.borrow_mut();
            if buffer.len() < 2 * Self::W {
                buffer.resize(2 * Self::W, 0.0);
            }
            let (yf, rest) = split(&mut buffer, Self::W);
            let yb = head_mut(rest, Self::W);
            self.forward.forward_one_masked(wf, x, mask, yf);
            self.backward.forward_one_masked(wb, x, mask, yb);
            Self::merge(yf, yb, y);
        });
    }
}
