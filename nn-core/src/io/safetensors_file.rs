//! seqnet's own weights file: safetensors, through the `safetensors` crate (which bounds the
//! header and checks every offset before anything is read).
//!
//! Tensors: `layer/weight` (float32, Keras' shape; int8 for a quantized model's kernels,
//! int32 for a count), and for a compiled model
//! `optimizer/<slot>` (float32, one value per trainable parameter). Metadata (strings):
//! `format` = `seqnet`, `seqnet_version`, `model` (the struct's name), `layers` (a JSON list of
//! `[name, class]`), for a compiled model `optimizer` and `iterations`, and for a quantized one
//! `quantize_inputs` (`true`, or `false` for weight-only).

use super::{Contents, NamedTensor, Tensor, OPTIMIZER};
use crate::error::{Error, Mismatch, Result};
use crate::optim::Optimizer;
use crate::spec::ModelSpec;
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use std::collections::HashMap;

/// The file's bytes for a model's `tensors` (`model_tensors`' list; `spec` names its layers)
/// and `optimizer`'s state.
pub(crate) fn encode<'a>(
    mut tensors: Vec<NamedTensor<'a>>,
    spec: &ModelSpec,
    optimizer: Option<&'a dyn Optimizer>,
    quantized_inputs: Option<bool>,
) -> Result<Vec<u8>> {
    let layers: Vec<[&str; 2]> = spec
        .layers
        .iter()
        .map(|l| [l.name.as_str(), l.class_name])
        .collect();
    let mut metadata = HashMap::from([
        ("format".to_string(), "seqnet".to_string()),
        (
            "seqnet_version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
        ("model".to_string(), spec.name.to_string()),
        (
            "layers".to_string(),
            serde_json::to_string(&layers).unwrap_or_default(),
        ),
    ]);
    if let Some(inputs) = quantized_inputs {
        metadata.insert("quantize_inputs".into(), inputs.to_string());
    }
    if let Some(opt) = optimizer {
        metadata.insert("optimizer".into(), opt.name().into());
        metadata.insert("iterations".into(), opt.iterations().to_string());
        for (slot, values) in opt.slots() {
            if !values.is_empty() {
                tensors.push((
                    format!("{OPTIMIZER}{slot}"),
                    vec![values.len()],
                    values,
                    crate::spec::Dtype::Float32,
                ));
            }
        }
    }
    // Integer weights (a count as int32, a quantized kernel as int8); the buffers hold them as
    // integral f32.
    let ints: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, _, values, dtype)| match dtype {
            crate::spec::Dtype::Int32 => values
                .iter()
                .flat_map(|&v| (v as i32).to_le_bytes())
                .collect(),
            crate::spec::Dtype::Int8 => values.iter().map(|&v| (v as i8) as u8).collect(),
            crate::spec::Dtype::Float32 => Vec::new(),
        })
        .collect();
    let views = tensors
        .iter()
        .zip(&ints)
        .map(|((name, shape, values, dtype), ints)| {
            let (dtype, bytes) = match dtype {
                crate::spec::Dtype::Int32 => (Dtype::I32, ints.as_slice()),
                crate::spec::Dtype::Int8 => (Dtype::I8, ints.as_slice()),
                crate::spec::Dtype::Float32 => (Dtype::F32, bytemuck::cast_slice(values)),
            };
            TensorView::new(dtype, shape.clone(), bytes).map(|view| (name.clone(), view))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::InvalidArgument {
            what: "weights to save",
            expected: "tensors safetensors can hold",
            got: e.to_string(),
        })?;
    safetensors::serialize(views, Some(metadata)).map_err(|e| Error::InvalidArgument {
        what: "weights to save",
        expected: "tensors safetensors can hold",
        got: e.to_string(),
    })
}

/// Every tensor of a safetensors file, as float32 values, and its metadata.
pub(crate) fn decode(bytes: &[u8], source: &str) -> Result<Contents> {
    let bad = |message: String| Error::BadWeightsFile {
        source_name: source.to_string(),
        message,
    };
    let file = SafeTensors::deserialize(bytes).map_err(|e| bad(format!("safetensors: {e}")))?;
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| bad(e.to_string()))?;
    let meta = header.metadata().clone().unwrap_or_default();
    let mut tensors = Vec::with_capacity(file.len());
    // The header's own order (by offset) so that error messages name the first tensor.
    let mut names: Vec<String> = header.offset_keys();
    names.dedup();
    for name in names {
        let view = file.tensor(&name).map_err(|e| bad(e.to_string()))?;
        let dtype = match view.dtype() {
            Dtype::F32 => crate::spec::Dtype::Float32,
            Dtype::I32 => crate::spec::Dtype::Int32,
            Dtype::I8 => crate::spec::Dtype::Int8,
            other => {
                return Err(Error::WeightsMismatch {
                    source_name: source.to_string(),
                    tensor: name,
                    mismatch: Mismatch::Dtype {
                        expected: "float32, int32 or int8".into(),
                        got: format!("{other:?}"),
                    },
                })
            }
        };
        // safetensors checks the data is exactly shape × the dtype's size, so there is no
        // remainder.
        let (words, _) = view.data().as_chunks::<4>();
        let values: Vec<f32> = match dtype {
            crate::spec::Dtype::Float32 => words.iter().map(|&b| f32::from_le_bytes(b)).collect(),
            crate::spec::Dtype::Int32 => words
                .iter()
                .map(|&b| i32::from_le_bytes(b) as f32)
                .collect(),
            crate::spec::Dtype::Int8 => view.data().iter().map(|&b| f32::from(b as i8)).collect(),
        };
        tensors.push(Tensor {
            name,
            shape: view.shape().to_vec(),
            dtype,
            values,
        });
    }
    let layers = match meta.get("layers") {
        Some(text) => {
            let list: Vec<(String, String)> = serde_json::from_str(text)
                .map_err(|e| bad(format!("the `layers` metadata is not a layer list: {e}")))?;
            Some(list)
        }
        None => None,
    };
    let optimizer = match (meta.get("optimizer"), meta.get("iterations")) {
        (Some(name), Some(iterations)) => Some((
            name.clone(),
            iterations
                .parse()
                .map_err(|e| bad(format!("the `iterations` metadata: {e}")))?,
        )),
        _ => None,
    };
    let quantized_inputs = match meta.get("quantize_inputs").map(String::as_str) {
        Some("true") => Some(true),
        Some("false") => Some(false),
        _ => None,
    };
    Ok(Contents {
        tensors,
        layers,
        optimizer,
        quantized_inputs,
    })
}
