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
    /// channels last); an error when a row's size is not the file's width.
    pub fn rows<R: Row>(&self) -> Result<Vec<R>> {
        if R::WIDTH != self.width {
            return Err(Error::SizeMismatch {
                what: "features per row in the data set",
                expected: R::WIDTH,
                got: self.width,
            });
        }
        let mut rows = vec![R::zeros(); self.len()];
        R::flat_mut(&mut rows).copy_from_slice(&self.features);
        Ok(rows)
    }
}

/// Reads a CSV file with a header row whose last column is the label.
pub fn load_csv(path: impl AsRef<Path>) -> Result<Dataset> {
    let path = path.as_ref();
    let shown = path.display().to_string();
    let io = |e: &dyn std::fmt::Display| Error::Io {
        path: shown.clone(),
        message: e.to_string(),
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| io(&e))?;
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| io(&e))?
        .iter()
        .map(String::from)
        .collect();
    if header.len() < 2 {
        return Err(Error::Parse {
            path: shown,
            line: 1,
            message: "expected a header with at least one feature column and a label column".into(),
        });
    }
    let width = header.len() - 1;
    let mut features = Vec::new();
    let mut labels = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| Error::Parse {
            path: shown.clone(),
            line,
            message: e.to_string(),
        })?;
        for (column, field) in record.iter().enumerate() {
            let value: f32 = field.parse().map_err(|_| Error::Parse {
                path: shown.clone(),
                line,
                message: format!("column {:?} holds {field:?}, not a number", header[column]),
            })?;
            if column < width {
                features.push(value);
            } else {
                labels.push(value);
            }
        }
    }
    Ok(Dataset {
        feature_names: header[..width].to_vec(),
        features,
        labels,
        width,
    })
}
