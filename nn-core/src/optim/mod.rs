//! Keras' optimizers with its defaults and exact update rules, each one sweep over the flat
//! parameter buffer (element-wise loops over contiguous slices, which the compiler vectorises).
//!
//! Gradient clipping (`clipnorm` per weight tensor, `global_clipnorm` or `clipvalue`: one kind
//! at most, as Keras allows) is applied to the gradients before the update, as Keras does.

mod adam;
mod clip;
mod common;
mod others;

pub use adam::{Adam, AdamW};
pub use clip::Clipping;
pub use common::{Common, Parts, PartsMut};
pub use others::{Adagrad, RMSprop, SGD};

use crate::error::{Error, Result};

/// A copy of an optimizer's iterations and state buffers, taken before an update so that an
/// update that overflows can be undone (`fit` keeps the last finite state). Its buffers are
/// reused from step to step, so taking a copy allocates nothing once they have grown.
#[derive(Clone, Debug, Default)]
pub struct OptimizerState {
    iterations: u64,
    slots: Vec<Vec<f32>>,
}

impl OptimizerState {
    /// Copies `values` into slot `i`.
    pub fn keep(&mut self, i: usize, values: &[f32]) {
        while self.slots.len() <= i {
            self.slots.push(Vec::new());
        }
        if let Some(slot) = self.slots.get_mut(i) {
            slot.clear();
            slot.extend_from_slice(values);
        }
    }

    /// Copies slot `i` back into `values`.
    pub fn put_back(&self, i: usize, values: &mut Vec<f32>) {
        values.clear();
        if let Some(slot) = self.slots.get(i) {
            values.extend_from_slice(slot);
        }
    }
}

/// `Ok` when `value` is finite and > 0 (learning rates, epsilon, clip values, Huber's delta).
pub(crate) fn check_positive(what: &'static str, value: f32) -> Result<()> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidArgument {
            what,
            expected: "a finite number > 0",
            got: value.to_string(),
        })
    }
}

/// `Ok` when `value` is finite and ≥ 0.
pub(crate) fn check_non_negative(what: &'static str, value: f32) -> Result<()> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidArgument {
            what,
            expected: "a finite number ≥ 0",
            got: value.to_string(),
        })
    }
}

/// `Ok` when `value` is in [0, 1) (Adam's betas, RMSprop's rho and momentum).
pub(crate) fn check_unit(what: &'static str, value: f32) -> Result<()> {
    if (0.0..1.0).contains(&value) {
        Ok(())
    } else {
        Err(Error::InvalidArgument {
            what,
            expected: "in [0, 1)",
            got: value.to_string(),
        })
    }
}

/// An optimizer over the flat parameter buffer.
///
/// Builders (`new`, `clipvalue`, `momentum`, …) store what they are given;
/// [`validate`](Self::validate) checks it, and `fit`, `train_on_batch`, `evaluate` and
/// `loss_and_gradients` call it before anything changes, so a bad setting is an
/// [`Error::InvalidArgument`], never a panic or a NaN weight.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an optimizer",
    label = "expected an optimizer such as `Adam::new(0.001)`",
    note = "write `Adam::new(0.001)` (or `SGD::new(0.01)`, `RMSprop::new(0.001)`, …), or parse \
            Keras' name: `\"adam\".parse::<Adam>()?`"
)]
pub trait Optimizer: Send {
    /// The settings and state every optimizer has (learning rate, clipping, [`Common`]),
    /// borrowed from its fields: what the provided methods below read.
    fn parts(&self) -> Parts<'_>;

    /// The same, to change.
    fn parts_mut(&mut self) -> PartsMut<'_>;

