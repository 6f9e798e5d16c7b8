//! Keras' optimizers with its defaults and exact update rules, each one sweep over the flat
//! parameter buffer (element-wise loops over contiguous slices, which the compiler vectorises).
//!
//! Gradient clipping (`clipnorm` per weight tensor, `global_clipnorm`, `clipvalue`) is applied to
//! the gradients before the update, as Keras does.

/// The accessors of an optimizer with `learning_rate`, `iterations` and `clipping` fields, and
/// its state buffers (`field => "Keras' name"`), which checkpoints save and load.
macro_rules! optimizer_common {
    ($name:literal, [$($field:ident => $slot:literal),*]) => {
        fn slots(&self) -> Vec<(&'static str, &[f32])> {
            vec![$(($slot, &self.$field[..])),*]
        }
        fn slots_mut(&mut self) -> Vec<(&'static str, &mut Vec<f32>)> {
            vec![$(($slot, &mut self.$field)),*]
        }
        fn set_iterations(&mut self, iterations: u64) {
            self.iterations = iterations;
        }
        fn name(&self) -> &'static str {
            $name
        }
        fn learning_rate(&self) -> f32 {
            self.learning_rate
        }
        fn set_learning_rate(&mut self, learning_rate: f32) {
            self.learning_rate = learning_rate;
        }
        fn iterations(&self) -> u64 {
            self.iterations
        }
        fn clipping_mut(&mut self) -> &mut Clipping {
            &mut self.clipping
        }
    };
}

mod adam;
mod clip;
mod others;

pub use adam::{Adam, AdamW};
pub use clip::Clipping;
pub use others::{Adagrad, RMSprop, SGD};

/// An optimizer over the flat parameter buffer.
pub trait Optimizer: Send {
    /// Keras' name (`adam`, `sgd`, …).
    fn name(&self) -> &'static str;

    /// The current learning rate.
    fn learning_rate(&self) -> f32;

    /// Sets the learning rate (ReduceLROnPlateau, schedules).
    fn set_learning_rate(&mut self, learning_rate: f32);

    /// Updates applied so far (Keras' `optimizer.iterations`).
    fn iterations(&self) -> u64;

    /// Gradient clipping settings.
    fn clipping_mut(&mut self) -> &mut Clipping;

    /// The optimizer's state buffers by name (`momentum`, `velocity`, …), each laid out like
    /// the trainable parameters once a step has run, empty before.
    fn slots(&self) -> Vec<(&'static str, &[f32])>;

    /// The state buffers, mutable (loading a checkpoint).
    fn slots_mut(&mut self) -> Vec<(&'static str, &mut Vec<f32>)>;

    /// Sets the number of updates made so far (loading a checkpoint).
    fn set_iterations(&mut self, iterations: u64);

    /// One update of `params` from `grads`, both laid out like the network's parameters;
    /// `tensors` is the length of each weight tensor in order (per-tensor `clipnorm` needs them).
    /// `grads` may be clipped in place.
    fn step(&mut self, params: &mut [f32], grads: &mut [f32], tensors: &[usize]);

    /// Clip each weight tensor's gradient to this L2 norm (Keras' `clipnorm`).
    fn clipnorm(mut self, norm: f32) -> Self
    where
        Self: Sized,
    {
        self.clipping_mut().clipnorm = Some(norm);
        self
    }

    /// Clip the gradient of all weights together to this L2 norm (`global_clipnorm`).
    fn global_clipnorm(mut self, norm: f32) -> Self
    where
        Self: Sized,
    {
        self.clipping_mut().global_clipnorm = Some(norm);
        self
    }

    /// Clip every gradient value to [−value, value] (`clipvalue`).
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
