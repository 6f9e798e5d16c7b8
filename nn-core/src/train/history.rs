//! `History`: what `fit` returns, per-epoch values by name, readable as Keras' `history.history`
//! and writable as CSV (Keras' CSVLogger columns) or JSON.

use crate::error::{Error, Result};
use std::collections::BTreeMap;

/// One epoch's values by name (`loss`, `accuracy`, `val_loss`, …), sorted by name as Keras
/// prints them.
pub type Logs = BTreeMap<String, f64>;

/// Per-epoch training record.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// The epoch numbers recorded (0-based, as Keras' `history.epoch`).
    pub epoch: Vec<usize>,
    values: BTreeMap<String, Vec<f64>>,
}

impl History {
    /// Appends one epoch.
    pub fn push(&mut self, epoch: usize, logs: &Logs) {
        self.epoch.push(epoch);
        for (name, &v) in logs {
            self.values.entry(name.clone()).or_default().push(v);
        }
    }

    /// The values of `name` for every epoch (`history.history["loss"]`).
    pub fn get(&self, name: &str) -> Option<&[f64]> {
        self.values.get(name).map(Vec::as_slice)
    }

    /// The recorded names.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// The last value of `name`.
    pub fn last(&self, name: &str) -> Option<f64> {
        self.get(name).and_then(|v| v.last().copied())
    }

    /// CSV with an `epoch` column then one column per name, as Keras' CSVLogger writes it.
    pub fn to_csv(&self) -> String {
        let names: Vec<&str> = self.keys().collect();
        let mut out = format!("epoch,{}\n", names.join(","));
        for (i, epoch) in self.epoch.iter().enumerate() {
            out += &epoch.to_string();
            for name in &names {
                out.push(',');
                // Every logged name has a value per epoch; a gap would stay an empty cell.
                if let Some(value) = self.values.get(*name).and_then(|v| v.get(i)) {
                    out += &value.to_string();
                }
            }
            out.push('\n');
        }
        out
    }

    /// JSON `{"epoch": [...], "loss": [...], ...}`; a non-finite value is written as `null`.
    pub fn to_json(&self) -> String {
        let mut map = serde_json::Map::new();
        map.insert("epoch".into(), serde_json::json!(self.epoch));
        for (name, values) in &self.values {
            map.insert(name.clone(), serde_json::json!(values));
        }
        serde_json::Value::Object(map).to_string()
    }

    /// Writes `to_csv()` to a file.
    pub fn write_csv(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        write(path.as_ref(), &self.to_csv())
    }

    /// Writes `to_json()` to a file.
    pub fn write_json(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        write(path.as_ref(), &self.to_json())
    }
}

fn write(path: &std::path::Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}
