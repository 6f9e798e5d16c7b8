//! `Flatten`: the input as one flat row, in channels-last order. Costs nothing at run time:
//! its output is its input's buffer. Runtime: `nn_core::layers::Flatten`.

use super::{Built, Cx, Description, MaskRule};
use crate::args::Bound;
use crate::dims::{flat_width, Dim};
use quote::quote;

pub const FLATTEN: Description = Description {
    keras: &nn_keras::layers::FLATTEN,
    computes: false,
    mask: MaskRule::Drops,
    build,
};

fn build(cx: &mut Cx<'_>, args: &Bound<'_>, shape: Option<&[Dim]>) -> Option<Built> {
    cx.only_values(args);
    let width = flat_width(shape?);
    let rt = cx.rt;
    Some(Built {
        ty: quote!(#rt::layers::Flatten<#width>),
        value: quote!(#rt::layers::Flatten),
        output_shape: vec![width],
        adapts: false,
    })
}
