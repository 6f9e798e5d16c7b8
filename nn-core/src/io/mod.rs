//! Weight files: a model's weights out of the process and back, as Keras' `save_weights` /
//! `load_weights` do, the format told by the file name when saving and by the bytes' own
//! signature when loading.
//!
//! - `.safetensors` (always): one tensor per weight, named `layer/weight` (`dense/kernel`,
//!   `batch_normalization/moving_mean`) in Keras' shapes and layouts; the metadata records the
//!   layer list and seqnet's version; a compiled model adds its optimizer's state.
//! - `.weights.h5` and `.keras` (cargo feature `keras`): Keras 3's own files, see `keras`.
//!
//! Every load decodes the whole file first and checks it against the model (layers, names,
//! shapes, dtype, finiteness) before one value changes, so a load that fails for any reason
//! leaves the model exactly as it was. Every save writes a temporary file beside the target and
//! renames it over the target, so a crash mid-save leaves the old file.

#[cfg(feature = "keras")]
pub mod keras;
mod safetensors_file;

use crate::error::{Error, Mismatch, Result};
use crate::network::Network;
use crate::optim::Optimizer;
use crate::spec::{ModelSpec, WeightSpec};
use std::path::Path;

/// The file formats seqnet reads and writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// seqnet's own: `.safetensors`.
    SafeTensors,
    /// Keras 3's `.weights.h5` (HDF5).
    KerasWeights,
    /// Keras 3's `.keras` archive (a zip holding the config and `model.weights.h5`).
    KerasArchive,
}

impl Format {
    /// The format a file name asks for, by its extension.
    pub fn from_path(path: &Path) -> Result<Format> {
        let name = path.to_string_lossy();
        if name.ends_with(".safetensors") {
            Ok(Format::SafeTensors)
        } else if name.ends_with(".h5") {
            Ok(Format::KerasWeights)
        } else if name.ends_with(".keras") {
            Ok(Format::KerasArchive)
        } else {
            Err(Error::InvalidArgument {
                what: "weights file name",
                expected: "one ending in .safetensors, .weights.h5 or .keras",
                got: name.into_owned(),
            })
        }
    }

    /// The format of a file's bytes, by their signature.
    pub fn sniff(bytes: &[u8]) -> Option<Format> {
        const HDF5: &[u8] = b"\x89HDF\r\n\x1a\n";
        if bytes.starts_with(HDF5) {
            Some(Format::KerasWeights)
        } else if bytes.starts_with(b"PK\x03\x04") {
            Some(Format::KerasArchive)
        } else if bytes.get(8) == Some(&b'{') {
            // safetensors: an 8-byte little-endian header length, then the JSON header.
            Some(Format::SafeTensors)
        } else {
            None
        }
    }
}

/// One tensor of a decoded file.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Tensor {
    pub name: String,
    pub shape: Vec<usize>,
    /// As the file stores it; the values are f32 either way (an integer's exactly).
    pub dtype: crate::spec::Dtype,
    pub values: Vec<f32>,
}

/// What a decoded file holds: its float tensors, and what it says about the model it came from.
#[derive(Clone, Debug, Default)]
pub(crate) struct Contents {
    pub tensors: Vec<Tensor>,
    /// Each layer's (name, class), when the file records them.
    pub layers: Option<Vec<(String, String)>>,
    /// The optimizer's name and iterations, when the file holds an optimizer's state.
    pub optimizer: Option<(String, u64)>,
    /// For a quantized model's `.keras` file, whether its Dense layers quantize their inputs
    /// (Keras' `activation_quantizer`), as its config says; `None` when the file does not say.
    pub quantized_inputs: Option<bool>,
}

/// A model's weights and non-trainable state as a load will set them, checked in full.
pub(crate) struct Checked {
    pub params: Vec<f32>,
    pub state: Vec<f32>,
}

/// `layer/weight` (`layer/owner/weight` for a sub-layer's), the name a weight goes by in files.
pub(crate) fn tensor_name(layer: &str, weight: &WeightSpec) -> String {
    format!("{layer}/{}", weight.local_name())
}

/// Prefix of optimizer tensors in seqnet's files.
pub(crate) const OPTIMIZER: &str = "optimizer/";

