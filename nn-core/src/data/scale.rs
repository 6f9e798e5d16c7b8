//! scikit-learn's `StandardScaler`: fitted on the training rows, applied to any rows.

use crate::error::{check_finite, Error, Result};
use crate::rows::Row;

/// Per-column mean and standard deviation (population, ÷n, as scikit-learn).
///
/// A constant column gets scale 1, as scikit-learn gives it (a standard deviation of zero would
/// divide by zero): it is only centred, so it transforms to 0 and back to its value.
#[derive(Clone, Debug, PartialEq)]
pub struct StandardScaler {
    /// Column means.
    pub mean: Vec<f32>,
    /// Column standard deviations; 1 for a constant column, so it maps to 0 rather than NaN.
    pub scale: Vec<f32>,
}

/// Rows of width 0 have no column to scale (and no chunk to walk).
fn check_width<R: Row>() -> Result<()> {
    if R::WIDTH == 0 {
        return Err(Error::InvalidArgument {
            what: "row width",
            expected: "at least 1",
            got: "0".into(),
        });
    }
    Ok(())
}

impl StandardScaler {
    /// Learns each column's mean and standard deviation (accumulated in f64).
    ///
    /// Errors: [`Error::NotEnoughData`] for no rows, [`Error::NonFinite`] for a NaN or infinite
    /// value (row and column named), [`Error::InvalidArgument`] for rows of width 0.
    pub fn fit<R: Row>(rows: &[R]) -> Result<Self> {
        check_width::<R>()?;
        if rows.is_empty() {
            return Err(Error::NotEnoughData {
                what: "StandardScaler needs at least one row to fit".into(),
            });
        }
        let flat = R::flat(rows);
        check_finite("rows to scale", flat, R::WIDTH)?;
        let n = rows.len() as f64;
        let mut mean = vec![0.0f64; R::WIDTH];
        for row in flat.chunks_exact(R::WIDTH) {
            mean.iter_mut()
                .zip(row)
                .for_each(|(m, &v)| *m += f64::from(v));
        }
        mean.iter_mut().for_each(|m| *m /= n);
        let mut var = vec![0.0f64; R::WIDTH];
        for row in flat.chunks_exact(R::WIDTH) {
            for ((s, &v), m) in var.iter_mut().zip(row).zip(&mean) {
                *s += (f64::from(v) - m).powi(2);
            }
        }
        Ok(StandardScaler {
            mean: mean.iter().map(|&m| m as f32).collect(),
            scale: var
                .iter()
                .map(|&s| match (s / n).sqrt() as f32 {
                    // Constant (or so nearly that the deviation is below f32's range).
                    0.0 => 1.0,
                    sd => sd,
                })
                .collect(),
        })
    }

    /// The fitted values are usable for rows of width `width`: the public fields may have been
    /// set by hand.
    fn check(&self, width: usize) -> Result<()> {
        for (what, len) in [
            (
                "columns of the rows to scale (the scaler was fitted on another width)",
                self.mean.len(),
            ),
            (
                "StandardScaler.scale values (one per column)",
                self.scale.len(),
            ),
        ] {
            if len != width {
                return Err(Error::SizeMismatch {
                    what,
                    expected: len,
                    got: width,
                });
            }
        }
        if let Some(m) = self.mean.iter().find(|m| !m.is_finite()) {
            return Err(Error::InvalidArgument {
                what: "StandardScaler.mean",
                expected: "finite in every column",
                got: m.to_string(),
            });
        }
        if let Some(s) = self.scale.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
            return Err(Error::InvalidArgument {
                what: "StandardScaler.scale",
                expected: "finite and greater than 0 in every column",
                got: s.to_string(),
            });
        }
        Ok(())
    }

    /// Applies `f(value, mean, scale)` (in f64) to every value, checking input and output.
    fn map<R: Row>(
        &self,
        rows: &[R],
        what: &'static str,
        f: impl Fn(f64, f64, f64) -> f64,
    ) -> Result<Vec<R>> {
        check_width::<R>()?;
        self.check(R::WIDTH)?;
        check_finite(what, R::flat(rows), R::WIDTH)?;
        let mut out = rows.to_vec();
        for row in R::flat_mut(&mut out).chunks_exact_mut(R::WIDTH) {
            for ((v, &m), &s) in row.iter_mut().zip(&self.mean).zip(&self.scale) {
                let exact = f(f64::from(*v), f64::from(m), f64::from(s));
                // Data at f32's very edge (±3.4e38) may come back a rounding past it: keep it.
                *v = if exact.abs() > f64::from(f32::MAX)
                    && exact.abs() <= f64::from(f32::MAX) * (1.0 + 4.0 * f64::from(f32::EPSILON))
                {
                    f32::MAX.copysign(exact as f32)
                } else {
                    exact as f32
                };
            }
        }
        // A value far outside the fitted data can leave f32's range (1e38 with a scale of 0.1).
        check_finite(
            "rows after scaling (a value beyond f32's range)",
            R::flat(&out),
            R::WIDTH,
        )?;
        Ok(out)
    }

    /// (x − mean) / scale, column by column (computed in f64, rounded once).
    ///
    /// Errors: [`Error::SizeMismatch`] when the rows' width is not the fitted one,
    /// [`Error::NonFinite`] for a NaN or infinite input value, or a result beyond f32's range,
    /// [`Error::InvalidArgument`] when `mean`/`scale` were set to values that cannot scale
    /// (non-finite, or a scale ≤ 0).
    pub fn transform<R: Row>(&self, rows: &[R]) -> Result<Vec<R>> {
        self.map(rows, "rows to scale", |v, m, s| (v - m) / s)
    }

    /// The inverse of [`transform`](Self::transform): x · scale + mean, column by column, with the
    /// same errors.
    pub fn inverse_transform<R: Row>(&self, rows: &[R]) -> Result<Vec<R>> {
        self.map(rows, "rows to unscale", |v, m, s| v * s + m)
    }

    /// `fit` then `transform` on the same rows.
    pub fn fit_transform<R: Row>(rows: &[R]) -> Result<(Self, Vec<R>)> {
        let scaler = Self::fit(rows)?;
        let out = scaler.transform(rows)?;
        Ok((scaler, out))
    }
}
