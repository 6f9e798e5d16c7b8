//! SGD (with momentum and Nesterov), RMSprop and Adagrad, in Keras 3's forms.

use super::{
    check_non_negative, check_positive, check_unit, flush, state, Clipping, Common, Optimizer,
    Parts, PartsMut,
};
use crate::error::{Error, Result};

/// Keras' `SGD(learning_rate=0.01, momentum=0.0, nesterov=False)`:
/// m ← μm − lr·g; w ← w + m, or with Nesterov w ← w + μm − lr·g.
#[derive(Clone, Debug)]
pub struct SGD {
    /// Step size.
    pub learning_rate: f32,
    /// Momentum (0 for none).
    pub momentum: f32,
    /// Nesterov momentum.
    pub nesterov: bool,
    /// `clipnorm`, `global_clipnorm` or `clipvalue` (one at most, as in Keras), applied to the
    /// gradients first.
    pub clipping: Clipping,
    common: Common,
}

impl SGD {
    /// Plain SGD at this learning rate.
    pub fn new(learning_rate: f32) -> Self {
        SGD {
            learning_rate,
            momentum: 0.0,
            nesterov: false,
            clipping: Clipping::default(),
            common: Common::new("sgd", &["momentum"]),
        }
    }
    /// Sets the momentum μ.
    #[must_use = "a builder method returns the changed value"]
    pub fn momentum(mut self, momentum: f32) -> Self {
        self.momentum = momentum;
        self
    }
    /// Nesterov momentum.
    #[must_use = "a builder method returns the changed value"]
    pub fn nesterov(mut self, on: bool) -> Self {
        self.nesterov = on;
        self
    }
}

impl Optimizer for SGD {
    fn parts(&self) -> Parts<'_> {
        Parts {
            learning_rate: self.learning_rate,
            clipping: &self.clipping,
            common: &self.common,
        }
    }
    fn parts_mut(&mut self) -> PartsMut<'_> {
        PartsMut {
            learning_rate: &mut self.learning_rate,
            clipping: &mut self.clipping,
            common: &mut self.common,
        }
    }
    /// The learning rate and clipping, momentum in [0, 1] (Keras' own check).
    fn validate(&self) -> Result<()> {
        check_non_negative("learning_rate", self.learning_rate)?;
        if !(0.0..=1.0).contains(&self.momentum) {
            return Err(Error::InvalidArgument {
                what: "SGD momentum",
                expected: "in [0, 1]",
                got: self.momentum.to_string(),
            });
        }
        self.clipping.validate()
    }
    fn step(&mut self, params: &mut [f32], grads: &mut [f32], tensors: &[usize]) {
        self.clipping.apply(grads, tensors);
        let (lr, mu) = (self.learning_rate, self.momentum);
        if mu == 0.0 {
            sgd_sweep(params, grads, lr);
        } else {
            let [velocity, ..] = &mut self.common.slots;
            let m = state(velocity, params.len(), 0.0);
            momentum_sweep(params, grads, m, [lr, mu], self.nesterov);
        }
        self.common.iterations += 1;
    }
}

/// Keras' `RMSprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False)`:
/// v ← ρv + (1 − ρ)g²; w ← w − lr·g/√(v + ε) (ε inside the root), centred subtracting the mean
/// gradient squared, with optional momentum on the increment.
#[derive(Clone, Debug)]
pub struct RMSprop {
    /// Step size.
    pub learning_rate: f32,
    /// Decay of the squared-gradient average (Keras' default 0.9).
    pub rho: f32,
    /// Momentum (0 for none).
    pub momentum: f32,
    /// Added to the denominator (Keras' default 1e-7).
    pub epsilon: f32,
    /// Divide by the variance estimate instead of the raw second moment.
    pub centered: bool,
    /// `clipnorm`, `global_clipnorm` or `clipvalue` (one at most, as in Keras), applied to the
    /// gradients first.
    pub clipping: Clipping,
    common: Common,
}