/// Checks `contents` against `spec` and builds the buffers a load sets: every weight present
/// with the model's shape and finite values, nothing unexpected (optimizer tensors aside), and
/// the layers the file records being the model's.
pub(crate) fn check(
    spec: &ModelSpec,
    trainable: usize,
    state_len: usize,
    contents: &Contents,
    source: &str,
) -> Result<Checked> {
    let mismatch = |tensor: String, mismatch: Mismatch| Error::WeightsMismatch {
        source_name: source.to_string(),
        tensor,
        mismatch,
    };
    if let Some(layers) = &contents.layers {
        let model: Vec<(&str, &str)> = spec
            .layers
            .iter()
            .map(|l| (l.name.as_str(), l.class_name))
            .collect();
        for i in 0..model.len().max(layers.len()) {
            let expected = model.get(i).map(|(n, c)| format!("{n} ({c})"));
            let got = layers.get(i).map(|(n, c)| format!("{n} ({c})"));
            if expected != got {
                let at = model.get(i).map_or("(none)", |(n, _)| n).to_string();
                return Err(mismatch(
                    at,
                    Mismatch::Layer {
                        expected: expected.unwrap_or_else(|| "(no layer)".into()),
                        got: got.unwrap_or_else(|| "(no layer)".into()),
                    },
                ));
            }
        }
    }
    let mut checked = Checked {
        params: vec![0.0; trainable],
        state: vec![0.0; state_len],
    };
    let mut used = vec![false; contents.tensors.len()];
    for place in spec.weight_places() {
        let name = tensor_name(&place.layer.name, place.weight);
        let Some(i) = contents.tensors.iter().position(|t| t.name == name) else {
            return Err(mismatch(name, Mismatch::Missing));
        };
        if let Some(u) = used.get_mut(i) {
            *u = true;
        }
        let Some(t) = contents.tensors.get(i) else {
            return Err(mismatch(name, Mismatch::Missing));
        };
        if t.shape != place.weight.shape {
            return Err(mismatch(
                name,
                Mismatch::Shape {
                    expected: place.weight.shape.clone(),
                    got: t.shape.clone(),
                },
            ));
        }
        if t.dtype != place.weight.dtype {
            return Err(mismatch(name, Mismatch::dtype(place.weight.dtype, t.dtype)));
        }
        if let Some((index, &value)) = t.values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(mismatch(name, Mismatch::NonFinite { index, value }));
        }
        // An integer seqnet keeps as an f32 must be one an f32 holds exactly.
        if let Some(&value) = t.values.iter().find(|&&v| !place.weight.dtype.holds(v)) {
            return Err(Error::BadWeightsFile {
                source_name: source.to_string(),
                message: match place.weight.dtype {
                    crate::spec::Dtype::Int8 => {
                        format!("int8 tensor `{name}` holds {value}, outside -128..=127")
                    }
                    _ => format!(
                        "integer tensor `{name}` holds {value}, beyond the ±2^24 seqnet keeps \
                         exactly"
                    ),
                },
            });
        }
        let buffer = if place.trainable {
            &mut checked.params
        } else {
            &mut checked.state
        };
        match buffer.get_mut(place.range()) {
            Some(dest) if dest.len() == t.values.len() => dest.copy_from_slice(&t.values),
            // The readers give each tensor as many values as its shape holds, and the buffers
            // are sized from the same spec as the places; a file that breaks the first is bad.
            _ => {
                return Err(Error::BadWeightsFile {
                    source_name: source.to_string(),
                    message: format!(
                        "tensor `{name}` holds {} values for shape {:?}",
                        t.values.len(),
                        t.shape
                    ),
                })
            }
        }
    }
    if let Some(extra) = contents
        .tensors
        .iter()
        .zip(&used)
        .find(|(t, used)| !**used && !t.name.starts_with(OPTIMIZER))
    {
        return Err(mismatch(extra.0.name.clone(), Mismatch::Unexpected));
    }
    Ok(checked)
}

/// Decodes a file's bytes in whichever format their signature names.
pub(crate) fn decode(bytes: &[u8], spec: &ModelSpec, source: &str) -> Result<Contents> {
    let bad = |message: String| Error::BadWeightsFile {
        source_name: source.to_string(),
        message,
    };
    match Format::sniff(bytes) {
        Some(Format::SafeTensors) => safetensors_file::decode(bytes, source),
        #[cfg(feature = "keras")]
        Some(Format::KerasWeights) => keras::decode_weights_h5(bytes, spec, source),
        #[cfg(feature = "keras")]
        Some(Format::KerasArchive) => keras::decode_archive(bytes, spec, source),
        #[cfg(not(feature = "keras"))]
        Some(Format::KerasWeights | Format::KerasArchive) => {
            let _ = spec;
            Err(bad(
                "this is a Keras file (HDF5 or .keras); build seqnet with the `keras` feature \
                 to read it"
                    .into(),
            ))
        }
        None => Err(bad(
            "the bytes are neither safetensors, HDF5 nor a .keras archive".into(),
        )),
    }
}

