//! Gradient clipping, Keras' three kinds.

/// Which clipping an optimizer applies before its update. Keras allows one at a time; when more
/// than one is set they apply in the order per-tensor norm, global norm, value.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Clipping {
    /// Per weight tensor: g ← g · min(1, clipnorm / ‖g‖).
    pub clipnorm: Option<f32>,
    /// All gradients together: g ← g · min(1, global_clipnorm / ‖g‖_all).
    pub global_clipnorm: Option<f32>,
    /// Element-wise: g ← clamp(g, −clipvalue, clipvalue).
    pub clipvalue: Option<f32>,
}

impl Clipping {
    /// Checks that every clipping value set is finite and > 0 (Keras' constraint).
    pub fn validate(&self) -> crate::error::Result<()> {
        for (what, value) in [
            ("clipnorm", self.clipnorm),
            ("global_clipnorm", self.global_clipnorm),
            ("clipvalue", self.clipvalue),
        ] {
            if let Some(v) = value {
                super::check_positive(what, v)?;
            }
        }
        Ok(())
    }

    /// Clips `grads` in place; `tensors` are the weight tensors' lengths in order.
    pub fn apply(&self, grads: &mut [f32], tensors: &[usize]) {
        if let Some(max) = self.clipnorm {
            let mut rest = &mut *grads;
            for &len in tensors {
                let (tensor, tail) = rest.split_at_mut(len);
                scale_to_norm(tensor, norm(tensor), max);
                rest = tail;
            }
        }
        if let Some(max) = self.global_clipnorm {
            let total = norm(grads);
            scale_to_norm(grads, total, max);
        }
        if let Some(v) = self.clipvalue {
            // max/min rather than clamp: never a panic, even on a value `validate` refuses.
            grads.iter_mut().for_each(|g| *g = g.max(-v).min(v));
        }
    }
}

fn norm(v: &[f32]) -> f32 {
    v.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt() as f32
}

fn scale_to_norm(v: &mut [f32], norm: f32, max: f32) {
    if norm > max {
        let s = max / norm;
        v.iter_mut().for_each(|x| *x *= s);
    }
}
