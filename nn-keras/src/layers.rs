//! The layer classes seqnet builds, as Keras defines them: the parameters `sequential!` takes
//! (Keras' names, in Keras' positional order, with Keras' defaults), the settings seqnet builds
//! one value of, and the Keras settings it does not build at all. One constant per class; the
//! macro's description of a layer (`nn-macros/src/layers/<layer>.rs`) and the Keras file
//! reader (`nn-core/src/io/keras.rs`) both read it.

/// A value as Keras' layer config holds it (`get_config()`, `config.json`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// `True` / `False`.
    Bool(bool),
    /// A string (`"valid"`, `"channels_last"`, an activation name).
    Str(&'static str),
    /// A list of integers (`[1, 1]`).
    Ints(&'static [i64]),
    /// Python's `None`.
    Null,
}

/// A parameter's default.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DefaultValue {
    /// No default: the layer needs it (`Dense`'s `units`).
    Required,
    /// This value.
    Is(Value),
    /// The value of another parameter (pooling's `strides` default to its `pool_size`).
    SameAs(&'static str),
}

/// How a parameter's value is written in a `sequential!` layer list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// An integer: `64`.
    Int,
    /// A number: `0.5`.
    Float,
    /// `true` / `false`.
    Bool,
    /// An integer for both axes or a pair: `3`, `(3, 3)`.
    Pair,
    /// A shape, a tuple of integers: `(28, 28, 1)`, `(10,)`.
    Shape,
    /// A word given as a string: `"same"`.
    Word,
    /// An activation, a bare name: `relu`.
    Activation,
    /// A number, or a tuple of numbers, one per feature: `0.5`, `(0.1, 2.0)`.
    Numbers,
    /// A layer, written as in the layer list: `LSTM(64, return_sequences = true)`
    /// (Bidirectional's `layer`).
    Layer,
}

/// One parameter of a layer class.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Param {
    /// Keras' name.
    pub name: &'static str,
    /// Whether `sequential!` takes it by position (in this order) as well as by name.
    pub positional: bool,
    /// Keras' default.
    pub default: DefaultValue,
    /// How its value is written.
    pub form: Form,
    /// The values seqnet builds when it builds only one setting of a Keras parameter (its
    /// `data_format` is `"channels_last"`); empty: any value the layer's checks accept.
    pub only: &'static [Value],
    /// The layer's subject besides its required parameters (a pooling's `pool_size`): written
    /// by position, even at its default, when seqnet writes a layer as source
    /// (`MaxPooling2D((2, 2))`, as Keras' examples write it).
    pub subject: bool,
}

impl Param {
    /// Written by position, always, in source seqnet writes: a required parameter or a subject.
    pub fn leads(&self) -> bool {
        self.subject || self.default == DefaultValue::Required
    }
}

/// A layer class seqnet builds, as Keras defines it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerClass {
    /// Keras' class name (`"Dense"`), also the layer's name in `sequential!`.
    pub class: &'static str,
    /// The parameters `sequential!` takes, Keras' positional ones first in Keras' order (`name`
    /// and `input_shape`, which every layer takes, are not listed).
    pub params: &'static [Param],
    /// Keras settings seqnet does not build (regularizers, constraints, Keras-only modes): a
    /// Keras model that sets one (not `None`, not `False`) cannot be written as `sequential!`.
    pub unbuilt: &'static [&'static str],
}

impl LayerClass {
    /// The parameter called `name`.
    pub fn param(&self, name: &str) -> Option<&'static Param> {
        self.params.iter().find(|p| p.name == name)
    }

    /// The names of the parameters taken by position, in order.
    pub fn positional(&self) -> impl Iterator<Item = &'static str> {
        self.params.iter().filter(|p| p.positional).map(|p| p.name)
    }

    /// The names of the keyword-only parameters.
    pub fn keywords(&self) -> impl Iterator<Item = &'static str> {
        self.params.iter().filter(|p| !p.positional).map(|p| p.name)
    }
}

