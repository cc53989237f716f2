//! What both derives share: the struct's shape, its fields with their parsed
//! attributes and final keys, the crate path, and the trait bounds.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, Ident, Type};

use crate::attr::{self, Container, Derive, FieldAttrs, Role};
use crate::case::{self, RenameRule};
use crate::errors::Errors;

pub(crate) struct Model<'a> {
    pub(crate) input: &'a DeriveInput,
    /// The enum variant this model is, when it is one.
    pub(crate) variant: Option<&'a Ident>,
    pub(crate) container: Container,
    pub(crate) fields: Vec<FieldModel<'a>>,
}

pub(crate) struct FieldModel<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) ty: &'a Type,
    pub(crate) attrs: FieldAttrs,
    /// The key after `rename` / `rename_all`.
    pub(crate) key: String,
    /// `rename`'s literal when there is one, else the field name.
    pub(crate) key_span: Span,
    /// The field as a place expression in generated code: `self.name` in a
    /// struct, `(*__bento_name)` in an enum variant's match arm.
    pub(crate) access: TokenStream,
}

impl FieldModel<'_> {
    pub(crate) fn role(&self) -> Option<Role> {
        self.attrs.role.map(|(role, _)| role)
    }

    /// The field's name as the user wrote it, without `r#`.
    pub(crate) fn name(&self) -> String {
        unraw(self.ident)
    }
}

/// Runs one derive: parse and check, then `generate`; or, when anything was
/// reported, every error next to a stub impl of `trait_name` (with
/// `stub_methods`, given the `__private` path) that type-checks, so the
/// user's uses of the type add no "trait not implemented" errors.
pub(crate) fn expand<'a>(
    input: &'a DeriveInput,
    derive: Derive,
    generate: impl FnOnce(&Model<'a>, &mut Errors) -> Option<TokenStream>,
    stub_methods: impl FnOnce(&TokenStream) -> TokenStream,
) -> TokenStream {
    let mut errors = Errors::default();
    let model = parse(input, derive, &mut errors);
    let generated = model
        .as_ref()
        .and_then(|model| generate(model, &mut errors));
    let private = model.as_ref().map(Model::private);
    finish(input, derive, private, errors, generated, stub_methods)
}

/// The generated code when nothing was reported; otherwise every error
/// next to a stub impl (see [`expand`]).
pub(crate) fn finish(
    input: &DeriveInput,
    derive: Derive,
    private: Option<TokenStream>,
    errors: Errors,
    generated: Option<TokenStream>,
    stub_methods: impl FnOnce(&TokenStream) -> TokenStream,
) -> TokenStream {
    match generated {
        Some(code) if errors.is_empty() => code,
        _ => {
            let private = private.unwrap_or_else(|| quote!(::bento_core::__private));
            let trait_name = syn::Ident::new(derive.name(), proc_macro2::Span::call_site());
            let methods = stub_methods(&private);
            let ident = &input.ident;
            let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
            let errors = errors.into_compile_errors();
            quote! {
                #errors
                #[allow(unused_qualifications)]
                const _: () = {
                    impl #impl_generics #private::#trait_name for #ident #ty_generics #where_clause {
                        #methods
                    }
                };
            }
        }
    }
}

/// `EmailAddress::as_email(&self.field)`, blamed on the field's type.
pub(crate) fn email_expr(private: &TokenStream, field: &FieldModel<'_>) -> TokenStream {
    let access = &field.access;
    quote_spanned!(type_span(field.ty)=> #private::EmailAddress::as_email(&#access))
}

/// `fn validate` running the generated run-time checks, if there are any.
pub(crate) fn validate_method(
    private: &TokenStream,
    checks: &[TokenStream],
) -> Option<TokenStream> {
    (!checks.is_empty()).then(|| {
        quote! {
            fn validate(&self) -> ::core::result::Result<(), #private::ValidationError> {
                #(#checks)*
                ::core::result::Result::Ok(())
            }
        }
    })
}

