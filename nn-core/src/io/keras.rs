//! Keras 3's files (cargo feature `keras`): `.weights.h5` in and out, `.keras` in, and a
//! `.keras` model's config printed as the `sequential!` declaration that builds it.
//!
//! Inside a `.weights.h5` (HDF5; see `../shared/reference/README.md`): `layers/<class>/vars/<i>`,
//! the i-th weight of a layer in `layer.weights` order, the layer's group named after its class
//! in snake_case and numbered per class in model order (`dense`, `dense_1`, `conv2d`, …) —
//! not after the layer's name, which is the `name` attribute of its `vars` group. Weightless
//! layers have an empty `vars` group; the model's own `vars` group is empty. A `.keras` file is
//! a zip holding `config.json`, `metadata.json` and `model.weights.h5`. Keras matches a file to a
//! model by those class paths, in order, and by shape; seqnet does the same, and also checks
//! each layer's class against the archive's config.
//!
//! HDF5 is read and written by the system library (through `hdf5-metno`), which works on paths:
//! bytes in memory go through a temporary file.

use super::{tensor_name, Contents, Tensor};
use crate::error::{Error, Mismatch, Result};
use crate::spec::{ModelSpec, WeightSpec};
use hdf5_metno as hdf5;
use nn_keras::{DefaultValue, Form, Param, Value};
use std::io::Read;
use std::path::Path;

pub use nn_keras::names::snake_case;

/// Each layer's group path in a Keras weights file, in model order: its class's default name.
pub fn layer_paths(spec: &ModelSpec) -> Vec<String> {
    let mut names = nn_keras::names::DefaultNames::default();
    spec.layers
        .iter()
        .map(|l| format!("layers/{}", names.next(l.class_name)))
        .collect()
}

fn bad(source: &str, message: impl std::fmt::Display) -> Error {
    Error::BadWeightsFile {
        source_name: source.to_string(),
        message: message.to_string(),
    }
}

/// Runs `f` on `bytes` as a file on disk (HDF5 reads paths).
fn with_temp_file<R>(bytes: &[u8], source: &str, f: impl FnOnce(&Path) -> Result<R>) -> Result<R> {
    let mut temp = tempfile::Builder::new()
        .prefix(".seqnet-")
        .suffix(".h5")
        .tempfile()
        .map_err(|e| bad(source, e))?;
    std::io::Write::write_all(&mut temp, bytes).map_err(|e| bad(source, e))?;
    f(temp.path())
}

/// A layer's weights cut where their owner changes: one run of the layer's own weights, or
/// a wrapper's sub-layers' in order (Bidirectional: `forward_layer`, then `backward_layer`).
/// Each run is one `vars` group in Keras' files. No run is empty.
fn owner_groups(weights: &[WeightSpec]) -> impl Iterator<Item = (&WeightSpec, &[WeightSpec])> {
    weights
        .chunk_by(|a, b| a.owner == b.owner)
        .filter_map(|run| run.first().map(|first| (first, run)))
}

/// The HDF5 group of one owner's variables: `layers/lstm/cell/vars`,
/// `layers/bidirectional/forward_layer/cell/vars`.
fn vars_path(group_path: &str, owner: &str, keras_vars: &str) -> String {
    match owner {
        "" => format!("{group_path}/{keras_vars}"),
        owner => format!("{group_path}/{owner}/{keras_vars}"),
    }
}

/// The weights of a `.weights.h5` file, named `layer/weight` after `spec`'s layers.
pub(crate) fn decode_weights_h5(bytes: &[u8], spec: &ModelSpec, source: &str) -> Result<Contents> {
    with_temp_file(bytes, source, |path| read_weights_h5(path, spec, source))
}

