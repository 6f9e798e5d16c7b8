//! One row's step at inference (a sequence alone, `predict_one`; a single stream's step): the
//! recurrent product and the cell in one loop over blocks of sixteen units. Each block sums
//! its units' columns of every gate (`G` registers of sixteen lanes once compiled for AVX-512)
//! and runs the cell on them straight away, so the cell's arithmetic overlaps the next block's
//! reads of the recurrent kernel, which bound the step (256 KB for LSTM(128), read from L2 at
//! every step), instead of following the whole product as a pass of its own.
//!
//! The sums are formed over each block of `KC` rows of R, the blocks added in turn, with fused
//! multiply-adds where `gemv`'s kernels use them, as two chains per output (even and odd rows)
//! where the registers hold them ([`pairs`]: GRU's three gates with one chain each waited on
//! the FMA latency), else one. A step therefore
//! equals the GEMV-then-cell path (a row without the model's packs, the batch's GEMM) to
//! rounding, not bit for bit; the packs are made from the weights, so a model's one-row
//! results do not depend on anything but the instruction set.

use super::{gru_units, lstm_units};
use crate::kernels::activations::Activation;
use crate::kernels::gemm::KC;
use crate::kernels::isa::Isa;

/// Units per block: one AVX-512 register (two AVX2 ones) per gate.
const BLOCK: usize = 16;

/// Values of [`pack`]'s layout for `u` units of `gates` gates (and `u` rows of h).
pub(super) const fn packed_len(u: usize, gates: usize) -> usize {
    u.div_ceil(BLOCK) * BLOCK * u * gates
}

/// The recurrent kernel `r` (row-major `u × gates·u`) in blocks of [`BLOCK`] units: block b
/// holds, for each row k in turn, the block's units of every gate, `gates × BLOCK` values
/// (units past `u` zero). A block's product then reads one contiguous run, which the
/// prefetchers stream from L2; reading the gates' columns where they lie (four runs of 64 bytes
/// in each 2 KB row for LSTM(128)) measured twice as slow.
pub(super) fn pack(r: &[f32], u: usize, gates: usize, out: &mut [f32]) {
    let gu = gates * u;
    for (b, block) in out.chunks_exact_mut(u * gates * BLOCK).enumerate() {
        let j0 = b * BLOCK;
        let width = BLOCK.min(u - j0);
        for (row, packed) in r
            .chunks_exact(gu)
            .zip(block.chunks_exact_mut(gates * BLOCK))
        {
            for (g, lanes) in packed.chunks_exact_mut(BLOCK).enumerate() {
                let (live, pad) = lanes.split_at_mut(width);
                live.copy_from_slice(&row[g * u + j0..][..width]);
                pad.fill(0.0);
            }
        }
    }
}

/// Whether to sum with fused multiply-adds on `isa`, as `gemv` does: its x86 kernels do; its
/// portable one uses `wide`, whose `mul_add` fuses where the target has FMA (aarch64 always)
/// and otherwise multiplies, rounds and adds (`f32::mul_add` there would be a libm call).
fn fused(isa: Isa) -> bool {
    isa != Isa::Portable || cfg!(any(not(target_arch = "x86_64"), target_feature = "fma"))
}

/// Whether [`gate_sums`] runs two chains per gate on `isa` for `gates` gates: when their
/// accumulators (two per gate, a block's 16 lanes in `isa`'s vectors) fit in 12 registers, as
/// on AVX-512 (LSTM 8, GRU 6) and for GRU on AVX2 (12); the LSTM on AVX2 (16) spilled to the
/// stack and ran 15 % slower than with one chain. The portable build keeps one.
fn pairs(isa: Isa, gates: usize) -> bool {
    let lanes = match isa {
        Isa::Avx512 => 16,
        Isa::Avx2 => 8,
        _ => return false,
    };
    2 * gates * BLOCK / lanes <= 12
}

