//! Divergence is the loop's own check: a non-finite loss or gradient is [`Error::Diverged`]
//! before anything changes, and an update that leaves a non-finite weight, moving statistic or
//! optimizer state is undone from a snapshot taken before it and reported the same way, naming
//! the layer and weight. So `fit` never returns `Ok` with a non-finite weight.

use super::Compiled;
use crate::error::{all_finite, first_non_finite, Error, Result};
use crate::network::Network;
use crate::optim::{Optimizer, OptimizerState};

/// Where one weight tensor lives, for naming the layer in [`Error::Diverged`].
pub(super) struct Place {
    pub(super) layer: String,
    pub(super) weight: String,
    pub(super) trainable: bool,
    pub(super) range: std::ops::Range<usize>,
}

/// The model's and the optimizer's state before an update, put back when the update
/// overflows. The buffers are reused from step to step.
#[derive(Default)]
pub(super) struct Snapshot {
    params: Vec<f32>,
    state: Vec<f32>,
    optimizer: OptimizerState,
}

impl<N: Network, O: Optimizer> Compiled<N, O> {
    /// [`Error::Diverged`] when the loss or a gradient is not finite, naming the first layer
    /// (in model order) whose gradient holds a NaN or infinity.
    pub(super) fn check_gradients(&self, loss: f64, (epoch, batch): (usize, usize)) -> Result<()> {
        if loss.is_finite() && all_finite(&self.grads) {
            return Ok(());
        }
        let loss_text = if loss.is_finite() {
            String::new()
        } else {
            format!("the loss is {loss}; ")
        };
        let (layer, what) = match first_non_finite(&self.grads) {
            Some((i, value)) => {
                let (layer, weight) = self.place_of(i, true);
                (
                    layer,
                    format!("{loss_text}{value} in the gradient of {weight}"),
                )
            }
            None => (
                N::spec()
                    .layers
                    .last()
                    .map_or_else(String::new, |l| l.name.clone()),
                format!("the loss is {loss}"),
            ),
        };
        Err(Error::Diverged {
            epoch,
            batch,
            layer,
            what,
        })
    }

    /// The layer and weight (`dense_1/kernel`) holding index `i` of the parameter buffer
    /// (`trainable`) or the state buffer.
    pub(super) fn place_of(&self, i: usize, trainable: bool) -> (String, String) {
        self.places
            .iter()
            .find(|p| p.trainable == trainable && p.range.contains(&i))
            .map_or_else(
                || (String::new(), format!("value {i}")),
                |p| (p.layer.clone(), p.weight.clone()),
            )
    }

    /// Copies the parameters, moving statistics and optimizer state before an update.
    pub(super) fn keep_state(&mut self) {
        let snapshot = &mut self.snapshot;
        snapshot.params.clear();
        snapshot.params.extend_from_slice(self.model.params());
        if N::STATE_COUNT > 0 {
            snapshot.state.clear();
            snapshot.state.extend_from_slice(self.model.state());
        }
        self.optimizer.save_state(&mut snapshot.optimizer);
    }

    /// Puts back what `keep_state` copied.
    pub(super) fn restore_state(&mut self) {
        let (params, state) = self.model.params_and_state_mut();
        params.copy_from_slice(&self.snapshot.params);
        if N::STATE_COUNT > 0 {
            state.copy_from_slice(&self.snapshot.state);
        }
        self.optimizer.restore_state(&self.snapshot.optimizer);
    }

    /// [`Error::Diverged`] when the update left a non-finite weight, moving statistic or
    /// optimizer state value.
    pub(super) fn check_update(&self, (epoch, batch): (usize, usize)) -> Result<()> {
        let params = self.model.params();
        let state = self.model.state();
        if all_finite(params)
            && (N::STATE_COUNT == 0 || all_finite(state))
            && self.optimizer.state_is_finite()
        {
            return Ok(());
        }
        let (layer, what) = if let Some((i, value)) = first_non_finite(params) {
            let (layer, weight) = self.place_of(i, true);
            (layer, format!("the update made {weight} {value}"))
        } else if let Some((i, value)) = first_non_finite(state) {
            let (layer, weight) = self.place_of(i, false);
            (layer, format!("the batch made {weight} {value}"))
        } else {
            self.optimizer
                .slots()
                .iter()
                .find_map(|(name, values)| {
                    first_non_finite(values).map(|(i, value)| {
                        let (layer, weight) = self.place_of(i, true);
                        (
                            layer,
                            format!("the update made the optimizer's {name} of {weight} {value}"),
                        )
                    })
                })
                .unwrap_or_default()
        };
        Err(Error::Diverged {
            epoch,
            batch,
            layer,
            what,
        })
    }
}
