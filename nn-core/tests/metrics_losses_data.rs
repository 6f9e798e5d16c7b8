//! Metrics, losses and data helpers against values worked out by hand.

use nn_core::data::*;
use nn_core::loss::{Loss, LossBatch};
use nn_core::metrics::{accuracy_score, Metric, MetricState};
use nn_core::network::Delta;
use nn_core::Error;

fn metric(m: Metric, output: &[f32], labels: &[f32], outputs: usize) -> f64 {
    let rows = output.len() / outputs;
    let mut s = MetricState::new(m, outputs, labels.len() / rows);
    // Two updates, to check that totals accumulate across batches.
    let half = rows / 2;
    let lw = labels.len() / rows;
    s.update(&output[..half * outputs], &labels[..half * lw], outputs);
    s.update(&output[half * outputs..], &labels[half * lw..], outputs);
    s.result()
}

#[test]
fn accuracy_flavours() {
    let p = [0.9, 0.4, 0.6, 0.1];
    let t = [1.0, 1.0, 0.0, 0.0];
    assert_eq!(metric(Metric::Accuracy, &p, &t, 1), 0.5);
    assert_eq!(
        metric(Metric::BinaryAccuracy { threshold: 0.3 }, &p, &t, 1),
        0.75
    );
    assert_eq!(
        metric(Metric::BinaryAccuracy { threshold: 0.95 }, &p, &t, 1),
        0.5
    );
    let probs = [0.1, 0.7, 0.2, 0.5, 0.3, 0.2, 0.3, 0.3, 0.4, 0.0, 0.1, 0.9];
    assert_eq!(
        metric(Metric::Accuracy, &probs, &[1.0, 0.0, 0.0, 2.0], 3),
        0.75
    );
    let one_hot = [0., 1., 0., 0., 0., 1., 0., 0., 1., 0., 0., 1.];
    assert_eq!(metric(Metric::Accuracy, &probs, &one_hot, 3), 0.75);
    assert_eq!(
        metric(Metric::CategoricalAccuracy, &probs, &one_hot, 3),
        0.75
    );
    assert_eq!(
        metric(
            Metric::SparseCategoricalAccuracy,
            &probs,
            &[1.0, 2.0, 2.0, 2.0],
            3
        ),
        0.75
    );
}

#[test]
fn precision_recall_auc() {
    let p = [0.9, 0.8, 0.7, 0.3, 0.6, 0.2];
    let t = [1.0, 1.0, 0.0, 1.0, 0.0, 0.0];
    // Predicted positive: rows 0, 1, 2, 4 → TP 2, FP 2; FN 1 (row 3).
    assert_eq!(metric(Metric::Precision, &p, &t, 1), 0.5);
    assert!((metric(Metric::Recall, &p, &t, 1) - 2.0 / 3.0).abs() < 1e-12);
    // Exact ROC AUC: of the 9 (positive, negative) pairs, 7 are ordered right.
    let auc = metric(Metric::Auc, &p, &t, 1);
    assert!((auc - 7.0 / 9.0).abs() < 1e-9, "auc {auc}");
    assert_eq!(
        metric(Metric::Auc, &[0.9, 0.8, 0.2, 0.1], &[1.0, 1.0, 0.0, 0.0], 1),
        1.0
    );
    assert_eq!(
        metric(Metric::Auc, &[0.1, 0.2, 0.8, 0.9], &[1.0, 1.0, 0.0, 0.0], 1),
        0.0
    );
    assert_eq!(
        metric(Metric::Precision, &[0.1, 0.2], &[1.0, 0.0], 1),
        0.0,
        "no positive predicted"
    );
    assert_eq!(
        metric(Metric::MeanAbsoluteError, &[1.0, 2.0], &[0.5, 3.0], 1),
        0.75
    );
    assert_eq!(
        metric(Metric::MeanSquaredError, &[1.0, 2.0], &[0.5, 3.0], 1),
        0.625
    );
}

#[test]
fn accuracy_score_like_scikit_learn() {
    assert_eq!(accuracy_score(&[0, 1, 1, 0], &[0, 1, 0, 0]).unwrap(), 0.75);
    assert!(matches!(
        accuracy_score(&[0, 1], &[0]),
        Err(Error::SizeMismatch { .. })
    ));
    assert!(accuracy_score::<u8>(&[], &[]).is_err());
}