fn read_weights_h5(path: &Path, spec: &ModelSpec, source: &str) -> Result<Contents> {
    hdf5::silence_errors(true);
    let file = hdf5::File::open(path).map_err(|e| bad(source, format!("HDF5: {e}")))?;
    let mismatch = |tensor: String, mismatch: Mismatch| Error::WeightsMismatch {
        source_name: source.to_string(),
        tensor,
        mismatch,
    };
    let paths = layer_paths(spec);
    let mut tensors = Vec::new();
    for (layer, group_path) in spec.layers.iter().zip(&paths) {
        for (first, weights) in owner_groups(&layer.weights) {
            let owner = first.owner;
            let vars_path = vars_path(group_path, owner, layer.keras_vars);
            let Ok(vars) = file.group(&vars_path) else {
                return Err(mismatch(tensor_name(&layer.name, first), Mismatch::Missing));
            };
            let stored = vars
                .member_names()
                .map_err(|e| bad(source, format!("HDF5: {e}")))?
                .len();
            for (i, weight) in weights.iter().enumerate() {
                let name = tensor_name(&layer.name, weight);
                let Ok(ds) = vars.dataset(&i.to_string()) else {
                    return Err(mismatch(name, Mismatch::Missing));
                };
                let stored = ds
                    .dtype()
                    .and_then(|t| t.to_descriptor())
                    .map_err(|e| bad(source, format!("HDF5: {e}")))?;
                let dtype = match stored {
                    hdf5::types::TypeDescriptor::Float(hdf5::types::FloatSize::U4) => {
                        crate::spec::Dtype::Float32
                    }
                    // A quantized kernel or table.
                    hdf5::types::TypeDescriptor::Integer(hdf5::types::IntSize::U1) => {
                        crate::spec::Dtype::Int8
                    }
                    // Keras writes Normalization's count as int32 or int64 by backend.
                    hdf5::types::TypeDescriptor::Integer(_) => crate::spec::Dtype::Int32,
                    other => {
                        return Err(mismatch(
                            name,
                            Mismatch::Dtype {
                                expected: weight.dtype.name().into(),
                                got: format!("{other}"),
                            },
                        ))
                    }
                };
                if dtype != weight.dtype {
                    return Err(mismatch(name, Mismatch::dtype(weight.dtype, dtype)));
                }
                // The shape first: a corrupted header may claim any size, and nothing is read
                // (or allocated) for a tensor the model cannot take.
                let shape = ds.shape();
                if shape != weight.shape {
                    return Err(mismatch(
                        name,
                        Mismatch::Shape {
                            expected: weight.shape.clone(),
                            got: shape,
                        },
                    ));
                }
                let read = |e: hdf5::Error| bad(source, format!("HDF5 {vars_path}/{i}: {e}"));
                let values: Vec<f32> = match dtype {
                    crate::spec::Dtype::Float32 => ds.read_raw().map_err(read)?,
                    crate::spec::Dtype::Int32 => {
                        let ints: Vec<i64> = ds.read_raw().map_err(read)?;
                        ints.iter().map(|&v| v as f32).collect()
                    }
                    crate::spec::Dtype::Int8 => {
                        let ints: Vec<i8> = ds.read_raw().map_err(read)?;
                        ints.iter().map(|&v| f32::from(v)).collect()
                    }
                };
                tensors.push(Tensor {
                    name,
                    shape,
                    dtype,
                    values,
                });
            }
            // Checked after the weights the model has, so that a quantized layer's file read
            // by a float model (`kernel` int8, then a `kernel_scale` more) names the dtype.
            if stored > weights.len() {
                let owner = if owner.is_empty() {
                    String::new()
                } else {
                    format!("{owner}/")
                };
                return Err(mismatch(
                    format!("{}/{owner}{}", layer.name, weights.len()),
                    Mismatch::Unexpected,
                ));
            }
        }
    }
    // Weights the file has for layers this model does not have.
    if let Ok(layers) = file.group("layers") {
        let names = layers
            .member_names()
            .map_err(|e| bad(source, format!("HDF5: {e}")))?;
        for name in names {
            let path = format!("layers/{name}");
            if paths.contains(&path) {
                continue;
            }
            let has_weights = file
                .group(&format!("{path}/vars"))
                .ok()
                .and_then(|v| v.member_names().ok())
                .is_some_and(|m| !m.is_empty());
            if has_weights {
                return Err(mismatch(name, Mismatch::Unexpected));
            }
        }
    }
    Ok(Contents {
        tensors,
        layers: None,
        optimizer: None,
        quantized_inputs: None,
    })
}