/// The recurrent sums of one block of units, from its [`pack`]ed rows (`block`, `h.len() ×
/// G × BLOCK`): `sums[g][l]` = Σₖ h[k]·R[k, g·U + j0 + l], over each `KC` rows of R, the
/// blocks of rows added in turn. `PAIRS`: as two chains (even and odd k) added at the end, so
/// that GRU's three gates keep enough multiply-adds in flight to outrun the reads (one chain
/// per gate waits on the FMA latency), where the registers hold them ([`pairs`]).
#[inline(always)]
fn gate_sums<const G: usize, const FMA: bool, const PAIRS: bool>(
    h: &[f32],
    block: &[f32],
) -> [[f32; BLOCK]; G] {
    let mut sums = [[0.0f32; BLOCK]; G];
    // A macro, not a closure: a closure is a function of its own, compiled without the
    // caller's `#[target_feature]`, so its `mul_add` would be a libm call.
    macro_rules! fma {
        ($h:expr, $w:expr, $acc:expr) => {
            if FMA {
                $h.mul_add($w, $acc)
            } else {
                $h * $w + $acc
            }
        };
    }
    let (block, _) = block.as_chunks::<BLOCK>();
    for (kb, (hs, rows)) in h.chunks(KC).zip(block.chunks(KC * G)).enumerate() {
        let (mut even, mut odd) = ([[0.0f32; BLOCK]; G], [[0.0f32; BLOCK]; G]);
        let paired = if PAIRS { hs.len() / 2 * 2 } else { 0 };
        for p in 0..paired / 2 {
            let (h0, h1) = (hs[2 * p], hs[2 * p + 1]);
            let (r0, r1) = (&rows[2 * p * G..][..G], &rows[(2 * p + 1) * G..][..G]);
            for g in 0..G {
                for l in 0..BLOCK {
                    even[g][l] = fma!(h0, r0[g][l], even[g][l]);
                    odd[g][l] = fma!(h1, r1[g][l], odd[g][l]);
                }
            }
        }
        for (k, &hk) in hs.iter().enumerate().skip(paired) {
            let row = &rows[k * G..][..G];
            for g in 0..G {
                for l in 0..BLOCK {
                    even[g][l] = fma!(hk, row[g][l], even[g][l]);
                }
            }
        }
        for g in 0..G {
            for l in 0..BLOCK {
                let total = if PAIRS {
                    even[g][l] + odd[g][l]
                } else {
                    even[g][l]
                };
                sums[g][l] = if kb == 0 { total } else { sums[g][l] + total };
            }
        }
    }
    sums
}

/// The units `j0 .. j0 + width` of each of a row's `G` gate slices (`U` values apart).
#[inline(always)]
fn units_of<const G: usize>(
    values: &mut [f32],
    u: usize,
    j0: usize,
    width: usize,
) -> [&mut [f32]; G] {
    let mut gates = values.chunks_exact_mut(u);
    std::array::from_fn(|_| match gates.next() {
        Some(gate) => &mut gate[j0..j0 + width],
        None => &mut [],
    })
}

/// One LSTM step of one row at inference: `z` holds the row's input projection (i, f, g, o,
/// `U` each), `packed` is the recurrent kernel as [`pack`] lays it out; writes the cell state
/// `c` and `h` from `h_prev` and `c_prev` (zero when `None`). `gates` receives the o gate
/// (the cell's second loop reads it), its other values are left as they were.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn lstm_step<A: Activation, RA: Activation>(
    isa: Isa,
    a: &A,
    ra: &RA,
    h_prev: &[f32],
    packed: &[f32],
    z: &mut [f32],
    gates: &mut [f32],
    c: &mut [f32],
    c_prev: Option<&[f32]>,
    h: &mut [f32],
) {
    macro_rules! blocks {
        ($fma:literal, $pairs:literal) => {{
            let u = h.len();
            for (b, block) in packed.chunks_exact(u * 4 * BLOCK).enumerate() {
                let j0 = b * BLOCK;
                let width = BLOCK.min(u - j0);
                let sums = gate_sums::<4, $fma, $pairs>(h_prev, block);
                let span = j0..j0 + width;
                lstm_units(
                    false,
                    a,
                    ra,
                    units_of(z, u, j0, width),
                    sums.each_ref().map(|s| &s[..width]),
                    units_of(gates, u, j0, width),
                    &mut c[span.clone()],
                    c_prev.map(|c| &c[span.clone()]),
                    &mut h[span],
                );
            }
        }};
    }
    match (fused(isa), pairs(isa, 4)) {
        (true, true) => blocks!(true, true),
        (true, false) => blocks!(true, false),
        (false, _) => blocks!(false, false),
    }
}