const fn param(name: &'static str, default: DefaultValue, form: Form) -> Param {
    Param {
        name,
        positional: true,
        default,
        form,
        only: &[],
        subject: false,
    }
}

const fn keyword(name: &'static str, default: DefaultValue, form: Form) -> Param {
    Param {
        positional: false,
        ..param(name, default, form)
    }
}

const fn subject(mut p: Param) -> Param {
    p.subject = true;
    p
}

const fn only(mut p: Param, values: &'static [Value]) -> Param {
    p.only = values;
    p
}

use DefaultValue::{Is, Required, SameAs};
use Value::{Bool, Float, Int, Ints, Null, Str};

/// `data_format`: seqnet's images are channels-last, Keras' default (`None` means it).
const CHANNELS_LAST: &[Value] = &[Str("channels_last"), Null];
const REGULARIZERS: &[&str] = &[
    "kernel_regularizer",
    "bias_regularizer",
    "activity_regularizer",
    "kernel_constraint",
    "bias_constraint",
];

/// `Dense(units, activation, use_bias)`.
pub const DENSE: LayerClass = LayerClass {
    class: "Dense",
    params: &[
        param("units", Required, Form::Int),
        param("activation", Is(Str("linear")), Form::Activation),
        param("use_bias", Is(Bool(true)), Form::Bool),
    ],
    unbuilt: &[
        "kernel_regularizer",
        "bias_regularizer",
        "activity_regularizer",
        "kernel_constraint",
        "bias_constraint",
        "quantization_config",
    ],
};

/// `Conv2D(filters, kernel_size, strides, padding, …)`.
pub const CONV2D: LayerClass = LayerClass {
    class: "Conv2D",
    params: &[
        param("filters", Required, Form::Int),
        param("kernel_size", Required, Form::Pair),
        param("strides", Is(Ints(&[1, 1])), Form::Pair),
        param("padding", Is(Str("valid")), Form::Word),
        keyword("activation", Is(Str("linear")), Form::Activation),
        keyword("use_bias", Is(Bool(true)), Form::Bool),
        only(keyword("data_format", Is(Null), Form::Word), CHANNELS_LAST),
        only(
            keyword("dilation_rate", Is(Ints(&[1, 1])), Form::Pair),
            &[Ints(&[1, 1]), Int(1)],
        ),
        only(keyword("groups", Is(Int(1)), Form::Int), &[Int(1)]),
    ],
    unbuilt: REGULARIZERS,
};

const POOLING2D: &[Param] = &[
    subject(param("pool_size", Is(Ints(&[2, 2])), Form::Pair)),
    param("strides", SameAs("pool_size"), Form::Pair),
    param("padding", Is(Str("valid")), Form::Word),
    only(keyword("data_format", Is(Null), Form::Word), CHANNELS_LAST),
];

/// `Conv1D(filters, kernel_size, strides, padding, …)` over (steps, features); `padding` may also
/// be `"causal"`.
pub const CONV1D: LayerClass = LayerClass {
    class: "Conv1D",
    params: &[
        param("filters", Required, Form::Int),
        param("kernel_size", Required, Form::Int),
        param("strides", Is(Int(1)), Form::Int),
        param("padding", Is(Str("valid")), Form::Word),
        keyword("activation", Is(Str("linear")), Form::Activation),
        keyword("use_bias", Is(Bool(true)), Form::Bool),
        only(keyword("data_format", Is(Null), Form::Word), CHANNELS_LAST),
        keyword("dilation_rate", Is(Int(1)), Form::Int),
        only(keyword("groups", Is(Int(1)), Form::Int), &[Int(1)]),
    ],
    unbuilt: REGULARIZERS,
};

