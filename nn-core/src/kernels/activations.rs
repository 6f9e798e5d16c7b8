//! Keras 3's activations, each as a type so the fused Dense kernel is monomorphized for exactly
//! the activation a layer uses. Every one is written to stay finite where the maths is finite:
//! no `exp` of a large positive argument is taken where the result is then divided away.
//!
//! `derivative(z, y)` is d act / dz at the pre-activation `z`, given `y = act(z)` from the forward
//! pass, so activations whose derivative is cheapest from the output (sigmoid, tanh) reuse it.

use super::vmath;

/// What a kernel may do with an activation while the outputs are still in vector registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InRegister {
    /// Nothing to do (linear).
    Identity,
    /// max(z, 0).
    Relu,
    /// Store first, then `apply_slice` (everything else).
    AfterStore,
}

/// Every activation name Keras 3 accepts that seqnet builds, aliases included (`swish` is
/// `silu`): `nn_keras`'s table, which the `sequential!` macro reads too.
pub const NAMES: &[&str] = &nn_keras::activations::NAMES;

/// One Keras activation. Element-wise unless [`Activation::ROW_WISE`] (softmax).
pub trait Activation: Copy + Send + Sync + std::fmt::Debug + 'static {
    /// The name Keras gives it (`"relu"`, `"leaky_relu"`, …).
    const NAME: &'static str;
    /// True when the output of one unit depends on the whole row (softmax).
    const ROW_WISE: bool = false;
    /// How a kernel can apply it to registers (known at compile time, so the branch vanishes).
    const IN_REGISTER: InRegister = InRegister::AfterStore;

    /// act(z), for element-wise activations.
    fn apply(&self, z: f32) -> f32;

    /// d act / dz at `z`, where `y = act(z)`, for element-wise activations.
    fn derivative(&self, z: f32, y: f32) -> f32;

    /// act(z) as one lane of a run ([`apply_slice`](Self::apply_slice), its whole groups of
    /// eight): a branch-free formula the compiler vectorises (`kernels/vmath.rs`), where the
    /// activation has one; the default is [`apply`](Self::apply).
    #[inline(always)]
    fn apply_lane(&self, z: f32) -> f32 {
        self.apply(z)
    }

    /// One value of a run as [`apply_slice`](Self::apply_slice) gives it (its whole groups of
    /// eight): act(z) + z·0 by the vectorising formula, `linear`'s z unchanged. For loops that
    /// apply several activations to each position at once (the recurrent cells), so they
    /// vectorise as one loop.
    #[inline(always)]
    fn fire(&self, z: f32) -> f32 {
        if Self::IN_REGISTER == InRegister::Identity {
            z
        } else {
            self.apply_lane(z) + z * 0.0
        }
    }

    /// Applies the (element-wise) activation to a run of values in place, vectorised,
    /// as act(z) + z·0: the activation's value for a finite z (z·0 is ±0, which changes no
    /// bits), NaN for a NaN or ±∞ z, which an activation would otherwise saturate to a finite
    /// number (`sigmoid(+∞)` = 1, `relu(−∞)` = 0) and so hide an overflow. `linear` leaves the
    /// values as they are (±∞ stays ±∞). This is the form every kernel applies (the fused relu
    /// in registers does the same, `fma(v, 0, max(v, 0))`); `apply` and `apply_lane` are the
    /// activation's own formula, Keras' values at ±∞ included.
    #[inline(always)]
    fn apply_slice(&self, values: &mut [f32]) {
        if Self::IN_REGISTER == InRegister::Identity {
            // linear: the values are the outputs, ±∞ and NaN included.
            return;
        }
        // Whole groups of eight take the vectorising formula; the last len mod 8 values take
        // `apply` (libm), which is faster for a value or two (a sigmoid head's one output: 20 ns
        // a call). A row always has the same length, so a column always takes the same form.
        let (run, tail) = values.split_at_mut(values.len() / 8 * 8);
        for v in run {
            *v = self.fire(*v);
        }
        for v in tail {
            *v = self.apply(*v) + *v * 0.0;
        }
    }

    /// Replaces a row of pre-activations by the activations, in place, NaN where z is not
    /// finite (as [`apply_slice`](Self::apply_slice)).
    #[inline]
    fn apply_row(&self, row: &mut [f32]) {
        if Self::IN_REGISTER == InRegister::Identity {
            return;
        }
        for v in row {
            *v = self.apply(*v) + *v * 0.0;
        }
    }

    /// Turns one row of dL/dy into dL/dz in place: dz = dy ⊙ act'(z) (for softmax, the
    /// Jacobian-vector product). In place because the backward pass reads each dy once.
    #[inline]
    fn backward_row(&self, z: &[f32], y: &[f32], delta: &mut [f32]) {
        for ((d, &z), &y) in delta.iter_mut().zip(z).zip(y) {
            *d *= self.derivative(z, y);
        }
    }

    /// Parameters that are part of the name in a config (`negative_slope` of leaky_relu).
    fn describe(&self) -> String {
        Self::NAME.to_string()
    }
}

