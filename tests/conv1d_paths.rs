//! Conv1D's batched forward pass (windows read in place when undilated, copied when dilated)
//! against its one-row pass (`predict_one`: a direct loop over taps), on odd sizes, every
//! padding, strides larger and smaller than the kernel, and batches that split into chunks.

mod common;

use common::assert_close;
use seqnet::prelude::*;

macro_rules! conv_case {
    ($name:ident, $steps:literal, $features:literal, $($conv:tt)*) => {
        sequential! {
            struct $name {
                Input(shape = ($steps, $features)),
                $($conv)*,
                Flatten,
                Dense(3, activation = tanh),
            }
        }
    };
}

conv_case!(ValidOdd, 13, 3, Conv1D(5, 4, activation = relu));
conv_case!(ValidStride, 17, 2, Conv1D(3, 3, strides = 2));
conv_case!(
    SameStrideOverKernel,
    11,
    3,
    Conv1D(4, 1, strides = 3, padding = "same")
);
conv_case!(
    SameOdd,
    9,
    5,
    Conv1D(7, 4, padding = "same", activation = sigmoid)
);
conv_case!(
    SameStride,
    10,
    2,
    Conv1D(3, 3, strides = 2, padding = "same")
);
conv_case!(CausalOne, 7, 1, Conv1D(2, 1, padding = "causal"));
conv_case!(
    CausalWide,
    8,
    3,
    Conv1D(4, 5, padding = "causal", activation = tanh)
);
conv_case!(
    CausalDilated,
    12,
    2,
    Conv1D(3, 3, padding = "causal", dilation_rate = 3)
);
conv_case!(SoftmaxSteps, 6, 2, Conv1D(4, 2, activation = softmax));

fn check<N: Network, const T: usize, const F: usize>(name: &str, model: N)
where
    [[f32; F]; T]: seqnet::network::InputOf<N>,
{
    // 70 rows: one predict chunk and a remainder on the pool's threads.
    let x: Vec<[[f32; F]; T]> = (0..70)
        .map(|r| {
            std::array::from_fn(|t| {
                std::array::from_fn(|f| (((r * 13 + t * 5 + f * 3) % 11) as f32 - 5.0) / 4.0)
            })
        })
        .collect();
    let batch = model
        .predict_flat(<[[f32; F]; T] as seqnet::Row>::flat(&x))
        .unwrap();
    for (row, want) in x.iter().zip(batch.chunks(N::OUTPUT_WIDTH)) {
        let one = model
            .predict_flat(<[[f32; F]; T] as seqnet::Row>::flat(std::slice::from_ref(
                row,
            )))
            .unwrap();
        assert_close(name, &one, want, 1e-5, 1e-6);
    }
}

#[test]
fn batched_convolutions_match_one_row_at_a_time() {
    check::<_, 13, 3>("valid odd", ValidOdd::new(1));
    check::<_, 17, 2>("valid stride", ValidStride::new(2));
    check::<_, 11, 3>("same, stride over kernel", SameStrideOverKernel::new(3));
    check::<_, 9, 5>("same odd", SameOdd::new(4));
    check::<_, 10, 2>("same stride", SameStride::new(5));
    check::<_, 7, 1>("causal one tap", CausalOne::new(6));
    check::<_, 8, 3>("causal wide", CausalWide::new(7));
    check::<_, 12, 2>("causal dilated", CausalDilated::new(8));
    check::<_, 6, 2>("softmax over each step", SoftmaxSteps::new(9));
}
