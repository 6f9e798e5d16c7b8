//! What every optimizer has besides its own settings and update rule: Keras' name, the update
//! count and the state buffers (Keras' optimizer variables) by name, in [`Common`]; and the
//! borrowed views ([`Parts`], [`PartsMut`]) through which the [`Optimizer`](super::Optimizer)
//! trait's provided methods (learning rate, iterations, clipping, checkpoints' slots, the
//! snapshot `fit` takes before an update) read and change any optimizer.
//!
//! The learning rate and the clipping settings stay public fields of each optimizer
//! (`adam.learning_rate`), as Keras' attributes are; the views borrow them with the `Common`.

use super::{Clipping, OptimizerState};

/// Most state buffers an optimizer keeps (Adam with AMSGrad, RMSprop: three).
const MAX_SLOTS: usize = 3;

/// An optimizer's name, update count and state buffers.
#[derive(Clone, Debug)]
pub struct Common {
    name: &'static str,
    /// Keras' name of each state buffer in use, in order.
    names: &'static [&'static str],
    pub(super) iterations: u64,
    /// The buffers, the first `names.len()` in use (the rest stay empty); each laid out like
    /// the trainable parameters once a step has run, empty before.
    pub(super) slots: [Vec<f32>; MAX_SLOTS],
}

impl Common {
    /// No updates yet and empty buffers, for the optimizer Keras calls `name`, whose state
    /// buffers Keras calls `slots` (at most three).
    pub fn new(name: &'static str, slots: &'static [&'static str]) -> Self {
        debug_assert!(
            slots.len() <= MAX_SLOTS,
            "at most {MAX_SLOTS} state buffers"
        );
        Common {
            name,
            names: slots,
            iterations: 0,
            slots: Default::default(),
        }
    }

    /// Keras' name of the optimizer.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Updates applied so far.
    pub fn iterations(&self) -> u64 {
        self.iterations
    }

    /// The state buffers in use, by name.
    fn named(&self) -> impl Iterator<Item = (&'static str, &Vec<f32>)> {
        self.names.iter().copied().zip(&self.slots)
    }

    /// The state buffers by name, as `Optimizer::slots` lists them.
    pub fn slots(&self) -> Vec<(&'static str, &[f32])> {
        self.named().map(|(name, s)| (name, &s[..])).collect()
    }

    /// The state buffers by name, mutable, as `Optimizer::slots_mut` lists them.
    pub fn slots_mut(&mut self) -> Vec<(&'static str, &mut Vec<f32>)> {
        self.names.iter().copied().zip(&mut self.slots).collect()
    }

    /// Sets the number of updates made so far (loading a checkpoint).
    pub fn set_iterations(&mut self, iterations: u64) {
        self.iterations = iterations;
    }

    /// Copies the iterations and state buffers into `into` (reusing its buffers).
    pub fn save_state(&self, into: &mut OptimizerState) {
        into.iterations = self.iterations;
        for (i, (_, values)) in self.named().enumerate() {
            into.keep(i, values);
        }
    }

    /// Puts back what [`save_state`](Self::save_state) copied.
    pub fn restore_state(&mut self, from: &OptimizerState) {
        self.iterations = from.iterations;
        let used = self.names.len();
        for (i, values) in self.slots.iter_mut().take(used).enumerate() {
            from.put_back(i, values);
        }
    }

    /// Whether every value of the state buffers is finite.
    pub fn state_is_finite(&self) -> bool {
        self.named()
            .all(|(_, values)| crate::error::all_finite(values))
    }
}

/// An optimizer's shared settings and state, borrowed to read.
#[derive(Clone, Copy, Debug)]
pub struct Parts<'a> {
    /// The learning rate.
    pub learning_rate: f32,
    /// The clipping settings.
    pub clipping: &'a Clipping,
    /// Name, iterations and state buffers.
    pub common: &'a Common,
}

/// An optimizer's shared settings and state, borrowed to change.
#[derive(Debug)]
pub struct PartsMut<'a> {
    /// The learning rate.
    pub learning_rate: &'a mut f32,
    /// The clipping settings.
    pub clipping: &'a mut Clipping,
    /// Name, iterations and state buffers.
    pub common: &'a mut Common,
}
