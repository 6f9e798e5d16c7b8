//! `train_test_split` picks scikit-learn's rows: every case of
//! `../shared/reference/sklearn_split_indices.json` (scikit-learn 1.9.1, NumPy 2.4.6), train and
//! test indices in the order scikit-learn returns them.

mod common;

use seqnet::data::train_test_split;

#[test]
fn train_test_split_returns_scikit_learns_rows_in_its_order() {
    let Some(reference) = common::load_reference("sklearn_split_indices.json") else {
        return;
    };
    let cases = reference["cases"].as_array().expect("a list of cases");
    assert!(!cases.is_empty());
    for case in cases {
        let n = case["n_samples"].as_u64().expect("n_samples") as usize;
        let test_size = case["test_size"].as_f64().expect("test_size");
        let seed = case["random_state"].as_u64().expect("random_state");
        let indices = |key: &str| -> Vec<usize> {
            case[key]
                .as_array()
                .expect("indices")
                .iter()
                .map(|i| i.as_u64().expect("an index") as usize)
                .collect()
        };
        // Rows that are their own index, labels that are the index too.
        let x: Vec<[f32; 1]> = (0..n).map(|i| [i as f32]).collect();
        let y: Vec<usize> = (0..n).collect();
        let (x_train, x_test, y_train, y_test) = train_test_split(&x, &y, test_size, seed).unwrap();
        let what = format!("n {n}, test_size {test_size}, random_state {seed}");
        assert_eq!(y_train, indices("train"), "train rows, {what}");
        assert_eq!(y_test, indices("test"), "test rows, {what}");
        let as_rows = |idx: &[usize]| idx.iter().map(|&i| [i as f32]).collect::<Vec<_>>();
        assert_eq!(x_train, as_rows(&y_train), "{what}");
        assert_eq!(x_test, as_rows(&y_test), "{what}");
    }
}

#[test]
fn a_random_state_outside_numpys_seed_range_is_refused() {
    let x = [[0.0f32]; 10];
    let y = [0.0f32; 10];
    let err = train_test_split(&x, &y, 0.2, 1 << 32).unwrap_err();
    assert!(
        matches!(
            err,
            seqnet::Error::InvalidArgument {
                what: "random_state",
                ..
            }
        ),
        "{err}"
    );
    assert!(train_test_split(&x, &y, 0.2, u32::MAX as u64).is_ok());
}
