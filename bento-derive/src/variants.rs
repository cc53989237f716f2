//! An enum of events: each variant is parsed as the struct it stands for,
//! with its own `#[bento(event = "...")]` and field attributes, under the
//! enum's `crate`, `bound` and default `rename_all`.

use syn::spanned::Spanned;
use syn::{DataEnum, DeriveInput, Fields, Ident};

use crate::attr::{self, Derive};
use crate::errors::Errors;
use crate::model::{Access, Model, fields_of};

/// One variant and the model of its fields (reached through match bindings).
pub(crate) struct Variant<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) model: Model<'a>,
}

/// The enum's variants as models; `None` when the enum itself is unusable.
/// Variant problems are reported and those variants left out.
pub(crate) fn parse<'a>(
    input: &'a DeriveInput,
    data: &'a DataEnum,
    errors: &mut Errors,
) -> Option<Vec<Variant<'a>>> {
    let derive = Derive::Event;
    let outer = attr::container(&input.attrs, derive, errors);
    if let Some(lit) = &outer.event {
        errors.at(
            lit.span(),
            "on an enum, `event` goes on each variant: `#[bento(event = \"...\")]` above `Signup { .. }`",
        );
    }
    if data.variants.is_empty() {
        errors.at(
            input.ident.span(),
            "BentoEvent needs at least one variant: an enum without variants has no event to send",
        );
        return None;
    }
    let mut variants = Vec::new();
    let mut seen: Vec<(String, &Ident)> = Vec::new();
    for variant in &data.variants {
        let mut container = attr::container(&variant.attrs, derive, errors);
        if container.krate.is_some() || container.bound.is_some() {
            errors.at(
                variant.ident.span(),
                format_args!(
                    "`crate` and `bound` belong on the enum `{}`, not on one variant",
                    input.ident
                ),
            );
        }
        let named = match &variant.fields {
            Fields::Named(named) => named,
            Fields::Unnamed(fields) => {
                errors.at(
                    fields.span(),
                    format_args!(
                        "variant `{}` is a tuple variant: BentoEvent needs named fields, so that each value gets a key; write `{} {{ email: String, .. }}`",
                        variant.ident, variant.ident
                    ),
                );
                continue;
            }
            Fields::Unit => {
                errors.at(
                    variant.ident.span(),
                    format_args!(
                        "variant `{}` has no fields, so no email: give it named fields (`{} {{ email: String }}`)",
                        variant.ident, variant.ident
                    ),
                );
                continue;
            }
        };
        // A missing `event` is reported with the variant's other problems.
        match &container.event {
            None => {}
            Some(lit) => {
                let name = lit.value();
                match seen.iter().find(|(seen, _)| *seen == name) {
                    Some((_, first)) => errors.at(
                        lit.span(),
                        format_args!(
                            "variants `{first}` and `{}` both send `{name}`: give each variant its own event type, or make them one variant",
                            variant.ident
                        ),
                    ),
                    None => seen.push((name, &variant.ident)),
                }
            }
        }
        container.krate.clone_from(&outer.krate);
        container.bound.clone_from(&outer.bound);
        if container.rename_all.is_none() {
            container.rename_all = outer.rename_all;
        }
        let fields = fields_of(named, &container, derive, errors, Access::Binding);
        variants.push(Variant {
            ident: &variant.ident,
            model: Model {
                input,
                variant: Some(&variant.ident),
                container,
                fields,
            },
        });
    }
    Some(variants)
}
