//! Properties of the data helpers on random input: `train_test_split` (sizes, a partition,
//! pairing, determinism, errors for every bad `test_size`), `StandardScaler` (statistics,
//! constant columns, inverse, non-finite input is an error), `one_hot`, and the CSV reader
//! (random valid tables round-trip every number bit for bit; random and mutated bytes are an
//! error or a well-formed data set, never a panic).
//!
//! Cases: 256 per property (the default), the CSV byte properties 4096 and 2048;
//! `SEQNET_FUZZ_CASES` sets every count for a long local run.

use nn_core::data::*;
use nn_core::Error;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// Cases for a property: `default`, or `SEQNET_FUZZ_CASES` when set.
fn cases(default: u32) -> u32 {
    std::env::var("SEQNET_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ---------------------------------------------------------------------------------------------
// train_test_split

/// `test_size` values: mostly valid fractions, some at and past the edges, NaN and infinities.
fn test_size() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => 0.0f64..1.0,
        1 => Just(0.0),
        1 => Just(1.0),
        1 => Just(-0.0),
        1 => prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(f64::MIN_POSITIVE / 4.0),
            Just(1.0 - f64::EPSILON),
            Just(1.0 + f64::EPSILON),
            -10.0f64..0.0,
            1.0f64..10.0,
        ],
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(256)))]

    /// Ok exactly when scikit-learn would split (0 < test_size < 1 and both parts non-empty);
    /// then the parts have ⌈test_size·n⌉ and the rest of the rows, hold every row once, keep
    /// rows and labels paired, and depend only on the seed (a seed in NumPy's range, 0 to
    /// 2³² − 1; a larger one is refused).
    #[test]
    fn split_is_a_seeded_partition(
        n in 0usize..300,
        ts in test_size(),
        seed in prop_oneof![0u64..=u32::MAX as u64, any::<u64>()],
    ) {
        let x: Vec<usize> = (0..n).collect();
        let y: Vec<u64> = (0..n as u64).map(|i| i * 3 + 1).collect();
        let got = train_test_split(&x, &y, ts, seed);
        let valid_fraction = ts > 0.0 && ts < 1.0;
        let n_test = (ts * n as f64).ceil();
        match got {
            Err(Error::InvalidArgument { what: "test_size", .. }) => prop_assert!(!valid_fraction),
            // NumPy's seed range, checked after the fraction and the sizes.
            Err(Error::InvalidArgument { what: "random_state", .. }) => {
                prop_assert!(seed > u64::from(u32::MAX));
            }
            Err(Error::NotEnoughData { .. }) => {
                prop_assert!(valid_fraction);
                prop_assert!(n_test < 1.0 || n_test >= n as f64, "n = {n}, test_size = {ts}");
            }
            Err(other) => return Err(TestCaseError::fail(format!("unexpected error {other}"))),
            Ok((x_train, x_test, y_train, y_test)) => {
                prop_assert!(valid_fraction);
                prop_assert_eq!(x_test.len() as f64, n_test);
                prop_assert_eq!(x_train.len() + x_test.len(), n);
                prop_assert!(!x_train.is_empty() && !x_test.is_empty());
                prop_assert_eq!((y_train.len(), y_test.len()), (x_train.len(), x_test.len()));
                for (r, l) in x_train.iter().zip(&y_train).chain(x_test.iter().zip(&y_test)) {
                    prop_assert_eq!(*r as u64 * 3 + 1, *l, "rows and labels stay paired");
                }
                let mut seen = vec![0u8; n];
                for &i in x_train.iter().chain(&x_test) {
                    seen[i] += 1;
                }
                prop_assert!(seen.iter().all(|&c| c == 1), "every row exactly once");
                let again = train_test_split(&x, &y, ts, seed).unwrap();
                prop_assert_eq!((&again.0, &again.1), (&x_train, &x_test), "deterministic");
            }
        }
    }

    /// Rows and labels of different lengths are an error, whatever the fraction.
    #[test]
    fn split_rejects_unpaired_labels(n in 0usize..50, extra in 1usize..5, ts in test_size()) {
        let x = vec![[0.0f32; 2]; n];
        let y = vec![0.0f32; n + extra];
        let is_size_mismatch = matches!(
            train_test_split(&x, &y, ts, 0),
            Err(Error::SizeMismatch { .. })
        );
        prop_assert!(is_size_mismatch);
        let is_size_mismatch = matches!(
            train_test_split(&y, &x, ts, 0),
            Err(Error::SizeMismatch { .. })
        );
        prop_assert!(is_size_mismatch);
    }
}

