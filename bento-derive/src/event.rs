//! `#[derive(BentoEvent)]`.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::{DeriveInput, LitStr};

use crate::attr::{Derive, Role};
use crate::errors::Errors;
use crate::model::{self, FieldModel, Model, type_span};
use crate::object::{Kind, object};

pub(crate) fn expand(input: &DeriveInput) -> TokenStream {
    model::expand(
        input,
        Derive::Event,
        |model, errors| plan(model, errors).map(|plan| generate(model, &plan)),
        |private| {
            quote! {
                fn event_type(&self) -> &str {
                    ::core::unreachable!()
                }
                fn email(&self) -> &str {
                    ::core::unreachable!()
                }
                fn serialize_details<__M: #private::SerializeMap>(
                    &self,
                    _: &mut __M,
                ) -> ::core::result::Result<(), __M::Error> {
                    ::core::unreachable!()
                }
            }
        },
    )
}

/// Which field plays which part, after every check passed.
struct Plan<'m, 'a> {
    name: String,
    email: &'m FieldModel<'a>,
    date: Option<&'m FieldModel<'a>>,
    fields: Vec<&'m FieldModel<'a>>,
    details: Vec<&'m FieldModel<'a>>,
}

fn plan<'m, 'a>(model: &'m Model<'a>, errors: &mut Errors) -> Option<Plan<'m, 'a>> {
    let ident = &model.input.ident;
    let name = match &model.container.event {
        Some(lit) => {
            check_event_name(lit, errors);
            lit.value()
        }
        None => {
            errors.at(
                ident.span(),
                "missing `#[bento(event = \"...\")]` on the struct: every event needs a type, such as `account.signup` or `$purchase`",
            );
            String::new()
        }
    };

    let mut email = None;
    let mut date: Option<&FieldModel<'_>> = None;
    let mut unique: Option<&FieldModel<'_>> = None;
    let mut fields = Vec::new();
    let mut details = Vec::new();
    for field in &model.fields {
        model.check_modifiers(field, errors);
        model::check_flatten_rename(field, errors);
        let role_span = field.attrs.role.map_or(field.key_span, |(_, span)| span);
        match field.role() {
            Some(Role::Skip) => {}
            Some(Role::Email) => match email {
                Some(first) => errors.at(role_span, second("email", first)),
                None => email = Some(field),
            },
            Some(Role::Date) => match date {
                Some(first) => errors.at(role_span, second("date", first)),
                None => date = Some(field),
            },
            Some(Role::Unique) => match unique {
                Some(first) => errors.at(role_span, second("unique", first)),
                None => {
                    unique = Some(field);
                    details.push(field);
                }
            },
            Some(Role::Field) => fields.push(field),
            Some(Role::Detail) => details.push(field),
            None if field.name() == "date" && field.attrs.flatten.is_none() => errors.at(
                field.ident.span(),
                "a field named `date` is ambiguous: mark it `#[bento(date)]` to backdate the event, or `#[bento(detail)]` to store it in `details`",
            ),
            None => details.push(field),
            Some(Role::Tags | Role::RemoveTags) => {}
        }
    }

    // A field named `email` is the email when no field is marked.
    let unmarked_email = details.iter().position(|field| {
        field.role().is_none() && field.name() == "email" && field.attrs.flatten.is_none()
    });
    let email = match (email, unmarked_email) {
        (Some(marked), Some(index)) => {
            let field = details[index];
            errors.at(
                field.ident.span(),
                format_args!(
                    "two emails: `{}` is marked `#[bento(email)]`, so this field would be sent as a detail; mark it `#[bento(detail)]` if that is intended",
                    marked.name()
                ),
            );
            Some(marked)
        }
        (Some(marked), None) => Some(marked),
        (None, Some(index)) => Some(details.remove(index)),
        (None, None) => {
            errors.at(
                ident.span(),
                "BentoEvent needs an email: add a field named `email` or mark one `#[bento(email)]`",
            );
            None
        }
    };

    check_object("fields", &fields, model, errors);
    check_object("details", &details, model, errors);
    Some(Plan {
        name,
        email: email?,
        date,
        fields,
        details,
    })
}

fn second(what: &str, first: &FieldModel<'_>) -> String {
    format!(
        "a second `{what}` field: `{}` is already marked `#[bento({what})]`",
        first.name()
    )
}

