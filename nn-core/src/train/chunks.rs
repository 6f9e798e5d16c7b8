//! A training batch cut into fixed row chunks that run in parallel, each on its own tape and
//! gradient buffer, summed in chunk order: when a batch is worth it ([`Compiled::chunk_count`])
//! and how. The chunk size never depends on the thread count, so neither do the weights.

use super::{loss_batch, row_range, Compiled};
use crate::error::Result;
use crate::kernels::gemm::PARALLEL_MIN_MACS;
use crate::metrics::MetricState;
use crate::network::{Network, Tape};
use crate::optim::Optimizer;
use crate::par::prelude::*;
use crate::params::AlignedBuf;
use crate::pass::{Phase, TrainingPass};

/// Rows per chunk when a training batch is cut into row chunks (see [`Compiled::chunk_count`]).
/// Fixed, never derived from the thread count, so the gradient sums are the same on any pool.
pub const TRAIN_CHUNK_ROWS: usize = 64;

/// Least forward work (rows × parameters) for which a batch is cut into chunks: below it,
/// waking a second thread costs more than the chunk saves.
const CHUNK_MIN_WORK: usize = 1 << 18;

/// Most chunk workspaces a model keeps (and chunks run at once): bounds the memory a huge batch
/// takes to 16 tapes and gradient buffers.
const CHUNKS_AT_ONCE: usize = 16;

/// One row chunk's workspace: its own tape and gradient buffer, kept between steps.
pub(super) struct Chunk {
    tape: Tape,
    grads: AlignedBuf,
    loss: f64,
}

impl<N: Network, O: Optimizer> Compiled<N, O> {
    /// How many row chunks a training batch of `rows` is cut into; 1 means it runs whole.
    ///
    /// Fixed-size row chunks run in parallel, each on its own tape and gradient buffer, and the
    /// chunk gradients are summed in chunk order. A batch runs whole instead when it is under
    /// two chunks or too little work to share, or when even one chunk's widest GEMM would be
    /// split among threads by the GEMM itself: for wide layers (784→512) that split measured
    /// faster than chunks, which repack the weights and reduce a large gradient per chunk. For
    /// small layers it is the other way round: the tutorial model at batch 1024 took 190–230 µs
    /// a step in chunks on two threads against 490–620 µs whole.
    ///
    /// A model whose training mode mixes rows (BatchNormalization's batch statistics) always
    /// runs the batch whole, as Keras computes those statistics over the whole batch.
    ///
    /// Nothing here depends on the thread count, so the weights a run trains are the same on
    /// one thread or many.
    pub fn chunk_count(&self, rows: usize) -> usize {
        let wide_layers = TRAIN_CHUNK_ROWS * N::MAX_LAYER_MACS >= PARALLEL_MIN_MACS;
        let small = rows.saturating_mul(N::MACS_PER_ROW) < CHUNK_MIN_WORK;
        if N::COUPLES_ROWS || wide_layers || small || rows < 2 * TRAIN_CHUNK_ROWS {
            1
        } else {
            rows.div_ceil(TRAIN_CHUNK_ROWS)
        }
    }

    /// `forward_backward` on `chunks` row chunks of TRAIN_CHUNK_ROWS in parallel; the chunk
    /// gradients and losses are summed in chunk order, the metrics updated in chunk order.
    pub(super) fn forward_backward_chunked(
        &mut self,
        x: &[f32],
        y: &[f32],
        sample_weight: Option<&[f32]>,
        rows: usize,
        chunks: usize,
        metrics: &mut [MetricState],
    ) -> Result<f64> {
        let workspaces = chunks.min(CHUNKS_AT_ONCE);
        while self.chunks.len() < workspaces {
            self.chunks.push(Chunk {
                tape: Tape::for_network::<N>(TRAIN_CHUNK_ROWS, true),
                grads: AlignedBuf::zeros(N::TRAINABLE_COUNT),
                loss: 0.0,
            });
        }
        let label_width = self.label_width();
        debug_assert!(
            !N::COUPLES_ROWS,
            "a batch-coupled model runs its batches whole"
        );
        let (model, loss) = (&self.model, self.loss);
        let (seed, step) = (self.model.seed(), self.optimizer.iterations());
        let pass = |first_row: usize| {
            Phase::Training(TrainingPass {
                seed,
                step,
                first_row,
            })
        };
        let span = |c: usize| {
            let start = c * TRAIN_CHUNK_ROWS;
            start..(start + TRAIN_CHUNK_ROWS).min(rows)
        };
        let part = |c: usize| {
            let r = span(c);
            (
                row_range(x, r.clone(), N::INPUT_WIDTH),
                row_range(y, r.clone(), label_width),
                sample_weight.map(|w| row_range(w, r.clone(), 1)),
                r.len(),
            )
        };
        let mut total = 0.0;
        // Waves of at most CHUNKS_AT_ONCE chunks, so a huge batch does not keep a workspace
        // per chunk; each wave is folded into the gradient in chunk order, so the sums are the
        // same as one wave would give.
        for first in (0..chunks).step_by(CHUNKS_AT_ONCE) {
            let wave = CHUNKS_AT_ONCE.min(chunks - first);
            // `workspaces` chunks were made above, at least `wave`.
            debug_assert!(wave <= self.chunks.len());
            self.chunks
                .get_mut(..wave)
                .unwrap_or_default()
                .par_iter_mut()
                .enumerate()
                .try_for_each(|(i, chunk)| {
                    let (xc, yc, wc, r) = part(first + i);
                    model.forward(xc, r, &mut chunk.tape, pass(span(first + i).start))?;
                    let view = model.loss_view(xc, r, &mut chunk.tape);
                    let (chunk_loss, start) = loss.evaluate_part(
                        loss_batch::<N>(view.output, view.logits, yc, wc),
                        Some(view.delta),
                        rows,
                    );
                    chunk.loss = chunk_loss;
                    model.backward(xc, r, &mut chunk.tape, &mut chunk.grads, start)
                })?;
            for (i, chunk) in self.chunks.iter_mut().take(wave).enumerate() {
                let (xc, yc, _, r) = part(first + i);
                let output = chunk.tape.output(xc, r);
                for m in metrics.iter_mut() {
                    m.update(output, yc, N::OUTPUT_WIDTH);
                }
                total += chunk.loss;
                if first + i == 0 {
                    self.grads.copy_from_slice(&chunk.grads);
                } else {
                    self.grads
                        .iter_mut()
                        .zip(chunk.grads.iter())
                        .for_each(|(g, c)| *g += c);
                }
            }
        }
        Ok(total)
    }
}
