//! A quantized model's weights as Keras 3 lays them out: each Dense layer's `kernel` (int8),
//! `bias`, `kernel_scale`, each Embedding's `embeddings` (int8), `embeddings_scale`
//! (`variable_serialization_spec["int8"]` in Keras' `dense.py` and `embedding.py`), every other
//! layer's weights as the float model has them. The quantized spec drives `io`'s writers and
//! its load checks, as the float spec does for a float model.

use super::{matrix, Quantized};
use crate::error::{Error, Result};
use crate::int8::{Int8Layers, Int8Weights};
use crate::io::{self, NamedTensor};
use crate::network::Network;
use crate::spec::{Dtype, ModelSpec, Quantize, WeightPlace, WeightSpec};

/// `spec` with each quantized layer's weights as Keras lists them after `quantize("int8")`:
/// the kernel or table int8 and non-trainable, then (Dense) the bias, then the scale.
pub(super) fn quantized_spec(mut spec: ModelSpec) -> ModelSpec {
    for layer in &mut spec.layers {
        let (name, count) = match (layer.quantize, layer.weights.first()) {
            (Quantize::Kernel, Some(kernel)) => ("kernel_scale", matrix(&kernel.shape).1),
            (Quantize::Embeddings, Some(table)) => ("embeddings_scale", matrix(&table.shape).0),
            _ => continue,
        };
        if let Some(first) = layer.weights.first_mut() {
            first.dtype = Dtype::Int8;
            first.trainable = false;
        }
        layer.weights.push(WeightSpec {
            name,
            shape: vec![count],
            trainable: false,
            dtype: Dtype::Float32,
            owner: "",
        });
    }
    spec
}

/// The values of `layer`'s weight `local` (its local name) among `places`, read from the
/// buffers they index: `params` for a trainable weight, `state` otherwise.
fn named<'a>(
    places: &[WeightPlace<'_>],
    (params, state): (&'a [f32], &'a [f32]),
    layer: &str,
    local: &str,
) -> &'a [f32] {
    places
        .iter()
        .find(|p| p.layer.name == layer && p.weight.local_name() == local)
        .and_then(|p| if p.trainable { params } else { state }.get(p.range()))
        .unwrap_or_default()
}

/// One tensor as the files hold it: name (`layer/weight`), shape, values (int8 ones as
/// integral f32) and dtype.
pub type FileTensor = (String, Vec<usize>, Vec<f32>, Dtype);

/// Every tensor of the quantized spec, in its order, from the model's int8 layers and float
/// buffers.
pub(super) fn tensors<N: Network>(q: &Quantized<N>) -> Vec<FileTensor> {
    let float = N::spec();
    let float_places = float.weight_places();
    let buffers = (q.model.params(), q.model.state());
    let spec = quantized_spec(N::spec());
    let mut out = Vec::new();
    for (i, layer) in spec.layers.iter().enumerate() {
        for (j, weight) in layer.weights.iter().enumerate() {
            // A quantized layer's first tensor is its int8 kernel or table, its last the scale
            // (`quantized_spec`); the rest are the float model's.
            let values: Vec<f32> = match q.int8.layer(i) {
                Some(w) if j == 0 => w.values().iter().map(|&v| f32::from(v)).collect(),
                Some(w) if j + 1 == layer.weights.len() => w.scale().to_vec(),
                _ => named(&float_places, buffers, &layer.name, &weight.local_name()).to_vec(),
            };
            out.push((
                io::tensor_name(&layer.name, weight),
                weight.shape.clone(),
                values,
                weight.dtype,
            ));
        }
    }
    out
}

/// `Quantized::save_weights`.
pub(super) fn save<N: Network>(q: &Quantized<N>, path: &std::path::Path) -> Result<()> {
    let spec = quantized_spec(N::spec());
    let owned = tensors(q);
    let named: Vec<NamedTensor<'_>> = owned
        .iter()
        .map(|(name, shape, values, dtype)| {
            (name.clone(), shape.clone(), values.as_slice(), *dtype)
        })
        .collect();
    io::save_tensors(named, &spec, None, Some(q.config.quantize_inputs), path)
}

