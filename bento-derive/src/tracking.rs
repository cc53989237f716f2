//! The tracking plan at compile time: events and subscriber records checked
//! against `bento-plan.toml` (see `bento_plan::Plan::find`), every problem on
//! its token, and the plan made an input of the crate so an edit rebuilds it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bento_plan::{Kind, Plan, PlanError, Spec, did_you_mean};
use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{GenericArgument, PathArguments, Type};

use crate::errors::Errors;
use crate::model::FieldModel;

/// The plan this crate is checked against, as read by this compiler process.
pub(crate) struct Loaded {
    path: PathBuf,
    plan: Arc<Result<Plan, PlanError>>,
}

type Cache = Option<(PathBuf, Option<SystemTime>, Arc<Result<Plan, PlanError>>)>;

/// Parsed once per compiler process (every derive in a crate shares it), and
/// again only when the file changed, for long-lived hosts such as
/// rust-analyzer's proc-macro server.
static CACHE: Mutex<Cache> = Mutex::new(None);

/// The plan for the crate being compiled, if it has one.
pub(crate) fn load() -> Option<Loaded> {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    if is_downloaded(&dir) {
        return None;
    }
    let path = Plan::find(&dir)?;
    let path = std::fs::canonicalize(&path).unwrap_or(path);
    let modified = std::fs::metadata(&path)
        .and_then(|meta| meta.modified())
        .ok();
    let mut cache = CACHE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((cached, at, plan)) = cache.as_ref()
        && *cached == path
        && *at == modified
    {
        return Some(Loaded {
            path,
            plan: Arc::clone(plan),
        });
    }
    let plan = Arc::new(Plan::load(&path));
    *cache = Some((path.clone(), modified, Arc::clone(&plan)));
    Some(Loaded { path, plan })
}

