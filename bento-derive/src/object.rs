//! The code that writes one JSON object (`fields`, `details`, or a subscriber
//! record): one straight-line `serialize_entry` per member, no intermediate
//! values.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::{Path, Type};

use crate::model::{FieldModel, option_inner, type_span};

/// How a member is written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `"key": value`, left out when an `Option` is `None`.
    Value,
    /// `"unique": {"key": value}`.
    Unique,
    /// `"tags": "a,b,c"` (or `remove_tags`), left out when the list is empty.
    Tags(&'static str),
    /// The entries of a map, merged in.
    Flatten,
}

/// The generated pieces for one object.
pub(crate) struct Object {
    /// Whether anything will be written.
    pub(crate) present: TokenStream,
    /// One statement per member.
    pub(crate) writes: Vec<TokenStream>,
    /// Run-time checks (tags without commas, flattened keys).
    pub(crate) checks: Vec<TokenStream>,
}

pub(crate) fn key(field: &FieldModel<'_>, kind: Kind) -> String {
    match kind {
        Kind::Unique => "unique".to_owned(),
        Kind::Tags(key) => key.to_owned(),
        _ => field.key.clone(),
    }
}

pub(crate) fn object<'a>(
    members: &[&FieldModel<'a>],
    private: &TokenStream,
    bounds: &mut Vec<(&'a Type, TokenStream)>,
    reserved: &[&str],
    kind_of: impl Fn(&FieldModel<'_>) -> Kind,
) -> Object {
    let taken: Vec<String> = reserved
        .iter()
        .map(|key| (*key).to_owned())
        .chain(
            members
                .iter()
                .filter(|field| kind_of(field) != Kind::Flatten)
                .map(|field| key(field, kind_of(field))),
        )
        .collect();
    let mut present = Vec::new();
    let mut writes = Vec::new();
    let mut checks = Vec::new();
    for field in members {
        let access = &field.access;
        let span = type_span(field.ty);
        let skip_if = field.attrs.skip_if.as_ref().map(|(path, _)| path);
        let name = field.name();
        let kind = kind_of(field);
        let key = key(field, kind);
        let (presence, write) = match kind {
            Kind::Flatten => {
                bounds.push((field.ty, quote!(#private::FlattenMap)));
                let verbatim = field.attrs.verbatim.is_some();
                checks.push(quote_spanned!(span=> #private::check_flatten(#name, &#access, &[#(#taken),*], #verbatim)?;));
                (
                    quote!(#private::has_entries(&#access)),
                    quote_spanned!(span=> #private::flatten(__map, &#access)?;),
                )
            }
            Kind::Tags(_) => {
                bounds.push((field.ty, quote!(#private::TagList)));
                checks.push(quote_spanned!(span=> #private::check_tags(#name, &#access)?;));
                let present = quote_spanned!(span=> #private::has_tags(&#access));
                (
                    present.clone(),
                    quote! {
                        if #present {
                            #private::SerializeMap::serialize_entry(__map, #key, &#private::Tags(&#access))?;
                        }
                    },
                )
            }
            Kind::Value | Kind::Unique => {
                let wrap = |value: TokenStream| match kind {
                    Kind::Unique => quote!(&#private::Unique(#value)),
                    _ => value,
                };
                match option_inner(field.ty) {
                    Some(inner) => {
                        bounds.push((inner, quote!(#private::Serialize)));
                        let value = wrap(quote_spanned!(type_span(inner)=> __value));
                        (
                            quote!(::core::option::Option::is_some(&#access)),
                            quote! {
                                if let ::core::option::Option::Some(__value) = &#access {
                                    #private::SerializeMap::serialize_entry(__map, #key, #value)?;
                                }
                            },
                        )
                    }
                    None => {
                        bounds.push((field.ty, quote!(#private::Serialize)));
                        let value = wrap(quote_spanned!(span=> &#access));
                        (
                            quote!(true),
                            quote!(#private::SerializeMap::serialize_entry(__map, #key, #value)?;),
                        )
                    }
                }
            }
        };
        present.push(guarded(skip_if, access, presence));
        writes.push(guarded_stmt(skip_if, access, write));
    }
    let present = if present.is_empty() {
        quote!(false)
    } else if present.iter().any(|p| p.to_string() == "true") {
        quote!(true)
    } else {
        quote!(#(#present)||*)
    };
    Object {
        present,
        writes,
        checks,
    }
}

fn guarded(skip_if: Option<&Path>, access: &TokenStream, presence: TokenStream) -> TokenStream {
    match skip_if {
        Some(path) => quote!((!#path(&#access) && #presence)),
        None => presence,
    }
}

fn guarded_stmt(skip_if: Option<&Path>, access: &TokenStream, stmt: TokenStream) -> TokenStream {
    match skip_if {
        Some(path) => quote!(if !#path(&#access) { #stmt }),
        None => stmt,
    }
}
