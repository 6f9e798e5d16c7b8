//! Adam and AdamW in Keras 3's form: ε is added to √v (not to a bias-corrected √v̂), with the
//! bias correction folded into the step size: α = lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ).

use super::{
    check_non_negative, check_positive, check_unit, flush, state, Clipping, Common, Optimizer,
    Parts, PartsMut, PARALLEL_CHUNK, PARALLEL_MIN_PARAMS,
};
use crate::error::Result;
use crate::par::prelude::*;

/// Keras' `Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False)`.
///
/// Comparing with PyTorch, dfdx, candle or burn: they add ε to the bias-corrected √v̂, Keras
/// (and so seqnet) to √v, so the same ε gives a different step wherever √v is not far above ε
/// (the first steps, small gradients): on the 784-512-512-10 model the first step's weights
/// differed by up to 6e-3 with ε = 1e-7 on both sides, and agreed within 4e-6 with seqnet's ε
/// set to theirs times √(1 − β₂) (the two forms coincide at step t for ε·√(1 − β₂ᵗ)).
#[derive(Clone, Debug)]
pub struct Adam {
    /// Step size (Keras default 0.001).
    pub learning_rate: f32,
    /// Decay of the first-moment average (Keras' default 0.9).
    pub beta_1: f32,
    /// Decay of the second-moment average (Keras' default 0.999).
    pub beta_2: f32,
    /// Added to the denominator (Keras' default 1e-7).
    pub epsilon: f32,
    /// Use the maximum of past second moments (AMSGrad).
    pub amsgrad: bool,
    /// `clipnorm`, `global_clipnorm` or `clipvalue` (one at most, as in Keras), applied to the
    /// gradients first.
    pub clipping: Clipping,
    common: Common,
}

impl Adam {
    /// Adam with Keras' defaults at this learning rate.
    pub fn new(learning_rate: f32) -> Self {
        Adam {
            learning_rate,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            amsgrad: false,
            clipping: Clipping::default(),
            common: Common::new("adam", &["momentum", "velocity", "velocity_hat"]),
        }
    }

    /// The AMSGrad variant: divides by the largest v seen so far.
    #[must_use = "a builder method returns the changed value"]
    pub fn amsgrad(mut self, on: bool) -> Self {
        self.amsgrad = on;
        self
    }

    /// The update without clipping or weight decay.
    fn update(&mut self, params: &mut [f32], grads: &[f32]) {
        let t = (self.common.iterations + 1) as f32;
        let (b1, b2, eps) = (self.beta_1, self.beta_2, self.epsilon);
        let alpha = self.learning_rate * (1.0 - b2.powf(t)).sqrt() / (1.0 - b1.powf(t));
        let n = params.len();
        let [m, v, v_max] = &mut self.common.slots;
        let m = state(m, n, 0.0);
        let v = state(v, n, 0.0);
        let c = [alpha, b1, b2, eps];
        // Element-wise, so a large buffer splits across threads without changing any result;
        // a small one stays on this thread (a rayon call would cost a hop into the pool).
        let parallel = n >= PARALLEL_MIN_PARAMS && crate::par::current_num_threads() > 1;
        let ch = PARALLEL_CHUNK;
        match (self.amsgrad, parallel) {
            (false, false) => adam_sweep(params, grads, m, v, c),
            (false, true) => params
                .par_chunks_mut(ch)
                .zip(grads.par_chunks(ch))
                .zip(m.par_chunks_mut(ch).zip(v.par_chunks_mut(ch)))
                .for_each(|((w, g), (m, v))| adam_sweep(w, g, m, v, c)),
            (true, false) => {
                let v_max = state(v_max, n, 0.0);
                amsgrad_sweep(params, grads, m, v, v_max, c);
            }
            (true, true) => {
                let v_max = state(v_max, n, 0.0);
                params
                    .par_chunks_mut(ch)
                    .zip(grads.par_chunks(ch))
                    .zip(m.par_chunks_mut(ch))
                    .zip(v.par_chunks_mut(ch).zip(v_max.par_chunks_mut(ch)))
                    .for_each(|(((w, g), m), (v, v_max))| amsgrad_sweep(w, g, m, v, v_max, c));
            }
        }
        self.common.iterations += 1;
    }
}

