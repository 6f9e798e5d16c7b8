//! Keras' `pad_sequences`: token-id lists of any length as rows of one length.

/// Which end of a sequence [`pad_sequences`] pads or truncates: Keras' `"pre"` and `"post"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Padding {
    /// The front (`"pre"`, Keras' default for both padding and truncating).
    #[default]
    Pre,
    /// The back (`"post"`).
    Post,
}

/// Keras' `keras.utils.pad_sequences(sequences, maxlen=T, padding=…, truncating=…,
/// value=value)` for token ids: each sequence as a row of exactly `T` ids, the rows an
/// `Input(shape = (T,), dtype = "int32")` model takes.
///
/// A sequence longer than `T` loses ids at the `truncating` end: [`Padding::Pre`] (Keras'
/// default) keeps its last `T` ids, [`Padding::Post`] its first `T`. A shorter one is filled
/// with `value` at the `padding` end: [`Padding::Pre`] (Keras' default) puts the ids last, so a
/// recurrent layer reads them just before its output, [`Padding::Post`] puts them first. An
/// empty sequence is a row of `value`. With `value = 0` and `Embedding(…, mask_zero = true)`,
/// the padding is masked wherever it is.
///
/// Keras' `maxlen=None` (the longest sequence's length) has no counterpart: a row's length is
/// part of its type here. `T = 0` gives empty rows (every id truncated), where Keras raises
/// (its `s[-0:]` keeps the whole sequence, which a row of no ids cannot hold). Ids are copied
/// as they are; the model's `Embedding` checks them (`Error::TokenId`). Never fails.
///
/// ```
/// use nn_core::data::{pad_sequences, Padding};
///
/// let sequences = [vec![3, 1, 4, 1, 5], vec![9, 2], vec![]];
/// // keras.utils.pad_sequences(sequences, maxlen=4)
/// let rows: Vec<[i32; 4]> = pad_sequences(&sequences, Padding::Pre, Padding::Pre, 0);
/// assert_eq!(rows, [[1, 4, 1, 5], [0, 0, 9, 2], [0, 0, 0, 0]]);
/// // padding="post", truncating="post", value=-1
/// let rows: Vec<[i32; 4]> = pad_sequences(&sequences, Padding::Post, Padding::Post, -1);
/// assert_eq!(rows, [[3, 1, 4, 1], [9, 2, -1, -1], [-1, -1, -1, -1]]);
/// ```
pub fn pad_sequences<const T: usize, S: AsRef<[i32]>>(
    sequences: &[S],
    padding: Padding,
    truncating: Padding,
    value: i32,
) -> Vec<[i32; T]> {
    sequences
        .iter()
        .map(|sequence| {
            let ids = sequence.as_ref();
            let kept = match truncating {
                Padding::Pre => ids.get(ids.len().saturating_sub(T)..),
                Padding::Post => ids.get(..ids.len().min(T)),
            }
            .unwrap_or_default();
            // `kept` holds at most T ids, so the start is within the row.
            let start = match padding {
                Padding::Pre => T.saturating_sub(kept.len()),
                Padding::Post => 0,
            };
            let mut row = [value; T];
            for (slot, &id) in row.iter_mut().skip(start).zip(kept) {
                *slot = id;
            }
            row
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{pad_sequences, Padding};
    use Padding::{Post, Pre};

    fn sequences() -> Vec<Vec<i32>> {
        vec![
            vec![1, 2, 3, 4, 5, 6],
            vec![7, 8, 9],
            vec![],
            vec![10, 11, 12, 13],
        ]
    }

    // Every expected row below is what keras.utils.pad_sequences returns for the same
    // sequences, maxlen, padding, truncating and value (printed with Keras 3.15.1), except
    // maxlen=0, where Keras raises ValueError for a non-empty sequence (see the docs).

    #[test]
    fn pre_padding_and_pre_truncating_are_keras_defaults() {
        let rows: Vec<[i32; 4]> = pad_sequences(&sequences(), Pre, Pre, 0);
        assert_eq!(
            rows,
            [[3, 4, 5, 6], [0, 7, 8, 9], [0, 0, 0, 0], [10, 11, 12, 13]]
        );
        assert_eq!(Padding::default(), Pre);
    }

    #[test]
    fn post_padding_puts_the_ids_first() {
        let rows: Vec<[i32; 4]> = pad_sequences(&sequences(), Post, Pre, 0);
        assert_eq!(
            rows,
            [[3, 4, 5, 6], [7, 8, 9, 0], [0, 0, 0, 0], [10, 11, 12, 13]]
        );
    }

    #[test]
    fn post_truncating_keeps_the_first_ids() {
        let rows: Vec<[i32; 4]> = pad_sequences(&sequences(), Pre, Post, 0);
        assert_eq!(
            rows,
            [[1, 2, 3, 4], [0, 7, 8, 9], [0, 0, 0, 0], [10, 11, 12, 13]]
        );
        let rows: Vec<[i32; 4]> = pad_sequences(&sequences(), Post, Post, 0);
        assert_eq!(
            rows,
            [[1, 2, 3, 4], [7, 8, 9, 0], [0, 0, 0, 0], [10, 11, 12, 13]]
        );
    }

    #[test]
    fn the_padding_value_fills_every_missing_id() {
        let rows: Vec<[i32; 5]> = pad_sequences(&[vec![4], vec![]], Pre, Pre, -1);
        assert_eq!(rows, [[-1, -1, -1, -1, 4], [-1, -1, -1, -1, -1]]);
        let rows: Vec<[i32; 5]> = pad_sequences(&[vec![4]], Post, Pre, 99);
        assert_eq!(rows, [[4, 99, 99, 99, 99]]);
    }

    #[test]
    fn a_sequence_of_exactly_the_length_is_unchanged() {
        for (padding, truncating) in [(Pre, Pre), (Pre, Post), (Post, Pre), (Post, Post)] {
            let rows: Vec<[i32; 3]> = pad_sequences(&[[5, 6, 7]], padding, truncating, 0);
            assert_eq!(rows, [[5, 6, 7]]);
        }
    }

    #[test]
    fn longer_rows_than_every_sequence_and_no_sequences() {
        let rows: Vec<[i32; 8]> = pad_sequences(&sequences(), Pre, Pre, 0);
        assert_eq!(rows[0], [0, 0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(rows[2], [0; 8]);
        let none: Vec<[i32; 8]> = pad_sequences::<8, Vec<i32>>(&[], Pre, Pre, 0);
        assert!(none.is_empty());
    }

    #[test]
    fn zero_length_rows_hold_no_ids() {
        for (padding, truncating) in [(Pre, Pre), (Pre, Post), (Post, Pre), (Post, Post)] {
            let rows: Vec<[i32; 0]> = pad_sequences(&sequences(), padding, truncating, 7);
            assert_eq!(rows, [[0i32; 0]; 4]);
        }
    }

    #[test]
    fn slices_arrays_and_vectors_are_all_sequences() {
        let slices: [&[i32]; 2] = [&[1, 2, 3], &[4]];
        let rows: Vec<[i32; 2]> = pad_sequences(&slices, Pre, Pre, 0);
        assert_eq!(rows, [[2, 3], [0, 4]]);
        let rows: Vec<[i32; 2]> = pad_sequences(&[[1, 2, 3]], Pre, Post, 0);
        assert_eq!(rows, [[1, 2]]);
    }
}