    /// Keras' name (`adam`, `sgd`, …).
    fn name(&self) -> &'static str {
        self.parts().common.name()
    }

    /// The current learning rate.
    fn learning_rate(&self) -> f32 {
        self.parts().learning_rate
    }

    /// Sets the learning rate (ReduceLROnPlateau, schedules).
    fn set_learning_rate(&mut self, learning_rate: f32) {
        *self.parts_mut().learning_rate = learning_rate;
    }

    /// Updates applied so far (Keras' `optimizer.iterations`).
    fn iterations(&self) -> u64 {
        self.parts().common.iterations()
    }

    /// Gradient clipping settings.
    fn clipping_mut(&mut self) -> &mut Clipping {
        self.parts_mut().clipping
    }

    /// Gradient clipping settings, to read.
    fn clipping(&self) -> &Clipping {
        self.parts().clipping
    }

    /// Checks every setting: the learning rate finite and ≥ 0, the clipping values finite and
    /// above 0, and the optimizer's own (betas and rho in [0, 1), epsilon > 0, …). Returns
    /// [`Error::InvalidArgument`] naming the setting.
    ///
    /// A learning rate of 0 is allowed, as Keras allows it: the weights stay as they are while
    /// the training-mode pass runs (BatchNormalization's moving statistics still move). There
    /// is no upper bound either (Keras has none): Adam's step is bounded by about the learning
    /// rate, so lr 1e6 trains to large but finite weights whose loss the History reports; a
    /// rate that makes a weight or the optimizer's state overflow is caught by `fit` as
    /// [`Error::Diverged`], with the weights kept as they were.
    fn validate(&self) -> Result<()> {
        check_non_negative("learning_rate", self.learning_rate())?;
        self.clipping().validate()
    }

    /// Copies the iterations and state buffers into `into` (reusing its buffers).
    fn save_state(&self, into: &mut OptimizerState) {
        self.parts().common.save_state(into);
    }

    /// Puts back what [`save_state`](Self::save_state) copied.
    fn restore_state(&mut self, from: &OptimizerState) {
        self.parts_mut().common.restore_state(from);
    }

    /// Whether every value of the state buffers is finite.
    fn state_is_finite(&self) -> bool {
        self.parts().common.state_is_finite()
    }

    /// The optimizer's state buffers by name (`momentum`, `velocity`, …), each laid out like
    /// the trainable parameters once a step has run, empty before.
    fn slots(&self) -> Vec<(&'static str, &[f32])> {
        self.parts().common.slots()
    }

    /// The state buffers, mutable (loading a checkpoint).
    fn slots_mut(&mut self) -> Vec<(&'static str, &mut Vec<f32>)> {
        self.parts_mut().common.slots_mut()
    }

    /// Sets the number of updates made so far (loading a checkpoint).
    fn set_iterations(&mut self, iterations: u64) {
        self.parts_mut().common.set_iterations(iterations);
    }

    /// One update of `params` from `grads`, both laid out like the network's parameters;
    /// `tensors` is the length of each weight tensor in order (per-tensor `clipnorm` needs them).
    /// `grads` may be clipped in place.
    fn step(&mut self, params: &mut [f32], grads: &mut [f32], tensors: &[usize]);

    /// Clip each weight tensor's gradient to this L2 norm (Keras' `clipnorm`). One kind of
    /// clipping at most: with `global_clipnorm` or `clipvalue` also set, training refuses the
    /// optimizer ([`Error::InvalidArgument`]), as Keras' constructor does.
    #[must_use = "a builder method returns the changed value"]
    fn clipnorm(mut self, norm: f32) -> Self
    where
        Self: Sized,
    {
        self.clipping_mut().clipnorm = Some(norm);
        self
    }

    /// Clip the gradient of all weights together to this L2 norm (`global_clipnorm`); the only
    /// kind of clipping set, as for [`clipnorm`](Self::clipnorm).
    #[must_use = "a builder method returns the changed value"]
    fn global_clipnorm(mut self, norm: f32) -> Self
    where
        Self: Sized,
    {
        self.clipping_mut().global_clipnorm = Some(norm);
        self
    }

    /// Clip every gradient value to [−value, value] (`clipvalue`); the only kind of clipping
    /// set, as for [`clipnorm`](Self::clipnorm).
    #[must_use = "a builder method returns the changed value"]
    fn clipvalue(mut self, value: f32) -> Self
    where
        Self: Sized,
    {
        self.clipping_mut().clipvalue = Some(value);
        self
    }
}

/// Parameter count from which a sweep is split across threads: below it, fork/join costs more
/// than the sweep.
const PARALLEL_MIN_PARAMS: usize = 1 << 17;
/// Values per parallel piece of a sweep (128 KB of each buffer).
const PARALLEL_CHUNK: usize = 1 << 15;

/// Flushes a subnormal optimizer state value to zero.
///
/// A moment whose gradient stays 0 decays geometrically and spends dozens of steps below
/// f32::MIN_POSITIVE, where every multiply, square root and division takes a microcode assist
/// (measured: 15–25% of a tutorial training step). TensorFlow runs its CPU kernels with
/// flush-to-zero, so Keras' state is zero there too. Changing the FPU mode from Rust is unsound;
/// this compare-and-select vectorises with the sweep instead.
#[inline(always)]
fn flush(x: f32) -> f32 {
    if x.abs() < f32::MIN_POSITIVE {
        0.0
    } else {
        x
    }
}

/// A zeroed state buffer the length of the parameters, made on the first step.
fn state(buffer: &mut Vec<f32>, len: usize, initial: f32) -> &mut [f32] {
    if buffer.len() != len {
        *buffer = vec![initial; len];
    }
    buffer
}