fn loss_of(
    loss: Loss,
    output: &[f32],
    z: &[f32],
    labels: &[f32],
    act: &str,
    width: usize,
) -> (f64, Vec<f32>, Delta) {
    let mut g = vec![0.0; output.len()];
    let batch = LossBatch {
        output,
        pre_activation: z,
        labels,
        sample_weight: None,
        output_activation: act,
        width,
    };
    let (l, d) = loss.evaluate(batch, Some(&mut g));
    (l, g, d)
}

#[test]
fn regression_losses_by_hand() {
    let y = [1.0, -2.0, 0.5, 3.0];
    let t = [0.0, 0.0, 0.0, 0.0];
    // Two rows of two outputs: per-row means, then the mean over rows.
    let (l, g, d) = loss_of(Loss::MeanSquaredError, &y, &y, &t, "linear", 2);
    assert_eq!(d, Delta::Output);
    assert!((l - (2.5 + 4.625) / 2.0).abs() < 1e-6);
    assert_eq!(g, [0.5, -1.0, 0.25, 1.5]);
    let (l, g, _) = loss_of(Loss::MeanAbsoluteError, &y, &y, &t, "linear", 2);
    assert!((l - (1.5 + 1.75) / 2.0).abs() < 1e-6);
    assert_eq!(g, [0.25, -0.25, 0.25, 0.25]);
    let (l, g, _) = loss_of(Loss::huber(), &y, &y, &t, "linear", 2);
    // 0.5, 1.5 | 0.125, 2.5
    assert!((l - (1.0 + 1.3125) / 2.0).abs() < 1e-6);
    assert_eq!(g, [0.25, -0.25, 0.125, 0.25]);
}

#[test]
fn cross_entropies_by_hand() {
    // Categorical on probabilities: −ln(q_label) after normalising the row.
    let p = [0.2, 0.6, 0.2, 0.5, 0.25, 0.25];
    let one_hot = [0.0, 1.0, 0.0, 1.0, 0.0, 0.0];
    let (l, _, d) = loss_of(
        Loss::categorical_crossentropy(),
        &p,
        &p,
        &one_hot,
        "linear",
        3,
    );
    assert_eq!(d, Delta::Output);
    assert!((l - (-(0.6f64.ln()) - 0.5f64.ln()) / 2.0).abs() < 1e-6);
    // Fused with softmax: from the logits, gradient p − y over rows.
    let z = [0.0f32, 1.0, 0.0];
    let e = std::f64::consts::E;
    let sm = [1.0 / (2.0 + e), e / (2.0 + e), 1.0 / (2.0 + e)];
    let (l, g, d) = loss_of(
        Loss::sparse_categorical_crossentropy(),
        &[0.0; 3],
        &z,
        &[1.0],
        "softmax",
        3,
    );
    assert_eq!(d, Delta::PreActivation);
    assert!((l + sm[1].ln()).abs() < 1e-6);
    for (g, want) in g.iter().zip([sm[0], sm[1] - 1.0, sm[2]]) {
        assert!((*g as f64 - want).abs() < 1e-6);
    }
    // Binary from logits with a linear output: the output is the logit.
    let (l, g, d) = loss_of(
        Loss::BinaryCrossentropy { from_logits: true },
        &[2.0],
        &[9.0],
        &[0.0],
        "linear",
        1,
    );
    assert_eq!(d, Delta::Output);
    assert!((l - (1.0 + 2f64.exp()).ln()).abs() < 1e-6);
    assert!((g[0] as f64 - 1.0 / (1.0 + (-2f64).exp())).abs() < 1e-6);
}

#[test]
fn labels_are_checked() {
    let sparse = Loss::sparse_categorical_crossentropy();
    assert!(sparse.check_labels(&[0.0, 2.0, 1.0], 3).is_ok());
    assert_eq!(
        sparse.check_labels(&[0.0, -1.0], 3),
        Err(Error::LabelOutOfRange {
            row: 1,
            label: -1.0,
            classes: 3
        })
    );
    assert!(matches!(
        Loss::MeanSquaredError.check_labels(&[0.0, f32::INFINITY], 1),
        Err(Error::NonFinite {
            what: "labels",
            row: 1,
            ..
        })
    ));
}