const POOLING1D: &[Param] = &[
    subject(param("pool_size", Is(Int(2)), Form::Int)),
    param("strides", SameAs("pool_size"), Form::Int),
    param("padding", Is(Str("valid")), Form::Word),
    only(keyword("data_format", Is(Null), Form::Word), CHANNELS_LAST),
];

/// `MaxPooling1D(pool_size, strides, padding)`.
pub const MAX_POOLING1D: LayerClass = LayerClass {
    class: "MaxPooling1D",
    params: POOLING1D,
    unbuilt: &[],
};

/// `AveragePooling1D(pool_size, strides, padding)`.
pub const AVERAGE_POOLING1D: LayerClass = LayerClass {
    class: "AveragePooling1D",
    params: POOLING1D,
    unbuilt: &[],
};

/// `GlobalAveragePooling1D(data_format, keepdims)`.
pub const GLOBAL_AVERAGE_POOLING1D: LayerClass = LayerClass {
    class: "GlobalAveragePooling1D",
    params: GLOBAL_POOLING2D,
    unbuilt: &[],
};

/// `GlobalMaxPooling1D(data_format, keepdims)`.
pub const GLOBAL_MAX_POOLING1D: LayerClass = LayerClass {
    class: "GlobalMaxPooling1D",
    params: GLOBAL_POOLING2D,
    unbuilt: &[],
};

/// `MaxPooling2D(pool_size, strides, padding)`.
pub const MAX_POOLING2D: LayerClass = LayerClass {
    class: "MaxPooling2D",
    params: POOLING2D,
    unbuilt: &[],
};

/// `AveragePooling2D(pool_size, strides, padding)`.
pub const AVERAGE_POOLING2D: LayerClass = LayerClass {
    class: "AveragePooling2D",
    params: POOLING2D,
    unbuilt: &[],
};

const GLOBAL_POOLING2D: &[Param] = &[
    only(param("data_format", Is(Null), Form::Word), CHANNELS_LAST),
    param("keepdims", Is(Bool(false)), Form::Bool),
];

/// `GlobalAveragePooling2D(data_format, keepdims)`.
pub const GLOBAL_AVERAGE_POOLING2D: LayerClass = LayerClass {
    class: "GlobalAveragePooling2D",
    params: GLOBAL_POOLING2D,
    unbuilt: &[],
};

/// `GlobalMaxPooling2D(data_format, keepdims)`.
pub const GLOBAL_MAX_POOLING2D: LayerClass = LayerClass {
    class: "GlobalMaxPooling2D",
    params: GLOBAL_POOLING2D,
    unbuilt: &[],
};

/// `Dropout(rate, seed = …)`.
pub const DROPOUT: LayerClass = LayerClass {
    class: "Dropout",
    params: &[
        param("rate", Required, Form::Float),
        keyword("seed", Is(Null), Form::Int),
    ],
    unbuilt: &["noise_shape"],
};

/// `BatchNormalization(axis, momentum, epsilon, center, scale)`.
pub const BATCH_NORMALIZATION: LayerClass = LayerClass {
    class: "BatchNormalization",
    params: &[
        param("axis", Is(Int(-1)), Form::Int),
        param("momentum", Is(Float(0.99)), Form::Float),
        param("epsilon", Is(Float(1e-3)), Form::Float),
        param("center", Is(Bool(true)), Form::Bool),
        param("scale", Is(Bool(true)), Form::Bool),
    ],
    unbuilt: &[
        "beta_regularizer",
        "gamma_regularizer",
        "beta_constraint",
        "gamma_constraint",
        "renorm",
        "synchronized",
    ],
};

/// `Flatten(data_format)`.
pub const FLATTEN: LayerClass = LayerClass {
    class: "Flatten",
    params: &[only(
        param("data_format", Is(Null), Form::Word),
        CHANNELS_LAST,
    )],
    unbuilt: &[],
};

/// `Reshape(target_shape)`.
pub const RESHAPE: LayerClass = LayerClass {
    class: "Reshape",
    params: &[param("target_shape", Required, Form::Shape)],
    unbuilt: &[],
};

