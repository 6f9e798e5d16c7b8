//! `Masking(mask_value = 0.0)`: masks the steps whose every feature is `mask_value` for the
//! layers after it that use a mask. Runtime: `nn_core::layers::Masking`.

use super::{Built, Cx, Description, MaskRule};
use crate::args::Bound;
use crate::dims::Dim;
use quote::quote;

pub const MASKING: Description = Description {
    keras: &nn_keras::layers::MASKING,
    computes: false,
    mask: MaskRule::Makes,
    build,
};

fn build(cx: &mut Cx<'_>, args: &Bound<'_>, shape: Option<&[Dim]>) -> Option<Built> {
    let mask_value = cx.number(args, "mask_value", f64::is_finite, "a finite number");
    let (steps, features) = cx.steps(shape?)?;
    let mask_value = mask_value? as f32;
    let rt = cx.rt;
    Some(Built {
        ty: quote!(#rt::layers::Masking<#steps, #features>),
        value: quote!(#rt::layers::Masking::new(#mask_value)),
        output_shape: vec![steps, Dim::Lit(features)],
        adapts: false,
    })
}