// ---------------------------------------------------------------------------------------------
// StandardScaler

const W: usize = 4;

/// A column's values: ordinary, wide-ranging, tiny (subnormals, ±0) or constant.
fn column(rows: usize) -> impl Strategy<Value = Vec<f32>> {
    prop_oneof![
        3 => proptest::collection::vec(-1e3f32..1e3, rows),
        1 => proptest::collection::vec(
            prop_oneof![
                -3e38f32..3e38,
                Just(f32::MAX),
                Just(f32::MIN),
                Just(0.0),
                Just(-0.0),
            ],
            rows,
        ),
        1 => proptest::collection::vec(
            prop_oneof![
                proptest::num::f32::SUBNORMAL,
                Just(0.0f32),
                Just(-0.0f32),
                Just(f32::MIN_POSITIVE),
            ],
            rows,
        ),
        2 => prop_oneof![
            -1e6f32..1e6,
            Just(0.0f32),
            Just(-0.0f32),
            Just(f32::MAX),
            proptest::num::f32::SUBNORMAL,
        ]
        .prop_map(move |v| vec![v; rows]),
    ]
}

/// `rows` rows of width `W`, each column drawn by [`column`].
fn table() -> impl Strategy<Value = Vec<[f32; W]>> {
    (1usize..40).prop_flat_map(|rows| {
        proptest::collection::vec(column(rows), W).prop_map(move |cols| {
            (0..rows)
                .map(|r| std::array::from_fn(|c| cols[c][r]))
                .collect()
        })
    })
}

/// The population mean and standard deviation of one column, in f64.
fn moments(rows: &[[f32; W]], c: usize) -> (f64, f64) {
    let n = rows.len() as f64;
    let mean = rows.iter().map(|r| f64::from(r[c])).sum::<f64>() / n;
    let var = rows
        .iter()
        .map(|r| (f64::from(r[c]) - mean).powi(2))
        .sum::<f64>()
        / n;
    (mean, var.sqrt())
}

