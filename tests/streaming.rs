//! Streams (Keras' `stateful = True`): a sequence fed one timestep at a time gives what
//! `predict` gives for the whole sequence, on every layer that streams (to float rounding: a
//! step's products run over one timestep); many streams stepping together give what each
//! gives alone; state saves and restores; bad steps change nothing.

mod common;

use common::assert_close;
use seqnet::prelude::*;

sequential! {
    /// Every recurrent kind, per-step layers between them, the time axis ended by the last.
    struct Signal {
        Input(shape = (None, 3)),
        LSTM(8, return_sequences = true),
        Dense(4, activation = tanh),
        LayerNormalization,
        GRU(5, reset_after = false, return_sequences = true),
        Dropout(0.3),
        GRU(5, return_sequences = true),
        SimpleRNN(4),
        Dense(2),
    }
}

sequential! {
    /// Pre-padded token ids: the padding steps are masked in the stream as in the batch.
    struct Text {
        Input(shape = (12,), dtype = "int32"),
        Embedding(30, 8, mask_zero = true),
        LSTM(8, return_sequences = true),
        Activation(relu),
        SimpleRNN(6),
        Dense(3, activation = softmax),
    }
}

sequential! {
    /// Causal convolutions (dilated, and a one-tap one) before a recurrent layer.
    struct Causal {
        Input(shape = (16, 2)),
        Conv1D(4, 3, padding = "causal", dilation_rate = 2, activation = relu),
        Conv1D(3, 1, padding = "causal"),
        Conv1D(3, 2, padding = "causal"),
        LSTM(4),
        Dense(1, activation = sigmoid),
    }
}

sequential! {
    /// Wider layers: one row's step (`predict_one`, a stream) runs its units in blocks of 16,
    /// here a whole block and a partial one, and a bias-free GRU.
    struct Wide {
        Input(shape = (None, 3)),
        LSTM(20, return_sequences = true),
        GRU(37, return_sequences = true),
        GRU(9, use_bias = false),
        Dense(2),
    }
}

fn series<const T: usize>(seed: u32) -> [[f32; 3]; T] {
    std::array::from_fn(|t| {
        std::array::from_fn(|f| ((t as f32 * 0.7 + f as f32 * 1.3 + seed as f32).sin()) * 1.5)
    })
}

/// The stream's output after each step equals `predict` on that prefix (a variable-length
/// model: the same weights fit every length).
#[test]
fn a_stream_gives_predict_on_every_prefix() {
    let model = Signal::<20>::new(3);
    let x: [[f32; 3]; 20] = series(1);
    let mut stream = model.stream();
    let outputs: Vec<[f32; 2]> = x.iter().map(|step| stream.step(step).unwrap()).collect();
    macro_rules! prefix {
        ($($t:literal),*) => {$({
            let mut m = Signal::<$t>::new(0);
            m.set_weights(&model.get_weights()).unwrap();
            let mut row = [[0.0f32; 3]; $t];
            row.copy_from_slice(&x[..$t]);
            let want = m.predict(&[row]).unwrap();
            assert_close(concat!("prefix ", $t), &outputs[$t - 1], &want[0], 1e-5, 1e-6);
        })*};
    }
    prefix!(1, 2, 3, 7, 12, 20);
    assert_close(
        "whole",
        &outputs[19],
        &model.predict(&[x]).unwrap()[0],
        1e-5,
        1e-6,
    );
}

#[test]
fn masked_token_streams_and_causal_convolutions_match_predict() {
    let text = Text::new(5);
    let rows: Vec<[i32; 12]> = (0..4)
        .map(|r| {
            std::array::from_fn(|t| {
                if t < 3 * r {
                    0
                } else {
                    ((t * 7 + r * 3) % 29 + 1) as i32
                }
            })
        })
        .collect();
    let want = text.predict(&rows).unwrap();
    for (row, want) in rows.iter().zip(&want) {
        let mut stream = text.stream();
        let mut last = [0.0; 3];
        for &id in row {
            last = stream.step(&[id]).unwrap();
        }
        assert_close("text stream", &last, want, 1e-5, 1e-6);
    }

    let causal = Causal::new(2);
    let x: [[f32; 2]; 16] =
        std::array::from_fn(|t| [(t as f32 * 0.3).cos(), (t as f32 * 0.9).sin() - 0.2]);
    let mut stream = causal.stream();
    let mut last = [0.0; 1];
    for step in &x {
        last = stream.step(step).unwrap();
    }
    assert_close(
        "causal stream",
        &last,
        &causal.predict(&[x]).unwrap()[0],
        1e-5,
        1e-6,
    );
}