impl RMSprop {
    /// RMSprop with Keras' defaults at this learning rate.
    pub fn new(learning_rate: f32) -> Self {
        RMSprop {
            learning_rate,
            rho: 0.9,
            momentum: 0.0,
            epsilon: 1e-7,
            centered: false,
            clipping: Clipping::default(),
            common: Common::new("rmsprop", &["velocity", "average_gradient", "momentum"]),
        }
    }
    /// Sets the momentum.
    #[must_use = "a builder method returns the changed value"]
    pub fn momentum(mut self, momentum: f32) -> Self {
        self.momentum = momentum;
        self
    }
    /// The centred variant.
    #[must_use = "a builder method returns the changed value"]
    pub fn centered(mut self, on: bool) -> Self {
        self.centered = on;
        self
    }
}

impl Optimizer for RMSprop {
    fn parts(&self) -> Parts<'_> {
        Parts {
            learning_rate: self.learning_rate,
            clipping: &self.clipping,
            common: &self.common,
        }
    }
    fn parts_mut(&mut self) -> PartsMut<'_> {
        PartsMut {
            learning_rate: &mut self.learning_rate,
            clipping: &mut self.clipping,
            common: &mut self.common,
        }
    }
    /// The learning rate and clipping, rho and momentum in [0, 1), epsilon finite and > 0.
    fn validate(&self) -> Result<()> {
        check_non_negative("learning_rate", self.learning_rate)?;
        check_unit("rho", self.rho)?;
        check_unit("RMSprop momentum", self.momentum)?;
        check_positive("epsilon", self.epsilon)?;
        self.clipping.validate()
    }
    fn step(&mut self, params: &mut [f32], grads: &mut [f32], tensors: &[usize]) {
        self.clipping.apply(grads, tensors);
        let n = params.len();
        let (lr, rho, eps) = (self.learning_rate, self.rho, self.epsilon);
        let [velocity, average_gradient, momentum_buffer] = &mut self.common.slots;
        let v = state(velocity, n, 0.0);
        let mg = state(average_gradient, if self.centered { n } else { 0 }, 0.0);
        let mom = state(
            momentum_buffer,
            if self.momentum > 0.0 { n } else { 0 },
            0.0,
        );
        rmsprop_sweep(params, grads, v, mg, mom, [lr, rho, eps, self.momentum]);
        self.common.iterations += 1;
    }
}

/// Keras' `Adagrad(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7)`:
/// a ← a + g²; w ← w − lr·g/√(a + ε).
#[derive(Clone, Debug)]
pub struct Adagrad {
    /// Step size.
    pub learning_rate: f32,
    /// Starting value of the squared-gradient sums (Keras' default 0.1).
    pub initial_accumulator_value: f32,
    /// Added to the denominator (Keras' default 1e-7).
    pub epsilon: f32,
    /// `clipnorm`, `global_clipnorm` or `clipvalue` (one at most, as in Keras), applied to the
    /// gradients first.
    pub clipping: Clipping,
    common: Common,
}

impl Adagrad {
    /// Adagrad with Keras' defaults at this learning rate.
    pub fn new(learning_rate: f32) -> Self {
        Adagrad {
            learning_rate,
            initial_accumulator_value: 0.1,
            epsilon: 1e-7,
            clipping: Clipping::default(),
            common: Common::new("adagrad", &["accumulator"]),
        }
    }
}

impl Optimizer for Adagrad {
    fn parts(&self) -> Parts<'_> {
        Parts {
            learning_rate: self.learning_rate,
            clipping: &self.clipping,
            common: &self.common,
        }
    }
    fn parts_mut(&mut self) -> PartsMut<'_> {
        PartsMut {
            learning_rate: &mut self.learning_rate,
            clipping: &mut self.clipping,
            common: &mut self.common,
        }
    }
    /// The learning rate and clipping, initial_accumulator_value finite and ≥ 0 (Keras: "must
    /// be non-negative"), epsilon finite and > 0.
    fn validate(&self) -> Result<()> {
        check_non_negative("learning_rate", self.learning_rate)?;
        check_non_negative("initial_accumulator_value", self.initial_accumulator_value)?;
        check_positive("epsilon", self.epsilon)?;
        self.clipping.validate()
    }
    fn step(&mut self, params: &mut [f32], grads: &mut [f32], tensors: &[usize]) {
        self.clipping.apply(grads, tensors);
        let (lr, eps) = (self.learning_rate, self.epsilon);
        let [accumulator, ..] = &mut self.common.slots;
        let a = state(accumulator, params.len(), self.initial_accumulator_value);
        adagrad_sweep(params, grads, a, [lr, eps]);
        self.common.iterations += 1;
    }
}

