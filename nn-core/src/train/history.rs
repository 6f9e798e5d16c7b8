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
    /// Written by `csv::Writer`, so a name holding a comma, a quote or a line break is quoted
    /// and the file reads back with any CSV reader. Feature `data` (the csv crate).
    #[cfg(feature = "data")]
    pub fn to_csv(&self) -> String {
        let names: Vec<&str> = self.keys().collect();
        let mut writer = csv::Writer::from_writer(Vec::new());
        // Writing records into a Vec<u8> cannot fail (no I/O; every row has the header's
        // length), so the results are ignored rather than unwrapped.
        let _ = writer.write_record(std::iter::once("epoch").chain(names.iter().copied()));
        for (i, epoch) in self.epoch.iter().enumerate() {
            let values = names.iter().map(|name| {
                // Every logged name has a value per epoch; a gap would stay an empty cell.
                self.values
                    .get(*name)
                    .and_then(|v| v.get(i))
                    .map_or_else(String::new, f64::to_string)
            });
            let _ = writer.write_record(std::iter::once(epoch.to_string()).chain(values));
        }
        let bytes = writer.into_inner().unwrap_or_default();
        // The writer only wrote the UTF-8 it was given, plus quotes and commas.
        String::from_utf8(bytes).unwrap_or_default()
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

    /// Writes `to_csv()` to a file. Feature `data` (the csv crate).
    #[cfg(feature = "data")]
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

// The CSV writer's test: the csv crate comes with feature `data`.
#[cfg(all(test, feature = "data"))]
mod tests {
    use super::{History, Logs};

    #[test]
    fn csv_quotes_a_name_with_a_comma_and_reads_back() {
        let mut history = History::default();
        for epoch in 0..2 {
            let logs: Logs = [
                ("loss".to_string(), 0.5 / (epoch + 1) as f64),
                ("f1, macro".to_string(), 0.25 * epoch as f64),
                ("say \"hi\"".to_string(), 1.0),
            ]
            .into_iter()
            .collect();
            history.push(epoch, &logs);
        }
        let text = history.to_csv();
        // Keras' CSVLogger layout: epoch, then the names sorted.
        assert!(
            text.starts_with("epoch,\"f1, macro\",loss,\"say \"\"hi\"\"\"\n"),
            "{text}"
        );
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header: Vec<String> = reader
            .headers()
            .unwrap()
            .iter()
            .map(str::to_string)
            .collect();
        assert_eq!(header, ["epoch", "f1, macro", "loss", "say \"hi\""]);
        let rows: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect();
        assert_eq!(rows, [["0", "0", "0.5", "1"], ["1", "0.25", "0.25", "1"]]);
    }
}