/// Streams stepping together give what each gives alone (to float rounding: one product over
/// five rows may take another kernel than five over one), and what `predict` gives.
#[test]
fn many_streams_step_together_as_each_alone() {
    let model = Signal::<10>::new(8);
    let xs: Vec<[[f32; 3]; 10]> = (0..5).map(|s| series(s * 11)).collect();
    let mut together = model.streams(5);
    let mut last = Vec::new();
    for t in 0..10 {
        let step: Vec<[f32; 3]> = xs.iter().map(|x| x[t]).collect();
        last = together.step(&step).unwrap().to_vec();
    }
    let want = model.predict(&xs).unwrap();
    for (s, x) in xs.iter().enumerate() {
        let mut alone = model.stream();
        let mut out = [0.0; 2];
        for step in x {
            out = alone.step(step).unwrap();
        }
        assert_close("alone", &out, &last[s], 1e-6, 1e-7);
        assert_close("predict", &last[s], &want[s], 1e-5, 1e-6);
    }
    // Restarting one stream leaves the others going.
    together.reset_stream(2).unwrap();
    assert!(together.reset_stream(5).is_err());
    assert!(
        together.state()[2 * (together.state().len() / 5)..3 * (together.state().len() / 5)]
            .iter()
            .all(|&v| v == 0.0)
    );
}

#[test]
fn state_saves_restores_and_resets() {
    let model = Signal::<12>::new(4);
    let x: [[f32; 3]; 12] = series(7);
    let mut stream = model.stream();
    for step in &x[..6] {
        stream.step(step).unwrap();
    }
    let saved = stream.state().to_vec();
    assert!(saved.iter().any(|&v| v != 0.0));
    let rest: Vec<[f32; 2]> = x[6..].iter().map(|s| stream.step(s).unwrap()).collect();
    let mut other = model.stream();
    other.set_state(&saved).unwrap();
    let again: Vec<[f32; 2]> = x[6..].iter().map(|s| other.step(s).unwrap()).collect();
    assert_eq!(rest, again);
    stream.reset();
    let fresh: Vec<[f32; 2]> = x.iter().map(|s| stream.step(s).unwrap()).collect();
    let mut new = model.stream();
    let first: Vec<[f32; 2]> = x.iter().map(|s| new.step(s).unwrap()).collect();
    assert_eq!(fresh, first);
    // A state of another length or with a NaN is refused and changes nothing.
    assert!(matches!(
        other.set_state(&saved[1..]),
        Err(Error::SizeMismatch { .. })
    ));
    let mut bad = saved.clone();
    bad[3] = f32::NAN;
    assert!(matches!(
        other.set_state(&bad),
        Err(Error::NonFinite { .. })
    ));
    assert_eq!(other.state().len(), saved.len());
}

#[test]
fn bad_steps_are_errors_that_change_nothing() {
    let mut model = Signal::<4>::new(1);
    // A first kernel of 2s: an input of f32::MAX overflows its products.
    let mut weights = model.get_weights();
    weights[0].fill(2.0);
    model.set_weights(&weights).unwrap();
    let mut stream = model.stream();
    stream.step(&[0.5, -1.0, 2.0]).unwrap();
    let before = stream.state().to_vec();
    let err = stream.step(&[0.5, f32::NAN, 2.0]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NonFinite {
                what: "input",
                row: 0,
                column: 1,
                ..
            }
        ),
        "{err:?}"
    );
    // So large that the pass overflows: the output is not finite, and the state is kept.
    let err = stream.step(&[f32::MAX; 3]).unwrap_err();
    assert!(
        matches!(err, Error::NonFinite { what: "output", .. }),
        "{err:?}"
    );
    assert_eq!(stream.state(), &before[..]);

    let text = Text::new(1);
    let mut stream = text.stream();
    let err = stream.step(&[30]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::TokenId {
                id: 30,
                input_dim: 30,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(stream.state().iter().all(|&v| v == 0.0));
    let mut many = text.streams(3);
    assert!(matches!(
        many.step(&[[1], [2]]),
        Err(Error::SizeMismatch { .. })
    ));
}

#[test]
fn streams_move_between_threads() {
    fn send<T: Send>(_: &T) {}
    let model = Text::new(2);
    let stream = model.stream();
    send(&stream);
    let outputs: Vec<[f32; 3]> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..2)
            .map(|k| {
                let mut s = model.stream();
                scope.spawn(move || s.step(&[k + 1]).unwrap())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (k, out) in outputs.iter().enumerate() {
        let mut s = model.stream();
        assert_eq!(&s.step(&[k as i32 + 1]).unwrap(), out);
    }
}

/// One row's step (the recurrent product and the cell block by block) gives what the batch's
/// product-then-cell gives, through `predict_one` and through a stream.
#[test]
fn one_rows_blocked_steps_match_the_batch() {
    let model = Wide::<12>::new(4);
    let xs: Vec<[[f32; 3]; 12]> = (0..3).map(|s| series(s * 5 + 1)).collect();
    let want = model.predict(&xs).unwrap();
    for (x, want) in xs.iter().zip(&want) {
        let one = model.predict_one(x).unwrap();
        assert_close("predict_one", &one, want, 1e-5, 1e-6);
        let mut stream = model.stream();
        let mut out = [0.0; 2];
        for step in x {
            out = stream.step(step).unwrap();
        }
        assert_close("stream", &out, want, 1e-5, 1e-6);
    }
}