/// `include_plan!()`: the plan's text embedded (which also makes it an input
/// of the crate) and parsed at run time; it parsed here, so it parses there.
pub(crate) fn include_plan(input: TokenStream) -> TokenStream {
    if !input.is_empty() {
        return syn::Error::new_spanned(
            input,
            "include_plan!() takes no arguments: it reads the bento-plan.toml the derives use \
             (set BENTO_PLAN to point elsewhere)",
        )
        .into_compile_error();
    }
    let Some(loaded) = load() else {
        let message = "include_plan!(): no bento-plan.toml in this crate's folder or any folder \
                       above it; create one, or set BENTO_PLAN to its path";
        return quote!(::core::compile_error!(#message));
    };
    let mut errors = Errors::default();
    if loaded.plan(&mut errors).is_none() || !loaded.path.is_file() {
        if errors.is_empty() {
            errors.at(
                Span::call_site(),
                "include_plan!(): the tracking plan cannot be read",
            );
        }
        return errors.into_compile_errors();
    }
    let path = loaded.path.to_string_lossy();
    quote! {
        ::bento_core::__private::embedded_plan(::core::include_str!(#path))
    }
}

/// A crate cargo downloaded (crates.io, git) is someone else's: their events
/// are not the application's plan to judge, whatever `BENTO_PLAN` says.
fn is_downloaded(dir: &std::path::Path) -> bool {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    home.is_some_and(|home| {
        dir.starts_with(home.join("registry")) || dir.starts_with(home.join("git"))
    })
}

impl Loaded {
    /// `include_bytes!` of the plan, so that cargo rebuilds the crate when
    /// the plan changes (the file lands in rustc's dep-info; stable Rust has
    /// no other way for a proc macro to declare an input file).
    pub(crate) fn tracked(&self) -> TokenStream {
        // A `BENTO_PLAN` naming no file is reported as such by `plan`, not
        // a second time by `include_bytes!`.
        if !self.path.is_file() {
            return TokenStream::new();
        }
        let path = self.path.to_string_lossy();
        quote! {
            const _: &[u8] = ::core::include_bytes!(#path);
        }
    }

    /// The plan, when it parsed (the entry point reports when it did not).
    pub(crate) fn ok(&self) -> Option<&Plan> {
        self.plan.as_ref().as_ref().ok()
    }

    /// The plan, or `None` after reporting it is malformed: one error, naming
    /// the file and the first problem's line.
    pub(crate) fn plan(&self, errors: &mut Errors) -> Option<&Plan> {
        match self.plan.as_ref() {
            Ok(plan) => Some(plan),
            Err(error) => {
                let name = self.path.file_name().map_or_else(
                    || self.path.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                );
                let first = error.problems().first();
                let message = match first {
                    Some(problem) if problem.line > 0 => {
                        format!("{name}:{}: {}", problem.line, problem.message)
                    }
                    Some(problem) => format!("{name}: {}", problem.message),
                    None => format!("{name}: the tracking plan is malformed"),
                };
                errors.at(Span::call_site(), message);
                None
            }
        }
    }
}

/// What the derive knows of one event, for the plan.
pub(crate) struct EventShape<'m, 'a> {
    /// The event type, and the literal it was written in.
    pub(crate) name: &'m str,
    pub(crate) name_span: Span,
    pub(crate) fields: &'m [&'m FieldModel<'a>],
    pub(crate) details: &'m [&'m FieldModel<'a>],
}

/// What a member of `fields` or `details` is: its key, where it was written,
/// its type, and whether it may be left out of the JSON.
pub(crate) struct Member<'m> {
    pub(crate) key: &'m str,
    pub(crate) span: Span,
    pub(crate) ty: &'m Type,
    /// `#[bento(skip_if)]`: the key may be missing whatever the type.
    pub(crate) may_skip: bool,
    /// `#[bento(unique)]`: sent as `{"key": ..}`, an object.
    pub(crate) unique: bool,
    /// A flattened map: its keys are not known here.
    pub(crate) flattened: bool,
}

pub(crate) fn check_event(
    plan: &Plan,
    event: &EventShape<'_, '_>,
    member: impl for<'f> Fn(&'f FieldModel<'_>) -> Member<'f>,
    errors: &mut Errors,
) {
    let Some(planned) = plan.event(event.name) else {
        errors.at(
            event.name_span,
            format_args!(
                "event type `{}` is not in bento-plan.toml{}; add `[events.\"{}\"]` to the plan if it is new",
                event.name,
                did_you_mean(plan.suggest_event(event.name)),
                event.name
            ),
        );
        return;
    };
    for field in event.fields {
        let m = member(field);
        if m.flattened {
            continue;
        }
        match plan.field(m.key) {
            None => unknown_field(plan, &m, errors),
            Some(_) if !planned.allows_field(m.key) => errors.at(
                m.span,
                format_args!(
                    "event `{}` may not write field `{}`: bento-plan.toml lists its fields as [{}]",
                    event.name,
                    m.key,
                    planned.field_list().unwrap_or_default().join(", ")
                ),
            ),
            Some(spec) => check_kind(&m, spec, &format!("field `{}`", m.key), false, errors),
        }
    }
    if !planned.declares_details() {
        return;
    }
    let mut written = Vec::new();
    let mut open = false;
    for detail in event.details {
        let m = member(detail);
        if m.flattened {
            open = true;
            continue;
        }
        written.push(m.key.to_owned());
        match planned.detail(m.key) {
            None => errors.at(
                m.span,
                format_args!(
                    "event `{}` has no detail `{}` in bento-plan.toml{}",
                    event.name,
                    m.key,
                    match planned.suggest_detail(m.key) {
                        Some(close) => did_you_mean(Some(close)),
                        None => format!(
                            "; declare it in the event's `details` (`{} = \"{}\"`), or `#[bento(skip)]` the field",
                            m.key,
                            planned_kind_hint(m.ty)
                        ),
                    }
                ),
            ),
            Some(spec) => check_kind(&m, spec, &format!("detail `{}`", m.key), true, errors),
        }
    }
    if open {
        return;
    }
    for (key, spec) in planned.details() {
        if !spec.optional && !written.iter().any(|w| w == key) {
            errors.at(
                event.name_span,
                format_args!(
                    "event `{}` is missing detail `{key}` ({spec}), which bento-plan.toml requires: add a field for it, or write `{key} = \"{spec}?\"` in the plan",
                    event.name
                ),
            );
        }
    }
}

/// Custom fields of a subscriber record: each one declared, with its kind.
pub(crate) fn check_record<'m>(
    plan: &Plan,
    fields: impl Iterator<Item = Member<'m>>,
    errors: &mut Errors,
) {
    for m in fields {
        if m.flattened {
            continue;
        }
        match plan.field(m.key) {
            None => unknown_field(plan, &m, errors),
            Some(spec) => check_kind(&m, spec, &format!("field `{}`", m.key), false, errors),
        }
    }
}

fn unknown_field(plan: &Plan, m: &Member<'_>, errors: &mut Errors) {
    errors.at(
        m.span,
        format_args!(
            "field `{}` is not in bento-plan.toml's [fields]{}",
            m.key,
            match plan.suggest_field(m.key) {
                Some(close) => did_you_mean(Some(close)),
                None => format!(
                    "; add `{} = \"{}\"` to [fields] if it is new",
                    m.key,
                    planned_kind_hint(m.ty)
                ),
            }
        ),
    );
}

/// A kind error where the Rust type says so; types the macro cannot judge
/// (a user's own type, `serde_json::Value`, a generic) are accepted.
fn check_kind(m: &Member<'_>, spec: Spec, what: &str, required: bool, errors: &mut Errors) {
    let (optional, judged) = if m.unique {
        (option_inner(m.ty).is_some(), Some(Class::Object))
    } else {
        match option_inner(m.ty) {
            Some(inner) => (true, class(inner)),
            None => (false, class(m.ty)),
        }
    };
    if required && !spec.optional {
        if optional {
            errors.at(
                m.span,
                format_args!(
                    "{what} is an `Option`, but bento-plan.toml requires it ({spec}): drop the `Option`, or write `{} = \"{}?\"` in the plan",
                    m.key,
                    spec.kind.name()
                ),
            );
            return;
        }
        if m.may_skip {
            errors.at(
                m.span,
                format_args!(
                    "{what} has `skip_if`, but bento-plan.toml requires it ({spec}): drop `skip_if`, or write `{} = \"{}?\"` in the plan",
                    m.key,
                    spec.kind.name()
                ),
            );
            return;
        }
    }
    if let Some(class) = judged
        && !class.matches(spec.kind)
    {
        errors.at(
            crate::model::type_span(m.ty),
            format_args!(
                "{what} is {} in bento-plan.toml, but `{}` is sent as {}: use a Rust type sent as {}, or write `{} = \"{}\"` in the plan",
                spec.kind.name(),
                type_name(m.ty),
                class.describe(),
                spec.kind.name(),
                m.key,
                class.kind_name()
            ),
        );
    }
}

/// The kind to declare for a field of type `ty`, as the plan writes it.
fn planned_kind_hint(ty: &Type) -> &'static str {
    let (inner, optional) = match option_inner(ty) {
        Some(inner) => (inner, true),
        None => (ty, false),
    };
    match (class(inner), optional) {
        (Some(Class::String), false) => "string",
        (Some(Class::String), true) => "string?",
        (Some(Class::Number), false) => "number",
        (Some(Class::Number), true) => "number?",
        (Some(Class::Boolean), false) => "boolean",
        (Some(Class::Boolean), true) => "boolean?",
        (Some(Class::Array), false) => "array",
        (Some(Class::Array), true) => "array?",
        (Some(Class::Date), false) => "date",
        (Some(Class::Date), true) => "date?",
        (Some(Class::Object) | None, false) => "object",
        (Some(Class::Object) | None, true) => "object?",
    }
}

/// What JSON a Rust type is sent as, where the type says so.
#[derive(Clone, Copy)]
enum Class {
    String,
    Number,
    Boolean,
    Object,
    Array,
    /// A date type: sent as an ISO 8601 string.
    Date,
}

impl Class {
    fn matches(self, kind: Kind) -> bool {
        matches!(
            (self, kind),
            (Class::String, Kind::String | Kind::Date)
                | (Class::Date, Kind::Date | Kind::String)
                | (Class::Number, Kind::Number)
                | (Class::Boolean, Kind::Boolean)
                | (Class::Object, Kind::Object)
                | (Class::Array, Kind::Array)
        )
    }

    fn describe(self) -> &'static str {
        match self {
            Class::String => "a string",
            Class::Number => "a number",
            Class::Boolean => "a boolean",
            Class::Object => "an object",
            Class::Array => "an array",
            Class::Date => "a date",
        }
    }

    /// The plan's kind for what this type is sent as.
    fn kind_name(self) -> &'static str {
        match self {
            Class::String => "string",
            Class::Number => "number",
            Class::Boolean => "boolean",
            Class::Object => "object",
            Class::Array => "array",
            Class::Date => "date",
        }
    }
}