fn is_non_finite_at(err: &Result<impl std::fmt::Debug, Error>, row: usize, column: usize) -> bool {
    matches!(err, Err(Error::NonFinite { row: r, column: c, .. }) if (*r, *c) == (row, column))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(256)))]

    /// Fit gives each column's mean and population deviation (scale 1 for a constant column,
    /// as scikit-learn); transform gives finite values with mean 0 and deviation 1 (0 and 0 for
    /// a constant column), and inverse_transform gives the rows back.
    #[test]
    fn scaler_statistics_and_inverse(rows in table()) {
        let (scaler, scaled) = StandardScaler::fit_transform(&rows).unwrap();
        prop_assert_eq!((scaler.mean.len(), scaler.scale.len()), (W, W));
        for c in 0..W {
            let (mean, sd) = moments(&rows, c);
            let constant = rows.iter().all(|r| r[c] == rows[0][c]);
            let (m, s) = (f64::from(scaler.mean[c]), f64::from(scaler.scale[c]));
            prop_assert!((m - mean).abs() <= 1e-6 * mean.abs() + 1e-45, "column {c}: mean {m} want {mean}");
            prop_assert!(s.is_finite() && s > 0.0);
            if constant {
                prop_assert_eq!(s, 1.0, "column {} is constant: scale 1", c);
                prop_assert_eq!(scaler.mean[c], rows[0][c], "and its mean is its value");
                prop_assert!(scaled.iter().all(|r| r[c] == 0.0), "it transforms to 0");
            } else if sd as f32 != 0.0 {
                // A subnormal deviation has an absolute, not relative, precision.
                prop_assert!((s - sd).abs() <= 1e-6 * sd + 1e-45, "column {c}: scale {s} want {sd}");
            }
            if !constant && sd >= f64::from(f32::MIN_POSITIVE) {
                let (zm, zsd) = moments(&scaled, c);
                // Relative to the data's spread: the f32 mean's rounding shifts every value.
                let shift = f64::from(f32::EPSILON) * (mean.abs() / sd + 1.0);
                prop_assert!(zm.abs() <= 4.0 * shift + 1e-5, "column {c}: scaled mean {zm}");
                prop_assert!((zsd - 1.0).abs() <= 1e-4 + shift, "column {c}: scaled sd {zsd}");
            }
        }
        prop_assert!(scaled.iter().flatten().all(|v| v.is_finite()));
        let back = scaler.inverse_transform(&scaled).unwrap();
        for (r, (a, b)) in rows.iter().zip(&back).enumerate() {
            for c in 0..W {
                let tol = 4.0 * f64::from(f32::EPSILON)
                    * (f64::from(a[c].abs()) + f64::from(scaler.mean[c].abs())
                        + f64::from(scaler.scale[c]) * f64::from(scaled[r][c].abs()))
                    // A subnormal scaled value is exact to 2⁻¹⁴⁹ only, times the scale.
                    + f64::from(scaler.scale[c]) * 1.5e-45
                    + 1e-45;
                prop_assert!(
                    (f64::from(a[c]) - f64::from(b[c])).abs() <= tol,
                    "row {r} column {c}: {} came back as {}", a[c], b[c]
                );
            }
        }
    }

    /// A NaN or ±∞ anywhere is an error naming its row and column, from fit, transform and
    /// inverse_transform alike: never a silent NaN.
    #[test]
    fn scaler_rejects_non_finite_input(
        rows in table(),
        at in any::<(usize, usize)>(),
        bad in prop_oneof![Just(f32::NAN), Just(f32::INFINITY), Just(f32::NEG_INFINITY)],
    ) {
        let scaler = StandardScaler::fit(&rows).unwrap();
        let (row, column) = (at.0 % rows.len(), at.1 % W);
        let mut poisoned = rows.clone();
        poisoned[row][column] = bad;
        prop_assert!(is_non_finite_at(&StandardScaler::fit(&poisoned), row, column));
        prop_assert!(is_non_finite_at(&scaler.transform(&poisoned), row, column));
        prop_assert!(is_non_finite_at(&scaler.inverse_transform(&poisoned), row, column));
    }

    /// Values far outside the fitted data that leave f32's range when scaled are an error.
    #[test]
    fn scaler_reports_results_beyond_f32(scale in 1e-30f32..1e-3, v in 1e36f32..3e38) {
        let scaler = StandardScaler { mean: vec![-v; W], scale: vec![scale; W] };
        let is_non_finite = matches!(
            scaler.transform(&[[v; W]]),
            Err(Error::NonFinite { row: 0, column: 0, .. })
        );
        prop_assert!(is_non_finite);
    }

    /// Scalers whose public fields were set to unusable values are errors, not NaN or panics.
    #[test]
    fn hand_made_scalers_are_checked(
        mean_len in 0usize..6,
        scale_len in 0usize..6,
        bad_scale in prop_oneof![Just(0.0f32), Just(-1.0), Just(f32::NAN), Just(f32::INFINITY), Just(-0.0)],
        bad_mean in prop_oneof![Just(f32::NAN), Just(f32::INFINITY)],
        which in 0usize..3,
    ) {
        let mut scaler = StandardScaler { mean: vec![0.5; mean_len], scale: vec![2.0; scale_len] };
        if mean_len == W && scale_len == W {
            match which {
                0 => scaler.scale[W - 1] = bad_scale,
                1 => scaler.mean[0] = bad_mean,
                _ => return Ok(()), // a valid scaler
            }
        }
        for result in [scaler.transform(&[[1.0f32; W]]), scaler.inverse_transform(&[[1.0f32; W]])] {
            let is_argument_error = matches!(
                result,
                Err(Error::SizeMismatch { .. } | Error::InvalidArgument { .. })
            );
            prop_assert!(is_argument_error, "{result:?}");
        }
    }
}

