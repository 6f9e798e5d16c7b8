//! Keras' activations: every name `keras.activations.get` takes for the ones seqnet builds
//! (aliases included), their parameters, and the runtime type (`nn_core::activations::<type>`)
//! each one is. The macro reads this table for `activation = …`, the Keras file reader for a
//! layer config's `"activation"`.

/// One Keras activation name.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Activation {
    /// Keras' name (`"relu"`, `"leaky_relu"`).
    pub name: &'static str,
    /// The runtime type it is, in `nn_core::activations`.
    pub runtime: &'static str,
    /// Its parameter (at most one in the activations seqnet builds).
    pub param: Option<ActivationParam>,
}

/// An activation's parameter, as Keras names it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ActivationParam {
    /// Keras 3's name (`negative_slope`).
    pub name: &'static str,
    /// An older name Keras still takes (Keras 2's `alpha` for leaky_relu).
    pub alias: Option<&'static str>,
    /// Keras' default.
    pub default: crate::Value,
}

const fn plain(name: &'static str, runtime: &'static str) -> Activation {
    Activation {
        name,
        runtime,
        param: None,
    }
}

/// Every activation name seqnet builds, in Keras' order.
pub const ALL: &[Activation] = &[
    plain("linear", "Linear"),
    plain("relu", "Relu"),
    plain("sigmoid", "Sigmoid"),
    plain("tanh", "Tanh"),
    plain("softmax", "Softmax"),
    Activation {
        name: "leaky_relu",
        runtime: "LeakyRelu",
        param: Some(ActivationParam {
            name: "negative_slope",
            alias: Some("alpha"),
            default: crate::Value::Float(0.2),
        }),
    },
    plain("elu", "Elu"),
    plain("selu", "Selu"),
    Activation {
        name: "gelu",
        runtime: "Gelu",
        param: Some(ActivationParam {
            name: "approximate",
            alias: None,
            default: crate::Value::Bool(false),
        }),
    },
    // Keras 3 calls it silu and keeps swish as its alias.
    plain("swish", "Swish"),
    plain("silu", "Swish"),
    plain("softplus", "Softplus"),
    plain("softsign", "Softsign"),
    plain("hard_sigmoid", "HardSigmoid"),
    plain("exponential", "Exponential"),
];

/// The names of [`ALL`], in its order.
// Evaluated at compile time: an index out of range would fail the build, not panic.
#[allow(clippy::indexing_slicing)]
pub const NAMES: [&str; ALL.len()] = {
    let mut names = [""; ALL.len()];
    let mut i = 0;
    while i < ALL.len() {
        names[i] = ALL[i].name;
        i += 1;
    }
    names
};

/// The activation Keras calls `name`.
pub fn get(name: &str) -> Option<&'static Activation> {
    ALL.iter().find(|a| a.name == name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_follow_the_table() {
        assert_eq!(super::NAMES.len(), super::ALL.len());
        for (name, a) in super::NAMES.iter().zip(super::ALL) {
            assert_eq!(*name, a.name);
            assert_eq!(super::get(name), Some(a));
        }
        assert_eq!(super::get("swish").map(|a| a.runtime), Some("Swish"));
        assert_eq!(super::get("ReLU"), None);
    }
}