fn peel(mut ty: &Type) -> &Type {
    loop {
        ty = match ty {
            Type::Reference(r) => &r.elem,
            Type::Paren(p) => &p.elem,
            Type::Group(g) => &g.elem,
            _ => return ty,
        };
    }
}

fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match peel(ty) {
        Type::Path(path) if path.qself.is_none() => path.path.segments.last(),
        _ => None,
    }
}

fn first_type_argument(segment: &syn::PathSegment) -> Option<&Type> {
    match &segment.arguments {
        PathArguments::AngleBracketed(args) => args.args.iter().find_map(|arg| match arg {
            GenericArgument::Type(ty) => Some(ty),
            _ => None,
        }),
        _ => None,
    }
}

fn option_inner(ty: &Type) -> Option<&Type> {
    let segment = last_segment(ty)?;
    (segment.ident == "Option")
        .then(|| first_type_argument(segment))
        .flatten()
}

fn class(ty: &Type) -> Option<Class> {
    match peel(ty) {
        Type::Slice(_) | Type::Array(_) => return Some(Class::Array),
        _ => {}
    }
    let segment = last_segment(ty)?;
    let name = segment.ident.to_string();
    Some(match name.as_str() {
        "String" | "str" | "char" => Class::String,
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8" | "i16" | "i32" | "i64" | "i128"
        | "isize" | "f32" | "f64" | "NonZeroU8" | "NonZeroU16" | "NonZeroU32" | "NonZeroU64"
        | "NonZeroUsize" | "NonZeroI32" | "NonZeroI64" => Class::Number,
        "bool" => Class::Boolean,
        "Vec" | "VecDeque" | "HashSet" | "BTreeSet" => Class::Array,
        "HashMap" | "BTreeMap" | "Map" => Class::Object,
        "DateTime" | "NaiveDate" | "NaiveDateTime" | "OffsetDateTime" | "PrimitiveDateTime"
        | "UtcDateTime" => Class::Date,
        "Cow" | "Box" | "Arc" | "Rc" => return first_type_argument(segment).and_then(class),
        _ => return None,
    })
}

fn type_name(ty: &Type) -> String {
    quote!(#ty)
        .to_string()
        .replace(" < ", "<")
        .replace(" >", ">")
        .replace("& ", "&")
}