impl Optimizer for Adam {
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
    /// The learning rate and clipping, beta_1 and beta_2 in [0, 1), epsilon finite and > 0.
    fn validate(&self) -> Result<()> {
        check_non_negative("learning_rate", self.learning_rate)?;
        check_unit("beta_1", self.beta_1)?;
        check_unit("beta_2", self.beta_2)?;
        check_positive("epsilon", self.epsilon)?;
        self.clipping.validate()
    }
    fn step(&mut self, params: &mut [f32], grads: &mut [f32], tensors: &[usize]) {
        self.clipping.apply(grads, tensors);
        self.update(params, grads);
    }
}

/// Keras' `AdamW(learning_rate=0.001, weight_decay=0.004, …)`: before each Adam update every
/// weight is shrunk by w ← w − w·weight_decay·lr (decoupled weight decay).
#[derive(Clone, Debug)]
pub struct AdamW {
    /// The Adam settings the update uses.
    pub adam: Adam,
    /// Decoupled weight decay (Keras' default 0.004), applied to kernels and biases alike as Keras does.
    pub weight_decay: f32,
}

impl AdamW {
    /// AdamW with Keras' defaults at this learning rate.
    pub fn new(learning_rate: f32) -> Self {
        AdamW {
            adam: Adam::new(learning_rate),
            weight_decay: 0.004,
        }
    }

    /// Sets the decay rate.
    #[must_use = "a builder method returns the changed value"]
    pub fn weight_decay(mut self, weight_decay: f32) -> Self {
        self.weight_decay = weight_decay;
        self
    }
}

impl Optimizer for AdamW {
    fn parts(&self) -> Parts<'_> {
        self.adam.parts()
    }
    fn parts_mut(&mut self) -> PartsMut<'_> {
        self.adam.parts_mut()
    }
    /// `adamw` (the settings and state are the inner Adam's).
    fn name(&self) -> &'static str {
        "adamw"
    }
    /// Adam's checks, and weight_decay finite and ≥ 0.
    fn validate(&self) -> Result<()> {
        self.adam.validate()?;
        check_non_negative("weight_decay", self.weight_decay)
    }
    fn step(&mut self, params: &mut [f32], grads: &mut [f32], tensors: &[usize]) {
        self.adam.clipping.apply(grads, tensors);
        let decay = self.weight_decay * self.adam.learning_rate;
        params.iter_mut().for_each(|w| *w -= *w * decay);
        self.adam.update(params, grads);
    }
}

crate::multiversion! {
    /// m += (g − m)(1 − β₁); v += (g² − v)(1 − β₂); w −= α·m/(√v + ε), one pass.
    fn adam_sweep(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], c: [f32; 4]) {
        let [alpha, b1, b2, eps] = c;
        for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            *m = flush(*m + (g - *m) * (1.0 - b1));
            *v = flush(*v + (g * g - *v) * (1.0 - b2));
            *w -= alpha * *m / (v.sqrt() + eps);
        }
    }
}

crate::multiversion! {
    /// Adam's sweep dividing by the largest v seen so far.
    fn amsgrad_sweep(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], v_max: &mut [f32], c: [f32; 4]) {
        let [alpha, b1, b2, eps] = c;
        for ((((w, &g), m), v), v_max) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()).zip(v_max.iter_mut()) {
            *m = flush(*m + (g - *m) * (1.0 - b1));
            *v = flush(*v + (g * g - *v) * (1.0 - b2));
            *v_max = v_max.max(*v);
            *w -= alpha * *m / (v_max.sqrt() + eps);
        }
    }
}
