//! What a network is, as data: the layer list the macro checked, with names, output shapes and
//! parameter counts. `summary()` prints it; weight get/set and file formats read it.

/// One weight tensor of a layer, in Keras' `layer.weights` order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightSpec {
    /// Keras' variable name (`kernel`, `bias`).
    pub name: &'static str,
    /// Its shape (`[in, out]` for a Dense kernel).
    pub shape: Vec<usize>,
}

impl WeightSpec {
    /// Number of values.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
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
    /// Its weights, in order; they are consecutive in the flat parameter buffer.
    pub weights: Vec<WeightSpec>,
    /// False for weights an optimizer never updates (none yet).
    pub trainable: bool,
}

impl LayerSpec {
    /// Number of parameters of the layer.
    pub fn param_count(&self) -> usize {
        self.weights.iter().map(WeightSpec::len).sum()
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
        self.layers
            .iter()
            .filter(|l| l.trainable)
            .map(LayerSpec::param_count)
            .sum()
    }

    /// Every weight tensor in `get_weights()` order, with the layer it belongs to.
    pub fn weights(&self) -> impl Iterator<Item = (&LayerSpec, &WeightSpec)> {
        self.layers
            .iter()
            .flat_map(|l| l.weights.iter().map(move |w| (l, w)))
    }
}