/// `Quantized::load_weights`: decode and check against the quantized spec, build the new
/// float buffers and int8 layers, then set them (nothing changes on an error).
pub(super) fn load<N: Network>(
    q: &mut Quantized<N>,
    bytes: &[u8],
    source_name: &str,
) -> Result<()> {
    let float = N::spec();
    let spec = quantized_spec(N::spec());
    let contents = io::decode(bytes, &spec, source_name)?;
    // The weights are the same either way; the file's config says how its model ran them.
    if let Some(inputs) = contents.quantized_inputs {
        if inputs != q.config.quantize_inputs {
            return Err(Error::BadWeightsFile {
                source_name: source_name.to_string(),
                message: if inputs {
                    "its model quantizes Dense inputs (Keras' default); this one is weight-only: \
                     make it with quantize(\"int8\")"
                        .into()
                } else {
                    "its model is weight-only (activation_quantizer=None); this one quantizes \
                     Dense inputs: make it with quantize_with(Int8QuantizationConfig::weight_only())"
                        .into()
                },
            });
        }
    }
    let trainable = spec.trainable_param_count();
    let checked = io::check(
        &spec,
        trainable,
        spec.param_count() - trainable,
        &contents,
        source_name,
    )?;
    let places = spec.weight_places();
    let value_of = |layer: &str, weight: &str| {
        named(&places, (&checked.params, &checked.state), layer, weight)
    };
    let bad = |message: String| Error::BadWeightsFile {
        source_name: source_name.to_string(),
        message,
    };
    let float_places = float.weight_places();
    let mut params = q.model.params().to_vec();
    let mut state = q.model.state().to_vec();
    let mut layers = Vec::with_capacity(spec.layers.len());
    for (layer, float_layer) in spec.layers.iter().zip(&float.layers) {
        let int8 = match (layer.quantize, layer.weights.first(), layer.weights.last()) {
            (Quantize::No, ..) | (_, None, _) | (_, _, None) => None,
            (kind, Some(values), Some(scale)) => {
                let scale_values = value_of(&layer.name, scale.name).to_vec();
                if let Some(s) = scale_values.iter().find(|&&s| s <= 0.0) {
                    return Err(bad(format!(
                        "`{}/{}` holds {s}; a quantization scale is > 0",
                        layer.name, scale.name
                    )));
                }
                let ints: Vec<i8> = value_of(&layer.name, values.name)
                    .iter()
                    .map(|&v| v as i8)
                    .collect();
                let (rows, cols) = matrix(&values.shape);
                let weights = Int8Weights::from_parts(
                    kind,
                    ints,
                    scale_values,
                    rows,
                    cols,
                    q.config.quantize_inputs,
                )
                .ok_or_else(|| super::too_deep(&layer.name, rows))?;
                Some(weights)
            }
        };
        // The float model's buffers: every weight of the file's, the quantized kernel or table
        // as the values the int8 one stands for.
        for (j, place) in float_places
            .iter()
            .filter(|p| std::ptr::eq(p.layer, float_layer))
            .enumerate()
        {
            let dequantized;
            let values: &[f32] = match &int8 {
                Some(w) if j == 0 => {
                    dequantized = w.dequantized();
                    &dequantized
                }
                _ => value_of(&layer.name, &place.weight.local_name()),
            };
            let buffer = if place.trainable {
                &mut params
            } else {
                &mut state
            };
            match buffer.get_mut(place.range()) {
                Some(dest) if dest.len() == values.len() => dest.copy_from_slice(values),
                _ => return Err(bad(format!("no values for `{}`", place.weight.name))),
            }
        }
        layers.push(int8);
    }
    q.model.params_mut().copy_from_slice(&params);
    q.model.state_mut().copy_from_slice(&state);
    q.int8 = Int8Layers::new(layers);
    Ok(())
}