/// Checks the shape and parses every attribute. `None` when the input is not
/// a struct with named fields (after reporting why).
pub(crate) fn parse<'a>(
    input: &'a DeriveInput,
    derive: Derive,
    errors: &mut Errors,
) -> Option<Model<'a>> {
    let container = attr::container(&input.attrs, derive, errors);
    let named = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(named) => named,
            Fields::Unnamed(fields) => {
                errors.push(syn::Error::new_spanned(
                    fields,
                    format_args!(
                        "{} needs named fields, so that each value gets a key; this is a tuple struct",
                        derive.name()
                    ),
                ));
                return None;
            }
            Fields::Unit => {
                errors.at(
                    input.ident.span(),
                    format_args!(
                        "{} needs a struct with named fields; a unit struct has no email",
                        derive.name()
                    ),
                );
                return None;
            }
        },
        Data::Enum(data) => {
            errors.at(
                data.enum_token.span,
                format_args!(
                    "{} can only be derived for a struct with named fields, not an enum; derive it on one struct per record shape",
                    derive.name(),
                ),
            );
            return None;
        }
        Data::Union(data) => {
            errors.at(
                data.union_token.span,
                format_args!(
                    "{} can only be derived for a struct with named fields, not a union",
                    derive.name()
                ),
            );
            return None;
        }
    };
    let fields = fields_of(named, &container, derive, errors, Access::SelfField);
    Some(Model {
        input,
        variant: None,
        container,
        fields,
    })
}

/// How generated code reaches a field.
#[derive(Clone, Copy)]
pub(crate) enum Access {
    /// `self.name`.
    SelfField,
    /// `(*__bento_name)`, bound by a match arm's pattern.
    Binding,
}

/// The binding a variant's match arm gives a field: `__bento_name`.
pub(crate) fn binding(ident: &Ident) -> Ident {
    Ident::new(&format!("__bento_{}", unraw(ident)), Span::call_site())
}

