//! Code: writes the struct and its impls from a checked plan. Only what depends on the layer list
//! is generated: one `const` layer value per entry (its type carries every width), the offsets
//! of its weights in the model's two buffers, and the chain that calls each layer through the
//! `Layer` trait. Building each layer's type is the one place that looks at the layer kind;
//! everything else is the same for every layer and lives in `nn-core`.
//!
//! Generated code names the runtime as `$crate::__private` (the facade's `macro_rules!` wrapper
//! passes `$crate`), so it works wherever the user has the `seqnet` crate, under any name, without
//! importing anything.

use crate::dims::{flat_width, has_steps, Dim};
use crate::parse::ModelDecl;
use crate::shape::Plan;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};

/// Above this many values of intermediate outputs, `predict_one` keeps them in a reused
/// per-thread buffer instead of on the stack (256 KB), so a large image model cannot overflow
/// a thread's stack.
const STACK_VALUES: usize = 1 << 16;

/// A plan `shape::check` accepted that breaks one of its own promises: a bug in the macro, not
/// in the user's layer list, reported as a compile error rather than a panic.
fn internal(what: &str) -> syn::Error {
    syn::Error::new(
        proc_macro2::Span::call_site(),
        format!("sequential!: internal error ({what}); please report this as a seqnet bug"),
    )
}