#[test]
fn scaler_edge_cases() {
    // No rows, rows of width 0: errors, not a division by zero or a panic.
    assert!(matches!(
        StandardScaler::fit::<[f32; 3]>(&[]),
        Err(Error::NotEnoughData { .. })
    ));
    assert!(matches!(
        StandardScaler::fit(&[[0.0f32; 0]; 3]),
        Err(Error::InvalidArgument { .. })
    ));
    let scaler = StandardScaler {
        mean: vec![],
        scale: vec![],
    };
    assert!(scaler.transform(&[[0.0f32; 0]; 2]).is_err());
    // One row: every column is constant.
    let (scaler, scaled) = StandardScaler::fit_transform(&[[3.0f32, -0.0, 1e-40]]).unwrap();
    assert_eq!(scaler.scale, [1.0, 1.0, 1.0]);
    assert_eq!(scaled, [[0.0, 0.0, 0.0]]);
    // The extremes of f32 in one column: finite statistics, finite scaled values.
    let rows = [[f32::MAX], [f32::MIN], [f32::MAX]];
    let (scaler, scaled) = StandardScaler::fit_transform(&rows).unwrap();
    assert!(scaler.scale[0].is_finite() && scaled.iter().all(|r| r[0].is_finite()));
    // Transforming no rows is no work.
    assert_eq!(
        scaler.transform::<[f32; 1]>(&[]).unwrap(),
        Vec::<[f32; 1]>::new()
    );
}

// ---------------------------------------------------------------------------------------------
// one_hot and Dataset::rows

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(256)))]

    /// Ok exactly when every label is a whole number in 0..C; then each row has one 1 at its
    /// label. Otherwise the first bad label is named.
    #[test]
    fn one_hot_accepts_class_ids_only(
        labels in proptest::collection::vec(
            prop_oneof![
                4 => (0u8..5).prop_map(f32::from),
                1 => Just(-0.0f32),
                1 => prop_oneof![
                    Just(f32::NAN), Just(f32::INFINITY), Just(f32::NEG_INFINITY),
                    Just(-1.0), Just(0.5), Just(4.0e9), proptest::num::f32::SUBNORMAL,
                ],
            ],
            0..20,
        ),
    ) {
        let first_bad = labels
            .iter()
            .position(|&l| !(l.is_finite() && l.fract() == 0.0 && (0.0..4.0).contains(&l)));
        match (one_hot::<4>(&labels), first_bad) {
            (Ok(rows), None) => {
                for (row, &l) in rows.iter().zip(&labels) {
                    let mut want = [0.0; 4];
                    want[l as usize] = 1.0;
                    prop_assert_eq!(*row, want);
                }
            }
            (Err(Error::LabelOutOfRange { row, classes: 4, .. }), Some(bad)) => {
                prop_assert_eq!(row, bad);
            }
            (got, want) => {
                return Err(TestCaseError::fail(format!("{got:?} for first bad label {want:?}")));
            }
        }
        // No class at all: an error for any labels (and its message can be shown).
        let err = one_hot::<0>(&labels).unwrap_err();
        prop_assert!(!err.to_string().is_empty());
    }
}

#[test]
fn dataset_rows_checks_hand_made_fields() {
    let mut d = load_csv_bytes(b"a,b,label\n1,2,0\n3,4,1\n").unwrap();
    assert_eq!(d.rows::<[f32; 2]>().unwrap(), [[1.0, 2.0], [3.0, 4.0]]);
    d.features.pop();
    assert!(matches!(
        d.rows::<[f32; 2]>(),
        Err(Error::SizeMismatch { .. })
    ));
    d.width = 0;
    assert!(d.rows::<[f32; 0]>().is_err());
}

// ---------------------------------------------------------------------------------------------
// CSV