/// `Activation(activation)`.
pub const ACTIVATION: LayerClass = LayerClass {
    class: "Activation",
    params: &[param("activation", Required, Form::Activation)],
    unbuilt: &[],
};

/// `Rescaling(scale, offset)`: `x · scale + offset`, each a number or one per feature.
pub const RESCALING: LayerClass = LayerClass {
    class: "Rescaling",
    params: &[
        param("scale", Required, Form::Numbers),
        param("offset", Is(Float(0.0)), Form::Numbers),
    ],
    unbuilt: &[],
};

/// `Normalization(axis, mean, variance, invert)`: standardises each feature of the last axis
/// with the given statistics or, without them, with those `adapt` computes.
pub const NORMALIZATION: LayerClass = LayerClass {
    class: "Normalization",
    params: &[
        only(
            param("axis", Is(Int(-1)), Form::Int),
            &[Int(-1), Ints(&[-1])],
        ),
        param("mean", Is(Null), Form::Numbers),
        param("variance", Is(Null), Form::Numbers),
        param("invert", Is(Bool(false)), Form::Bool),
    ],
    unbuilt: &[],
};

/// `LayerNormalization(axis, epsilon, center, scale)` over the last axis.
pub const LAYER_NORMALIZATION: LayerClass = LayerClass {
    class: "LayerNormalization",
    params: &[
        only(
            param("axis", Is(Int(-1)), Form::Int),
            &[Int(-1), Ints(&[-1])],
        ),
        param("epsilon", Is(Float(1e-3)), Form::Float),
        param("center", Is(Bool(true)), Form::Bool),
        param("scale", Is(Bool(true)), Form::Bool),
    ],
    unbuilt: &[
        "beta_regularizer",
        "gamma_regularizer",
        "beta_constraint",
        "gamma_constraint",
        "rms_scaling",
    ],
};

/// `Embedding(input_dim, output_dim, mask_zero = false)`: Keras' positions 3 to 5 are settings
/// seqnet does not build (initializer, regularizer, constraint), so `mask_zero` is a keyword.
pub const EMBEDDING: LayerClass = LayerClass {
    class: "Embedding",
    params: &[
        param("input_dim", Required, Form::Int),
        param("output_dim", Required, Form::Int),
        keyword("mask_zero", Is(Bool(false)), Form::Bool),
    ],
    unbuilt: &[
        "embeddings_regularizer",
        "activity_regularizer",
        "embeddings_constraint",
        "lora_rank",
        "quantization_config",
    ],
};

/// `Masking(mask_value = 0.0)`.
pub const MASKING: LayerClass = LayerClass {
    class: "Masking",
    params: &[param("mask_value", Is(Float(0.0)), Form::Float)],
    unbuilt: &[],
};

/// The settings every recurrent layer shares after its own, keyword-only: training-time dropout
/// on the inputs and the state (seqnet builds 0 only, for now), what the layer returns, and the
/// modes a Sequential model cannot use (`return_state`, `stateful`: the builder says why).
macro_rules! recurrent_keywords {
    ($($own:expr),* $(,)?) => {
        &[
            $($own,)*
            keyword("dropout", Is(Float(0.0)), Form::Float),
            keyword("recurrent_dropout", Is(Float(0.0)), Form::Float),
            keyword("seed", Is(Null), Form::Int),
            keyword("return_sequences", Is(Bool(false)), Form::Bool),
            keyword("return_state", Is(Bool(false)), Form::Bool),
            keyword("go_backwards", Is(Bool(false)), Form::Bool),
            keyword("stateful", Is(Bool(false)), Form::Bool),
            keyword("unroll", Is(Bool(false)), Form::Bool),
            keyword("zero_output_for_mask", Is(Bool(false)), Form::Bool),
        ]
    };
}