/// The members of a `.keras` archive seqnet reads: `config.json` and `model.weights.h5`.
struct Archive {
    config: serde_json::Value,
    weights: Vec<u8>,
}

/// Most bytes a member of a `.keras` archive may claim: its weights are at most this large.
const MAX_MEMBER: u64 = 1 << 32;

fn read_archive(bytes: &[u8], source: &str) -> Result<Archive> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| bad(source, format!(".keras archive: {e}")))?;
    let mut member = |name: &str| -> Result<Vec<u8>> {
        let entry = zip
            .by_name(name)
            .map_err(|e| bad(source, format!(".keras archive has no {name}: {e}")))?;
        if entry.size() > MAX_MEMBER.min(bytes.len() as u64 * 1024) {
            return Err(bad(source, format!("{name} claims {} bytes", entry.size())));
        }
        let mut out = Vec::with_capacity(entry.size() as usize);
        entry
            .take(MAX_MEMBER)
            .read_to_end(&mut out)
            .map_err(|e| bad(source, format!("{name}: {e}")))?;
        Ok(out)
    };
    let config = member("config.json")?;
    let weights = member("model.weights.h5")?;
    let config =
        serde_json::from_slice(&config).map_err(|e| bad(source, format!("config.json: {e}")))?;
    Ok(Archive { config, weights })
}

/// A `.keras` archive's weights, after checking its layers' classes against `spec`'s.
pub(crate) fn decode_archive(bytes: &[u8], spec: &ModelSpec, source: &str) -> Result<Contents> {
    let archive = read_archive(bytes, source)?;
    let classes: Vec<(String, String)> = config_layers(&archive.config)
        .map_err(|e| bad(source, e))?
        .into_iter()
        .filter(|(class, _)| class != "InputLayer")
        .map(|(class, config)| {
            let name = config["name"].as_str().unwrap_or("?").to_string();
            (name, class)
        })
        .collect();
    for (i, layer) in spec.layers.iter().enumerate() {
        let got = classes.get(i);
        if got.map(|(_, c)| c.as_str()) != Some(layer.class_name) {
            return Err(Error::WeightsMismatch {
                source_name: source.to_string(),
                tensor: layer.name.clone(),
                mismatch: Mismatch::Layer {
                    expected: format!("{} ({})", layer.name, layer.class_name),
                    got: got.map_or("(no layer)".into(), |(n, c)| format!("{n} ({c})")),
                },
            });
        }
    }
    if let Some((name, class)) = classes.get(spec.layers.len()) {
        return Err(Error::WeightsMismatch {
            source_name: source.to_string(),
            tensor: name.clone(),
            mismatch: Mismatch::Layer {
                expected: "(no layer)".into(),
                got: format!("{name} ({class})"),
            },
        });
    }
    let mut contents = decode_weights_h5(&archive.weights, spec, source)?;
    // What the config says of the quantized layers' inputs (the weights do not say it).
    let quantized: Vec<Option<bool>> = config_layers(&archive.config)
        .map_err(|e| bad(source, e))?
        .into_iter()
        .filter(|(class, _)| matches!(class.as_str(), "Dense" | "Embedding"))
        .map(|(_, c)| quantization(c).map_err(|e| bad(source, e)))
        .collect::<Result<_>>()?;
    contents.quantized_inputs = quantized.first().copied().flatten();
    Ok(contents)
}

/// The (class, config) of each layer of a Sequential config, `InputLayer` included.
fn config_layers(
    config: &serde_json::Value,
) -> std::result::Result<Vec<(String, &serde_json::Value)>, String> {
    if config["class_name"] != "Sequential" {
        return Err(format!(
            "the model is a {}, not a Sequential model",
            config["class_name"]
        ));
    }
    let layers = config
        .get("config")
        .and_then(|c| c.get("layers"))
        .and_then(serde_json::Value::as_array)
        .ok_or("the config has no layer list")?;
    layers
        .iter()
        .map(|l| {
            let class = l["class_name"].as_str().ok_or("a layer without a class")?;
            Ok((class.to_string(), &l["config"]))
        })
        .collect()
}

