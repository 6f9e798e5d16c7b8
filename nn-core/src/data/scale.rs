//! scikit-learn's `StandardScaler`: fitted on the training rows, applied to any rows.

use crate::error::{Error, Result};
use crate::rows::Row;

/// Per-column mean and standard deviation (population, ÷n, as scikit-learn).
#[derive(Clone, Debug, PartialEq)]
pub struct StandardScaler {
    /// Column means.
    pub mean: Vec<f32>,
    /// Column standard deviations; 1 for a constant column, so it maps to 0 rather than NaN.
    pub scale: Vec<f32>,
}

impl StandardScaler {
    /// Learns each column's mean and standard deviation (accumulated in f64).
    pub fn fit<R: Row>(rows: &[R]) -> Result<Self> {
        if rows.is_empty() {
            return Err(Error::NotEnoughData {
                what: "StandardScaler needs at least one row to fit".into(),
            });
        }
        let flat = R::flat(rows);
        crate::error::check_finite("rows to scale", flat, R::WIDTH)?;
        let n = rows.len() as f64;
        let mut mean = vec![0.0f64; R::WIDTH];
        for row in flat.chunks(R::WIDTH) {
            mean.iter_mut().zip(row).for_each(|(m, &v)| *m += v as f64);
        }
        mean.iter_mut().for_each(|m| *m /= n);
        let mut var = vec![0.0f64; R::WIDTH];
        for row in flat.chunks(R::WIDTH) {
            for ((s, &v), m) in var.iter_mut().zip(row).zip(&mean) {
                *s += (v as f64 - m).powi(2);
            }
        }
        Ok(StandardScaler {
            mean: mean.iter().map(|&m| m as f32).collect(),
            scale: var
                .iter()
                .map(|&s| match (s / n).sqrt() as f32 {
                    0.0 => 1.0,
                    sd => sd,
                })
                .collect(),
        })
    }

    /// (x − mean) / scale, column by column.
    pub fn transform<R: Row>(&self, rows: &[R]) -> Result<Vec<R>> {
        if self.mean.len() != R::WIDTH {
            return Err(Error::SizeMismatch {
                what: "columns of the rows to scale (the scaler was fitted on another width)",
                expected: self.mean.len(),
                got: R::WIDTH,
            });
        }
        let mut out = rows.to_vec();
        for row in R::flat_mut(&mut out).chunks_mut(R::WIDTH) {
            for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.scale) {
                *v = (*v - m) / s;
            }
        }
        Ok(out)
    }

    /// `fit` then `transform` on the same rows.
    pub fn fit_transform<R: Row>(rows: &[R]) -> Result<(Self, Vec<R>)> {
        let scaler = Self::fit(rows)?;
        let out = scaler.transform(rows)?;
        Ok((scaler, out))
    }
}
