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
mod suggest;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Implements `bento_core::BentoEvent` for a struct with named fields.
///
/// See the `BentoEvent` derive in `bento_core` for the attributes.
#[proc_macro_derive(BentoEvent, attributes(bento))]
pub fn derive_bento_event(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    event::expand(&input).into()
}

/// Implements `bento_core::BentoSubscriber` for a struct with named fields.
///
/// See the `BentoSubscriber` derive in `bento_core` for the attributes.
#[proc_macro_derive(BentoSubscriber, attributes(bento))]
pub fn derive_bento_subscriber(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    subscriber::expand(&input).into()
}
