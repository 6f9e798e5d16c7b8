//! `Embedding(input_dim, output_dim, mask_zero = false)`: rows of token ids to sequences of
//! vectors. The model's first layer, since only the model's input holds ids. Runtime:
//! `nn_core::layers::Embedding`.

use super::{Built, Cx, Description, MaskRule};
use crate::args::{positive_int, Bound};
use crate::dims::{shape_text, Dim};
use quote::quote;

pub const EMBEDDING: Description = Description {
    keras: &nn_keras::layers::EMBEDDING,
    computes: true,
    mask: MaskRule::Makes,
    build,
};

fn build(cx: &mut Cx<'_>, args: &Bound<'_>, shape: Option<&[Dim]>) -> Option<Built> {
    let input_dim = cx
        .required(
            args,
            "input_dim",
            "Embedding(1000, 64) for 1000 token ids of 64 values",
        )
        .and_then(|v| positive_int(cx.errors, v, "Embedding's input_dim"));
    let output_dim = cx
        .required(
            args,
            "output_dim",
            "Embedding(1000, 64) for 1000 token ids of 64 values",
        )
        .and_then(|v| positive_int(cx.errors, v, "Embedding's output_dim"));
    let mask_zero = cx.flag(args, "mask_zero");
    if cx.index > 0 {
        cx.error(
            "Embedding must be the model's first layer: it reads token ids, which only the \
             model's input holds (every layer gives floats)",
        );
        return None;
    }
    let steps = match shape? {
        [t @ (Dim::Lit(_) | Dim::Steps(1))] => *t,
        [Dim::Generic] => {
            cx.error(
                "Embedding needs the length of its rows of token ids: give the model \
                 `Input(shape = (20,), dtype = \"int32\")` for 20 ids per row",
            );
            return None;
        }
        other => {
            cx.error(format!(
                "Embedding reads rows of token ids, shape (timesteps,), but receives {}",
                shape_text(other)
            ));
            return None;
        }
    };
    let (input_dim, output_dim) = (input_dim?, output_dim?);
    if input_dim > i32::MAX as usize
        || input_dim
            .checked_mul(output_dim)
            .is_none_or(|n| n > i32::MAX as usize)
    {
        cx.error(format!(
            "Embedding table of {input_dim} × {output_dim} is too large"
        ));
        return None;
    }
    let rt = cx.rt;
    Some(Built {
        ty: quote!(#rt::layers::Embedding<#steps, #input_dim, #output_dim, #mask_zero>),
        value: quote!(#rt::layers::Embedding),
        output_shape: vec![steps, Dim::Lit(output_dim)],
        adapts: false,
    })
}
