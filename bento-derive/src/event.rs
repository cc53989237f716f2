//! `#[derive(BentoEvent)]`.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::{Data, DeriveInput, LitStr};

use crate::attr::{Derive, Role};
use crate::errors::Errors;
use crate::model::{self, FieldModel, Model, type_span};
use crate::object::{Kind, object};
use crate::tracking;
use crate::variants::{self, Variant};

pub(crate) fn expand(input: &DeriveInput) -> TokenStream {
    if let Data::Enum(data) = &input.data {
        return expand_enum(input, data);
    }
    model::expand(
        input,
        Derive::Event,
        |model, errors| plan(model, errors).map(|plan| generate(model, &plan)),
        stub,
    )
}

/// The methods of the impl that stands in when the derive reported errors,
/// so that uses of the type add no "trait not implemented" errors.
fn stub(private: &TokenStream) -> TokenStream {
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
}

fn expand_enum(input: &DeriveInput, data: &syn::DataEnum) -> TokenStream {
    let mut errors = Errors::default();
    let variants = variants::parse(input, data, &mut errors);
    let private = variants
        .as_ref()
        .and_then(|v| v.first())
        .map(|v| v.model.private());
    let generated = variants.as_ref().and_then(|variants| {
        let plans: Vec<Option<Plan<'_, '_>>> = variants
            .iter()
            .map(|variant| plan(&variant.model, &mut errors))
            .collect();
        let plans: Option<Vec<Plan<'_, '_>>> = plans.into_iter().collect();
        let plans = plans?;
        // One enum is one kind of event: all with an email, or all about
        // the subscriber they are tracked for.
        if let Some(with) = plans.iter().position(|p| p.email.is_some()) {
            for (variant, plan) in variants.iter().zip(&plans) {
                if plan.email.is_none() {
                    errors.at(
                        variant.ident.span(),
                        format_args!(
                            "variant `{}` has no email while `{}` has one: give every variant an email (a field named `email`, or `#[bento(email)]`), or none",
                            variant.ident, variants[with].ident
                        ),
                    );
                }
            }
        }
        Some(generate_enum(input, variants, &plans))
    });
    model::finish(input, Derive::Event, private, errors, generated, stub)
}

/// Which field plays which part, after every check passed.
struct Plan<'m, 'a> {
    name: String,
    /// `None`: the event is about the subscriber it is tracked for.
    email: Option<&'m FieldModel<'a>>,
    date: Option<&'m FieldModel<'a>>,
    fields: Vec<&'m FieldModel<'a>>,
    details: Vec<&'m FieldModel<'a>>,
}

