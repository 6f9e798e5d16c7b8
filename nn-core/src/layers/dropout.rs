//! `Dropout`: inverted dropout in training, the identity in inference.
//!
//! Masks come from a counter-based hash of (seed, layer, training step, row of the batch,
//! column), not from a stream: a value's fate does not depend on which thread or row chunk
//! computed it, so training is reproducible for a seed on any number of threads. Keras' own
//! masks come from its backend's generator and cannot be reproduced here, nor between Keras
//! backends.

use super::{head, head_mut, Backward, Forward, Layer, Phase, TrainingPass, Weights};
use crate::params::InitRng;
use crate::spec::WeightSpec;

/// Keras' `Dropout(rate, seed)` over rows of `WIDTH` values: in training each value is zeroed
/// with probability `rate` and the rest scaled by 1 / (1 − rate), so the expected output equals
/// the input; in inference the input passes through.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dropout<const WIDTH: usize> {
    /// Fraction of values dropped, in [0, 1) (the macro rejects anything else). `f64`, as
    /// Keras' Python float: the scale 1 / (1 − rate) is then rounded once (0.9 gives 10).
    pub rate: f64,
    /// Keras' `seed` argument, when given: the masks then depend on it and not on the model's.
    pub seed: Option<u64>,
    /// Tells the model's dropout layers apart (their position in the model).
    pub salt: u64,
}

impl<const WIDTH: usize> Dropout<WIDTH> {
    /// A dropout layer; `salt` distinguishes it from the model's other dropout layers.
    pub const fn new(rate: f64, seed: Option<u64>, salt: u64) -> Self {
        Dropout { rate, seed, salt }
    }

    /// The keep multiplier of every value of a pass's rows, written into `mask`
    /// (`rows × WIDTH`): 0 for a dropped value, 1 / (1 − rate) for a kept one.
    pub fn draw_mask(&self, pass: TrainingPass, mask: &mut [f32]) {
        let key = mix64(self.seed.unwrap_or(pass.seed) ^ mix64(self.salt.wrapping_add(1)));
        let step_key = mix64(key ^ pass.step.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        // 1 / (1 − rate) rounded once, as Keras rounds its Python float: in f32 the
        // subtraction would round first (rate 1/3 gave 1.5000001, not 1.5).
        let scale = (1.0 / (1.0 - self.rate)) as f32;
        // Keep a value when its 24-bit uniform draw u / 2^24 is at least `rate`.
        let threshold = (self.rate * f64::from(1u32 << 24)).ceil() as u32;
        for (r, row) in mask.chunks_exact_mut(WIDTH).enumerate() {
            let row_key =
                mix64(step_key ^ ((pass.first_row + r) as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93));
            let (lo, hi) = (row_key as u32, (row_key >> 32) as u32);
            for (j, m) in row.iter_mut().enumerate() {
                let u = fmix32(lo ^ fmix32(hi ^ (j as u32).wrapping_mul(0x9E37_79B9))) >> 8;
                *m = if u >= threshold { scale } else { 0.0 };
            }
        }
    }
}

/// SplitMix64's finaliser: every input bit affects every output bit.
#[inline]
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// MurmurHash3's 32-bit finaliser.
#[inline]
fn fmix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85EB_CA6B);
    h ^= h >> 13;
    h = h.wrapping_mul(0xC2B2_AE35);
    h ^ (h >> 16)
}

impl<const WIDTH: usize> Layer for Dropout<WIDTH> {
    const CLASS_NAME: &'static str = "Dropout";
    const INPUT_WIDTH: usize = WIDTH;
    const OUTPUT_WIDTH: usize = WIDTH;
    const PARAMS: usize = 0;

    fn weights(&self) -> Vec<WeightSpec> {
        Vec::new()
    }

    fn init(&self, _params: &mut [f32], _state: &mut [f32], _rng: &mut InitRng) {}

    /// The mask of a training pass, for the backward pass.
    fn scratch_len(&self, rows: usize, training: bool) -> usize {
        if training {
            rows * WIDTH
        } else {
            0
        }
    }

    fn forward(&self, _weights: Weights<'_>, pass: Forward<'_>) {
        let len = pass.rows * WIDTH;
        match pass.phase {
            Phase::Training(training) if self.rate > 0.0 => {
                let mask = head_mut(pass.scratch, len);
                self.draw_mask(training, mask);
                for ((y, x), m) in pass.output.iter_mut().zip(pass.input).zip(&*mask) {
                    *y = x * m;
                }
            }
            Phase::Training(_) => {
                // rate 0: Keras skips the layer; a mask of ones keeps the backward pass uniform.
                head_mut(pass.scratch, len).fill(1.0);
                pass.output.copy_from_slice(pass.input);
            }
            Phase::Inference => pass.output.copy_from_slice(pass.input),
        }
    }

    fn backward(&self, _weights: Weights<'_>, pass: Backward<'_>, _grads: &mut [f32]) {
        if let Some(dx) = pass.input_delta {
            let mask = head(pass.scratch, pass.rows * WIDTH);
            for ((dx, dy), m) in dx.iter_mut().zip(&*pass.delta).zip(mask) {
                *dx = dy * m;
            }
        }
    }

    fn forward_one(&self, _weights: Weights<'_>, x: &[f32], y: &mut [f32]) {
        y.copy_from_slice(x);
    }
}
