//! Loading the project's CSV data sets: a header row, numeric columns, the last one the label.

use crate::error::{Error, Result};
use crate::rows::Row;
use std::path::Path;

/// A numeric table split into features and labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Feature column names, from the header.
    pub feature_names: Vec<String>,
    /// Features, `rows × width`, row-major.
    pub features: Vec<f32>,
    /// The last column of every row.
    pub labels: Vec<f32>,
    /// Features per row.
    pub width: usize,
}

impl Dataset {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there is no row.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The features as typed rows (`[f32; W]`, or images `[[[f32; C]; W]; H]` read row-major,
    /// channels last); an error when a row's size is not the file's width, or when the public
    /// fields were changed so that `features` is not `len() × width` values.
    pub fn rows<R: Row>(&self) -> Result<Vec<R>> {
        if R::WIDTH != self.width {
            return Err(Error::SizeMismatch {
                what: "features per row in the data set",
                expected: R::WIDTH,
                got: self.width,
            });
        }
        if R::WIDTH == 0 {
            return Err(Error::InvalidArgument {
                what: "row width",
                expected: "at least 1",
                got: "0".into(),
            });
        }
        let expected = self.len().saturating_mul(self.width);
        if self.features.len() != expected {
            return Err(Error::SizeMismatch {
                what: "feature values in the data set (rows × width)",
                expected,
                got: self.features.len(),
            });
        }
        let mut rows = vec![R::zeros(); self.len()];
        R::flat_mut(&mut rows).copy_from_slice(&self.features);
        Ok(rows)
    }
}

/// Reads a CSV file with a header row whose last column is the label.
///
/// Every field after the header must be a finite number (`f32`, as Rust parses it: `1`, `-0.5`,
/// `1e-3`); surrounding spaces are ignored. Errors: [`Error::Io`] when the file cannot be read,
/// [`Error::Parse`] (with the line) for a header of fewer than two columns, a row whose field
/// count differs from the header's, text that is not UTF-8, a field that is not a number, or a
/// number that is NaN, infinite or beyond `f32`'s range (`1e39`).
pub fn load_csv(path: impl AsRef<Path>) -> Result<Dataset> {
    let path = path.as_ref();
    let shown = path.display().to_string();
    // Read whole (the values take less memory than their text), so that errors can name the
    // line an editor shows: the `csv` crate's own line count skips blank lines and CRLF ends.
    let bytes = std::fs::read(path).map_err(|e| Error::Io {
        path: shown.clone(),
        message: e.to_string(),
    })?;
    read(&bytes, &shown)
}

/// [`load_csv`] on the bytes of a CSV file already in memory; errors name the source `bytes`.
pub fn load_csv_bytes(bytes: &[u8]) -> Result<Dataset> {
    read(bytes, "bytes")
}

/// Line numbers (1-based) of byte offsets in a text.
struct Lines<'a> {
    bytes: &'a [u8],
    /// Offsets of every `\n`.
    newlines: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        let newlines = bytes
            .iter()
            .enumerate()
            .filter_map(|(i, &b)| (b == b'\n').then_some(i))
            .collect();
        Lines { bytes, newlines }
    }

    /// The line of the first byte at or after `at` that is not a line end (a record's position
    /// is where the reader started, before the blank lines it skipped).
    fn of(&self, at: u64) -> usize {
        let mut at = usize::try_from(at)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        while self
            .bytes
            .get(at)
            .is_some_and(|b| *b == b'\n' || *b == b'\r')
        {
            at += 1;
        }
        self.newlines.partition_point(|&n| n < at) + 1
    }
}

/// A `csv` error as seqnet's [`Error::Parse`] (bad UTF-8, a ragged row) at the line where the
/// reader was; reading from memory has no I/O error.
fn csv_error(e: &csv::Error, shown: &str, lines: &Lines<'_>, line: usize) -> Error {
    Error::Parse {
        path: shown.to_string(),
        line: e.position().map_or(line, |p| lines.of(p.byte())),
        message: e.to_string(),
    }
}

fn read(bytes: &[u8], shown: &str) -> Result<Dataset> {
    let lines = Lines::new(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| csv_error(&e, shown, &lines, 1))?
        .iter()
        .map(String::from)
        .collect();
    let Some(width) = header.len().checked_sub(1).filter(|&w| w > 0) else {
        return Err(Error::Parse {
            path: shown.to_string(),
            line: 1,
            message: "expected a header with at least one feature column and a label column".into(),
        });
    };
    let mut features = Vec::new();
    let mut labels = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let line = lines.of(reader.position().byte());
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(&e, shown, &lines, line)),
        }
        let line = record.position().map_or(line, |p| lines.of(p.byte()));
        if record.len() != header.len() {
            // The reader already rejects this (it is not `flexible`); kept so a change of
            // settings can never index past the header.
            return Err(Error::Parse {
                path: shown.to_string(),
                line,
                message: format!(
                    "found {} fields, the header has {}",
                    record.len(),
                    header.len()
                ),
            });
        }
        for (column, (field, name)) in record.iter().zip(&header).enumerate() {
            let problem = match field.parse::<f32>() {
                Ok(value) if value.is_finite() => {
                    if column < width {
                        features.push(value);
                    } else {
                        labels.push(value);
                    }
                    continue;
                }
                Ok(_) => "not a finite f32 (NaN, infinite, or beyond ±3.4e38)",
                Err(_) => "not a number",
            };
            return Err(Error::Parse {
                path: shown.to_string(),
                line,
                message: format!("column {name:?} holds {field:?}, {problem}"),
            });
        }
    }
    let mut feature_names = header;
    feature_names.truncate(width);
    Ok(Dataset {
        feature_names,
        features,
        labels,
        width,
    })
}
