//! `predict_one` allocates nothing, for every layer type: counted by a global allocator that
//! tallies the allocations of the calling thread. (Conv2D's patch buffer and the GEMM's packing
//! buffers are per-thread and grown by the first call, so the count starts after one call.)

use seqnet::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded to the system allocator unchanged; the counter is a
// const-initialised thread-local Cell, which needs no allocation and has no destructor.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|a| a.set(a.get() + 1));
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_in(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

sequential! {
    struct EveryLayer {
        Input(shape = (9, 9, 2)),
        Conv2D(4, (3, 3), strides = 2, padding = "same", activation = relu),
        BatchNormalization,
        MaxPooling2D((2, 2), padding = "same"),
        Activation(tanh),
        Dropout(0.5),
        Reshape((3, 3, 4)),
        AveragePooling2D((2, 2), strides = 1),
        Conv2D(6, (1, 1)),
        GlobalMaxPooling2D(keepdims = true),
        Flatten,
        Dense(5, activation = softmax),
    }
}

sequential! {
    struct Tutorial {
        Input(shape = (10,)),
        Dense(64, activation = relu),
        Dense(32, activation = relu),
        Dense(1, activation = sigmoid),
    }
}

sequential! {
    /// Dense layers beyond the int8 product's exact f32 form (k > 1024).
    struct Wide {
        Input(shape = (1100,)),
        Dense(64, activation = relu),
        Dense(2),
    }
}

sequential! {
    /// Token ids, a mask, the sequence layers.
    struct Text {
        Input(shape = (12,), dtype = "int32"),
        Embedding(50, 8, mask_zero = true),
        Dense(8, activation = relu),
        LayerNormalization,
        GlobalAveragePooling1D,
        Dense(2, activation = softmax),
    }
}

sequential! {
    struct Series {
        Input(shape = (16, 3)),
        Masking,
        Conv1D(4, 3, padding = "causal", activation = relu),
        MaxPooling1D(2),
        GlobalMaxPooling1D,
        Dense(1),
    }
}

sequential! {
    /// Any number of steps: the buffers live in the per-thread workspace, sized from `T`.
    struct AnyLength {
        Input(shape = (None, 3)),
        Masking,
        Conv1D(4, 3, padding = "causal", activation = relu),
        Dense(4),
        GlobalAveragePooling1D,
        Dense(1),
    }
}

sequential! {
    /// The recurrent layers, masked, alone and wrapped: their one-row scratch is per thread,
    /// grown once.
    struct Recurrent {
        Input(shape = (12,), dtype = "int32"),
        Embedding(50, 8, mask_zero = true),
        GRU(8, return_sequences = true, go_backwards = true),
        Bidirectional(LSTM(6, return_sequences = true, dropout = 0.5)),
        Bidirectional(SimpleRNN(4), merge_mode = "ave"),
        Dense(2, activation = softmax),
    }
}

sequential! {
    /// A model that streams, its recurrent layers wider than one block of one row's step.
    struct Live {
        Input(shape = (10, 3)),
        Conv1D(4, 3, padding = "causal", activation = relu),
        LSTM(20, return_sequences = true),
        GRU(18),
        Dense(2),
    }
}

/// A stream's first steps too: making the stream made the model's packed weights (one row's
/// recurrent blocks) and its workspace. (Another model's stream grows this thread's GEMM
/// buffers first, which every model shares.)
#[test]
fn a_streams_first_step_allocates_nothing() {
    let x = [0.5f32, -0.25, 1.0];
    let other = Live::new(4);
    other.stream().step(&x).unwrap();
    let model = Live::new(3);
    let mut stream = model.stream();
    assert_eq!(
        allocations_in(|| {
            for _ in 0..4 {
                stream.step(&x).unwrap();
            }
        }),
        0
    );
}

#[test]
fn predict_one_allocates_nothing_on_sequences() {
    let recurrent = Recurrent::new(4);
    let ids = [0, 0, 3, 4, 9, 49, 1, 2, 3, 3, 7, 11];
    recurrent.predict_one(&ids).unwrap();
    assert_eq!(
        allocations_in(|| {
            recurrent.predict_one(&ids).unwrap();
        }),
        0
    );

    // A variable-length model: after each thread's first call (which grows the workspace to
    // the largest length it has seen), nothing.
    let any = AnyLength::<30>::new(3);
    let x = [[0.5f32, -0.25, 1.0]; 30];
    any.predict_one(&x).unwrap();
    assert_eq!(
        allocations_in(|| {
            any.predict_one(&x).unwrap();
        }),
        0
    );

    let text = Text::new(1);
    let ids = [0, 0, 0, 4, 9, 49, 1, 2, 3, 3, 7, 11];
    let first = text.predict_one(&ids).unwrap();
    let mut again = [0.0; 2];
    assert_eq!(
        allocations_in(|| again = text.predict_one(&ids).unwrap()),
        0
    );
    assert_eq!(first, again);
    // The row alone gives what the batch gives.
    let batch = text.predict(&[ids, [1; 12]]).unwrap();
    for (a, b) in batch[0].iter().zip(&again) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
    let series = Series::new(2);
    let x = [[0.5f32, -0.25, 1.0]; 16];
    series.predict_one(&x).unwrap();
    assert_eq!(
        allocations_in(|| {
            series.predict_one(&x).unwrap();
        }),
        0
    );
}

#[test]
fn predict_one_allocates_nothing() {
    // The counter sees an allocation when there is one.
    assert_eq!(
        allocations_in(|| drop(std::hint::black_box(vec![0u8; 16]))),
        1
    );
    let model = EveryLayer::new(1);
    let image = [[[0.25f32, -0.5]; 9]; 9];
    let first = model.predict_one(&image).unwrap();
    let mut again = [0.0; 5];
    assert_eq!(
        allocations_in(|| again = model.predict_one(&image).unwrap()),
        0
    );
    assert_eq!(first, again);
    assert!((again.iter().sum::<f32>() - 1.0).abs() < 1e-5);

    let dense = Tutorial::new(1);
    assert_eq!(
        allocations_in(|| {
            dense.predict_one(&[0.5; 10]).unwrap();
        }),
        0
    );
}

#[test]
fn quantized_predict_one_allocates_nothing() {
    // Dense with its inputs quantized (the rows' int8 buffer is per thread, grown by the first
    // call), weight-only Dense, and an int8 Embedding table.
    for config in [
        Int8QuantizationConfig::default(),
        Int8QuantizationConfig::weight_only(),
    ] {
        let dense = Tutorial::new(1).quantize_with(config).unwrap();
        let first = dense.predict_one(&[0.5; 10]).unwrap();
        let mut again = [0.0; 1];
        assert_eq!(
            allocations_in(|| again = dense.predict_one(&[0.5; 10]).unwrap()),
            0
        );
        assert_eq!(first, again);
    }
    // A kernel too large for the exact f32 form: the int8 tiles, their rows' buffer (and on
    // AVX2 the int16 copy) per thread, grown by the first call.
    let wide = Wide::new(1).quantize("int8").unwrap();
    wide.predict_one(&[0.25; 1100]).unwrap();
    assert_eq!(
        allocations_in(|| {
            wide.predict_one(&[0.25; 1100]).unwrap();
        }),
        0
    );
    let text = Text::new(1).quantize("int8").unwrap();
    let ids = [0, 0, 0, 4, 9, 49, 1, 2, 3, 3, 7, 11];
    text.predict_one(&ids).unwrap();
    assert_eq!(
        allocations_in(|| {
            text.predict_one(&ids).unwrap();
        }),
        0
    );
}

#[test]
fn stream_steps_allocate_nothing() {
    let causal = StreamingText::new(3);
    let mut stream = causal.stream();
    let mut many = causal.streams(16);
    let ids: Vec<[i32; 1]> = (0..16).map(|i| [i % 7]).collect();
    stream.step(&[3]).unwrap();
    many.step(&ids).unwrap();
    assert_eq!(
        allocations_in(|| {
            for id in [0, 4, 9, 49, 1] {
                stream.step(&[id]).unwrap();
            }
            many.step(&ids).unwrap();
            stream.reset();
        }),
        0
    );
}

sequential! {
    /// A causal text model: masked Embedding, recurrent layers of every kind, per-step Dense.
    struct StreamingText {
        Input(shape = (12,), dtype = "int32"),
        Embedding(50, 8, mask_zero = true),
        GRU(8, return_sequences = true),
        Dense(6, activation = relu),
        LSTM(6, return_sequences = true, dropout = 0.5),
        SimpleRNN(4),
        Dense(2, activation = softmax),
    }
}