/// [`Error::Io`] naming the file the user asked for.
pub(crate) fn io_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Reads a whole file, naming it in the error.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| io_error(path, e))
}

/// Writes `bytes` to `path` through a temporary file in the same folder, renamed over the
/// target once complete: a crash mid-save leaves the old file.
///
/// The temporary file is made here with `create_new` rather than with the `tempfile` crate:
/// that crate's dependencies (rustix, linux-raw-sys, fastrand) were a tenth of a cold build of a
/// user's program, for what is a unique name, an exclusive create and a rename.
pub(crate) fn write_atomically(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let io = |e: std::io::Error| io_error(path, e);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let steps = || -> Result<()> {
        fault::at(fault::SaveStage::Create).map_err(io)?;
        let temp = TempFile::create_in(dir).map_err(io)?;
        write(&temp.path)?;
        fault::at(fault::SaveStage::Written).map_err(io)?;
        std::fs::File::open(&temp.path)
            .and_then(|f| {
                fault::at(fault::SaveStage::Sync)?;
                f.sync_all()
            })
            .map_err(io)?;
        fault::at(fault::SaveStage::Rename).map_err(io)?;
        temp.persist(path).map_err(io)
    };
    let result = steps();
    // A failure armed for a step this save never reached does not carry over to the next.
    fault::disarm();
    result
}

/// `bytes` into the file at `temp` (a save's temporary file); errors name `target`, the file
/// the user asked for.
fn write_bytes(temp: &Path, bytes: &[u8], target: &Path) -> Result<()> {
    use std::io::Write;
    let io = |e| io_error(target, e);
    let mut file = std::fs::File::create(temp).map_err(io)?;
    // Half, then the rest: an injected failure between the two leaves a partial file, as a
    // full disk would.
    let (first, rest) = bytes.split_at(bytes.len() / 2);
    file.write_all(first).map_err(io)?;
    fault::at(fault::SaveStage::MidWrite).map_err(io)?;
    file.write_all(rest).map_err(io)
}

/// Failures a test can inject into the next save on its thread, at each step of a save (the
/// temporary file written beside the target, then renamed over it), to check that a failed save returns [`Error::Io`] and leaves the
/// previous file as it was. Compiled in only with the hidden feature `fault-injection` (the
/// workspace's tests turn it on); without it every check is an `Ok` the compiler removes.
#[doc(hidden)]
pub mod fault {
    /// The steps of a save, in order.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum SaveStage {
        /// Creating the temporary file beside the target.
        Create,
        /// Halfway through the file: after half a `.safetensors` file's bytes, after the
        /// first layer's group of a `.weights.h5`.
        MidWrite,
        /// After the whole file was written, before it is synced.
        Written,
        /// Syncing the temporary file to disk.
        Sync,
        /// Renaming it over the target.
        Rename,
    }

    impl SaveStage {
        /// Every stage, in order.
        pub const ALL: [SaveStage; 5] = [
            SaveStage::Create,
            SaveStage::MidWrite,
            SaveStage::Written,
            SaveStage::Sync,
            SaveStage::Rename,
        ];
    }

    #[cfg(feature = "fault-injection")]
    thread_local! {
        static FAIL_AT: std::cell::Cell<Option<SaveStage>> = const { std::cell::Cell::new(None) };
    }

    /// Makes the next save on this thread fail at `stage` (once).
    #[cfg(feature = "fault-injection")]
    pub fn fail_next_save_at(stage: SaveStage) {
        FAIL_AT.with(|f| f.set(Some(stage)));
    }

    /// Forgets a failure armed and not reached (every save ends with it).
    #[inline]
    pub(crate) fn disarm() {
        #[cfg(feature = "fault-injection")]
        FAIL_AT.with(|f| f.set(None));
    }

    /// An I/O error when a test asked for one at `stage`.
    #[inline]
    pub(crate) fn at(stage: SaveStage) -> std::io::Result<()> {
        #[cfg(feature = "fault-injection")]
        if FAIL_AT.with(|f| f.get()) == Some(stage) {
            FAIL_AT.with(|f| f.set(None));
            return Err(std::io::Error::other(format!(
                "injected failure at {stage:?}"
            )));
        }
        let _ = stage;
        Ok(())
    }
}