#[test]
fn train_test_split_sizes_and_pairing() {
    let x: Vec<[f32; 1]> = (0..1000).map(|i| [i as f32]).collect();
    let y: Vec<f32> = (0..1000).map(|i| i as f32 * 2.0).collect();
    let (xtr, xte, ytr, yte) = train_test_split(&x, &y, 0.2, 42).unwrap();
    assert_eq!(
        (xtr.len(), xte.len(), ytr.len(), yte.len()),
        (800, 200, 800, 200)
    );
    for (r, l) in xtr.iter().zip(&ytr).chain(xte.iter().zip(&yte)) {
        assert_eq!(r[0] * 2.0, *l, "rows and labels stay paired");
    }
    let mut all: Vec<f32> = xtr.iter().chain(&xte).map(|r| r[0]).collect();
    all.sort_by(f32::total_cmp);
    assert_eq!(
        all,
        (0..1000).map(|i| i as f32).collect::<Vec<_>>(),
        "a permutation"
    );
    assert_ne!(xte[..10], x[..10], "shuffled");
    assert_eq!(train_test_split(&x, &y, 0.2, 42).unwrap().1, xte, "seeded");
    // scikit-learn rounds the test part up: 10 rows at 0.25 → 3 test rows.
    assert_eq!(
        train_test_split(&x[..10], &y[..10], 0.25, 0)
            .unwrap()
            .1
            .len(),
        3
    );
    assert!(train_test_split(&x, &y[..5], 0.2, 0).is_err());
    assert!(train_test_split(&x, &y, 1.0, 0).is_err());
}

#[test]
fn standard_scaler_and_one_hot() {
    let rows = [[1.0f32, 5.0], [3.0, 5.0], [5.0, 5.0]];
    let (scaler, scaled) = StandardScaler::fit_transform(&rows).unwrap();
    assert_eq!(scaler.mean, [3.0, 5.0]);
    let sd = (8.0f32 / 3.0).sqrt();
    assert!((scaler.scale[0] - sd).abs() < 1e-6);
    assert_eq!(
        scaler.scale[1], 1.0,
        "a constant column is not divided by zero"
    );
    assert!((scaled[0][0] + 2.0 / sd).abs() < 1e-6 && scaled[1][0] == 0.0);
    assert_eq!(scaled[2][1], 0.0);
    assert!(scaler.transform(&[[1.0f32; 3]]).is_err());
    assert!(StandardScaler::fit::<[f32; 2]>(&[]).is_err());

    assert_eq!(
        one_hot::<3>(&[2.0, 0.0]).unwrap(),
        [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    );
    assert!(matches!(
        one_hot::<3>(&[3.0]),
        Err(Error::LabelOutOfRange { row: 0, .. })
    ));
}

#[test]
fn csv_loading_and_its_errors() {
    let dir = std::env::temp_dir().join(format!("seqnet-csv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.csv");
    std::fs::write(&good, "f0,f1,label\n1.5,2,0\n-3,4e-1,1\n").unwrap();
    let d = load_csv(&good).unwrap();
    assert_eq!(d.feature_names, ["f0", "f1"]);
    assert_eq!(d.features, [1.5, 2.0, -3.0, 0.4]);
    assert_eq!(d.labels, [0.0, 1.0]);
    assert_eq!(d.rows::<[f32; 2]>().unwrap(), [[1.5, 2.0], [-3.0, 0.4]]);
    assert!(d.rows::<[f32; 3]>().is_err());

    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "f0,label\n1,0\nx,1\n").unwrap();
    let err = load_csv(&bad).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("line 3: column \"f0\" holds \"x\", not a number"),
        "{err}"
    );
    let ragged = dir.join("ragged.csv");
    std::fs::write(&ragged, "f0,label\n1,0\n1,2,3\n").unwrap();
    assert!(matches!(
        load_csv(&ragged),
        Err(Error::Parse { line: 3, .. })
    ));
    assert!(matches!(
        load_csv(dir.join("missing.csv")),
        Err(Error::Io { .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tutorial_data_follows_its_law() {
    let (x, y) = tutorial_data(2000, 1);
    assert!(x.iter().flatten().all(|v| (0.0..10.0).contains(v)));
    let positive = y.iter().filter(|&&l| l == 1.0).count() as f64 / 2000.0;
    assert!(
        (positive - 0.5).abs() < 0.05,
        "balanced classes: {positive}"
    );
    // Rows far from the boundary are labelled by the sums alone.
    for (r, &l) in x.iter().zip(&y) {
        let margin: f32 = r[..5].iter().sum::<f32>() - r[5..].iter().sum::<f32>();
        if margin.abs() > 5.0 {
            assert_eq!(l, f32::from(margin > 0.0));
        }
    }
}
