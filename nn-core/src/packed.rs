//! Weights kept in the GEMM microkernel's panel layout, as MLAS and oneDNN keep them: a large
//! Dense layer's forward pass (and every Conv1D's, whose inference runs one product per
//! sequence) reads its kernel already packed instead of repacking it for every 256-row chunk
//! and every thread; an LSTM's or GRU's recurrent kernel is kept in the blocks of units that
//! one row's step reads (`layers/recurrent/one_row.rs`: `predict_one` and a stream's step). The
//! model owns one `PackedWeights`; the first pass (forward, `predict_one`, or making a stream)
//! after the weights change packs every layer that asks for it (`Layer::PACKED`), once, whatever
//! the number of threads; anything that changes the weights (`params_mut`: an optimizer step,
//! `set_weights`, loading a file) goes through `&mut self` and marks the packs stale, so a
//! training step repacks once, right after its optimizer step, at its next forward pass.
//!
//! The packed values are a copy, never a source: saving, `get_weights` and the optimizers see
//! only `params`. The GEMM's outputs are bit-identical with or without the packs
//! (`gemm_fused_packed`); one row's recurrent step sums in two chains per gate where the GEMV
//! it replaces sums in one, so those equal the path without packs to rounding.

use crate::kernels::isa::Isa;
use crate::params::AlignedBuf;
use std::sync::{Mutex, OnceLock};

/// A model's packed weights: built on first use after each change, shared by all threads.
pub struct PackedWeights {
    ready: OnceLock<AlignedBuf>,
    /// The stale buffer, kept so that repacking after an optimizer step does not allocate.
    spare: Mutex<Option<AlignedBuf>>,
}

impl PackedWeights {
    /// Nothing packed yet.
    pub const fn new() -> Self {
        PackedWeights {
            ready: OnceLock::new(),
            spare: Mutex::new(None),
        }
    }

    /// The weights are about to change: the packs are stale (their memory is kept for the next).
    pub fn invalidate(&mut self) {
        if let Some(buf) = self.ready.take() {
            // A poisoned lock only means a packing closure panicked; the slot is still usable.
            *self.spare.get_mut().unwrap_or_else(|e| e.into_inner()) = Some(buf);
        }
    }

    /// The packs, `len` values, made by `pack` (with the instruction set the kernels run on) if
    /// they are stale; concurrent callers wait for the one that packs.
    pub fn get_or_pack(&self, len: usize, pack: impl FnOnce(Isa, &mut [f32])) -> &[f32] {
        if len == 0 {
            return &[];
        }
        self.ready.get_or_init(|| {
            let spare = self.spare.lock().unwrap_or_else(|e| e.into_inner()).take();
            let mut buf = match spare {
                Some(buf) if buf.len() == len => buf,
                _ => AlignedBuf::zeros(len),
            };
            pack(Isa::current(), buf.as_mut_slice());
            buf
        })
    }
}

impl Default for PackedWeights {
    fn default() -> Self {
        Self::new()
    }
}

/// A clone starts without packs: they are a cache of the weights, rebuilt on first use.
impl Clone for PackedWeights {
    fn clone(&self) -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for PackedWeights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackedWeights")
            .field("packed", &self.ready.get().map(AlignedBuf::len))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_once_until_invalidated_and_reuses_the_buffer() {
        let mut cache = PackedWeights::new();
        let mut calls = 0;
        let first = cache
            .get_or_pack(5, |_, out| {
                calls += 1;
                out.fill(1.0);
            })
            .as_ptr();
        let again = cache.get_or_pack(5, |_, _| calls += 1);
        assert_eq!((calls, again), (1, &[1.0; 5][..]));
        cache.invalidate();
        let second = cache.get_or_pack(5, |_, out| {
            calls += 1;
            out.fill(2.0);
        });
        assert_eq!((calls, second), (2, &[2.0; 5][..]));
        assert_eq!(second.as_ptr(), first, "the stale buffer is reused");
        assert!(cache.clone().ready.get().is_none());
        assert!(cache.get_or_pack(0, |_, _| unreachable!()).is_empty());
    }
}
