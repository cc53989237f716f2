//! `#[bento(...)]` attributes, parsed by hand with `parse_nested_meta` so that
//! every mistake gets its own message on its own token, and parsing carries on
//! after one so that all of them are reported at once.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, LitStr, Token, WherePredicate};

use crate::case::{RENAME_RULES, RenameRule};
use crate::errors::Errors;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Derive {
    Event,
    Subscriber,
}

impl Derive {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Event => "BentoEvent",
            Self::Subscriber => "BentoSubscriber",
        }
    }

    fn other(self) -> Self {
        match self {
            Self::Event => Self::Subscriber,
            Self::Subscriber => Self::Event,
        }
    }

    fn container_attributes(self) -> &'static [&'static str] {
        match self {
            Self::Event => &["event", "crate", "rename_all", "bound"],
            Self::Subscriber => &["crate", "rename_all", "bound"],
        }
    }

    pub(crate) fn field_attributes(self) -> &'static [&'static str] {
        match self {
            Self::Event => &[
                "email", "detail", "field", "unique", "date", "rename", "skip", "skip_if",
                "flatten", "verbatim",
            ],
            Self::Subscriber => &[
                "email",
                "tags",
                "remove_tags",
                "rename",
                "skip",
                "skip_if",
                "flatten",
                "verbatim",
            ],
        }
    }
}

/// Where a field goes. A field has at most one role; no role means the
/// default place (`details` for events, a custom field for subscribers).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Role {
    Email,
    Detail,
    Field,
    Unique,
    Date,
    Skip,
    Tags,
    RemoveTags,
}

impl Role {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "email" => Self::Email,
            "detail" => Self::Detail,
            "field" => Self::Field,
            "unique" => Self::Unique,
            "date" => Self::Date,
            "skip" => Self::Skip,
            "tags" => Self::Tags,
            "remove_tags" => Self::RemoveTags,
            _ => return None,
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Detail => "detail",
            Self::Field => "field",
            Self::Unique => "unique",
            Self::Date => "date",
            Self::Skip => "skip",
            Self::Tags => "tags",
            Self::RemoveTags => "remove_tags",
        }
    }
}

pub(crate) struct Container {
    pub(crate) krate: Option<syn::Path>,
    pub(crate) event: Option<LitStr>,
    pub(crate) rename_all: Option<RenameRule>,
    pub(crate) bound: Option<Vec<WherePredicate>>,
}

#[derive(Default)]
pub(crate) struct FieldAttrs {
    pub(crate) role: Option<(Role, Span)>,
    pub(crate) rename: Option<LitStr>,
    pub(crate) skip_if: Option<(syn::Path, Span)>,
    pub(crate) flatten: Option<Span>,
    /// The key (or a flattened map's keys) is sent as written, outside
    /// Bento's key rule.
    pub(crate) verbatim: Option<Span>,
}

pub(crate) fn container(attrs: &[Attribute], derive: Derive, errors: &mut Errors) -> Container {
    let mut out = Container {
        krate: None,
        event: None,
        rename_all: None,
        bound: None,
    };
    let mut seen: Vec<String> = Vec::new();
    for attr in bento_attributes(attrs) {
        let parsed = attr.parse_nested_meta(|meta| {
            let name = path_name(&meta.path);
            let span = meta.path.span();
            if derive.container_attributes().contains(&name.as_str()) {
                if seen.contains(&name) {
                    errors.at(span, format_args!("duplicate `{name}` attribute"));
                    return skip_value(&meta);
                }
                seen.push(name.clone());
            }
            match name.as_str() {
                "event" if derive == Derive::Event => {
                    out.event = string_value(&meta, &name, "account.signup", errors)?;
                }
                "crate" => {
                    if let Some(lit) = string_value(&meta, &name, "my_crate::bento", errors)? {
                        match lit.parse::<syn::Path>() {
                            Ok(path) => out.krate = Some(path),
                            Err(_) => errors.at(
                                lit.span(),
                                format_args!(
                                    "`{}` is not a path; expected something like `crate = \"my_crate::bento\"`",
                                    lit.value()
                                ),
                            ),
                        }
                    }
                }
                "rename_all" => {
                    if let Some(lit) = string_value(&meta, &name, "snake_case", errors)? {
                        match RenameRule::parse(&lit.value()) {
                            Some(rule) => out.rename_all = Some(rule),
                            None => errors.at(
                                lit.span(),
                                format_args!(
                                    "unsupported `rename_all = \"{}\"`: Bento keys are lowercase and underscored, so the supported values are {}",
                                    lit.value(),
                                    quoted_list(RENAME_RULES)
                                ),
                            ),
                        }
                    }
                }
                "bound" => {
                    if let Some(lit) = string_value(&meta, &name, "T: serde::Serialize", errors)? {
                        match lit.parse_with(Punctuated::<WherePredicate, Token![,]>::parse_terminated) {
                            Ok(predicates) => out.bound = Some(predicates.into_iter().collect()),
                            Err(error) => errors.at(
                                lit.span(),
                                format_args!("`bound` must hold where-clause predicates such as \"T: serde::Serialize\": {error}"),
                            ),
                        }
                    }
                }
                _ => {
                    let message = if derive.field_attributes().contains(&name.as_str()) {
                        format!("`{name}` is a field attribute; put `#[bento({name})]` on a field, not on the struct")
                    } else {
                        unknown(&name, derive, derive.container_attributes(), derive.other().container_attributes())
                    };
                    errors.at(span, message);
                    skip_value(&meta)?;
                }
            }
            Ok(())
        });
        if let Err(error) = parsed {
            errors.push(error);
        }
    }
    out
}