/// The logistic function, computed so that neither branch overflows: for z < 0 it is
/// e^z / (1 + e^z), whose exponential is at most 1.
#[inline(always)]
pub fn sigmoid(z: f32) -> f32 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// ln(1 + e^z) without overflow: max(z, 0) + ln(1 + e^−|z|).
#[inline(always)]
pub fn softplus(z: f32) -> f32 {
    z.max(0.0) + (-z.abs()).exp().ln_1p()
}

macro_rules! unit_activation {
    ($(#[$doc:meta])* $ty:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq)]
        pub struct $ty;
    };
}

unit_activation!(
    /// `linear`: the identity.
    Linear
);
unit_activation!(
    /// `relu`: max(z, 0); its derivative at 0 is 0, as TensorFlow's.
    Relu
);
unit_activation!(
    /// `sigmoid`: 1 / (1 + e^−z).
    Sigmoid
);
unit_activation!(
    /// `tanh`.
    Tanh
);
unit_activation!(
    /// `softmax` over the units of a row, shifted by the row maximum so no `exp` overflows.
    Softmax
);
unit_activation!(
    /// `elu` with Keras' default alpha = 1: z for z > 0, e^z − 1 otherwise.
    Elu
);
unit_activation!(
    /// `selu`: scale · elu_alpha(z) with Klambauer et al.'s constants.
    Selu
);
unit_activation!(
    /// `swish` / `silu`: z · sigmoid(z).
    Swish
);
unit_activation!(
    /// `softplus`: ln(1 + e^z).
    Softplus
);
unit_activation!(
    /// `softsign`: z / (1 + |z|).
    Softsign
);
unit_activation!(
    /// `hard_sigmoid` as Keras 3 defines it: relu6(z + 3) / 6.
    HardSigmoid
);
unit_activation!(
    /// `exponential`: e^z (+∞ past ln(f32::MAX) ≈ 88.72, as in Keras; never NaN).
    Exponential
);

/// `leaky_relu`: z for z > 0, `negative_slope · z` otherwise. Keras 3's activation function
/// defaults `negative_slope` to 0.2.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeakyRelu {
    /// Slope for negative inputs.
    pub negative_slope: f32,
}

impl Default for LeakyRelu {
    fn default() -> Self {
        LeakyRelu {
            negative_slope: 0.2,
        }
    }
}

/// `gelu`: z · Φ(z). Keras' string `"gelu"` is the exact erf form; `approximate = true` selects
/// the tanh approximation.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Gelu {
    /// Use 0.5·z·(1 + tanh(√(2/π)(z + 0.044715 z³))) instead of the erf form.
    pub approximate: bool,
}

/// selu's alpha and scale (Klambauer et al. 2017), as Keras writes them.
pub const SELU_ALPHA: f32 = 1.673_263_2;
/// selu's scale.
pub const SELU_SCALE: f32 = 1.050_701;

const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;

impl Activation for Linear {
    const NAME: &'static str = "linear";
    const IN_REGISTER: InRegister = InRegister::Identity;
    #[inline(always)]
    fn apply(&self, z: f32) -> f32 {
        z
    }
    #[inline(always)]
    fn derivative(&self, _z: f32, _y: f32) -> f32 {
        1.0
    }
    #[inline(always)]
    fn apply_lane(&self, z: f32) -> f32 {
        z
    }
}

impl Activation for Relu {
    const NAME: &'static str = "relu";
    const IN_REGISTER: InRegister = InRegister::Relu;
    #[inline(always)]
    fn apply(&self, z: f32) -> f32 {
        z.max(0.0)
    }
    #[inline(always)]
    fn derivative(&self, z: f32, _y: f32) -> f32 {
        if z > 0.0 {
            1.0
        } else {
            0.0
        }
    }
    #[inline(always)]
    fn apply_lane(&self, z: f32) -> f32 {
        // `maxps`'s rule (NaN gives 0), as a select.
        if z > 0.0 {
            z
        } else {
            0.0
        }
    }
}

