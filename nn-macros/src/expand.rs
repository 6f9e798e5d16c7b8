//! Code: writes the struct and its impls from a checked plan. Only what depends on the layer list
//! is generated (widths, offsets, the layer chain, the spec); everything else is `nn-core` code
//! reached through the `Network` trait.
//!
//! Generated code names the runtime as `::seqnet::__private`, so it works wherever the user has
//! the `seqnet` crate, without importing anything.

use crate::parse::ModelDecl;
use crate::shape::{Dim, Kind, Plan};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

impl quote::ToTokens for Dim {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.extend(match self {
            Dim::Lit(n) => quote!(#n),
            Dim::Generic => quote!(IN),
        });
    }
}

pub fn expand(model: &ModelDecl, plan: &Plan) -> TokenStream {
    let rt = quote!(::seqnet::__private);
    let ModelDecl {
        attrs, vis, name, ..
    } = model;
    let name_str = name.to_string();
    let generic = plan.input_width() == Dim::Generic;
    let (decl_generics, use_generics) = if generic {
        (quote!(<const IN: usize>), quote!(<IN>))
    } else {
        (quote!(), quote!())
    };
    let in_width = plan.input_width();

    // Only Dense layers compute; Flatten is a change of shape over the same row-major values.
    let dense: Vec<_> = plan
        .layers
        .iter()
        .filter_map(|l| match &l.kind {
            Kind::Dense {
                units,
                activation,
                use_bias,
            } => Some((l, *units, activation, *use_bias)),
            Kind::Flatten => None,
        })
        .collect();
    let out_width = dense.last().expect("the plan has a Dense layer").1;

    let mut consts = Vec::new();
    let mut init = Vec::new();
    let mut forward = Vec::new();
    let mut forward_one = Vec::new();
    let mut backward = Vec::new();
    let mut widths = Vec::new();
    let mut prev_one = quote!(x);
    for (i, (layer, units, act, use_bias)) in dense.iter().enumerate() {
        let layer_c = format_ident!("__LAYER_{}", i);
        let offset_c = format_ident!("__OFFSET_{}", i);
        let ty = format_ident!("{}", act.ty);
        let act_init = &act.init;
        let k = layer.input_width;
        let offset = if i == 0 {
            quote!(0)
        } else {
            let prev = format_ident!("__OFFSET_{}", i - 1);
            let prev_layer = format_ident!("__LAYER_{}", i - 1);
            quote!(Self::#prev + Self::#prev_layer.param_count())
        };
        consts.push(quote! {
            #[doc(hidden)]
            const #layer_c: #rt::layers::Dense<#k, #units, #rt::activations::#ty, #use_bias> =
                #rt::layers::Dense::new(#rt::activations::#ty #act_init);
            #[doc(hidden)]
            const #offset_c: usize = #offset;
        });
        let params = quote!(&p[Self::#offset_c..Self::#offset_c + Self::#layer_c.param_count()]);
        init.push(quote! {
            Self::#layer_c.init(
                &mut p[Self::#offset_c..Self::#offset_c + Self::#layer_c.param_count()],
                &mut rng,
            );
        });
        forward.push(quote! {
            {
                let (input, y, z) = tape.layer_io(#i, x, rows, keep_pre_activations);
                Self::#layer_c.forward(#params, input, rows, y, z);
            }
        });
        let a = format_ident!("a_{}", i);
        forward_one.push(quote! {
            let mut #a = [0.0f32; #units];
            Self::#layer_c.forward_one(#params, &#prev_one[..], &mut #a);
        });
        prev_one = quote!(#a);
        widths.push(quote!(#units));
        let start = if i + 1 == dense.len() {
            quote!(start)
        } else {
            quote!(#rt::kernels::dense::Delta::Output)
        };
        backward.push(quote! {
            Self::#layer_c.backward(
                #params,
                tape.backward_io(#i, x, rows),
                rows,
                #start,
                &mut grads[Self::#offset_c..Self::#offset_c + Self::#layer_c.param_count()],
            );
        });
    }
    let last = dense.len() - 1;
    let last_layer = format_ident!("__LAYER_{}", last);
    let last_offset = format_ident!("__OFFSET_{}", last);
    let last_act = format_ident!("{}", dense[last].2.ty);
    // Layers back-propagate last to first.
    backward.reverse();

    let input_name = &plan.input.name;
    let input_shape = &plan.input.shape;
    let explicit = plan.input.explicit;
    let mut dense_index = 0usize;
    let layer_specs = plan.layers.iter().map(|l| {
        let lname = &l.name;
        let class = l.kind.class_name();
        let shape = &l.output_shape;
        let (activation, weights) = match &l.kind {
            Kind::Dense {
                units, use_bias, ..
            } => {
                let layer_c = format_ident!("__LAYER_{}", dense_index);
                dense_index += 1;
                let k = l.input_width;
                let bias = use_bias
                    .then(|| quote!(#rt::WeightSpec { name: "bias", shape: ::std::vec![#units] },));
                (
                    quote!(::core::option::Option::Some(
                        #rt::activations::Activation::describe(&Self::#layer_c.activation)
                    )),
                    quote!(::std::vec![
                        #rt::WeightSpec { name: "kernel", shape: ::std::vec![#k, #units] },
                        #bias
                    ]),
                )
            }
            Kind::Flatten => (quote!(::core::option::Option::None), quote!(::std::vec![])),
        };
        quote! {
            #rt::LayerSpec {
                name: ::std::string::String::from(#lname),
                class_name: #class,
                output_shape: ::std::vec![#(#shape),*],
                activation: #activation,
                weights: #weights,
                trainable: true,
            }
        }
    });

    quote! {
        #(#attrs)*
        #vis struct #name #decl_generics {
            params: #rt::AlignedBuf,
        }

        impl #decl_generics #name #use_generics {
            #(#consts)*

            /// A new model with Keras' initial weights (`glorot_uniform` kernels, zero biases),
            /// the same for the same seed.
            pub fn new(seed: u64) -> Self {
                let mut params = #rt::AlignedBuf::zeros(<Self as #rt::Network>::PARAM_COUNT);
                let mut rng = #rt::InitRng::seeded(seed);
                let p = params.as_mut_slice();
                #(#init)*
                Self { params }
            }

            /// The model's outputs for a batch of rows; a row of the wrong width does not compile.
            pub fn predict(&self, x: &[[f32; #in_width]]) -> ::std::vec::Vec<[f32; #out_width]> {
                let mut out = ::std::vec![[0.0f32; #out_width]; x.len()];
                #rt::inference::predict_into(self, x.as_flattened(), out.as_flattened_mut());
                out
            }

            /// The outputs for a flat slice of rows, for data whose width is only known at run
            /// time; an error names the mismatch when the slice is not whole rows.
            pub fn predict_flat(&self, x: &[f32]) -> #rt::Result<::std::vec::Vec<[f32; #out_width]>> {
                let rows = #rt::error::row_count("input", x, #in_width)?;
                let mut out = ::std::vec![[0.0f32; #out_width]; rows];
                #rt::inference::predict_into(self, x, out.as_flattened_mut());
                ::core::result::Result::Ok(out)
            }

            /// The output for one row, computed on the stack without allocating.
            pub fn predict_one(&self, x: &[f32; #in_width]) -> [f32; #out_width] {
                let p = self.params.as_slice();
                #(#forward_one)*
                #prev_one
            }

            /// Prints Keras' model summary to stdout.
            pub fn summary(&self) {
                #rt::Network::summary(self)
            }

            /// Keras' model summary as text.
            pub fn summary_string(&self) -> ::std::string::String {
                #rt::Network::summary_string(self)
            }
        }

        impl #decl_generics #rt::Network for #name #use_generics {
            type InputRow = [f32; #in_width];
            type OutputRow = [f32; #out_width];
            const INPUT_WIDTH: usize = #in_width;
            const OUTPUT_WIDTH: usize = #out_width;
            const PARAM_COUNT: usize = Self::#last_offset + Self::#last_layer.param_count();
            const OUTPUT_ACTIVATION: &'static str =
                <#rt::activations::#last_act as #rt::activations::Activation>::NAME;

            fn spec() -> #rt::ModelSpec {
                #rt::ModelSpec {
                    name: #name_str,
                    input: #rt::InputSpec {
                        name: ::std::string::String::from(#input_name),
                        shape: ::std::vec![#(#input_shape),*],
                        explicit: #explicit,
                    },
                    layers: ::std::vec![#(#layer_specs),*],
                }
            }

            fn activation_widths() -> ::std::vec::Vec<usize> {
                ::std::vec![#(#widths),*]
            }

            fn params(&self) -> &[f32] {
                self.params.as_slice()
            }

            fn params_mut(&mut self) -> &mut [f32] {
                self.params.as_mut_slice()
            }

            fn forward(
                &self,
                x: &[f32],
                rows: usize,
                tape: &mut #rt::Tape,
                keep_pre_activations: bool,
            ) {
                let p = self.params.as_slice();
                #(#forward)*
            }

            fn backward(
                &self,
                x: &[f32],
                rows: usize,
                tape: &mut #rt::Tape,
                grads: &mut [f32],
                start: #rt::kernels::dense::Delta,
            ) {
                assert_eq!(grads.len(), <Self as #rt::Network>::PARAM_COUNT, "gradient buffer size");
                let p = self.params.as_slice();
                #(#backward)*
            }
        }
    }
}