/// The named fields with their attributes and final keys.
pub(crate) fn fields_of<'a>(
    named: &'a syn::FieldsNamed,
    container: &Container,
    derive: Derive,
    errors: &mut Errors,
    access: Access,
) -> Vec<FieldModel<'a>> {
    named
        .named
        .iter()
        .filter_map(|field| {
            let ident = field.ident.as_ref()?;
            let attrs = attr::field(&field.attrs, derive, errors);
            let (key, key_span) = match &attrs.rename {
                Some(lit) => (lit.value(), lit.span()),
                None => {
                    let name = unraw(ident);
                    let key = match container.rename_all {
                        Some(rule) => rule.apply(&name),
                        None => name,
                    };
                    (key, ident.span())
                }
            };
            let access = match access {
                Access::SelfField => quote!(self.#ident),
                Access::Binding => {
                    let binding = binding(ident);
                    quote!((*#binding))
                }
            };
            Some(FieldModel {
                ident,
                ty: &field.ty,
                attrs,
                key,
                key_span,
                access,
            })
        })
        .collect()
}

impl Model<'_> {
    /// `::bento_core::__private`, or the path given with `#[bento(crate = "...")]`.
    pub(crate) fn private(&self) -> TokenStream {
        match &self.container.krate {
            Some(path) => quote!(#path::__private),
            None => quote!(::bento_core::__private),
        }
    }

    /// The where clause: one predicate per field requirement, spanned on the
    /// field's type (`Option<T>` bounds `T`, since that is what is
    /// serialized). Requirements on types that mention a type parameter are
    /// replaced by the user's `bound` when there is one.
    ///
    /// Putting even concrete requirements (`u64: EmailAddress`) in the where
    /// clause makes an unmet one a single error on the field, instead of one
    /// error per place the generated body uses the value.
    pub(crate) fn where_clause(&self, bounds: &[(&Type, TokenStream)]) -> TokenStream {
        let mut predicates: Vec<TokenStream> = self
            .input
            .generics
            .where_clause
            .iter()
            .flat_map(|clause| clause.predicates.iter().map(ToTokens::to_token_stream))
            .collect();
        let params: Vec<String> = self
            .input
            .generics
            .type_params()
            .map(|param| param.ident.to_string())
            .collect();
        let lifetimes: Vec<String> = self
            .input
            .generics
            .lifetimes()
            .map(|param| param.lifetime.to_string())
            .collect();
        if let Some(user) = &self.container.bound {
            predicates.extend(user.iter().map(ToTokens::to_token_stream));
        }
        for (ty, bound) in bounds {
            // A predicate on a type with the struct's lifetime (`&'a str:
            // Serialize`) is a where clause the compiler must consider
            // beside the real impl, and beside `&'static str: Serialize` it
            // cannot choose (E0283): such requirements are left to the body,
            // which reports an unmet one as well.
            if mentions_lifetime(ty, &lifetimes) {
                continue;
            }
            if self.container.bound.is_none() || !mentions_any(ty, &params) {
                // Every token on the type's span, so that the compiler can
                // point at the field instead of at the derive.
                let span = type_span(ty);
                let bound = respan(bound.clone(), span);
                predicates.push(quote_spanned!(span=> #ty: #bound));
            }
        }
        if predicates.is_empty() {
            TokenStream::new()
        } else {
            quote!(where #(#predicates,)*)
        }
    }

    /// Reports keys that are not lowercase and underscored, suggesting a spelling.
    pub(crate) fn check_key(&self, field: &FieldModel<'_>, errors: &mut Errors) {
        if case::is_valid_key(&field.key) || field.attrs.verbatim.is_some() {
            return;
        }
        if field.key.is_empty() {
            errors.at(
                field.key_span,
                "the key is empty; Bento keys look like `first_name`",
            );
            return;
        }
        let suggestion = case::to_snake_case(&field.key);
        let fix = if !case::is_valid_key(&suggestion) {
            String::new()
        } else if field.attrs.rename.is_some() {
            format!("; write `rename = \"{suggestion}\"`")
        } else if self.container.rename_all == Some(RenameRule::SnakeCase)
            || field.key == suggestion
        {
            String::new()
        } else {
            format!(
                "; add `#[bento(rename = \"{suggestion}\")]` or `#[bento(rename_all = \"snake_case\")]` on the struct"
            )
        };
        let fix = format!(
            "{fix} (or `#[bento(verbatim)]` to send it as written, for an account whose field is named so)"
        );
        errors.at(
            field.key_span,
            format_args!(
                "key `{}` is not lowercase and underscored, as Bento keys are{fix}",
                field.key
            ),
        );
    }

    /// Reports a `rename`, `skip_if` or `flatten` that means nothing with the field's role.
    pub(crate) fn check_modifiers(&self, field: &FieldModel<'_>, errors: &mut Errors) {
        let Some((role, _)) = field.attrs.role else {
            return;
        };
        let fixed_key = matches!(
            role,
            Role::Email | Role::Unique | Role::Date | Role::Tags | Role::RemoveTags | Role::Skip
        );
        if let (Some(lit), true) = (&field.attrs.rename, fixed_key) {
            errors.at(
                lit.span(),
                format_args!(
                    "`rename` conflicts with `{}`: {}",
                    role.name(),
                    match role {
                        Role::Skip => "a skipped field has no key",
                        Role::Unique =>
                            "the de-duplication key is always written as `details.unique.key`",
                        _ => "that key is fixed by the API",
                    }
                ),
            );
        }
        if let (Some((_, span)), Role::Email | Role::Date | Role::Skip) =
            (&field.attrs.skip_if, role)
        {
            errors.at(
                *span,
                format_args!(
                    "`skip_if` conflicts with `{}`: {}",
                    role.name(),
                    match role {
                        Role::Email => "the email is always sent",
                        Role::Date => "use an `Option` to leave the date out",
                        _ => "the field is never written",
                    }
                ),
            );
        }
        if let (Some(span), false) = (
            field.attrs.flatten,
            matches!(role, Role::Detail | Role::Field),
        ) {
            errors.at(
                span,
                format_args!(
                    "`flatten` conflicts with `{}`: only a map of details or fields can be flattened",
                    role.name()
                ),
            );
        }
    }
}

/// Checks flatten-specific rules shared by both derives.
pub(crate) fn check_flatten_rename(field: &FieldModel<'_>, errors: &mut Errors) {
    if let (Some(_), Some(lit)) = (field.attrs.flatten, &field.attrs.rename) {
        errors.at(
            lit.span(),
            "`rename` conflicts with `flatten`: a flattened map's entries keep their own keys",
        );
    }
}

fn unraw(ident: &Ident) -> String {
    let name = ident.to_string();
    match name.strip_prefix("r#") {
        Some(raw) => raw.to_owned(),
        None => name,
    }
}

/// `T` when `ty` is written `Option<T>` (also `std::option::Option<T>` and
/// `core::option::Option<T>`), the way `#[serde_with::skip_serializing_none]`
/// recognises options.
pub(crate) fn option_inner(ty: &Type) -> Option<&Type> {
    let ty = ungroup(ty);
    let Type::Path(path) = ty else {
        return None;
    };
    if path.qself.is_some() {
        return None;
    }
    let segments: Vec<String> = path
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    let is_option = matches!(
        segments
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice(),
        ["Option"] | ["std" | "core", "option", "Option"]
    );
    if !is_option {
        return None;
    }
    let last = path.path.segments.last()?;
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first() {
        Some(syn::GenericArgument::Type(inner)) if args.args.len() == 1 => Some(inner),
        _ => None,
    }
}

fn ungroup(mut ty: &Type) -> &Type {
    while let Type::Group(group) = ty {
        ty = &group.elem;
    }
    ty
}

fn mentions_any(ty: &Type, params: &[String]) -> bool {
    if params.is_empty() {
        return false;
    }
    fn walk(tokens: TokenStream, params: &[String]) -> bool {
        tokens.into_iter().any(|tree| match tree {
            proc_macro2::TokenTree::Ident(ident) => params.iter().any(|p| ident == p),
            proc_macro2::TokenTree::Group(group) => walk(group.stream(), params),
            _ => false,
        })
    }
    walk(ty.to_token_stream(), params)
}

/// Whether `ty` names one of `lifetimes` (`'a`), anywhere inside.
fn mentions_lifetime(ty: &Type, lifetimes: &[String]) -> bool {
    if lifetimes.is_empty() {
        return false;
    }
    fn walk(tokens: TokenStream, lifetimes: &[String], after_quote: bool) -> bool {
        let mut quote = after_quote;
        for tree in tokens {
            match tree {
                proc_macro2::TokenTree::Punct(punct) if punct.as_char() == '\'' => quote = true,
                proc_macro2::TokenTree::Ident(ident) if quote => {
                    if lifetimes
                        .iter()
                        .any(|l| ident == l.trim_start_matches('\''))
                    {
                        return true;
                    }
                    quote = false;
                }
                proc_macro2::TokenTree::Group(group) => {
                    if walk(group.stream(), lifetimes, false) {
                        return true;
                    }
                    quote = false;
                }
                _ => quote = false,
            }
        }
        false
    }
    walk(ty.to_token_stream(), lifetimes, false)
}

fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let proc_macro2::TokenTree::Group(group) = &tree {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                tree = proc_macro2::TokenTree::Group(inner);
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}

/// The span to blame for a type requirement: the field's type.
pub(crate) fn type_span(ty: &Type) -> Span {
    ty.span()
}