/// One GRU (`reset_after`) step of one row at inference, as [`lstm_step`]: `z` the input
/// projection (update, reset, candidate; the candidate's third is overwritten by its total),
/// `packed` the recurrent kernel as [`pack`] lays it out, the recurrent bias when the layer
/// has one. `gates` receives the update gate; `extra` is not written.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn gru_step<A: Activation, RA: Activation>(
    isa: Isa,
    a: &A,
    ra: &RA,
    h_prev: &[f32],
    packed: &[f32],
    recurrent_bias: Option<&[f32]>,
    z: &mut [f32],
    gates: &mut [f32],
    extra: &mut [f32],
    h: &mut [f32],
) {
    macro_rules! blocks {
        ($fma:literal, $pairs:literal) => {{
            let u = h.len();
            for (b, block) in packed.chunks_exact(u * 3 * BLOCK).enumerate() {
                let j0 = b * BLOCK;
                let width = BLOCK.min(u - j0);
                let sums = gate_sums::<3, $fma, $pairs>(h_prev, block);
                let span = j0..j0 + width;
                let bias = recurrent_bias.map(|b| [0, 1, 2].map(|g| &b[g * u + j0..][..width]));
                gru_units(
                    false,
                    a,
                    ra,
                    units_of(z, u, j0, width),
                    sums.each_ref().map(|s| &s[..width]),
                    bias,
                    units_of(gates, u, j0, width),
                    &mut extra[span.clone()],
                    Some(&h_prev[span.clone()]),
                    &mut h[span],
                );
            }
        }};
    }
    match (fused(isa), pairs(isa, 3)) {
        (true, true) => blocks!(true, true),
        (true, false) => blocks!(true, false),
        (false, _) => blocks!(false, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::activations::{Sigmoid, Tanh};

    /// Values in [-1, 1) from a simple congruential sequence (dyadic, so sums are exact in f64).
    fn values(n: usize, seed: u32) -> Vec<f32> {
        let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        (0..n)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                ((state >> 20) as f32 - 2048.0) / 2048.0
            })
            .collect()
    }

    fn sigmoid(z: f64) -> f64 {
        1.0 / (1.0 + (-z).exp())
    }

    /// The recurrent sums of every gate and unit in f64: Σₖ h[k]·R[k, col].
    fn sums64(h: &[f32], r: &[f32], cols: usize) -> Vec<f64> {
        (0..cols)
            .map(|col| {
                h.iter()
                    .enumerate()
                    .map(|(k, &hk)| hk as f64 * r[k * cols + col] as f64)
                    .sum()
            })
            .collect()
    }

    /// Unit counts with a partial last block, a single partial block, and more rows of h than
    /// `KC` (two blocks of k, the second of odd length).
    const UNITS: [usize; 4] = [16, 20, 5, 259];

    #[test]
    fn the_packed_blocks_hold_each_gates_units_row_by_row() {
        let (u, g) = (20, 3);
        let r: Vec<f32> = (0..u * g * u).map(|v| v as f32).collect();
        let mut packed = vec![f32::NAN; packed_len(u, g)];
        pack(&r, u, g, &mut packed);
        for b in 0..2 {
            for k in 0..u {
                for gate in 0..g {
                    for l in 0..BLOCK {
                        let got = packed[((b * u + k) * g + gate) * BLOCK + l];
                        let unit = b * BLOCK + l;
                        let want = if unit < u {
                            r[k * g * u + gate * u + unit]
                        } else {
                            0.0
                        };
                        assert_eq!(got, want, "block {b} row {k} gate {gate} lane {l}");
                    }
                }
            }
        }
    }

    #[test]
    fn lstm_steps_match_the_definition() {
        for (case, u) in UNITS.into_iter().enumerate() {
            let r = values(u * 4 * u, case as u32);
            let (h_prev, c_prev) = (values(u, 10 + case as u32), values(u, 20 + case as u32));
            let z0 = values(4 * u, 30 + case as u32);
            let mut packed = vec![0.0; packed_len(u, 4)];
            pack(&r, u, 4, &mut packed);
            let rec = sums64(&h_prev, &r, 4 * u);
            // Every path this CPU has: FMA with two chains (AVX-512), with one (AVX2's LSTM),
            // and the portable sums.
            for isa in Isa::available() {
                let (mut z, mut gates) = (z0.clone(), vec![0.0; 4 * u]);
                let (mut c, mut h) = (vec![0.0; u], vec![0.0; u]);
                let (a, ra) = (&Tanh, &Sigmoid);
                lstm_step(
                    isa,
                    a,
                    ra,
                    &h_prev,
                    &packed,
                    &mut z,
                    &mut gates,
                    &mut c,
                    Some(&c_prev),
                    &mut h,
                );
                for j in 0..u {
                    let t = |g: usize| z0[g * u + j] as f64 + rec[g * u + j];
                    let (i, f, gg, o) = (sigmoid(t(0)), sigmoid(t(1)), t(2).tanh(), sigmoid(t(3)));
                    let cj = f * c_prev[j] as f64 + i * gg;
                    let hj = o * cj.tanh();
                    assert!(
                        (c[j] as f64 - cj).abs() < 2e-5,
                        "{u} units, {isa:?}: c[{j}] {} vs {cj}",
                        c[j]
                    );
                    assert!(
                        (h[j] as f64 - hj).abs() < 2e-5,
                        "{u} units, {isa:?}: h[{j}] {} vs {hj}",
                        h[j]
                    );
                }
                assert_eq!(z, z0, "inference leaves the projection as it was");
            }
        }
    }

    #[test]
    fn gru_steps_match_the_definition() {
        for (case, u) in UNITS.into_iter().enumerate() {
            let r = values(u * 3 * u, 40 + case as u32);
            let h_prev = values(u, 50 + case as u32);
            let (z0, bias) = (
                values(3 * u, 60 + case as u32),
                values(3 * u, 70 + case as u32),
            );
            let mut packed = vec![0.0; packed_len(u, 3)];
            pack(&r, u, 3, &mut packed);
            let rec = sums64(&h_prev, &r, 3 * u);
            let cases = Isa::available().into_iter().map(|isa| (isa, true));
            for (isa, with_bias) in cases.chain([(Isa::current(), false)]) {
                let b = |g: usize, j: usize| {
                    if with_bias {
                        bias[g * u + j] as f64
                    } else {
                        0.0
                    }
                };
                let (mut z, mut gates, mut extra) = (z0.clone(), vec![0.0; 3 * u], vec![0.0; u]);
                let mut h = vec![0.0; u];
                let recurrent_bias = with_bias.then_some(&bias[..]);
                gru_step(
                    isa,
                    &Tanh,
                    &Sigmoid,
                    &h_prev,
                    &packed,
                    recurrent_bias,
                    &mut z,
                    &mut gates,
                    &mut extra,
                    &mut h,
                );
                for j in 0..u {
                    let update = sigmoid(z0[j] as f64 + rec[j] + b(0, j));
                    let reset = sigmoid(z0[u + j] as f64 + rec[u + j] + b(1, j));
                    let candidate =
                        (z0[2 * u + j] as f64 + reset * (rec[2 * u + j] + b(2, j))).tanh();
                    let hj = update * h_prev[j] as f64 + (1.0 - update) * candidate;
                    assert!(
                        (h[j] as f64 - hj).abs() < 2e-5,
                        "{u} units, {isa:?}: h[{j}] {} vs {hj}",
                        h[j]
                    );
                }
            }
        }
    }
}
