//! Generated code must compile cleanly in the strictest user crates: under
//! `deny(warnings, unused_qualifications)`, and where the prelude's names are
//! shadowed by the user's own items.
#![deny(warnings, unused_qualifications, rust_2018_idioms, unused_results)]
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;

use bento_core::{BentoEvent, BentoSubscriber};

// Every name the generated code could pick up from the prelude, taken.
struct Result;
struct Option;
#[allow(non_camel_case_types)]
struct bool_;
struct Some;
struct None;
struct Ok;
struct Err;
struct Default;
struct Clone;
struct Serialize;
struct SerializeMap;
mod std_ {}
fn unreachable() {}

#[derive(BentoEvent)]
#[bento(event = "$purchase")]
struct Purchase<'a, T> {
    email: &'a str,
    #[bento(field)]
    first_name: core::option::Option<&'a str>,
    #[bento(unique)]
    order: core::option::Option<u64>,
    #[bento(date)]
    at: core::option::Option<&'a str>,
    #[bento(skip_if = "Vec::is_empty")]
    items: Vec<T>,
    #[bento(flatten)]
    extra: BTreeMap<String, u32>,
}

#[derive(BentoSubscriber)]
struct Member<'a> {
    email: &'a str,
    tags: Vec<&'a str>,
    first_name: core::option::Option<&'a str>,
    #[bento(flatten)]
    extra: BTreeMap<String, u32>,
}

// A public event whose field types are private: the generated bounds must not
// leak them (`private_bounds` is denied through `warnings`).
#[derive(Debug, serde::Serialize)]
struct PrivateDetail {
    n: u8,
}

/// A public event.
#[derive(Debug, BentoEvent)]
#[bento(event = "public.event")]
pub struct PublicEvent {
    email: String,
    detail: PrivateDetail,
}

#[test]
fn private_field_types_in_a_public_event() {
    let event = PublicEvent {
        email: "a@example.com".into(),
        detail: PrivateDetail { n: 1 },
    };
    assert!(bento_core::events::to_vec(&event).is_ok());
}

#[test]
fn compiles_and_runs_with_the_prelude_shadowed() {
    let purchase = Purchase {
        email: "a@example.com",
        first_name: core::option::Option::Some("Ada"),
        order: core::option::Option::Some(1),
        at: core::option::Option::None,
        items: vec![1u8],
        extra: BTreeMap::new(),
    };
    let json = bento_core::events::to_vec(&purchase).unwrap();
    assert!(json.starts_with(
        br#"{"type":"$purchase","email":"a@example.com","fields":{"first_name":"Ada"}"#
    ));
    let member = Member {
        email: "a@example.com",
        tags: vec!["x"],
        first_name: core::option::Option::None,
        extra: BTreeMap::new(),
    };
    assert_eq!(
        bento_core::subscribers::to_vec(&member).unwrap(),
        br#"{"email":"a@example.com","tags":"x"}"#
    );
}