pub(crate) fn field(attrs: &[Attribute], derive: Derive, errors: &mut Errors) -> FieldAttrs {
    let mut out = FieldAttrs::default();
    for attr in bento_attributes(attrs) {
        let parsed = attr.parse_nested_meta(|meta| {
            let name = path_name(&meta.path);
            let span = meta.path.span();
            if !derive.field_attributes().contains(&name.as_str()) {
                let message = if derive.container_attributes().contains(&name.as_str()) {
                    format!("`{name}` is a struct attribute; put `#[bento({name} = \"...\")]` on the struct, not on a field")
                } else {
                    unknown(&name, derive, derive.field_attributes(), derive.other().field_attributes())
                };
                errors.at(span, message);
                return skip_value(&meta);
            }
            if let Some(role) = Role::parse(&name) {
                if !no_value(&meta, &name, errors)? {
                    return Ok(());
                }
                match out.role {
                    Some((old, _)) if old == role => {
                        errors.at(span, format_args!("duplicate `{name}` attribute"));
                    }
                    Some((old, _)) => errors.at(
                        span,
                        format_args!(
                            "`{name}` conflicts with `{}` on the same field: a field goes to exactly one place",
                            old.name()
                        ),
                    ),
                    None => out.role = Some((role, span)),
                }
                return Ok(());
            }
            match name.as_str() {
                "rename" => {
                    let lit = string_value(&meta, &name, "plan_name", errors)?;
                    if out.rename.is_some() {
                        errors.at(span, "duplicate `rename` attribute");
                    } else {
                        out.rename = lit;
                    }
                }
                "skip_if" => {
                    if let Some(lit) = string_value(&meta, &name, "Vec::is_empty", errors)? {
                        if out.skip_if.is_some() {
                            errors.at(span, "duplicate `skip_if` attribute");
                        } else {
                            match lit.parse::<syn::Path>() {
                                Ok(path) => out.skip_if = Some((path, span)),
                                Err(_) => errors.at(
                                    lit.span(),
                                    format_args!(
                                        "`{}` is not a function path; expected something like `skip_if = \"Vec::is_empty\"`",
                                        lit.value()
                                    ),
                                ),
                            }
                        }
                    }
                }
                _ => {
                    // `flatten` and `verbatim`, the flags that are not roles.
                    if no_value(&meta, &name, errors)? {
                        let flag = if name == "flatten" {
                            &mut out.flatten
                        } else {
                            &mut out.verbatim
                        };
                        if flag.is_some() {
                            errors.at(span, format_args!("duplicate `{name}` attribute"));
                        } else {
                            *flag = Some(span);
                        }
                    }
                }
            }
            Ok(())
        });
        if let Err(error) = parsed {
            errors.push(error);
        }
    }
    out
}

fn bento_attributes(attrs: &[Attribute]) -> impl Iterator<Item = &Attribute> {
    attrs.iter().filter(|attr| attr.path().is_ident("bento"))
}

fn path_name(path: &syn::Path) -> String {
    let segments: Vec<String> = path
        .segments
        .iter()
        .map(|segment| segment.ident.to_string())
        .collect();
    segments.join("::")
}

fn unknown(name: &str, derive: Derive, here: &[&str], there: &[&str]) -> String {
    if there.contains(&name) {
        return format!(
            "`{name}` is a {} attribute and means nothing on a {}; expected one of: {}",
            derive.other().name(),
            derive.name(),
            backticked(here)
        );
    }
    match bento_plan::closest(name, here.iter().copied()) {
        Some(close) => format!("unknown bento attribute `{name}`; did you mean `{close}`?"),
        None => format!(
            "unknown bento attribute `{name}`; expected one of: {}",
            backticked(here)
        ),
    }
}

/// `name = "..."`; reports (and skips) anything else. `Ok(None)` after a
/// reported mistake, so that parsing continues with the next attribute.
fn string_value(
    meta: &ParseNestedMeta<'_>,
    name: &str,
    example: &str,
    errors: &mut Errors,
) -> syn::Result<Option<LitStr>> {
    let expected = format!("expected `{name} = \"{example}\"`");
    if !meta.input.peek(Token![=]) {
        errors.at(meta.path.span(), expected);
        return skip_value(meta).map(|()| None);
    }
    let input = meta.value()?;
    if input.peek(LitStr) {
        return input.parse().map(Some);
    }
    let start = input.span();
    skip_rest(input)?;
    errors.at(start, expected);
    Ok(None)
}

/// A flag such as `email`; reports a value given to it. Whether it was a bare flag.
fn no_value(meta: &ParseNestedMeta<'_>, name: &str, errors: &mut Errors) -> syn::Result<bool> {
    if meta.input.is_empty() || meta.input.peek(Token![,]) {
        return Ok(true);
    }
    errors.at(
        meta.input.span(),
        format_args!("`{name}` takes no value; write `#[bento({name})]`"),
    );
    skip_value(meta)?;
    Ok(false)
}

/// Consumes whatever follows an attribute name (`= value` or `(...)`).
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        skip_rest(meta.value()?)
    } else if meta.input.peek(syn::token::Paren) {
        let nested;
        syn::parenthesized!(nested in meta.input);
        while !nested.is_empty() {
            nested.parse::<proc_macro2::TokenTree>()?;
        }
        Ok(())
    } else {
        Ok(())
    }
}

fn skip_rest(input: syn::parse::ParseStream<'_>) -> syn::Result<()> {
    while !input.is_empty() && !input.peek(Token![,]) {
        input.parse::<proc_macro2::TokenTree>()?;
    }
    Ok(())
}

fn backticked(names: &[&str]) -> String {
    let names: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    names.join(", ")
}

fn quoted_list(names: &[&str]) -> String {
    let names: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    names.join(" and ")
}