/// The row type of an input shape: nested arrays for images and matrices, flat otherwise.
fn row_type(shape: &[Dim]) -> TokenStream {
    match shape {
        [a] => quote!([f32; #a]),
        [h, w] => quote!([[f32; #w]; #h]),
        [h, w, c] => quote!([[[f32; #c]; #w]; #h]),
        _ => {
            let width = flat_width(shape);
            quote!([f32; #width])
        }
    }
}

/// `rt` is the runtime's path as generated code names it: `$crate::__private` when the call
/// comes through seqnet's `sequential!` (see `lib.rs`), so a renamed dependency still works.
pub fn expand(model: &ModelDecl, plan: &Plan, rt: &TokenStream) -> syn::Result<TokenStream> {
    let ModelDecl {
        attrs, vis, name, ..
    } = model;
    let name_str = name.to_string();
    let generic = plan.input_width() == Dim::Generic;
    // A variable number of steps (`Input(shape = (None, F))`): the struct is generic over it.
    let steps = has_steps(&plan.input.shape);
    let (decl_generics, use_generics) = if generic {
        // Spanned at the struct's name: when the width cannot be inferred (the model used
        // before any data), rustc's notes point at `struct Tiny`, not the whole invocation.
        (
            quote_spanned!(name.span()=> <const IN: usize>),
            quote!(<IN>),
        )
    } else if steps {
        (quote_spanned!(name.span()=> <const T: usize>), quote!(<T>))
    } else {
        (quote!(), quote!())
    };
    let in_width = plan.input_width();
    let out_width = flat_width(
        &plan
            .layers
            .last()
            .ok_or_else(|| internal("a plan without layers"))?
            .output_shape,
    );
    let input_row = if plan.input.token_ids {
        quote!([i32; #in_width])
    } else {
        row_type(&plan.input.shape)
    };
    // A model of token ids: its Embedding's vocabulary, which the input check holds ids to.
    let input_ids = if plan.input.token_ids {
        let first = tys_first(plan)?;
        quote!(const INPUT_IDS: usize = <#first>::INPUT_DIM;)
    } else {
        quote!()
    };
    let flat_row = quote!([f32; #in_width]);

    let n = plan.layers.len();
    let mut tys: Vec<TokenStream> = Vec::new();
    let mut consts = Vec::new();
    for (i, layer) in plan.layers.iter().enumerate() {
        let (ty, value) = (layer.ty.clone(), &layer.value);
        let (layer_c, p_c, s_c) = idents(i);
        // `tys` holds the layers before this one: the last is the previous layer.
        let k_c = packed_ident(i);
        let (p_off, s_off, k_off) = match (i.checked_sub(1), tys.last()) {
            (Some(before), Some(prev)) => {
                let (_, pp, ps) = idents(before);
                let pk = packed_ident(before);
                (
                    quote!(Self::#pp + <#prev as #rt::layers::Layer>::PARAMS),
                    quote!(Self::#ps + <#prev as #rt::layers::Layer>::STATE),
                    quote!(Self::#pk + <#prev as #rt::layers::Layer>::PACKED),
                )
            }
            _ => (quote!(0), quote!(0), quote!(0)),
        };
        consts.push(quote! {
            #[doc(hidden)]
            const #layer_c: #ty = #value;
            #[doc(hidden)]
            const #p_c: usize = #p_off;
            #[doc(hidden)]
            const #s_c: usize = #s_off;
            #[doc(hidden)]
            const #k_c: usize = #k_off;
        });
        tys.push(ty);
    }
    let layer_trait = quote!(#rt::layers::Layer);
    let (last_c, last_p, last_s) = idents(n.saturating_sub(1));
    let last_ty = tys
        .last()
        .ok_or_else(|| internal("a plan without layers"))?;

    // Per layer: its weights' slices (with its packs and a quantized model's int8 weights in
    // the forward pass, none elsewhere), and whether anything before it has trainable weights (only then does its backward pass
    // need to produce dL/d(input)).
    let weights = |i: usize, ty: &TokenStream, p: TokenStream, s: TokenStream, packs: bool| {
        let (_, p_c, s_c) = idents(i);
        let k_c = packed_ident(i);
        let packed = if packs {
            quote!(&k[Self::#k_c..Self::#k_c + <#ty as #layer_trait>::PACKED])
        } else {
            quote!(&[])
        };
        let int8 = if packs {
            quote!(int8.layer(#i))
        } else {
            quote!(::core::option::Option::None)
        };
        quote!(#rt::layers::Weights {
            params: &#p[Self::#p_c..Self::#p_c + <#ty as #layer_trait>::PARAMS],
            state: &#s[Self::#s_c..Self::#s_c + <#ty as #layer_trait>::STATE],
            packed: #packed,
            int8: #int8,
        })
    };
    let mut pack = Vec::new();
    let mut init = Vec::new();
    let mut forward = Vec::new();
    let mut backward = Vec::new();
    let mut update = Vec::new();
    let mut layouts = Vec::new();
    let mut specs = Vec::new();
    for (i, (layer, ty)) in plan.layers.iter().zip(&tys).enumerate() {
        let (layer_c, p_c, s_c) = idents(i);
        init.push(quote! {
            #layer_trait::init(
                &Self::#layer_c,
                &mut p[Self::#p_c..Self::#p_c + <#ty as #layer_trait>::PARAMS],
                &mut s[Self::#s_c..Self::#s_c + <#ty as #layer_trait>::STATE],
                &mut rng,
            );
        });
        let k_c = packed_ident(i);
        // A layer a quantized model runs in int8 reads no float packs: none are made for it.
        pack.push(quote! {
            if <#ty as #layer_trait>::PACKED > 0 && int8.layer(#i).is_none() {
                #layer_trait::pack(
                    &Self::#layer_c,
                    &p[Self::#p_c..Self::#p_c + <#ty as #layer_trait>::PARAMS],
                    isa,
                    &mut out[Self::#k_c..Self::#k_c + <#ty as #layer_trait>::PACKED],
                );
            }
        });
        let w = weights(i, ty, quote!(p), quote!(s), true);
        let mask_from = match layer.mask_from {
            Some(from) => quote!(::core::option::Option::Some(#from)),
            None => quote!(::core::option::Option::None),
        };
        forward.push(quote! {
            #rt::layers::forward_layer(&Self::#layer_c, #i, #w, x, rows, tape, phase, #mask_from);
        });
        let start = if i + 1 == n {
            quote!(start)
        } else {
            quote!(#rt::network::Delta::Output)
        };
        let earlier: Vec<TokenStream> = tys
            .iter()
            .take(i)
            .map(|t| quote!(<#t as #layer_trait>::PARAMS > 0))
            .collect();
        let input_grad = quote!(false #(|| #earlier)*);
        let w = weights(i, ty, quote!(p), quote!(s), false);
        backward.push(quote! {
            #rt::layers::backward_layer(
                &Self::#layer_c,
                #i,
                #w,
                x,
                rows,
                tape,
                &mut grads[Self::#p_c..Self::#p_c + <#ty as #layer_trait>::PARAMS],
                #start,
                #input_grad,
                #mask_from,
            );
        });
        update.push(quote! {
            #rt::layers::update_layer_state(
                &Self::#layer_c,
                #i,
                &mut s[Self::#s_c..Self::#s_c + <#ty as #layer_trait>::STATE],
                tape,
                rows,
            );
        });
        layouts.push(quote!(#rt::network::TapeLayer::of(&Self::#layer_c, rows, training)));
        let lname = &layer.name;
        let shape = &layer.output_shape;
        specs.push(quote! {
            #layer_trait::spec(&Self::#layer_c, #lname, ::std::vec![#(#shape),*])
        });
    }
    backward.reverse();
    let macs: Vec<TokenStream> = tys
        .iter()
        .map(|t| quote!(<#t as #layer_trait>::MACS_PER_ROW))
        .collect();
    let couples: Vec<TokenStream> = tys
        .iter()
        .map(|t| quote!(<#t as #layer_trait>::COUPLES_ROWS))
        .collect();

    // The model's packed weights (`Layer::PACKED`), made on first use after a change; every
    // inference path reads them (the backward pass reads the weights as they are).
    let packs = quote! {
        let k = self.packed.get_or_pack(0 #(+ <#tys as #layer_trait>::PACKED)*, |isa, out| {
            #(#pack)*
        });
    };
    let (predict_one, predict_one_with) = predict_one(rt, plan, &tys, &packs)?;
    let stream = stream_impls(rt, plan, name, &decl_generics, &use_generics, &packs)?;
    let adapt = adapt_method(rt, plan, &tys);
    let input_impls = if steps {
        // Only the nested row: a flat one would be `[f32; T * F]`, not a type stable Rust has.
        quote! {
            impl<const T: usize> #rt::network::InputOf<#name<T>> for #input_row {}
        }
    } else if plan.input.token_ids {
        quote! {
            impl #rt::network::InputOf<#name> for [i32; #in_width] {}
        }
    } else if generic {
        quote! {
            impl<const IN: usize> #rt::network::InputOf<#name<IN>> for [f32; IN] {}
        }
    } else if plan.input.shape.len() == 1 || plan.input.shape.len() > 3 {
        quote! {
            impl #rt::network::InputOf<#name> for #flat_row {}
        }
    } else {
        quote! {
            impl #rt::network::InputOf<#name> for #input_row {}
            impl #rt::network::InputOf<#name> for #flat_row {}
        }
    };

    // A variable-length model made for zero steps has nothing to compute over: a compile
    // error where `Name::<0>` is made, not a division or a chunk of size 0 at run time.
    let no_steps_check = if steps {
        let text = format!("{name}::<T> needs at least one step: T = 0 gives sequences of none");
        quote!(const { ::core::assert!(T > 0, #text) };)
    } else {
        quote!()
    };
    let input_name = &plan.input.name;
    let input_shape = &plan.input.shape;
    let explicit = plan.input.explicit;

    // A generic model's docs say where its width comes from, and how to name it when no data
    // has fixed it yet (rustc's "cannot infer the value of the const parameter `IN`").
    let width_doc = if generic {
        let text = format!(
            " The input width `IN` is not declared: it comes from the first rows the model \
             is given. To use the model before that (`summary()` right after `new`), name it: \
             `{name}::<10>::new(seed)` for 10 features."
        );
        quote!(#[doc = ""] #[doc = #text])
    } else if steps {
        let text = format!(
            " The number of steps `T` is not declared (`None` in the input shape): each \
             length is its own type, `{name}::<100>` for sequences of 100 steps, and rows of \
             that length fix it where the model is first given data."
        );
        quote!(#[doc = ""] #[doc = #text])
    } else {
        quote!()
    };
    Ok(quote! {
        #(#attrs)*
        #width_doc
        #vis struct #name #decl_generics {
            params: #rt::AlignedBuf,
            state: #rt::AlignedBuf,
            seed: u64,
            /// The large kernels in the GEMM's panel layout, rebuilt after the weights change.
            packed: #rt::packed::PackedWeights,
        }

        #input_impls

        #stream

        impl #decl_generics #name #use_generics {
            #(#consts)*

            /// What each layer needs on a tape of `rows` rows: `tape_layout`, and what every
            /// pass checks a tape against (an array, so the check allocates nothing).
            #[doc(hidden)]
            fn __tape_layers(
                rows: usize,
                training: bool,
            ) -> [#rt::network::TapeLayer; #n] {
                [#(#layouts),*]
            }

            /// A new model with Keras' initial weights (`glorot_uniform` kernels, zero biases,
            /// BatchNormalization's γ = 1, β = 0 and moving statistics 0 and 1), the same for
            /// the same seed. Dropout masks are drawn from the seed too.
            pub fn new(seed: u64) -> Self {
                #no_steps_check
                let mut params = #rt::AlignedBuf::zeros(<Self as #rt::Network>::TRAINABLE_COUNT);
                let mut state = #rt::AlignedBuf::zeros(<Self as #rt::Network>::STATE_COUNT);
                let mut rng = #rt::InitRng::seeded(seed);
                let (p, s) = (params.as_mut_slice(), state.as_mut_slice());
                #(#init)*
                Self {
                    params,
                    state,
                    seed,
                    packed: #rt::packed::PackedWeights::new(),
                }
            }

            /// The model's outputs for a batch of rows (images as `[[[f32; C]; W]; H]` or
            /// flat); a row of the wrong size does not compile.
            ///
            /// # Errors
            ///
            /// - `Error::NonFinite` with `what` = `"input"`: a NaN or infinity in the rows,
            ///   the first by `row` and `column` (flat, row-major over (h, w, c) for images);
            ///   the error `evaluate` gives for the same rows. Nothing is computed.
            /// - `Error::NonFinite` with `what` = `"output"`: finite rows whose outputs are
            ///   not finite (inputs so large that the pass overflowed, or non-finite weights),
            ///   the first such output by `row` and `column`.
            pub fn predict<R: #rt::network::InputOf<Self>>(
                &self,
                x: &[R],
            ) -> #rt::Result<::std::vec::Vec<[f32; #out_width]>> {
                let mut out = ::std::vec![[0.0f32; #out_width]; x.len()];
                #rt::inference::predict_into(self, #rt::Row::flat(x), out.as_flattened_mut())?;
                ::core::result::Result::Ok(out)
            }

            /// The outputs for a flat slice of rows (NHWC for images), for data whose width is
            /// only known at run time.
            ///
            /// # Errors
            ///
            /// - `Error::RaggedRows`: `x` is not a whole number of rows.
            /// - `Error::NonFinite` (`what` = `"input"` or `"output"`): as for `predict`.
            pub fn predict_flat(&self, x: &[f32]) -> #rt::Result<::std::vec::Vec<[f32; #out_width]>> {
                let rows = #rt::error::row_count(#rt::inference::INPUT, x, #in_width)?;
                let mut out = ::std::vec![[0.0f32; #out_width]; rows];
                #rt::inference::predict_into(self, x, out.as_flattened_mut())?;
                ::core::result::Result::Ok(out)
            }

            #predict_one

            #adapt

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
            type InputRow = #input_row;
            type OutputRow = [f32; #out_width];
            const INPUT_WIDTH: usize = #in_width;
            const OUTPUT_WIDTH: usize = #out_width;
            const TRAINABLE_COUNT: usize = Self::#last_p + <#last_ty as #layer_trait>::PARAMS;
            const STATE_COUNT: usize = Self::#last_s + <#last_ty as #layer_trait>::STATE;
            const MACS_PER_ROW: usize = 0 #(+ #macs)*;
            const MAX_LAYER_MACS: usize = #rt::layers::max_of(&[#(#macs),*]);
            const COUPLES_ROWS: bool = false #(|| #couples)*;
            const OUTPUT_ACTIVATION: &'static str = <#last_ty as #layer_trait>::OUTPUT_ACTIVATION;
            #input_ids

            fn spec() -> #rt::ModelSpec {
                #rt::ModelSpec {
                    name: #name_str,
                    input: #rt::InputSpec {
                        name: ::std::string::String::from(#input_name),
                        shape: ::std::vec![#(#input_shape),*],
                        explicit: #explicit,
                    },
                    layers: ::std::vec![#(#specs),*],
                }
            }

            fn tape_layout(rows: usize, training: bool) -> ::std::vec::Vec<#rt::network::TapeLayer> {
                Self::__tape_layers(rows, training).to_vec()
            }

            fn params(&self) -> &[f32] {
                self.params.as_slice()
            }

            fn params_mut(&mut self) -> &mut [f32] {
                self.packed.invalidate();
                self.params.as_mut_slice()
            }

            fn state(&self) -> &[f32] {
                self.state.as_slice()
            }

            fn state_mut(&mut self) -> &mut [f32] {
                self.state.as_mut_slice()
            }

            fn params_and_state_mut(&mut self) -> (&mut [f32], &mut [f32]) {
                self.packed.invalidate();
                (self.params.as_mut_slice(), self.state.as_mut_slice())
            }

            fn seed(&self) -> u64 {
                self.seed
            }

            fn duplicate(&self) -> Self {
                Self {
                    params: ::core::clone::Clone::clone(&self.params),
                    state: ::core::clone::Clone::clone(&self.state),
                    seed: self.seed,
                    packed: #rt::packed::PackedWeights::new(),
                }
            }

            fn forward_with(
                &self,
                x: &[f32],
                rows: usize,
                tape: &mut #rt::Tape,
                phase: #rt::layers::Phase,
                int8: &#rt::int8::Int8Layers,
            ) -> #rt::Result<()> {
                tape.check_pass(
                    Self::__tape_layers,
                    x,
                    <Self as #rt::Network>::INPUT_WIDTH,
                    rows,
                    phase.training().is_some(),
                )?;
                let (p, s) = (self.params.as_slice(), self.state.as_slice());
                #packs
                #(#forward)*
                ::core::result::Result::Ok(())
            }

            #predict_one_with

            fn loss_view<'a>(
                &self,
                x: &'a [f32],
                rows: usize,
                tape: &'a mut #rt::Tape,
            ) -> #rt::network::LossView<'a> {
                tape.loss_view(x, rows, |input, scratch| {
                    #layer_trait::logits(&Self::#last_c, input, scratch, rows)
                })
            }

            fn backward(
                &self,
                x: &[f32],
                rows: usize,
                tape: &mut #rt::Tape,
                grads: &mut [f32],
                start: #rt::network::Delta,
            ) -> #rt::Result<()> {
                tape.check_pass(
                    Self::__tape_layers,
                    x,
                    <Self as #rt::Network>::INPUT_WIDTH,
                    rows,
                    true,
                )?;
                #rt::network::check_gradient_len(grads, <Self as #rt::Network>::TRAINABLE_COUNT)?;
                let (p, s) = (self.params.as_slice(), self.state.as_slice());
                #(#backward)*
                ::core::result::Result::Ok(())
            }

            fn update_state(&mut self, tape: &#rt::Tape, rows: usize) -> #rt::Result<()> {
                tape.check_pass(Self::__tape_layers, &[], 0, rows, true)?;
                let s = self.state.as_mut_slice();
                #(#update)*
                ::core::result::Result::Ok(())
            }
        }
    })
}

/// `adapt`, for a model with a layer whose state comes from data (a Normalization without
/// `mean`/`variance`); nothing otherwise, so calling it on another model does not compile.
fn adapt_method(rt: &TokenStream, plan: &Plan, tys: &[TokenStream]) -> TokenStream {
    let layer_trait = quote!(#rt::layers::Layer);
    let steps: Vec<TokenStream> = plan
        .layers
        .iter()
        .zip(tys)
        .enumerate()
        .filter(|(_, (layer, _))| layer.adapts)
        .map(|(i, (_, ty))| {
            let (layer_c, _, s_c) = idents(i);
            quote! {
                let range = Self::#s_c..Self::#s_c + <#ty as #layer_trait>::STATE;
                let state = #rt::adapt::adapt_layer(
                    &*self,
                    &Self::#layer_c,
                    #i,
                    x,
                    &self.state.as_slice()[range.clone()],
                )?;
                self.state.as_mut_slice()[range].copy_from_slice(&state);
            }
        })
        .collect();
    if steps.is_empty() {
        return quote!();
    }
    quote! {
        /// Keras' `adapt`: sets each Normalization layer's mean and variance (without
        /// `mean=`/`variance=`) to the population statistics, per feature of the last axis,
        /// of the rows that reach it (`x` through the layers before it, in inference mode).
        /// Layers adapt in order, each after the ones before it.
        ///
        /// # Errors
        ///
        /// `Error::InvalidArgument` for no rows; `Error::NonFinite` for a NaN or infinity in
        /// `x` (`what` = `"adapt input"`) or in what reaches a layer. Nothing changes then:
        /// layers adapted before the failure get their old statistics back.
        pub fn adapt<R: #rt::network::InputOf<Self>>(&mut self, x: &[R]) -> #rt::Result<()> {
            let x = #rt::Row::flat(x);
            let before = self.state.as_slice().to_vec();
            let mut run = || -> #rt::Result<()> {
                #(#steps)*
                ::core::result::Result::Ok(())
            };
            let result = run();
            if result.is_err() {
                self.state.as_mut_slice().copy_from_slice(&before);
            }
            result
        }
    }
}

/// The first layer's type (the Embedding of a model of token ids).
fn tys_first(plan: &Plan) -> syn::Result<&TokenStream> {
    plan.layers
        .first()
        .map(|l| &l.ty)
        .ok_or_else(|| internal("a plan without layers"))
}

/// The const naming a layer's offset in the packed weights.
fn packed_ident(i: usize) -> proc_macro2::Ident {
    format_ident!("__PACKED_{}", i)
}

/// `predict_one`'s array for the mask layer `i` makes.
fn mask_ident(i: usize) -> proc_macro2::Ident {
    format_ident!("mask_{}", i)
}

fn idents(i: usize) -> (proc_macro2::Ident, proc_macro2::Ident, proc_macro2::Ident) {
    (
        format_ident!("__LAYER_{}", i),
        format_ident!("__PARAMS_{}", i),
        format_ident!("__STATE_{}", i),
    )
}

/// `predict_one`: the chain on one row, each layer's output in its own buffer: arrays on the
/// stack, or slices of a reused per-thread buffer when they would take more than
/// STACK_VALUES values.
fn predict_one(
    rt: &TokenStream,
    plan: &Plan,
    tys: &[TokenStream],
    packs: &TokenStream,
) -> syn::Result<(TokenStream, TokenStream)> {
    let layer_trait = quote!(#rt::layers::Layer);
    let widths: Vec<Dim> = plan
        .layers
        .iter()
        .map(|l| flat_width(&l.output_shape))
        .collect();
    let out_width = *widths
        .last()
        .ok_or_else(|| internal("a plan without layers"))?;
    let total: Option<usize> = widths
        .iter()
        .map(|w| match w {
            Dim::Lit(n) => Some(*n),
            Dim::Generic | Dim::Steps(_) => None,
        })
        .sum();
    // Over a variable number of steps the widths are only known per length `T`: the buffers
    // (masks too) are slices of the per-thread workspace, its length computed from `T`.
    let steps = has_steps(&plan.input.shape);
    let mut mask_splits = Vec::new();
    let buffers: Vec<proc_macro2::Ident> = (0..widths.len())
        .map(|i| format_ident!("out_{}", i))
        .collect();
    let mut chain = Vec::new();
    let mut prev = quote!(x);
    for (i, ((ty, out), layer)) in tys.iter().zip(&buffers).zip(&plan.layers).enumerate() {
        let (layer_c, p_c, s_c) = idents(i);
        let k_c = packed_ident(i);
        // A layer that makes a mask keeps it in its own small array (its steps, on the stack).
        if layer.makes_mask {
            let mask = mask_ident(i);
            let len = quote!(<#ty as #layer_trait>::MASK_STEPS);
            if steps {
                mask_splits.push((mask.clone(), len));
            } else {
                chain.push(quote!(let #mask: &mut [f32] = &mut [0.0f32; #len];));
            }
            chain.push(quote! {
                #layer_trait::compute_mask(&Self::#layer_c, #prev, #mask);
            });
        }
        let weights = quote! {
            #rt::layers::Weights {
                params: &p[Self::#p_c..Self::#p_c + <#ty as #layer_trait>::PARAMS],
                state: &s[Self::#s_c..Self::#s_c + <#ty as #layer_trait>::STATE],
                packed: &k[Self::#k_c..Self::#k_c + <#ty as #layer_trait>::PACKED],
                int8: int8.layer(#i),
            }
        };
        let call = match layer.mask_from {
            Some(from) => {
                let mask = mask_ident(from);
                quote!(#layer_trait::forward_one_masked(&Self::#layer_c, #weights, #prev, #mask, #out))
            }
            None => quote!(#layer_trait::forward_one(&Self::#layer_c, #weights, #prev, #out)),
        };
        chain.push(quote! {
            let #out: &[f32] = if <#ty as #layer_trait>::RESHAPE_ONLY {
                #prev
            } else {
                #call;
                #out
            };
        });
        prev = quote!(#out);
    }
    let buffer_decls = match total {
        _ if steps => {
            let splits = buffers
                .iter()
                .zip(&widths)
                .map(|(b, w)| (b, quote!(#w)))
                .chain(mask_splits.iter().map(|(m, len)| (m, len.clone())))
                .map(|(b, w)| quote!(let (#b, ws) = ws.split_at_mut(#w);));
            let lens = widths
                .iter()
                .map(|w| quote!(#w))
                .chain(mask_splits.iter().map(|(_, len)| len.clone()));
            quote! {
                #rt::inference::with_row_workspace(0 #(+ #lens)*, |ws| {
                    #(#splits)*
                    let _ = ws;
                    #(#chain)*
                    let mut y = [0.0f32; #out_width];
                    y.copy_from_slice(#prev);
                    y
                })
            }
        }
        Some(total) if total > STACK_VALUES => {
            let splits = buffers
                .iter()
                .zip(&widths)
                .map(|(b, w)| quote!(let (#b, ws) = ws.split_at_mut(#w);));
            quote! {
                #rt::inference::with_row_workspace(#total, |ws| {
                    #(#splits)*
                    let _ = ws;
                    #(#chain)*
                    let mut y = [0.0f32; #out_width];
                    y.copy_from_slice(#prev);
                    y
                })
            }
        }
        _ => {
            let arrays = buffers
                .iter()
                .zip(&widths)
                .map(|(b, w)| quote!(let #b: &mut [f32] = &mut [0.0f32; #w];));
            quote! {
                #(#arrays)*
                #(#chain)*
                let mut y = [0.0f32; #out_width];
                y.copy_from_slice(#prev);
                y
            }
        }
    };
    let inherent = quote! {
        /// The output for one row, in inference mode, without allocating: intermediate outputs
        /// live on the stack (or, for a large image model, in a per-thread buffer made on the
        /// first call).
        ///
        /// # Errors
        ///
        /// - `Error::NonFinite` with `what` = `"input"`, `row` 0 and the flat `column`: a NaN
        ///   or infinity in `x`. Nothing is computed.
        /// - `Error::NonFinite` with `what` = `"output"`: a finite row whose output is not
        ///   finite (the pass overflowed, or the weights are not finite).
        pub fn predict_one<R: #rt::network::InputOf<Self>>(
            &self,
            x: &R,
        ) -> #rt::Result<[f32; #out_width]> {
            #rt::Network::predict_one_with(self, #rt::Row::as_flat(x), #rt::int8::Int8Layers::none())
        }
    };
    let with = quote! {
        fn predict_one_with(
            &self,
            x: &[f32],
            int8: &#rt::int8::Int8Layers,
        ) -> #rt::Result<[f32; #out_width]> {
            let (p, s) = (self.params.as_slice(), self.state.as_slice());
            #packs
            let ids = <Self as #rt::Network>::INPUT_IDS;
            #rt::inference::checked_one(x, ids, |x: &[f32]| {
                #buffer_decls
            })
        }
    };
    Ok((inherent, with))
}

/// `Streaming` for every model (its `Blocker` says why it cannot stream, or `Causal`), and for
/// a model that streams, the layers built for one step and `Stepper`: the chain of their
/// `step`s over `rows` streams, each layer's state a slice of the streams' state.
fn stream_impls(
    rt: &TokenStream,
    plan: &Plan,
    name: &syn::Ident,
    decl_generics: &TokenStream,
    use_generics: &TokenStream,
    packs: &TokenStream,
) -> syn::Result<TokenStream> {
    let blocker = format_ident!("{}", plan.stream_blocker);
    let streaming = quote! {
        impl #decl_generics #rt::stream::Streaming for #name #use_generics {
            type Blocker = #rt::stream::why::#blocker;
        }
    };
    let steps: Option<Vec<&(TokenStream, TokenStream)>> =
        plan.layers.iter().map(|l| l.step.as_ref()).collect();
    let Some(steps) = steps else {
        return Ok(streaming);
    };
    let layer_trait = quote!(#rt::layers::Layer);
    let step_row = match plan.input.shape.last() {
        _ if plan.input.token_ids => quote!([i32; 1]),
        Some(Dim::Lit(f)) if plan.input.shape.len() == 2 => quote!([f32; #f]),
        _ => return Err(internal("a stream over an input that is not a sequence")),
    };
    let mut consts = Vec::new();
    let mut checks = Vec::new();
    let mut chain = Vec::new();
    let mut splits = Vec::new();
    let mut outputs = Vec::new();
    let mut scratch = Vec::new();
    let mut states = Vec::new();
    let mut prev = quote!(x);
    for (i, ((ty, value), layer)) in steps.iter().zip(&plan.layers).enumerate() {
        let step_c = format_ident!("__STEP_{}", i);
        let (_, p_c, s_c) = idents(i);
        let k_c = packed_ident(i);
        consts.push(quote! {
            #[doc(hidden)]
            const #step_c: #ty = #value;
        });
        // The layer built for one step has the model's weights, in the same layout.
        let full = &layer.ty;
        checks.push(quote! {
            <#ty as #layer_trait>::PARAMS == <#full as #layer_trait>::PARAMS
                && <#ty as #layer_trait>::STATE == <#full as #layer_trait>::STATE
                && <#ty as #layer_trait>::PACKED == <#full as #layer_trait>::PACKED
        });
        let out = format_ident!("step_out_{}", i);
        let state = format_ident!("step_state_{}", i);
        outputs.push(quote!(<#ty as #layer_trait>::OUTPUT_WIDTH));
        states.push(quote!(<#ty as #layer_trait>::STREAM_STATE));
        scratch.push(quote!(#layer_trait::step_scratch_len(&Self::#step_c, rows)));
        splits.push(quote! {
            let (#out, ws) = ws.split_at_mut(rows * <#ty as #layer_trait>::OUTPUT_WIDTH);
            let (#state, state) = state.split_at_mut(rows * <#ty as #layer_trait>::STREAM_STATE);
        });
        if layer.makes_mask {
            let mask = format_ident!("step_mask_{}", i);
            outputs.push(quote!(<#ty as #layer_trait>::MASK_STEPS));
            splits.push(quote! {
                let (#mask, ws) = ws.split_at_mut(rows * <#ty as #layer_trait>::MASK_STEPS);
            });
            chain.push(quote!(#layer_trait::compute_mask(&Self::#step_c, #prev, #mask);));
        }
        let mask = match layer.mask_from {
            Some(from) => {
                let m = format_ident!("step_mask_{}", from);
                quote!(&*#m)
            }
            None => quote!(&[]),
        };
        chain.push(quote! {
            let #out: &[f32] = if <#ty as #layer_trait>::RESHAPE_ONLY {
                #prev
            } else {
                #layer_trait::step(
                    &Self::#step_c,
                    #rt::layers::Weights {
                        params: &p[Self::#p_c..Self::#p_c + <#ty as #layer_trait>::PARAMS],
                        state: &s[Self::#s_c..Self::#s_c + <#ty as #layer_trait>::STATE],
                        packed: &k[Self::#k_c..Self::#k_c + <#ty as #layer_trait>::PACKED],
                        int8: ::core::option::Option::None,
                    },
                    #rt::layers::Step {
                        input: #prev,
                        output: &mut *#out,
                        state: #state,
                        scratch: &mut *scratch,
                        rows,
                        mask: #mask,
                    },
                );
                #out
            };
        });
        prev = quote!(#out);
    }
    Ok(quote! {
        #streaming

        impl #decl_generics #name #use_generics {
            #(#consts)*
            #[doc(hidden)]
            const __STEP_WEIGHTS: () = ::core::assert!(
                true #(&& #checks)*,
                "a layer built for one step has other weights than the model's"
            );
        }

        impl #decl_generics #rt::stream::Stepper for #name #use_generics {
            type StepRow = #step_row;
            const STREAM_STATE: usize = 0 #(+ #states)*;

            fn step_workspace_len(rows: usize) -> usize {
                rows * (0 #(+ #outputs)*) + [0 #(, #scratch)*].into_iter().max().unwrap_or(0)
            }

            fn pack_for_steps(&self) {
                let p = self.params.as_slice();
                let int8 = #rt::int8::Int8Layers::none();
                #packs
                let _ = k;
            }

            fn step_rows(
                &self,
                x: &[f32],
                state: &mut [f32],
                rows: usize,
                ws: &mut [f32],
                y: &mut [f32],
            ) {
                let () = Self::__STEP_WEIGHTS;
                let (p, s) = (self.params.as_slice(), self.state.as_slice());
                // A float model's packs: the model's own (a quantized copy has no stream).
                let int8 = #rt::int8::Int8Layers::none();
                #packs
                #(#splits)*
                let _ = state;
                let scratch = ws;
                #(#chain)*
                y.copy_from_slice(#prev);
            }
        }
    })
}
