//! The derives behind `bento_core::BentoEvent` and `bento_core::BentoSubscriber`.
//!
//! Use them through `bento-core` (its default `derive` feature re-exports
//! both), which also documents every attribute. Generated code refers to
//! `::bento_core::__private` only, so depending on `bento-core` is enough.
#![deny(missing_docs)]

mod attr;
mod case;
mod errors;
mod event;
mod model;
mod object;
mod subscriber;
mod tracking;
mod variants;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Implements `bento_core::BentoEvent` for a struct with named fields.
///
/// Use it as `bento_core::BentoEvent`; the attributes are documented, with an
/// example of each, in `bento_core`'s crate documentation ("Deriving events
/// and subscribers").
#[proc_macro_derive(BentoEvent, attributes(bento))]
pub fn derive_bento_event(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    with_plan(event::expand(&input)).into()
}

/// Implements `bento_core::BentoSubscriber` for a struct with named fields.
///
/// Use it as `bento_core::BentoSubscriber`; the attributes are documented,
/// with an example of each, in `bento_core`'s crate documentation.
#[proc_macro_derive(BentoSubscriber, attributes(bento))]
pub fn derive_bento_subscriber(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    with_plan(subscriber::expand(&input)).into()
}

/// Expands to the crate's tracking plan, a `bento_core::plan::Plan`, read at
/// compile time from the file the derives check against (the crate's
/// `bento-plan.toml` or its nearest ancestor's, or `BENTO_PLAN`) and embedded
/// in the binary, so the client checks what the compiler checked wherever
/// the program runs. Use it as `bento_core::include_plan!()`; without a plan
/// file, or with a malformed one, it is a compile error.
#[proc_macro]
pub fn include_plan(input: TokenStream) -> TokenStream {
    tracking::include_plan(input.into()).into()
}

/// The expansion, plus what the tracking plan adds when there is one: the
/// plan as an input of the crate, and the error of a malformed plan.
fn with_plan(mut expanded: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    // `BENTO_PLAN` as an input of the crate (rustc records an `option_env!`
    // in its dep-info), so that pointing it elsewhere rebuilds.
    expanded.extend(quote::quote! {
        const _: ::core::option::Option<&str> = ::core::option_env!("BENTO_PLAN");
    });
    if let Some(loaded) = tracking::load() {
        expanded.extend(loaded.tracked());
        let mut errors = errors::Errors::default();
        loaded.plan(&mut errors);
        expanded.extend(errors.into_compile_errors());
    }
    expanded
}

#[cfg(test)]
mod tests {
    use quote::quote;

    fn expand_both(tokens: proc_macro2::TokenStream) -> (String, String) {
        let input: syn::DeriveInput = syn::parse2(tokens).unwrap_or_else(|e| panic!("{e}"));
        (
            crate::event::expand(&input).to_string(),
            crate::subscriber::expand(&input).to_string(),
        )
    }

    /// Odd and malformed inputs: every one expands to code or to
    /// `compile_error!`, never to a panic.
    #[test]
    fn never_panics_on_odd_input() {
        let inputs = [
            quote!(
                struct Empty {}
            ),
            quote!(
                struct Unit;
            ),
            quote!(
                struct Tuple(String);
            ),
            quote!(
                enum E {
                    A,
                    B(u8),
                    C { x: u8 },
                }
            ),
            quote!(union U { a: u8 }),
            quote!(
                #[bento]
                struct S {
                    email: String,
                }
            ),
            quote!(
                #[bento()]
                struct S {
                    email: String,
                }
            ),
            quote!(
                #[bento = "x"]
                struct S {
                    email: String,
                }
            ),
            quote!(
                #[bento(event = "é$")]
                struct S {
                    email: String,
                }
            ),
            quote!(
                #[bento(event = "ü")]
                struct S {
                    #[bento]
                    email: String,
                }
            ),
            quote!(
                #[bento(event = "x", bound = "")]
                struct S<T> {
                    email: T,
                }
            ),
            quote!(
                #[bento(event("x"))]
                struct S {
                    #[bento(rename("y"))]
                    email: String,
                }
            ),
            quote!(
                #[bento(event = "x", crate = "")]
                struct S {
                    email: String,
                }
            ),
            quote!(
                #[bento(event = "x")]
                struct S<'a, T: ?Sized, const N: usize>
                where
                    T: Clone,
                {
                    email: &'a str,
                    r#type: [u8; N],
                    t: Box<T>,
                }
            ),
            quote!(
                #[bento(event = "x", rename_all = "snake_case")]
                struct S {
                    #[bento(email)]
                    ÉMail: String,
                    Ünïcode: u8,
                }
            ),
            quote!(
                #[bento(event = "x")]
                struct S {
                    #[bento(skip_if = "")]
                    email: String,
                    #[bento(skip_if = "::")]
                    a: u8,
                }
            ),
            quote!(
                #[bento(event = "x")]
                struct S {
                    #[bento(rename = "", tags, remove_tags, flatten, flatten)]
                    email: String,
                }
            ),
            quote!(
                #[bento(::event = "x", a::b, 1, "lit")]
                struct S {
                    email: String,
                }
            ),
        ];
        for input in inputs {
            let (event, subscriber) = expand_both(input.clone());
            assert!(!event.is_empty() && !subscriber.is_empty(), "{input}");
        }
    }

    #[test]
    fn errors_come_with_a_stub_impl() {
        let (event, subscriber) = expand_both(quote!(
            struct NoEmail {
                name: String,
            }
        ));
        for out in [event, subscriber] {
            assert!(out.contains("compile_error"), "{out}");
            assert!(out.contains("unreachable"), "{out}");
        }
    }
}
