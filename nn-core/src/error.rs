//! The one error type of the public API. Every variant names what was wrong with the caller's data
//! and what was expected, so a message alone is enough to fix the call.

use thiserror::Error;

/// Everything that can go wrong with data handed to seqnet at run time.
///
/// Shape mistakes that the type already rules out (a `[f32; 11]` row for a 10-wide model) are
/// compile errors and never reach this type.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A flat slice whose length is not a whole number of rows.
    #[error(
        "{what} has {len} values, which is not a whole number of rows of width {width} \
         ({full} full rows and {rest} values left over)"
    )]
    RaggedRows {
        what: &'static str,
        len: usize,
        width: usize,
        full: usize,
        rest: usize,
    },

    /// Two things that must agree in size do not.
    #[error("{what}: expected {expected}, got {got}")]
    SizeMismatch {
        what: &'static str,
        expected: usize,
        got: usize,
    },

    /// A value that must be finite is NaN or infinite.
    #[error("{what} contains a non-finite value ({value}) at row {row}, column {column}")]
    NonFinite {
        what: &'static str,
        row: usize,
        column: usize,
        value: f32,
    },

    /// An argument outside the range where it means anything.
    #[error("{what} must be {expected}, got {got}")]
    InvalidArgument {
        what: &'static str,
        expected: &'static str,
        got: String,
    },
}

/// `Result` with seqnet's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Checks that `data` is a whole number of rows of `width` values and returns the row count.
pub fn row_count(what: &'static str, data: &[f32], width: usize) -> Result<usize> {
    if width == 0 {
        return Err(Error::InvalidArgument {
            what: "row width",
            expected: "at least 1",
            got: "0".into(),
        });
    }
    if !data.len().is_multiple_of(width) {
        return Err(Error::RaggedRows {
            what,
            len: data.len(),
            width,
            full: data.len() / width,
            rest: data.len() % width,
        });
    }
    Ok(data.len() / width)
}