impl Activation for LeakyRelu {
    const NAME: &'static str = "leaky_relu";
    #[inline(always)]
    fn apply(&self, z: f32) -> f32 {
        if z > 0.0 {
            z
        } else {
            self.negative_slope * z
        }
    }
    #[inline(always)]
    fn derivative(&self, z: f32, _y: f32) -> f32 {
        if z > 0.0 {
            1.0
        } else {
            self.negative_slope
        }
    }
    fn describe(&self) -> String {
        format!("leaky_relu(negative_slope={})", self.negative_slope)
    }
}

impl Activation for Sigmoid {
    const NAME: &'static str = "sigmoid";
    #[inline(always)]
    fn apply(&self, z: f32) -> f32 {
        sigmoid(z)
    }
    #[inline(always)]
    fn apply_lane(&self, z: f32) -> f32 {
        vmath::sigmoid(z)
    }
    #[inline(always)]
    fn derivative(&self, _z: f32, y: f32) -> f32 {
        y * (1.0 - y)
    }
}

impl Activation for Tanh {
    const NAME: &'static str = "tanh";
    #[inline(always)]
    fn apply(&self, z: f32) -> f32 {
        z.tanh()
    }
    #[inline(always)]
    fn apply_lane(&self, z: f32) -> f32 {
        vmath::tanh(z)
    }
    #[inline(always)]
    fn derivative(&self, _z: f32, y: f32) -> f32 {
        1.0 - y * y
    }
}

impl Activation for Softmax {
    const NAME: &'static str = "softmax";
    const ROW_WISE: bool = true;
    /// Softmax of a one-unit row is 1 whatever z; used only through `apply_row`.
    fn apply(&self, _z: f32) -> f32 {
        1.0
    }
    /// The diagonal of the Jacobian, y(1 − y); `backward_row` uses the full Jacobian.
    fn derivative(&self, _z: f32, y: f32) -> f32 {
        y * (1.0 - y)
    }
    /// The whole row NaN when any z is not finite (a −∞ logit would otherwise give a finite
    /// row), as `apply_slice` does element-wise.
    fn apply_row(&self, row: &mut [f32]) {
        let non_finite = row.iter().fold(0.0f32, |poison, z| poison + z * 0.0);
        if non_finite != 0.0 {
            row.fill(f32::NAN);
            return;
        }
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0;
        for v in row.iter_mut() {
            *v = (*v - max).exp();
            sum += *v;
        }
        let inv = 1.0 / sum;
        for v in row.iter_mut() {
            *v *= inv;
        }
    }
    /// dz_i = y_i · (dy_i − Σ_j dy_j y_j).
    fn backward_row(&self, _z: &[f32], y: &[f32], delta: &mut [f32]) {
        let dot: f32 = y.iter().zip(delta.iter()).map(|(y, dy)| y * dy).sum();
        for (d, &y) in delta.iter_mut().zip(y) {
            *d = y * (*d - dot);
        }
    }
}

impl Activation for Elu {
    const NAME: &'static str = "elu";
    #[inline(always)]
    fn apply(&self, z: f32) -> f32 {
        if z > 0.0 {
            z
        } else {
            z.exp_m1()
        }
    }
    #[inline(always)]
    fn derivative(&self, z: f32, y: f32) -> f32 {
        if z > 0.0 {
            1.0
        } else {
            y + 1.0
        }
    }
}

impl Activation for Selu {
    const NAME: &'static str = "selu";
    #[inline(always)]
    fn apply(&self, z: f32) -> f32 {
        if z > 0.0 {
            SELU_SCALE * z
        } else {
            SELU_SCALE * SELU_ALPHA * z.exp_m1()
        }
    }
    #[inline(always)]
    fn derivative(&self, z: f32, _y: f32) -> f32 {
        if z > 0.0 {
            SELU_SCALE
        } else {
            SELU_SCALE * SELU_ALPHA * z.exp()
        }
    }
}

