//! What a network is, as data: the layer list the macro checked, with names, output shapes and
//! parameter counts. `summary()` prints it; weight get/set and file formats read it.

/// One weight tensor of a layer, in Keras' `layer.weights` order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightSpec {
    /// Keras' variable name (`kernel`, `bias`).
    pub name: &'static str,
    /// Its shape (`[in, out]` for a Dense kernel).
    pub shape: Vec<usize>,
    /// False for values an optimizer never updates (BatchNormalization's moving statistics):
    /// they live in the model's state buffer, not its parameter buffer.
    pub trainable: bool,
    /// How Keras stores it: float32, or an integer (Normalization's `count`), which seqnet
    /// keeps as an f32 of integral value in the state buffer and writes to files as int32.
    pub dtype: Dtype,
    /// The sub-layer of a wrapper that owns it, as Keras' files name it (`forward_layer`,
    /// `backward_layer` in a Bidirectional); empty for a layer's own weights.
    pub owner: &'static str,
}

/// A weight's type in Keras' files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Dtype {
    /// `float32`: every weight but the counters.
    #[default]
    Float32,
    /// `int32`: a counter (Normalization's `count`).
    Int32,
    /// `int8`: a kernel or embeddings table after `quantize("int8")`.
    Int8,
}

impl Dtype {
    /// Keras' name for it (`"float32"`, `"int32"`).
    pub fn name(self) -> &'static str {
        match self {
            Dtype::Float32 => "float32",
            Dtype::Int32 => "int32",
            Dtype::Int8 => "int8",
        }
    }

    /// Bytes per value, as Keras' summary counts memory.
    pub fn size(self) -> usize {
        match self {
            Dtype::Float32 | Dtype::Int32 => 4,
            Dtype::Int8 => 1,
        }
    }

    /// Whether `value` can be stored as this type exactly: any finite value as float32, an
    /// integer within ±2^24 (where f32 holds every integer) as int32, an integer in
    /// -128..=127 as int8.
    pub fn holds(self, value: f32) -> bool {
        match self {
            Dtype::Float32 => value.is_finite(),
            Dtype::Int32 => value.fract() == 0.0 && value.abs() <= 16_777_216.0,
            Dtype::Int8 => value.fract() == 0.0 && (-128.0..=127.0).contains(&value),
        }
    }
}

impl WeightSpec {
    /// Its name within its layer: `kernel`, or `forward_layer/kernel` for a sub-layer's.
    pub fn local_name(&self) -> String {
        match self.owner {
            "" => self.name.to_string(),
            owner => format!("{owner}/{}", self.name),
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Bytes its values take in Keras' count (`summary()`'s memory sizes).
    pub fn bytes(&self) -> usize {
        self.len() * self.dtype.size()
    }

    /// True for a tensor with a zero dimension (never produced by the macro).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One layer after the input.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerSpec {
    /// The layer's name (`dense`, `dense_1`, or the one given).
    pub name: String,
    /// Keras' class name (`Dense`, `Flatten`).
    pub class_name: &'static str,
    /// Output shape without the batch dimension.
    pub output_shape: Vec<usize>,
    /// The activation as Keras names it, for layers that have one.
    pub activation: Option<String>,
    /// Its weights in Keras' `layer.weights` order. The trainable ones are consecutive in the
    /// model's parameter buffer, the others in its state buffer.
    pub weights: Vec<WeightSpec>,
    /// Where Keras' weight files keep them under the layer's group: `vars`, or `cell/vars` for
    /// a recurrent layer.
    pub keras_vars: &'static str,
    /// What Keras' `quantize("int8")` does to the layer.
    pub quantize: Quantize,
}

/// What Keras 3's `quantize("int8")` does to a layer's first weight (`Layer::QUANTIZE`): Dense
/// and Embedding implement `quantize`; every other layer keeps its float32 weights, as in Keras.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Quantize {
    /// Not quantized (Conv2D, recurrent layers, …).
    #[default]
    No,
    /// Dense: `kernel` (in × out) to int8 with one abs-max scale per output unit
    /// (`kernel_scale`); in the file, `kernel`, `bias`, `kernel_scale`.
    Kernel,
    /// Embedding: `embeddings` (input_dim × output_dim) to int8 with one abs-max scale per
    /// id (`embeddings_scale`); in the file, `embeddings`, `embeddings_scale`.
    Embeddings,
}

impl LayerSpec {
    /// Number of parameters of the layer, trainable or not (Keras' `count_params`).
    pub fn param_count(&self) -> usize {
        self.weights.iter().map(WeightSpec::len).sum()
    }

    /// Number of trainable parameters.
    pub fn trainable_count(&self) -> usize {
        self.weights
            .iter()
            .filter(|w| w.trainable)
            .map(WeightSpec::len)
            .sum()
    }
}

/// The network's input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputSpec {
    /// `input_layer` unless the `Input` entry names it.
    pub name: String,
    /// Shape without the batch dimension.
    pub shape: Vec<usize>,
    /// True when the model was declared with an explicit `Input(...)` entry.
    pub explicit: bool,
}

/// The whole network.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelSpec {
    /// The model's name: the struct's name.
    pub name: &'static str,
    /// Its input.
    pub input: InputSpec,
    /// Its layers, in order.
    pub layers: Vec<LayerSpec>,
}

impl ModelSpec {
    /// Total parameter count.
    pub fn param_count(&self) -> usize {
        self.layers.iter().map(LayerSpec::param_count).sum()
    }

    /// Parameters an optimizer updates.
    pub fn trainable_param_count(&self) -> usize {
        self.layers.iter().map(LayerSpec::trainable_count).sum()
    }

    /// Bytes of all weights, and of the trainable ones, as Keras' summary counts them.
    pub fn param_bytes(&self) -> (usize, usize) {
        self.weights().fold((0, 0), |(all, trainable), (_, w)| {
            (
                all + w.bytes(),
                trainable + if w.trainable { w.bytes() } else { 0 },
            )
        })
    }

    /// Every weight tensor in `get_weights()` order, with the layer it belongs to.
    pub fn weights(&self) -> impl Iterator<Item = (&LayerSpec, &WeightSpec)> {
        self.layers
            .iter()
            .flat_map(|l| l.weights.iter().map(move |w| (l, w)))
    }

    /// Every weight tensor in `get_weights()` order with where its values live: the parameter
    /// buffer (trainable) or the state buffer, and the offset there.
    pub fn weight_places(&self) -> Vec<WeightPlace<'_>> {
        let (mut params, mut state) = (0, 0);
        self.weights()
            .map(|(layer, weight)| {
                let offset = if weight.trainable {
                    &mut params
                } else {
                    &mut state
                };
                let place = WeightPlace {
                    layer,
                    weight,
                    trainable: weight.trainable,
                    offset: *offset,
                };
                *offset += weight.len();
                place
            })
            .collect()
    }
}

/// Where one weight tensor's values are: `offset..offset + weight.len()` of the parameter buffer
/// when `trainable`, else of the state buffer.
#[derive(Clone, Copy, Debug)]
pub struct WeightPlace<'a> {
    /// The layer the tensor belongs to.
    pub layer: &'a LayerSpec,
    /// The tensor.
    pub weight: &'a WeightSpec,
    /// Which buffer holds it.
    pub trainable: bool,
    /// Its first value's index in that buffer.
    pub offset: usize,
}

impl WeightPlace<'_> {
    /// The index range of its values in its buffer.
    pub fn range(&self) -> std::ops::Range<usize> {
        self.offset..self.offset + self.weight.len()
    }
}