/// A finite f32 of any magnitude, subnormals and both zeros included.
fn finite_f32() -> impl Strategy<Value = f32> {
    prop_oneof![
        4 => proptest::num::f32::NORMAL,
        1 => proptest::num::f32::SUBNORMAL,
        1 => Just(0.0f32),
        1 => Just(-0.0f32),
        1 => (-1000i32..1000).prop_map(|i| i as f32),
        1 => Just(f32::MAX),
        1 => Just(f32::MIN),
        1 => Just(f32::MIN_POSITIVE),
    ]
}

/// How a number is written: shortest (`0.1`), exponent (`1e-1`), debug (`0.1`, `1e-40`),
/// fixed with many digits, an explicit `+`; with or without spaces around.
fn written(v: f32, style: u8, pad: bool) -> String {
    let text = match style % 5 {
        0 => format!("{v}"),
        1 => format!("{v:e}"),
        2 => format!("{v:?}"),
        3 => format!("{v:E}"),
        _ if v.is_sign_positive() => format!("+{v}"),
        _ => format!("{v}"),
    };
    if pad {
        format!("  {text}\t")
    } else {
        text
    }
}

/// A valid table: a header of `width + 1` names, `rows` rows of finite numbers.
fn csv_table() -> impl Strategy<Value = (Vec<String>, Vec<Vec<f32>>)> {
    (1usize..6, 0usize..20).prop_flat_map(|(width, rows)| {
        (
            proptest::collection::vec("[a-zA-Z_][a-zA-Z0-9_ ]{0,8}", width + 1),
            proptest::collection::vec(proptest::collection::vec(finite_f32(), width + 1), rows),
        )
    })
}