/// Writes `model`'s weights as Keras 3's `.weights.h5` at `temp` (`target` names it in errors).
pub(crate) fn write_weights_h5(
    tensors: &[super::NamedTensor<'_>],
    spec: &ModelSpec,
    temp: &Path,
    target: &Path,
) -> Result<()> {
    let io = |e: hdf5::Error| Error::Io {
        path: target.display().to_string(),
        message: format!("HDF5: {e}"),
    };
    hdf5::silence_errors(true);
    let file = hdf5::File::create(temp).map_err(io)?;
    let layers = file.create_group("layers").map_err(io)?;
    let mut next = tensors.iter();
    for (index, (layer, path)) in spec.layers.iter().zip(layer_paths(spec)).enumerate() {
        let group = layers
            .create_group(path.trim_start_matches("layers/"))
            .map_err(io)?;
        let own = group.create_group("vars").map_err(io)?;
        write_name(&own, &layer.name).map_err(io)?;
        for (first, weights) in owner_groups(&layer.weights) {
            // A wrapper's sub-layer has its own group with its own `vars`.
            let (group, own) = match first.owner {
                "" => (group.clone(), own.clone()),
                owner => {
                    let sub = group.create_group(owner).map_err(io)?;
                    let sub_own = sub.create_group("vars").map_err(io)?;
                    write_name(&sub_own, owner).map_err(io)?;
                    (sub, sub_own)
                }
            };
            // A recurrent layer's variables are its cell's (`layers/lstm/cell/vars`); its own
            // `vars` group stays empty, as Keras writes it.
            let vars = match layer.keras_vars.strip_suffix("/vars") {
                Some(cell) => {
                    let cell_group = group.create_group(cell).map_err(io)?;
                    let vars = cell_group.create_group("vars").map_err(io)?;
                    write_name(&vars, cell).map_err(io)?;
                    vars
                }
                None => own,
            };
            // `model_tensors` gives one tensor per weight of the spec, in this order.
            for (i, (_, shape, values, dtype)) in next.by_ref().take(weights.len()).enumerate() {
                let at = i.to_string();
                match dtype {
                    crate::spec::Dtype::Float32 => vars
                        .new_dataset::<f32>()
                        .shape(shape.as_slice())
                        .create(at.as_str())
                        .and_then(|ds| ds.write_raw(values)),
                    // A count: an integral f32 in the state, int32 as Keras (JAX) writes it.
                    crate::spec::Dtype::Int32 => {
                        let ints: Vec<i32> = values.iter().map(|&v| v as i32).collect();
                        vars.new_dataset::<i32>()
                            .shape(shape.as_slice())
                            .create(at.as_str())
                            .and_then(|ds| ds.write_raw(&ints))
                    }
                    // A quantized kernel or table: int8, as Keras writes it.
                    crate::spec::Dtype::Int8 => {
                        let ints: Vec<i8> = values.iter().map(|&v| v as i8).collect();
                        vars.new_dataset::<i8>()
                            .shape(shape.as_slice())
                            .create(at.as_str())
                            .and_then(|ds| ds.write_raw(&ints))
                    }
                }
                .map_err(io)?;
            }
        }
        if index == 0 {
            // A test's injected failure, with the file half written (see `io::fault`).
            super::fault::at(super::fault::SaveStage::MidWrite)
                .map_err(|e| super::io_error(target, e))?;
        }
    }
    // The model's own (empty) variables, named after the model as Keras names its group.
    let own = file.create_group("vars").map_err(io)?;
    write_name(&own, &snake_case(spec.name)).map_err(io)?;
    file.close().map_err(io)
}

/// A layer's (or the model's) name as the `name` attribute of its `vars` group (a
/// variable-length UTF-8 string, as h5py writes a Python str).
fn write_name(vars: &hdf5::Group, name: &str) -> hdf5::Result<()> {
    use std::str::FromStr;
    let name =
        hdf5::types::VarLenUnicode::from_str(name).map_err(|e| hdf5::Error::from(e.to_string()))?;
    vars.new_attr::<hdf5::types::VarLenUnicode>()
        .create("name")?
        .write_scalar(&name)
}

/// The `sequential!` declaration that builds the model of a `.keras` file, so a Keras model
/// becomes a compile-time-checked Rust type: `struct_name` names it. A setting seqnet does not
/// build is an error naming the layer and the setting.
pub fn sequential_source(path: impl AsRef<Path>, struct_name: &str) -> Result<String> {
    let path = path.as_ref();
    let source = path.display().to_string();
    let bytes = super::read_file(path)?;
    let archive = read_archive(&bytes, &source)?;
    source_from_config(&archive.config, struct_name).map_err(|message| Error::BadWeightsFile {
        source_name: source,
        message,
    })
}

/// `sequential_source` from a parsed `config.json`.
pub fn source_from_config(
    config: &serde_json::Value,
    struct_name: &str,
) -> std::result::Result<String, String> {
    let layers = config_layers(config)?;
    let mut lines = Vec::new();
    let mut default_names = nn_keras::names::DefaultNames::default();
    // Each Dense or Embedding layer's quantization (`None`: float32).
    let mut quantized: Vec<(String, Option<bool>)> = Vec::new();
    for (class, c) in &layers {
        let name = c["name"].as_str().unwrap_or_default();
        let mut c = serde_json::Value::clone(c);
        if matches!(class.as_str(), "Dense" | "Embedding") {
            let q = quantization(&c).map_err(|e| format!("layer `{name}` ({class}): {e}"))?;
            quantized.push((name.to_string(), q));
            // The layer's quantization is the model's (`quantize`), not a setting of the layer.
            if let Some(settings) = c.as_object_mut() {
                settings.remove("quantization_config");
            }
        }
        let c = &c;
        let name = c["name"].as_str().unwrap_or_default();
        let line = if class == "InputLayer" {
            let shape = c["batch_shape"]
                .as_array()
                .filter(|s| !s.is_empty())
                .ok_or("InputLayer has no batch_shape")?;
            let dims: Vec<String> = shape
                .iter()
                .skip(1)
                .enumerate()
                .map(|(i, d)| match d.as_u64() {
                    Some(d) => Ok(d.to_string()),
                    // A variable number of steps, `(None, F)` or `(None,)`, as in Keras.
                    None if d.is_null() && i == 0 && shape.len() <= 3 => Ok("None".into()),
                    None => Err("InputLayer: a dimension other than the steps is not fixed"),
                })
                .collect::<std::result::Result<_, _>>()?;
            let mut args = vec![format!("shape = {}", tuple(&dims))];
            // Token ids (`"int32"`) feed an Embedding; float32 is the macro's default.
            match c["dtype"].as_str() {
                Some("float32") | None => {}
                Some(dtype) => args.push(format!("dtype = {dtype:?}")),
            }
            if !matches!(name, "input_layer" | "") {
                args.push(format!("name = {name:?}"));
            }
            format!("Input({})", args.join(", "))
        } else {
            let mut args =
                layer_args(class, c).map_err(|e| format!("layer `{name}` ({class}): {e}"))?;
            // The macro names an unnamed layer by counting the unnamed layers of its class
            // before it (as Keras does): a layer whose name is that one needs no `name`; a
            // named layer does not advance the count.
            if name == default_names.peek(class) {
                default_names.next(class);
            } else {
                args.push(format!("name = {name:?}"));
            }
            match args.is_empty() {
                true => class.clone(),
                false => format!("{class}({})", args.join(", ")),
            }
        };
        lines.push(format!("        {line},"));
    }
    let note = quantized_note(&quantized, struct_name)?;
    Ok(format!(
        "{note}sequential! {{\n    pub struct {struct_name} {{\n{}\n    }}\n}}\n",
        lines.join("\n")
    ))
}

/// A Dense or Embedding layer's Keras quantization: `None` for float32, `Some(inputs)` for
/// `quantize("int8")` (`inputs`: its Dense inputs are quantized too, Keras' default). Another
/// mode, or quantizers other than Keras' defaults, are errors naming them.
fn quantization(c: &serde_json::Value) -> std::result::Result<Option<bool>, String> {
    let policy = &c["dtype"];
    if policy["class_name"].as_str() != Some("QuantizedDTypePolicy") {
        return Ok(None);
    }
    match policy
        .pointer("/config/mode")
        .and_then(serde_json::Value::as_str)
    {
        Some("int8") => {}
        other => {
            return Err(format!(
                "quantized to {}; seqnet builds Keras' int8 quantization only",
                other.unwrap_or("an unnamed mode")
            ))
        }
    }
    let config = c
        .pointer("/quantization_config/config")
        .unwrap_or(&serde_json::Value::Null);
    if !config["weight_quantizer"].is_null() {
        return Err("seqnet does not build a custom weight_quantizer".into());
    }
    let inputs = &config["activation_quantizer"];
    if !inputs.is_null() && !c["quantization_config"].is_null() {
        let q = &inputs["config"];
        let default_range = q["value_range"] == serde_json::json!([-127, 127]);
        let default_epsilon = q["epsilon"]
            .as_f64()
            .is_none_or(|e| (e - 1e-7).abs() < 1e-12);
        if !default_range || !default_epsilon {
            return Err(format!(
                "seqnet builds Keras' default activation_quantizer (AbsMaxQuantizer, value_range \
                 (-127, 127), epsilon 1e-7), not {q}"
            ));
        }
    }
    Ok(Some(
        c["quantization_config"].is_null() || !inputs.is_null(),
    ))
}

/// The comment before a quantized model's declaration: how its weights load. Errors for what
/// `quantize` cannot make: some Dense/Embedding layers quantized and others not (Keras'
/// `filters`), or inputs quantized in some and not in others.
fn quantized_note(
    layers: &[(String, Option<bool>)],
    struct_name: &str,
) -> std::result::Result<String, String> {
    let Some((_, Some(inputs))) = layers.first() else {
        return match layers.iter().find(|(_, q)| q.is_some()) {
            Some((name, _)) => Err(mixed(name)),
            None => Ok(String::new()),
        };
    };
    if let Some((name, _)) = layers.iter().find(|(_, q)| *q != Some(*inputs)) {
        return Err(mixed(name));
    }
    let quantize = if *inputs {
        "quantize(\"int8\")".to_string()
    } else {
        "quantize_with(Int8QuantizationConfig::weight_only())".to_string()
    };
    Ok(format!(
        "// Quantized by Keras (`quantize(\"int8\")`): the file's weights load into\n\
         // `{struct_name}::new(0).{quantize}?` with `load_weights`.\n"
    ))
}

fn mixed(name: &str) -> String {
    format!(
        "layer `{name}` is quantized differently from the model's first Dense/Embedding layer; \
         seqnet's quantize treats every Dense and Embedding layer alike (Keras' `filters` and \
         per-layer configs are not built)"
    )
}

fn tuple(dims: &[String]) -> String {
    match dims {
        [one] => format!("({one},)"),
        _ => format!("({})", dims.join(", ")),
    }
}

/// The arguments of one layer's `sequential!` entry, from its Keras config and what
/// `nn_keras` says about its class: the required parameters and the class's subject by
/// position, then every other parameter that is not at Keras' default by keyword (an
/// activation always, so the source says it). A setting seqnet builds one value of must have
/// it; a Keras setting seqnet does not build must be unset.
fn layer_args(class: &str, c: &serde_json::Value) -> std::result::Result<Vec<String>, String> {
    let layer = nn_keras::layers::get(class)
        .ok_or_else(|| format!("seqnet does not build the {class} layer"))?;
    for setting in layer.unbuilt {
        let v = &c[*setting];
        if !v.is_null() && *v != serde_json::Value::Bool(false) {
            return Err(format!("seqnet does not build {setting} = {v}"));
        }
    }
    if class == "Bidirectional" {
        check_backward_copy(c)?;
    }
    let mut args = Vec::new();
    for p in layer.params {
        let v = &c[p.name];
        if !p.only.is_empty() {
            if !v.is_null() && !p.only.iter().any(|o| is_value(v, o)) {
                return Err(format!("seqnet does not build {} = {v}", p.name));
            }
            continue;
        }
        let at_default = match p.default {
            DefaultValue::Required => false,
            DefaultValue::Is(d) => v.is_null() || is_value(v, &d),
            DefaultValue::SameAs(other) => v.is_null() || *v == c[other],
        };
        if p.leads() {
            args.push(source_value(p, v)?);
        } else if !at_default || p.form == Form::Activation {
            let value = if v.is_null() {
                default_source(p)?
            } else {
                source_value(p, v)?
            };
            args.push(format!("{} = {value}", p.name));
        }
    }
    Ok(args)
}

/// A wrapped layer's config (`{"class_name": "LSTM", "config": {…}}`) as its `sequential!`
/// entry: `LSTM(8, return_sequences = true)`. Its name and `zero_output_for_mask` are left
/// out: Bidirectional names its copies and sets that flag itself, as Keras does.
fn wrapped_layer(v: &serde_json::Value) -> std::result::Result<String, String> {
    let class = v["class_name"]
        .as_str()
        .ok_or("the wrapped layer has no class_name")?;
    let config = wrapped_config(&v["config"]);
    let args = layer_args(class, &config).map_err(|e| format!("its {class}: {e}"))?;
    Ok(match args.is_empty() {
        true => class.to_string(),
        false => format!("{class}({})", args.join(", ")),
    })
}

/// A wrapped layer's config without what Bidirectional decides for it (name,
/// `zero_output_for_mask`).
fn wrapped_config(config: &serde_json::Value) -> serde_json::Value {
    let mut config = config.clone();
    if let Some(map) = config.as_object_mut() {
        map.remove("name");
        map.remove("zero_output_for_mask");
    }
    config
}

/// Bidirectional's `backward_layer` must be Keras' own copy of `layer` (`go_backwards`
/// flipped), the one the macro builds: a backward layer of one's own is not built. The two are
/// compared as the source seqnet writes for them, which holds every setting it builds
/// (initializers, which Keras serializes apart per copy, are not among them).
fn check_backward_copy(c: &serde_json::Value) -> std::result::Result<(), String> {
    let (forward, backward) = (&c["layer"], &c["backward_layer"]);
    if backward.is_null() {
        return Ok(());
    }
    let mut copy = forward.clone();
    let config = copy.get_mut("config").and_then(|c| c.as_object_mut());
    if let Some(config) = config {
        let backwards = config.get("go_backwards").and_then(|g| g.as_bool()) == Some(true);
        config.insert("go_backwards".into(), (!backwards).into());
    }
    if wrapped_layer(&copy)? == wrapped_layer(backward)? {
        Ok(())
    } else {
        Err(
            "seqnet builds the backward layer as Keras' go-backwards copy of `layer`; this \
             backward_layer is a layer of its own"
                .into(),
        )
    }
}

/// Whether a config value is Keras' `want`.
fn is_value(v: &serde_json::Value, want: &Value) -> bool {
    match want {
        // Keras keeps a 1-D size as a one-element list (`"strides": [1]`).
        Value::Int(i) => v.as_i64().or_else(|| single(v)) == Some(*i),
        Value::Float(f) => v.as_f64() == Some(*f),
        Value::Bool(b) => v.as_bool() == Some(*b),
        Value::Str(s) => v.as_str() == Some(*s),
        Value::Ints(list) => v.as_array().is_some_and(|a| {
            a.len() == list.len() && a.iter().zip(*list).all(|(x, y)| x.as_i64() == Some(*y))
        }),
        Value::Null => v.is_null(),
    }
}

/// The integer of a one-element list (`[5]`), as Keras stores a 1-D size.
fn single(v: &serde_json::Value) -> Option<i64> {
    match v.as_array().map(Vec::as_slice) {
        Some([one]) => one.as_i64(),
        _ => None,
    }
}

/// A parameter's default as source, for one that is always written (an activation).
fn default_source(p: &Param) -> std::result::Result<String, String> {
    match p.default {
        DefaultValue::Is(Value::Str(s)) => Ok(s.to_string()),
        _ => Err(format!("{} is not set", p.name)),
    }
}

/// A config value written as `sequential!` source in its parameter's form.
fn source_value(p: &Param, v: &serde_json::Value) -> std::result::Result<String, String> {
    let name = p.name;
    let ints = |what: &str| -> std::result::Result<Vec<String>, String> {
        v.as_array()
            .ok_or(format!("{name} is not {what}"))?
            .iter()
            .map(|d| {
                d.as_i64()
                    .map(|d| d.to_string())
                    .ok_or(format!("{name} is not {what}"))
            })
            .collect()
    };
    Ok(match p.form {
        Form::Int => v
            .as_i64()
            .or_else(|| single(v))
            .ok_or(format!("{name} is not an integer"))?
            .to_string(),
        Form::Float => format!("{}", v.as_f64().ok_or(format!("{name} is not a number"))?),
        Form::Bool => v
            .as_bool()
            .ok_or(format!("{name} is not true or false"))?
            .to_string(),
        Form::Pair => match v.as_u64() {
            Some(n) => n.to_string(),
            None => tuple(&ints("a pair of integers")?),
        },
        Form::Shape => tuple(&ints("a list of integers")?),
        Form::Word => format!("{:?}", v.as_str().ok_or(format!("{name} is not a string"))?),
        Form::Activation => match v.as_str() {
            Some(a) if nn_keras::activations::get(a).is_some() => a.to_string(),
            _ => return Err(format!("seqnet does not build {name} = {v}")),
        },
        Form::Layer => wrapped_layer(v)?,
        Form::Numbers => match (v.as_f64(), v.as_array()) {
            (Some(x), _) => format!("{x}"),
            (None, Some(a)) => {
                let values: Vec<String> = a
                    .iter()
                    .map(|x| x.as_f64().map(|x| format!("{x}")))
                    .collect::<Option<_>>()
                    .ok_or(format!("{name} is not a list of numbers"))?;
                tuple(&values)
            }
            _ => return Err(format!("{name} is not a number or a list of numbers")),
        },
    })
}

/// The objects of an HDF5 file, one line each in HDF5's name order, as `h5ls -r` lists them:
/// `layers/dense/vars group name=dense`, `layers/dense/vars/0 dataset [10, 64] float32`.
pub fn weights_h5_layout(path: impl AsRef<Path>) -> Result<Vec<String>> {
    let path = path.as_ref();
    let source = path.display().to_string();
    hdf5::silence_errors(true);
    let file = hdf5::File::open(path).map_err(|e| bad(&source, format!("HDF5: {e}")))?;
    let mut lines = Vec::new();
    walk(&file, "", &mut lines).map_err(|e| bad(&source, format!("HDF5: {e}")))?;
    Ok(lines)
}

fn walk(group: &hdf5::Group, prefix: &str, lines: &mut Vec<String>) -> hdf5::Result<()> {
    for name in group.member_names()? {
        let path = format!("{prefix}{name}");
        if let Ok(g) = group.group(&name) {
            let mut line = format!("{path} group");
            for attr in g.attr_names()? {
                let value: hdf5::types::VarLenUnicode = g.attr(&attr)?.read_scalar()?;
                line += &format!(" {attr}={value}");
            }
            lines.push(line);
            walk(&g, &format!("{path}/"), lines)?;
        } else {
            let ds = group.dataset(&name)?;
            let dtype = match ds.dtype()?.to_descriptor()? {
                hdf5::types::TypeDescriptor::Float(hdf5::types::FloatSize::U4) => "float32".into(),
                other => format!("{other}"),
            };
            lines.push(format!("{path} dataset {:?} {dtype}", ds.shape()));
        }
    }
    Ok(())
}