impl Activation for Gelu {
    const NAME: &'static str = "gelu";
    #[inline(always)]
    fn apply(&self, z: f32) -> f32 {
        if self.approximate {
            let inner = std::f32::consts::FRAC_2_SQRT_PI
                * std::f32::consts::FRAC_1_SQRT_2
                * (z + 0.044_715 * z * z * z);
            0.5 * z * (1.0 + inner.tanh())
        } else {
            0.5 * z * (1.0 + libm::erff(z * std::f32::consts::FRAC_1_SQRT_2))
        }
    }
    #[inline(always)]
    fn derivative(&self, z: f32, _y: f32) -> f32 {
        if self.approximate {
            let c = std::f32::consts::FRAC_2_SQRT_PI * std::f32::consts::FRAC_1_SQRT_2;
            let t = (c * (z + 0.044_715 * z * z * z)).tanh();
            0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * c * (1.0 + 3.0 * 0.044_715 * z * z)
        } else {
            let cdf = 0.5 * (1.0 + libm::erff(z * std::f32::consts::FRAC_1_SQRT_2));
            cdf + z * FRAC_1_SQRT_2PI * (-0.5 * z * z).exp()
        }
    }
    fn describe(&self) -> String {
        if self.approximate {
            "gelu(approximate=True)".into()
        } else {
            "gelu".into()
        }
    }
}

impl Activation for Swish {
    const NAME: &'static str = "silu";
    #[inline(always)]
    fn apply(&self, z: f32) -> f32 {
        z * sigmoid(z)
    }
    #[inline(always)]
    fn apply_lane(&self, z: f32) -> f32 {
        z * vmath::sigmoid(z)
    }
    #[inline(always)]
    fn derivative(&self, z: f32, _y: f32) -> f32 {
        let s = sigmoid(z);
        s + z * s * (1.0 - s)
    }
}

impl Activation for Softplus {
    const NAME: &'static str = "softplus";
    #[inline(always)]
    fn apply(&self, z: f32) -> f32 {
        softplus(z)
    }
    #[inline(always)]
    fn derivative(&self, z: f32, _y: f32) -> f32 {
        sigmoid(z)
    }
}

impl Activation for Softsign {
    const NAME: &'static str = "softsign";
    #[inline(always)]
    fn apply(&self, z: f32) -> f32 {
        z / (1.0 + z.abs())
    }
    #[inline(always)]
    fn derivative(&self, z: f32, _y: f32) -> f32 {
        let d = 1.0 + z.abs();
        1.0 / (d * d)
    }
}

impl Activation for HardSigmoid {
    const NAME: &'static str = "hard_sigmoid";
    #[inline(always)]
    fn apply(&self, z: f32) -> f32 {
        (z + 3.0).clamp(0.0, 6.0) / 6.0
    }
    #[inline(always)]
    fn derivative(&self, z: f32, _y: f32) -> f32 {
        if z > -3.0 && z < 3.0 {
            1.0 / 6.0
        } else {
            0.0
        }
    }
}

impl Activation for Exponential {
    const NAME: &'static str = "exponential";
    #[inline(always)]
    fn apply(&self, z: f32) -> f32 {
        z.exp()
    }
    #[inline(always)]
    fn derivative(&self, _z: f32, y: f32) -> f32 {
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each runtime type is the one `nn_keras`'s table (what the macro expands a name to)
    /// names for its Keras name, and every name in the table has its type here.
    #[test]
    fn each_type_is_the_one_the_table_names() {
        let types = [
            (Linear::NAME, "Linear"),
            (Relu::NAME, "Relu"),
            (Sigmoid::NAME, "Sigmoid"),
            (Tanh::NAME, "Tanh"),
            (Softmax::NAME, "Softmax"),
            (LeakyRelu::NAME, "LeakyRelu"),
            (Elu::NAME, "Elu"),
            (Selu::NAME, "Selu"),
            (Gelu::NAME, "Gelu"),
            (Swish::NAME, "Swish"),
            (Softplus::NAME, "Softplus"),
            (Softsign::NAME, "Softsign"),
            (HardSigmoid::NAME, "HardSigmoid"),
            (Exponential::NAME, "Exponential"),
        ];
        for (name, ty) in types {
            assert_eq!(
                nn_keras::activations::get(name).map(|a| a.runtime),
                Some(ty),
                "{name}"
            );
        }
        for a in nn_keras::activations::ALL {
            assert!(types.iter().any(|(_, ty)| *ty == a.runtime), "{}", a.name);
        }
    }
}