fn is_well_formed(d: &Dataset) -> bool {
    d.width >= 1
        && d.feature_names.len() == d.width
        && d.features.len() == d.labels.len() * d.width
        && d.features.iter().chain(&d.labels).all(|v| v.is_finite())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(512)))]

    /// Every finite f32, however written, comes back bit for bit (−0 included); names, width
    /// and the label column are kept.
    #[test]
    fn csv_round_trips_every_number(
        (header, rows) in csv_table(),
        styles in proptest::collection::vec(any::<(u8, bool)>(), 1..8),
        crlf: bool,
        trailing_newline: bool,
    ) {
        let newline = if crlf { "\r\n" } else { "\n" };
        let mut text = header.join(",");
        for (r, row) in rows.iter().enumerate() {
            text.push_str(newline);
            let fields: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(c, &v)| {
                    let (style, pad) = styles[(r * 7 + c) % styles.len()];
                    written(v, style, pad)
                })
                .collect();
            text.push_str(&fields.join(","));
        }
        if trailing_newline {
            text.push_str(newline);
        }
        let d = load_csv_bytes(text.as_bytes()).unwrap();
        let width = header.len() - 1;
        prop_assert_eq!(d.width, width);
        let names: Vec<String> = header[..width].iter().map(|h| h.trim().to_string()).collect();
        prop_assert_eq!(&d.feature_names, &names);
        prop_assert_eq!(d.len(), rows.len());
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let want_features: Vec<f32> = rows.iter().flat_map(|r| r[..width].to_vec()).collect();
        let want_labels: Vec<f32> = rows.iter().map(|r| r[width]).collect();
        prop_assert_eq!(bits(&d.features), bits(&want_features));
        prop_assert_eq!(bits(&d.labels), bits(&want_labels));
    }

    /// A non-finite or out-of-range number, or a word, anywhere in a valid table is a parse
    /// error naming that line.
    #[test]
    fn csv_rejects_non_finite_and_non_numbers(
        (header, rows) in csv_table(),
        at in any::<(usize, usize)>(),
        bad in prop_oneof![
            Just("nan"), Just("NaN"), Just("inf"), Just("-inf"), Just("+infinity"),
            Just("1e39"), Just("-3.5e38"), Just(""), Just("x"), Just("1,5"), Just("0x10"),
            Just("1e"), Just("--1"), Just("\"\""),
        ],
    ) {
        prop_assume!(!rows.is_empty());
        let (r, c) = (at.0 % rows.len(), at.1 % header.len());
        let mut text = header.join(",");
        for (i, row) in rows.iter().enumerate() {
            text.push('\n');
            let fields: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(j, v)| if (i, j) == (r, c) { bad.to_string() } else { v.to_string() })
                .collect();
            text.push_str(&fields.join(","));
        }
        match load_csv_bytes(text.as_bytes()) {
            Err(Error::Parse { line, .. }) => prop_assert_eq!(line, r + 2),
            other => return Err(TestCaseError::fail(format!("{bad:?} at row {r}: {other:?}"))),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(4096)))]

    /// Random bytes: an error or a well-formed data set, never a panic.
    #[test]
    fn csv_random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(d) = load_csv_bytes(&bytes) {
            prop_assert!(is_well_formed(&d), "{d:?}");
        }
    }

    /// Bytes from the CSV alphabet (digits, signs, separators, quotes, newlines, letters of
    /// `nan`/`inf`/`e`) reach deeper than random bytes: same property.
    #[test]
    fn csv_random_text_never_panics(
        bytes in proptest::collection::vec(
            proptest::sample::select(b"0123456789.,-+eE \t\r\n\"naifNAI#\xef\xbb\xbf".to_vec()),
            0..200,
        ),
    ) {
        if let Ok(d) = load_csv_bytes(&bytes) {
            prop_assert!(is_well_formed(&d), "{d:?}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(2048)))]

    /// A valid file with bytes flipped, inserted or cut: an error or a well-formed data set.
    #[test]
    fn csv_mutated_files_never_panic(
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        insert in proptest::option::of((any::<usize>(), proptest::sample::select(b",\n\"\r .e-".to_vec()))),
        cut in proptest::option::of(any::<usize>()),
    ) {
        let mut bytes = b"f0, f1 ,label\n1.5,-2e-3,0\n-0,3.4e38,1\n\"7\",1e-45,2\r\n".to_vec();
        for (at, value) in flips {
            let i = at % bytes.len();
            bytes[i] ^= value | 1;
        }
        if let Some((at, b)) = insert {
            bytes.insert(at % (bytes.len() + 1), b);
        }
        if let Some(c) = cut {
            bytes.truncate(c % (bytes.len() + 1));
        }
        if let Ok(d) = load_csv_bytes(&bytes) {
            prop_assert!(is_well_formed(&d), "{d:?}");
        }
    }
}

#[test]
fn csv_files_and_bytes_agree_and_errors_name_lines() {
    let text = "x1,x2,y\n1,2,3\n\n4,5,6\n";
    let dir = tempfile_dir();
    let path = dir.join("t.csv");
    std::fs::write(&path, text).unwrap();
    assert_eq!(
        load_csv(&path).unwrap(),
        load_csv_bytes(text.as_bytes()).unwrap()
    );
    // Empty input, a header alone, one column, a header that is not UTF-8.
    assert!(matches!(
        load_csv_bytes(b""),
        Err(Error::Parse { line: 1, .. })
    ));
    assert!(load_csv_bytes(b"a,b\n").unwrap().is_empty());
    assert!(matches!(
        load_csv_bytes(b"a\n1\n"),
        Err(Error::Parse { line: 1, .. })
    ));
    assert!(matches!(
        load_csv_bytes(b"a,\xff\n1,2\n"),
        Err(Error::Parse { line: 1, .. })
    ));
    // A bad value after a blank line and a quoted field with a newline: the line an editor shows.
    let blank = load_csv_bytes(b"a,b\n1,2\n\n3,nan\n");
    assert!(
        matches!(blank, Err(Error::Parse { line: 4, .. })),
        "{blank:?}"
    );
    let quoted = load_csv_bytes(b"a,b\n\"1\n\",2\n3,x\n");
    assert!(
        matches!(quoted, Err(Error::Parse { line: 4, .. })),
        "{quoted:?}"
    );
    // Too large for f32: an error, not +inf.
    let err = load_csv_bytes(b"a,b\n1e39,0\n").unwrap_err();
    assert!(err.to_string().contains("not a finite f32"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("seqnet-data-props-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