/// A file created for [`write_atomically`], removed when dropped unless persisted.
struct TempFile {
    path: std::path::PathBuf,
    persisted: bool,
}

impl TempFile {
    /// `.seqnet-<pid>-<n>.tmp` in `dir`, created exclusively: the process id and a counter keep
    /// names apart between processes and threads; a name left by a crashed process is skipped.
    fn create_in(dir: &Path) -> std::io::Result<Self> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!(".seqnet-{}-{n}.tmp", std::process::id()));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(_) => {
                    return Ok(TempFile {
                        path,
                        persisted: false,
                    })
                }
                Err(e)
                    if e.kind() == std::io::ErrorKind::AlreadyExists && n < u64::from(u16::MAX) => {
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Renames it over `target` (atomic on one file system).
    fn persist(mut self, target: &Path) -> std::io::Result<()> {
        std::fs::rename(&self.path, target)?;
        self.persisted = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.persisted {
            // Best effort: the save has already failed with its own error.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A weight as files write it: its name (`layer/weight`), shape, values (an integer type's
/// as integral f32) and dtype.
pub(crate) type NamedTensor<'a> = (String, Vec<usize>, &'a [f32], crate::spec::Dtype);

/// The model's weights as named tensors in `get_weights()` order.
pub(crate) fn model_tensors<'a, N: Network>(
    model: &'a N,
    spec: &ModelSpec,
) -> Vec<NamedTensor<'a>> {
    spec.weight_places()
        .iter()
        .map(|place| {
            let buffer = if place.trainable {
                model.params()
            } else {
                model.state()
            };
            // The model's buffers and its spec come from the same declaration, so every place
            // lies inside its buffer; the empty fallback is unreachable.
            let values = buffer.get(place.range()).unwrap_or_default();
            debug_assert_eq!(
                values.len(),
                place.weight.len(),
                "a weight outside its buffer"
            );
            (
                tensor_name(&place.layer.name, place.weight),
                place.weight.shape.clone(),
                values,
                place.weight.dtype,
            )
        })
        .collect()
}

/// `Model::save_weights`, with the optimizer's state when given.
pub(crate) fn save<N: Network>(
    model: &N,
    optimizer: Option<&dyn Optimizer>,
    path: &Path,
) -> Result<()> {
    let spec = N::spec();
    save_tensors(model_tensors(model, &spec), &spec, optimizer, None, path)
}

/// Writes `tensors` (one per weight of `spec`, in its order) to `path` in the format its
/// extension names, with `optimizer`'s state and a quantized model's `quantized_inputs` in a
/// safetensors file.
pub(crate) fn save_tensors<'a>(
    tensors: Vec<NamedTensor<'a>>,
    spec: &ModelSpec,
    optimizer: Option<&'a dyn Optimizer>,
    quantized_inputs: Option<bool>,
    path: &Path,
) -> Result<()> {
    match Format::from_path(path)? {
        Format::SafeTensors => {
            let bytes = safetensors_file::encode(tensors, spec, optimizer, quantized_inputs)?;
            write_atomically(path, |temp| write_bytes(temp, &bytes, path))
        }
        #[cfg(feature = "keras")]
        Format::KerasWeights => write_atomically(path, |temp| {
            let _ = optimizer;
            keras::write_weights_h5(&tensors, spec, temp, path)
        }),
        #[cfg(not(feature = "keras"))]
        Format::KerasWeights => Err(Error::InvalidArgument {
            what: "weights file name",
            expected: "a .safetensors file (writing .weights.h5 needs the `keras` feature)",
            got: path.display().to_string(),
        }),
        Format::KerasArchive => Err(Error::InvalidArgument {
            what: "weights file name",
            expected: "one ending in .safetensors or .weights.h5 (a .keras archive holds a \
                       Python model's config, which seqnet does not write)",
            got: path.display().to_string(),
        }),
    }
}

/// `Model::load_weights_bytes` / `load_weights`: decode, check, then set.
pub(crate) fn load<N: Network>(model: &mut N, bytes: &[u8], source: &str) -> Result<()> {
    let spec = N::spec();
    let contents = decode(bytes, &spec, source)?;
    let checked = check(&spec, N::TRAINABLE_COUNT, N::STATE_COUNT, &contents, source)?;
    model.params_mut().copy_from_slice(&checked.params);
    model.state_mut().copy_from_slice(&checked.state);
    Ok(())
}