crate::multiversion! {
    /// w −= lr·g.
    fn sgd_sweep(w: &mut [f32], g: &[f32], lr: f32) {
        for (w, &g) in w.iter_mut().zip(g) {
            *w -= lr * g;
        }
    }
}

crate::multiversion! {
    /// m ← μm − lr·g; w += m, or μm − lr·g with Nesterov.
    fn momentum_sweep(w: &mut [f32], g: &[f32], m: &mut [f32], c: [f32; 2], nesterov: bool) {
        let [lr, mu] = c;
        for ((w, &g), m) in w.iter_mut().zip(g).zip(m) {
            *m = flush(mu * *m - lr * g);
            *w += if nesterov { mu * *m - lr * g } else { *m };
        }
    }
}

crate::multiversion! {
    /// RMSprop, centred when `mg` is not empty, with momentum when `mom` is not empty.
    fn rmsprop_sweep(w: &mut [f32], g: &[f32], v: &mut [f32], mg: &mut [f32], mom: &mut [f32], c: [f32; 4]) {
        /// One weight; `mg` and `mom` are `None` when RMSprop runs without them (each loop below
        /// passes a constant, so the branches fold away).
        #[inline(always)]
        fn step(w: &mut f32, gi: f32, v: &mut f32, mg: Option<&mut f32>, mom: Option<&mut f32>, c: [f32; 4]) {
            let [lr, rho, eps, momentum] = c;
            *v = flush(rho * *v + (1.0 - rho) * gi * gi);
            let denominator = match mg {
                Some(mg) => {
                    *mg = flush(rho * *mg + (1.0 - rho) * gi);
                    *v - *mg * *mg + eps
                }
                None => *v + eps,
            };
            let increment = lr * gi / denominator.sqrt();
            match mom {
                Some(mom) => {
                    *mom = flush(momentum * *mom + increment);
                    *w -= *mom;
                }
                None => *w -= increment,
            }
        }
        let (centered, with_momentum) = (!mg.is_empty(), !mom.is_empty());
        // The optimizer sizes every state buffer it uses like the weights.
        debug_assert!(g.len() == w.len() && v.len() == w.len());
        debug_assert!(!centered || mg.len() == w.len());
        debug_assert!(!with_momentum || mom.len() == w.len());
        let wgv = w.iter_mut().zip(g).zip(v.iter_mut());
        match (centered, with_momentum) {
            (false, false) => {
                for ((w, &gi), v) in wgv {
                    step(w, gi, v, None, None, c);
                }
            }
            (true, false) => {
                for (((w, &gi), v), mg) in wgv.zip(mg) {
                    step(w, gi, v, Some(mg), None, c);
                }
            }
            (false, true) => {
                for (((w, &gi), v), mom) in wgv.zip(mom) {
                    step(w, gi, v, None, Some(mom), c);
                }
            }
            (true, true) => {
                for ((((w, &gi), v), mg), mom) in wgv.zip(mg).zip(mom) {
                    step(w, gi, v, Some(mg), Some(mom), c);
                }
            }
        }
    }
}

crate::multiversion! {
    /// a += g²; w −= lr·g/√(a + ε).
    fn adagrad_sweep(w: &mut [f32], g: &[f32], a: &mut [f32], c: [f32; 2]) {
        let [lr, eps] = c;
        for ((w, &g), a) in w.iter_mut().zip(g).zip(a) {
            *a += g * g;
            *w -= lr * g / (*a + eps).sqrt();
        }
    }
}
