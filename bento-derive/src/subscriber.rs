//! `#[derive(BentoSubscriber)]`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

use crate::attr::{Derive, Role};
use crate::errors::Errors;
use crate::model::{self, FieldModel, Model};
use crate::object::{Kind, object};

pub(crate) fn expand(input: &DeriveInput) -> TokenStream {
    model::expand(
        input,
        Derive::Subscriber,
        |model, errors| plan(model, errors).map(|plan| generate(model, &plan)),
        |private| {
            quote! {
                fn email(&self) -> &str {
                    ::core::unreachable!()
                }
                fn serialize_record<__M: #private::SerializeMap>(
                    &self,
                    _: &mut __M,
                ) -> ::core::result::Result<(), __M::Error> {
                    ::core::unreachable!()
                }
            }
        },
    )
}

struct Plan<'m, 'a> {
    email: &'m FieldModel<'a>,
    /// Everything written after `email`, in declaration order, with how.
    members: Vec<(&'m FieldModel<'a>, Kind)>,
}

fn plan<'m, 'a>(model: &'m Model<'a>, errors: &mut Errors) -> Option<Plan<'m, 'a>> {
    let marked = |role: Role| model.fields.iter().any(|field| field.role() == Some(role));
    // `email`, `tags` and `remove_tags` are recognised by name when no field is marked.
    let by_name = |field: &FieldModel<'_>| -> Option<Role> {
        if field.attrs.role.is_some()
            || field.attrs.flatten.is_some()
            || field.attrs.rename.is_some()
        {
            return None;
        }
        [Role::Email, Role::Tags, Role::RemoveTags]
            .into_iter()
            .find(|role| field.name() == role.name() && !marked(*role))
    };

    let mut email: Option<&FieldModel<'_>> = None;
    let mut members = Vec::new();
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut flattened: Option<&FieldModel<'_>> = None;
    for field in &model.fields {
        model.check_modifiers(field, errors);
        model::check_flatten_rename(field, errors);
        let role = field.role().or_else(|| by_name(field));
        let role_span = field.attrs.role.map_or(field.key_span, |(_, span)| span);
        let (key, kind) = match role {
            Some(Role::Skip) => continue,
            Some(Role::Email) => {
                if let Some(first) = email {
                    errors.at(
                        role_span,
                        format_args!(
                            "a second `email` field: `{}` is already the email",
                            first.name()
                        ),
                    );
                    continue;
                }
                email = Some(field);
                ("email".to_owned(), None)
            }
            Some(Role::Tags) => ("tags".to_owned(), Some(Kind::Tags("tags"))),
            Some(Role::RemoveTags) => ("remove_tags".to_owned(), Some(Kind::Tags("remove_tags"))),
            _ if field.attrs.flatten.is_some() => {
                if let Some(first) = flattened {
                    errors.at(
                        field.ident.span(),
                        format_args!(
                            "a second flattened map: `{}` is already flattened; merge them into one map",
                            first.name()
                        ),
                    );
                }
                flattened = Some(field);
                members.push((field, Kind::Flatten));
                continue;
            }
            _ => {
                model.check_key(field, errors);
                (field.key.clone(), Some(Kind::Value))
            }
        };
        match seen.iter().find(|(k, _)| *k == key) {
            Some((_, owner)) if key == "email" => errors.at(
                role_span,
                format_args!(
                    "two emails: field `{owner}` already writes `email`; keep one as the email and rename or skip the other"
                ),
            ),
            Some((_, owner)) => errors.at(
                role_span,
                format_args!("duplicate key `{key}` in the subscriber record: field `{owner}` already writes it"),
            ),
            None => seen.push((key, field.name())),
        }
        if let Some(kind) = kind {
            members.push((field, kind));
        }
    }
    if let Some(loaded) = crate::tracking::load()
        && let Some(tracking_plan) = loaded.ok()
    {
        let custom = members
            .iter()
            .filter(|(_, kind)| matches!(kind, Kind::Value))
            .map(|(field, _)| crate::tracking::Member {
                key: &field.key,
                span: field.key_span,
                ty: field.ty,
                may_skip: field.attrs.skip_if.is_some(),
                unique: false,
                flattened: false,
            });
        crate::tracking::check_record(tracking_plan, custom, errors);
    }
    if email.is_none() {
        errors.at(
            model.input.ident.span(),
            "BentoSubscriber needs an email: add a field named `email` or mark one `#[bento(email)]`",
        );
    }
    Some(Plan {
        email: email?,
        members,
    })
}

fn generate(model: &Model<'_>, plan: &Plan<'_, '_>) -> TokenStream {
    let private = model.private();
    let (impl_generics, ty_generics, _) = model.input.generics.split_for_impl();
    let ident = &model.input.ident;

    let mut bounds = Vec::new();
    bounds.push((plan.email.ty, quote!(#private::EmailAddress)));
    let email = model::email_expr(&private, plan.email);

    let members: Vec<&FieldModel<'_>> = plan.members.iter().map(|(field, _)| *field).collect();
    let kinds: Vec<(&syn::Ident, Kind)> = plan
        .members
        .iter()
        .map(|(field, kind)| (field.ident, *kind))
        .collect();
    let kind_of = |field: &FieldModel<'_>| {
        kinds
            .iter()
            .find(|(ident, _)| *ident == field.ident)
            .map_or(Kind::Value, |(_, kind)| *kind)
    };
    let record = object(&members, &private, &mut bounds, &["email"], kind_of);
    let (writes, checks) = (&record.writes, &record.checks);
    let validate = model::validate_method(&private, checks);
    let where_clause = model.where_clause(&bounds);

    quote! {

        const _: () = {
            #[automatically_derived]
            impl #impl_generics #private::BentoSubscriber for #ident #ty_generics #where_clause {
                #[inline]
                fn email(&self) -> &str {
                    #email
                }

                fn serialize_record<__M: #private::SerializeMap>(
                    &self,
                    __map: &mut __M,
                ) -> ::core::result::Result<(), __M::Error> {
                    #(#writes)*
                    ::core::result::Result::Ok(())
                }

                #validate
            }
        };
    }
}