/// An optimizer's state as a file holds it: its iterations and each slot's values (empty for a
/// slot the file does not have).
pub(crate) struct OptimizerState {
    iterations: u64,
    slots: Vec<Vec<f32>>,
}

/// The optimizer state a file holds, checked against `optimizer` for a model with `trainable`
/// parameters: the optimizer's name, then each of its slots.
pub(crate) fn check_optimizer(
    optimizer: &dyn Optimizer,
    trainable: usize,
    contents: &Contents,
    source: &str,
) -> Result<OptimizerState> {
    let mismatch = |tensor: String, mismatch: Mismatch| Error::WeightsMismatch {
        source_name: source.to_string(),
        tensor,
        mismatch,
    };
    let Some((name, iterations)) = &contents.optimizer else {
        return Err(mismatch("optimizer".into(), Mismatch::Missing));
    };
    if name != optimizer.name() {
        return Err(mismatch(
            "optimizer".into(),
            Mismatch::Layer {
                expected: optimizer.name().into(),
                got: name.clone(),
            },
        ));
    }
    let mut slots = Vec::new();
    for (slot, _) in optimizer.slots() {
        let tensor = format!("{OPTIMIZER}{slot}");
        let Some(t) = contents.tensors.iter().find(|t| t.name == tensor) else {
            // A slot the optimizer does not use (or had not made before the save) is absent.
            slots.push(Vec::new());
            continue;
        };
        if t.shape != [trainable] {
            return Err(mismatch(
                tensor,
                Mismatch::Shape {
                    expected: vec![trainable],
                    got: t.shape.clone(),
                },
            ));
        }
        if t.dtype != crate::spec::Dtype::Float32 {
            return Err(mismatch(
                tensor,
                Mismatch::Dtype {
                    expected: "float32".into(),
                    got: t.dtype.name().to_string(),
                },
            ));
        }
        if let Some((index, &value)) = t.values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(mismatch(tensor, Mismatch::NonFinite { index, value }));
        }
        slots.push(t.values.clone());
    }
    Ok(OptimizerState {
        iterations: *iterations,
        slots,
    })
}

/// `Compiled::load_weights`: the model's weights and the optimizer's state, all checked
/// before anything is set.
pub(crate) fn load_with_optimizer<N: Network>(
    model: &mut N,
    optimizer: &mut dyn Optimizer,
    bytes: &[u8],
    source: &str,
) -> Result<()> {
    let spec = N::spec();
    let contents = decode(bytes, &spec, source)?;
    let checked = check(&spec, N::TRAINABLE_COUNT, N::STATE_COUNT, &contents, source)?;
    let optimizer_state = match contents.optimizer {
        Some(_) => Some(check_optimizer(
            optimizer,
            N::TRAINABLE_COUNT,
            &contents,
            source,
        )?),
        None => None,
    };
    model.params_mut().copy_from_slice(&checked.params);
    model.state_mut().copy_from_slice(&checked.state);
    if let Some(loaded) = optimizer_state {
        optimizer.set_iterations(loaded.iterations);
        for ((_, buffer), values) in optimizer.slots_mut().into_iter().zip(loaded.slots) {
            *buffer = values;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::write_atomically;
    use crate::error::Error;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("seqnet-io-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn entries(dir: &std::path::Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_save_replaces_the_target_and_leaves_no_temporary_file() {
        let dir = scratch("ok");
        let target = dir.join("m.bin");
        std::fs::write(&target, b"old").unwrap();
        write_atomically(&target, |tmp| {
            assert_ne!(tmp, target.as_path());
            std::fs::write(tmp, b"new").map_err(|e| Error::Io {
                path: tmp.display().to_string(),
                message: e.to_string(),
            })
        })
        .unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        assert_eq!(entries(&dir), ["m.bin"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_save_keeps_the_old_file_and_removes_its_temporary_file() {
        let dir = scratch("fail");
        let target = dir.join("m.bin");
        std::fs::write(&target, b"old").unwrap();
        let err = write_atomically(&target, |tmp| {
            std::fs::write(tmp, b"half").unwrap();
            Err(Error::NotEnoughData {
                what: "writer failed".into(),
            })
        });
        assert!(matches!(err, Err(Error::NotEnoughData { .. })));
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        assert_eq!(entries(&dir), ["m.bin"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