/// Keys well-formed and distinct within one object, at most one flattened map.
fn check_object(object: &str, members: &[&FieldModel<'_>], model: &Model<'_>, errors: &mut Errors) {
    let mut seen: Vec<(&str, String)> = Vec::new();
    let mut flattened: Option<&FieldModel<'_>> = None;
    for field in members {
        if is_flattened(field) {
            if let Some(first) = flattened {
                errors.at(
                    field.ident.span(),
                    format_args!(
                        "a second flattened map in `{object}`: `{}` is already flattened there; merge them into one map",
                        first.name()
                    ),
                );
            }
            flattened = Some(field);
            continue;
        }
        let key = key_of(field);
        if field.role() != Some(Role::Unique) {
            model.check_key(field, errors);
        }
        match seen.iter().find(|(k, _)| *k == key) {
            Some((_, owner)) => errors.at(
                key_span_of(field),
                format_args!(
                    "duplicate key `{key}` in `{object}`: field `{owner}` already writes it"
                ),
            ),
            None => seen.push((key, field.name())),
        }
    }
}

/// A map merged into `fields` or `details` (`flatten` with any other role is
/// reported as a conflict, and the field then counts as a plain member).
fn is_flattened(field: &FieldModel<'_>) -> bool {
    field.attrs.flatten.is_some() && matches!(field.role(), None | Some(Role::Detail | Role::Field))
}

fn key_of<'f>(field: &'f FieldModel<'_>) -> &'f str {
    if field.role() == Some(Role::Unique) {
        "unique"
    } else {
        &field.key
    }
}

fn key_span_of(field: &FieldModel<'_>) -> Span {
    match field.attrs.role {
        Some((Role::Unique, span)) => span,
        _ => field.key_span,
    }
}

fn check_event_name(lit: &LitStr, errors: &mut Errors) {
    let name = lit.value();
    let problem = if name.is_empty() {
        "the event name is empty".to_owned()
    } else if name == "$" {
        "`$` alone is not an event name".to_owned()
    } else if name.chars().any(char::is_control) {
        format!("event name {name:?} contains a control character")
    } else if name.chars().any(char::is_whitespace) {
        format!("event name `{name}` contains whitespace")
    } else if name.contains(['"', '\'', '`']) {
        format!("event name `{name}` contains a quote")
    } else if name.chars().skip(1).any(|c| c == '$') {
        format!("`$` may only start an event name, as in `$purchase`; `{name}` has one inside")
    } else {
        return;
    };
    errors.at(
        lit.span(),
        format_args!("{problem}; Bento event names look like `account.signup` or `$purchase`"),
    );
}

fn generate(model: &Model<'_>, plan: &Plan<'_, '_>) -> TokenStream {
    let private = model.private();
    let (impl_generics, ty_generics, _) = model.input.generics.split_for_impl();
    let ident = &model.input.ident;
    let name = &plan.name;

    let mut bounds = Vec::new();
    bounds.push((plan.email.ty, quote!(#private::EmailAddress)));
    let email = model::email_expr(&private, plan.email);

    let date = plan.date.map(|field| {
        bounds.push((field.ty, quote!(#private::EventDate)));
        let member = field.ident;
        let call = quote_spanned!(type_span(field.ty)=> #private::EventDate::to_timestamp(&self.#member));
        quote! {
            #[inline]
            fn date(&self) -> ::core::result::Result<::core::option::Option<#private::Timestamp>, #private::DateError> {
                #call
            }
        }
    });

    let kind = |field: &FieldModel<'_>| match field.role() {
        _ if is_flattened(field) => Kind::Flatten,
        Some(Role::Unique) => Kind::Unique,
        _ => Kind::Value,
    };
    let fields = object(&plan.fields, &private, &mut bounds, &[], kind);
    let details = object(&plan.details, &private, &mut bounds, &[], kind);
    let (has_fields, write_fields, check_fields) =
        (&fields.present, &fields.writes, &fields.checks);
    let (has_details, write_details, check_details) =
        (&details.present, &details.writes, &details.checks);
    let fields_methods = (!plan.fields.is_empty()).then(|| {
        quote! {
            #[inline]
            fn has_fields(&self) -> bool {
                #has_fields
            }

            fn serialize_fields<__M: #private::SerializeMap>(
                &self,
                __map: &mut __M,
            ) -> ::core::result::Result<(), __M::Error> {
                #(#write_fields)*
                ::core::result::Result::Ok(())
            }
        }
    });
    let checks: Vec<TokenStream> = check_fields.iter().chain(check_details).cloned().collect();
    let validate = model::validate_method(&private, &checks);
    let where_clause = model.where_clause(&bounds);

    quote! {

        const _: () = {
            #[automatically_derived]
            impl #impl_generics #private::BentoEvent for #ident #ty_generics #where_clause {
                #[inline]
                fn event_type(&self) -> &str {
                    #name
                }

                #[inline]
                fn email(&self) -> &str {
                    #email
                }

                #date

                #fields_methods

                #[inline]
                fn has_details(&self) -> bool {
                    #has_details
                }

                fn serialize_details<__M: #private::SerializeMap>(
                    &self,
                    __map: &mut __M,
                ) -> ::core::result::Result<(), __M::Error> {
                    #(#write_details)*
                    ::core::result::Result::Ok(())
                }

                #validate
            }
        };
    }
}