const RECURRENT_UNBUILT: &[&str] = &[
    "kernel_regularizer",
    "recurrent_regularizer",
    "bias_regularizer",
    "activity_regularizer",
    "kernel_constraint",
    "recurrent_constraint",
    "bias_constraint",
];

/// `SimpleRNN(units, activation = tanh, use_bias, …)`.
pub const SIMPLE_RNN: LayerClass = LayerClass {
    class: "SimpleRNN",
    params: recurrent_keywords!(
        param("units", Required, Form::Int),
        param("activation", Is(Str("tanh")), Form::Activation),
        param("use_bias", Is(Bool(true)), Form::Bool),
    ),
    unbuilt: RECURRENT_UNBUILT,
};

/// `LSTM(units, activation = tanh, recurrent_activation = sigmoid, use_bias, …,
/// unit_forget_bias)`.
pub const LSTM: LayerClass = LayerClass {
    class: "LSTM",
    params: recurrent_keywords!(
        param("units", Required, Form::Int),
        param("activation", Is(Str("tanh")), Form::Activation),
        param("recurrent_activation", Is(Str("sigmoid")), Form::Activation),
        param("use_bias", Is(Bool(true)), Form::Bool),
        keyword("unit_forget_bias", Is(Bool(true)), Form::Bool),
    ),
    unbuilt: RECURRENT_UNBUILT,
};

/// `GRU(units, activation = tanh, recurrent_activation = sigmoid, use_bias, …, reset_after)`.
pub const GRU: LayerClass = LayerClass {
    class: "GRU",
    params: recurrent_keywords!(
        param("units", Required, Form::Int),
        param("activation", Is(Str("tanh")), Form::Activation),
        param("recurrent_activation", Is(Str("sigmoid")), Form::Activation),
        param("use_bias", Is(Bool(true)), Form::Bool),
        keyword("reset_after", Is(Bool(true)), Form::Bool),
    ),
    unbuilt: RECURRENT_UNBUILT,
};

/// `Bidirectional(layer, merge_mode = "concat")`: `layer` (SimpleRNN, LSTM or GRU) and its
/// go-backwards copy, built as Keras builds it; a `backward_layer` of one's own is not built,
/// and `merge_mode = None` (two outputs) has no place in a Sequential model.
pub const BIDIRECTIONAL: LayerClass = LayerClass {
    class: "Bidirectional",
    params: &[
        param("layer", Required, Form::Layer),
        param("merge_mode", Is(Str("concat")), Form::Word),
    ],
    // `backward_layer` is always in Keras' config: keras2seqnet checks it is the default copy.
    unbuilt: &["weights"],
};

/// Every layer class seqnet builds, in the order its docs list them.
pub const ALL: &[&LayerClass] = &[
    &DENSE,
    &CONV2D,
    &MAX_POOLING2D,
    &AVERAGE_POOLING2D,
    &GLOBAL_AVERAGE_POOLING2D,
    &GLOBAL_MAX_POOLING2D,
    &DROPOUT,
    &BATCH_NORMALIZATION,
    &FLATTEN,
    &RESHAPE,
    &ACTIVATION,
    &RESCALING,
    &NORMALIZATION,
    &CONV1D,
    &MAX_POOLING1D,
    &AVERAGE_POOLING1D,
    &GLOBAL_AVERAGE_POOLING1D,
    &GLOBAL_MAX_POOLING1D,
    &LAYER_NORMALIZATION,
    &EMBEDDING,
    &MASKING,
    &SIMPLE_RNN,
    &LSTM,
    &GRU,
    &BIDIRECTIONAL,
];

/// The class called `class`, if seqnet builds it.
pub fn get(class: &str) -> Option<&'static LayerClass> {
    ALL.iter().copied().find(|l| l.class == class)
}

