//! Gradient clipping, Keras' three kinds.

/// Which clipping an optimizer applies before its update: one kind at most, as Keras allows.
/// Setting two or more is refused by [`validate`](Self::validate), which every training entry
/// point (`fit`, `train_on_batch`, `evaluate`, `loss_and_gradients`) calls first, with Keras'
/// `ValueError` as [`Error::InvalidArgument`](crate::error::Error::InvalidArgument) naming those
/// set.
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
    /// Checks Keras' two constraints: at most one of `clipnorm`, `clipvalue` and
    /// `global_clipnorm` is set (Keras' `BaseOptimizer` raises a `ValueError` otherwise), and
    /// the one set is finite and > 0.
    pub fn validate(&self) -> crate::error::Result<()> {
        let set: Vec<(&str, f32)> = [
            ("clipnorm", self.clipnorm),
            ("clipvalue", self.clipvalue),
            ("global_clipnorm", self.global_clipnorm),
        ]
        .into_iter()
        .filter_map(|(what, value)| value.map(|v| (what, v)))
        .collect();
        if set.len() > 1 {
            return Err(crate::error::Error::InvalidArgument {
                what: "gradient clipping",
                expected: "only one of clipnorm, clipvalue and global_clipnorm (Keras refuses \
                           more than one)",
                got: set
                    .iter()
                    .map(|(what, v)| format!("{what}={v}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        for (what, v) in set {
            super::check_positive(what, v)?;
        }
        Ok(())
    }

    /// Clips `grads` in place by the kind that is set; `tensors` are the weight tensors' lengths
    /// in order. Settings `validate` refuses (more than one kind) are never reached through
    /// training; called directly with them, each kind set is applied.
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