fn plan<'m, 'a>(model: &'m Model<'a>, errors: &mut Errors) -> Option<Plan<'m, 'a>> {
    let ident = model.variant.unwrap_or(&model.input.ident);
    let name = match &model.container.event {
        Some(lit) => {
            check_event_name(lit, errors);
            lit.value()
        }
        None if model.variant.is_some() => {
            errors.at(
                ident.span(),
                format_args!(
                    "missing `#[bento(event = \"...\")]` on variant `{ident}`: every variant is an event type of its own, such as `account.signup` or `$purchase`"
                ),
            );
            String::new()
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
        // No email: an event about whichever subscriber it is tracked for
        // (`SubscriberEvent`), not one `Client::track` can send alone.
        (None, None) => None,
    };

    check_object("fields", &fields, model, errors);
    check_object("details", &details, model, errors);
    if let (Some(loaded), Some(lit)) = (tracking::load(), &model.container.event)
        && let Some(tracking_plan) = loaded.ok()
    {
        let shape = tracking::EventShape {
            name: &name,
            name_span: lit.span(),
            fields: &fields,
            details: &details,
        };
        tracking::check_event(tracking_plan, &shape, member, errors);
    }
    Some(Plan {
        name,
        email,
        date,
        fields,
        details,
    })
}

/// A member of `fields` or `details`, as the tracking plan sees it.
fn member<'f>(field: &'f FieldModel<'_>) -> tracking::Member<'f> {
    tracking::Member {
        key: key_of(field),
        span: key_span_of(field),
        ty: field.ty,
        may_skip: field.attrs.skip_if.is_some(),
        unique: field.role() == Some(Role::Unique),
        flattened: is_flattened(field),
    }
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

/// What one event (a struct, or one variant) generates, method by method.
struct Bodies {
    name: String,
    /// `None` for an event without an email.
    email: Option<TokenStream>,
    date: Option<TokenStream>,
    /// `None` when nothing goes into `fields`.
    has_fields: Option<TokenStream>,
    write_fields: Vec<TokenStream>,
    has_details: TokenStream,
    write_details: Vec<TokenStream>,
    checks: Vec<TokenStream>,
}

fn bodies<'a>(
    model: &Model<'a>,
    plan: &Plan<'_, 'a>,
    bounds: &mut Vec<(&'a syn::Type, TokenStream)>,
) -> Bodies {
    let private = model.private();
    let email = plan.email.map(|field| {
        bounds.push((field.ty, quote!(#private::EmailAddress)));
        model::email_expr(&private, field)
    });
    let date = plan.date.map(|field| {
        bounds.push((field.ty, quote!(#private::EventDate)));
        let access = &field.access;
        quote_spanned!(type_span(field.ty)=> #private::EventDate::to_timestamp(&#access))
    });
    let kind = |field: &FieldModel<'_>| match field.role() {
        _ if is_flattened(field) => Kind::Flatten,
        Some(Role::Unique) => Kind::Unique,
        _ => Kind::Value,
    };
    let fields = object(&plan.fields, &private, bounds, &[], kind);
    let details = object(&plan.details, &private, bounds, &[], kind);
    Bodies {
        name: plan.name.clone(),
        email,
        date,
        has_fields: (!plan.fields.is_empty()).then_some(fields.present),
        write_fields: fields.writes,
        has_details: details.present,
        write_details: details.writes,
        checks: fields.checks.into_iter().chain(details.checks).collect(),
    }
}

fn generate(model: &Model<'_>, plan: &Plan<'_, '_>) -> TokenStream {
    let mut bounds = Vec::new();
    let bodies = bodies(model, plan, &mut bounds);
    let where_clause = model.where_clause(&bounds);
    emit(
        model.input,
        &model.private(),
        &where_clause,
        &[bodies],
        None,
    )
}

/// The enum's impl: every method a `match` over the variants, each arm the
/// straight-line code of that variant's struct, on bindings of its fields.
fn generate_enum(
    input: &DeriveInput,
    variants: &[Variant<'_>],
    plans: &[Plan<'_, '_>],
) -> TokenStream {
    let Some(first) = variants.first() else {
        return TokenStream::new();
    };
    let mut bounds = Vec::new();
    let all: Vec<Bodies> = variants
        .iter()
        .zip(plans)
        .map(|(variant, plan)| bodies(&variant.model, plan, &mut bounds))
        .collect();
    let patterns: Vec<TokenStream> = variants
        .iter()
        .map(|variant| {
            let name = variant.ident;
            let members = variant.model.fields.iter().map(|field| {
                let member = field.ident;
                let binding = model::binding(member);
                quote!(#member: #binding)
            });
            quote!(Self::#name { #(#members,)* .. })
        })
        .collect();
    let where_clause = first.model.where_clause(&bounds);
    emit(
        input,
        &first.model.private(),
        &where_clause,
        &all,
        Some(&patterns),
    )
}

/// The `BentoEvent` impl and the event type constant(s): for a struct from
/// its one `Bodies`; for an enum (`patterns`, one per variant) each method
/// a `match` whose arms are the variants' bodies.
fn emit(
    input: &DeriveInput,
    private: &TokenStream,
    where_clause: &TokenStream,
    all: &[Bodies],
    patterns: Option<&[TokenStream]>,
) -> TokenStream {
    let (impl_generics, ty_generics, user_where) = input.generics.split_for_impl();
    let ident = &input.ident;
    let each = |body: &dyn Fn(&Bodies) -> TokenStream| -> TokenStream {
        match patterns {
            None => all.first().map(body).unwrap_or_default(),
            Some(patterns) => {
                let arms = patterns.iter().zip(all).map(|(pattern, bodies)| {
                    let body = body(bodies);
                    quote!(#pattern => { #body })
                });
                quote! {
                    match self {
                        #(#arms)*
                    }
                }
            }
        }
    };
    let event_type = each(&|b| {
        let name = &b.name;
        quote!(#name)
    });
    // Every body has an email, or none has (checked for enums): a
    // `BentoEvent`, or an event about the subscriber it is tracked for.
    let has_email = all.iter().all(|b| b.email.is_some());
    let (trait_name, email) = if has_email {
        let email = each(&|b| b.email.clone().unwrap_or_default());
        let method = quote! {
            #[inline]
            fn email(&self) -> &str {
                #email
            }
        };
        (quote!(BentoEvent), method)
    } else {
        (quote!(SubscriberEvent), TokenStream::new())
    };
    let date = all.iter().any(|b| b.date.is_some()).then(|| {
        let body = each(&|b| match &b.date {
            Some(call) => call.clone(),
            None => quote!(::core::result::Result::Ok(::core::option::Option::None)),
        });
        quote! {
            #[inline]
            fn date(&self) -> ::core::result::Result<::core::option::Option<#private::Timestamp>, #private::DateError> {
                #body
            }
        }
    });
    let fields_methods = all.iter().any(|b| b.has_fields.is_some()).then(|| {
        let has = each(&|b| b.has_fields.clone().unwrap_or_else(|| quote!(false)));
        let write = each(&|b| {
            let writes = &b.write_fields;
            quote!(#(#writes)*)
        });
        quote! {
            #[inline]
            fn has_fields(&self) -> bool {
                #has
            }

            fn serialize_fields<__M: #private::SerializeMap>(
                &self,
                __map: &mut __M,
            ) -> ::core::result::Result<(), __M::Error> {
                #write
                ::core::result::Result::Ok(())
            }
        }
    });
    let has_details = each(&|b| b.has_details.clone());
    let write_details = each(&|b| {
        let writes = &b.write_details;
        quote!(#(#writes)*)
    });
    let checks: Vec<TokenStream> = if all.iter().any(|b| !b.checks.is_empty()) {
        vec![each(&|b| {
            let checks = &b.checks;
            quote!(#(#checks)*)
        })]
    } else {
        Vec::new()
    };
    let validate = model::validate_method(private, &checks);
    let constant = match patterns {
        None => {
            let name = all.first().map(|b| b.name.as_str()).unwrap_or_default();
            quote! {
                /// The Bento event type this struct is sent as (from `#[bento(event = "...")]`).
                pub const EVENT_TYPE: &'static str = #name;
            }
        }
        Some(_) => {
            let names = all.iter().map(|b| &b.name);
            quote! {
                /// The Bento event types of this enum's variants, in order
                /// (from each variant's `#[bento(event = "...")]`).
                pub const EVENT_TYPES: &'static [&'static str] = &[#(#names),*];
            }
        }
    };

    quote! {
        const _: () = {
            #[automatically_derived]
            // A variant's arm binds every field, whichever its methods use.
            #[allow(unused_variables)]
            impl #impl_generics #private::#trait_name for #ident #ty_generics #where_clause {
                #[inline]
                fn event_type(&self) -> &str {
                    #event_type
                }

                #email

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
                    #write_details
                    ::core::result::Result::Ok(())
                }

                #validate
            }
        };

        #[automatically_derived]
        impl #impl_generics #ident #ty_generics #user_where {
            #constant
        }
    }
}