/// Keras 3's layer classes a Sequential model may hold (`keras.layers`), those seqnet builds
/// among them: a name here that seqnet does not build is a Keras layer seqnet lacks, not a typo.
pub const KERAS_LAYERS: &[&str] = &[
    "Activation",
    "ActivityRegularization",
    "AlphaDropout",
    "Attention",
    "AveragePooling1D",
    "AveragePooling2D",
    "AveragePooling3D",
    "BatchNormalization",
    "Bidirectional",
    "CategoryEncoding",
    "CenterCrop",
    "Conv1D",
    "Conv1DTranspose",
    "Conv2D",
    "Conv2DTranspose",
    "Conv3D",
    "Conv3DTranspose",
    "ConvLSTM2D",
    "Cropping1D",
    "Cropping2D",
    "Cropping3D",
    "Dense",
    "DepthwiseConv2D",
    "Discretization",
    "Dropout",
    "ELU",
    "Embedding",
    "Flatten",
    "GaussianDropout",
    "GaussianNoise",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAveragePooling3D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "GlobalMaxPooling3D",
    "GroupNormalization",
    "GRU",
    "Hashing",
    "IntegerLookup",
    "Lambda",
    "LayerNormalization",
    "LeakyReLU",
    "LSTM",
    "Masking",
    "MaxPooling1D",
    "MaxPooling2D",
    "MaxPooling3D",
    "MultiHeadAttention",
    "Normalization",
    "Permute",
    "PReLU",
    "RandomBrightness",
    "RandomContrast",
    "RandomCrop",
    "RandomFlip",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "ReLU",
    "RepeatVector",
    "Rescaling",
    "Reshape",
    "Resizing",
    "SeparableConv1D",
    "SeparableConv2D",
    "SimpleRNN",
    "Softmax",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "StringLookup",
    "TextVectorization",
    "TimeDistributed",
    "UnitNormalization",
    "UpSampling1D",
    "UpSampling2D",
    "UpSampling3D",
    "ZeroPadding1D",
    "ZeroPadding2D",
    "ZeroPadding3D",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_is_a_keras_class_with_unique_parameters() {
        for layer in ALL {
            assert!(KERAS_LAYERS.contains(&layer.class), "{}", layer.class);
            assert_eq!(get(layer.class), Some(*layer));
            let mut names: Vec<&str> = layer.params.iter().map(|p| p.name).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), layer.params.len(), "{}", layer.class);
            // Positional parameters come first, as Python requires.
            let first_keyword = layer.params.iter().position(|p| !p.positional);
            if let Some(k) = first_keyword {
                assert!(layer.params[k..].iter().all(|p| !p.positional));
            }
            // A default that follows another parameter names one the layer has.
            for p in layer.params {
                if let DefaultValue::SameAs(other) = p.default {
                    assert!(layer.param(other).is_some(), "{}.{}", layer.class, p.name);
                }
            }
        }
    }

    #[test]
    fn every_default_has_its_form() {
        for layer in ALL {
            for p in layer.params {
                let DefaultValue::Is(v) = p.default else {
                    continue;
                };
                let fits = matches!(
                    (p.form, v),
                    (_, Null)
                        | (Form::Int, Int(_))
                        | (Form::Bool, Bool(_))
                        | (Form::Float | Form::Numbers, Float(_) | Int(_))
                        | (Form::Pair, Ints([_, _]))
                        | (Form::Shape, Ints(_))
                        | (Form::Word | Form::Activation, Str(_))
                );
                assert!(
                    fits,
                    "{}.{}: {v:?} is not a {:?}",
                    layer.class, p.name, p.form
                );
            }
        }
    }

    #[test]
    fn binding_order_is_keras_order() {
        assert_eq!(
            CONV2D.positional().collect::<Vec<_>>(),
            ["filters", "kernel_size", "strides", "padding"]
        );
        assert_eq!(DROPOUT.keywords().collect::<Vec<_>>(), ["seed"]);
        assert_eq!(
            crate::names::snake_case(MAX_POOLING2D.class),
            "max_pooling2d"
        );
    }
}
