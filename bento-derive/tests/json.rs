//! Exact JSON for every attribute and their combinations: what the derives
//! produce is compared with what Bento's API expects, byte for byte where the
//! order matters.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, UNIX_EPOCH};

use bento_core::convert::Timestamp;
use bento_core::{BentoEvent, BentoSubscriber, ValidationError};
use serde::Serialize;
use serde_json::{Value, json};

fn event_json<E: BentoEvent>(event: &E) -> String {
    String::from_utf8(bento_core::events::to_vec(event).unwrap()).unwrap()
}

fn event_value<E: BentoEvent>(event: &E) -> Value {
    serde_json::from_str(&event_json(event)).unwrap()
}

fn record_json<S: BentoSubscriber>(record: &S) -> String {
    String::from_utf8(bento_core::subscribers::to_vec(record).unwrap()).unwrap()
}

#[derive(BentoEvent)]
#[bento(event = "account.signup")]
struct Signup {
    email: String,
}

#[test]
fn minimal_event_has_only_type_and_email() {
    let json = event_json(&Signup {
        email: "ada@example.com".into(),
    });
    assert_eq!(
        json,
        r#"{"type":"account.signup","email":"ada@example.com"}"#
    );
}

#[derive(Serialize)]
struct Money {
    currency: &'static str,
    amount: u64,
}

#[derive(Serialize)]
struct Item {
    product_sku: &'static str,
    quantity: u32,
}

#[derive(Serialize)]
struct Cart {
    items: Vec<Item>,
}

fn money() -> Money {
    Money {
        currency: "USD",
        amount: 8000,
    }
}

fn cart() -> Cart {
    Cart {
        items: vec![Item {
            product_sku: "SKU1",
            quantity: 2,
        }],
    }
}

#[derive(BentoEvent)]
#[bento(event = "$purchase")]
struct Purchase<'a> {
    email: &'a str,
    #[bento(field)]
    first_name: &'a str,
    #[bento(unique)]
    order_id: String,
    value: Money,
    cart: Cart,
}

#[test]
fn purchase_matches_the_documented_shape_in_declaration_order() {
    let purchase = Purchase {
        email: "ada@example.com",
        first_name: "Ada",
        order_id: "ord_1".into(),
        value: money(),
        cart: cart(),
    };
    assert_eq!(
        event_json(&purchase),
        concat!(
            r#"{"type":"$purchase","email":"ada@example.com","fields":{"first_name":"Ada"},"#,
            r#""details":{"unique":{"key":"ord_1"},"value":{"currency":"USD","amount":8000},"#,
            r#""cart":{"items":[{"product_sku":"SKU1","quantity":2}]}}}"#
        )
    );
}

/// Issue 19: one enum of events, each variant with the attributes of a struct.
#[derive(BentoEvent)]
#[bento(rename_all = "snake_case")]
enum ShopEvent<'a> {
    #[bento(event = "account.signup")]
    Signup {
        email: &'a str,
        #[bento(field)]
        first_name: &'a str,
        source: &'a str,
    },
    #[bento(event = "$purchase")]
    Purchase {
        email: &'a str,
        #[bento(field)]
        first_name: &'a str,
        #[bento(unique)]
        order_id: String,
        value: Money,
        cart: Cart,
    },
    #[bento(event = "plan.cancelled")]
    Cancelled {
        #[bento(email)]
        who: String,
        #[bento(date)]
        at: Option<Timestamp>,
        #[bento(skip)]
        internal: u32,
        #[bento(rename = "why")]
        reason: Option<&'a str>,
    },
}

#[test]
fn each_variant_serializes_as_its_struct_would() {
    let purchase = ShopEvent::Purchase {
        email: "ada@example.com",
        first_name: "Ada",
        order_id: "ord_1".into(),
        value: money(),
        cart: cart(),
    };
    let as_struct = Purchase {
        email: "ada@example.com",
        first_name: "Ada",
        order_id: "ord_1".into(),
        value: money(),
        cart: cart(),
    };
    assert_eq!(event_json(&purchase), event_json(&as_struct));
    let signup = ShopEvent::Signup {
        email: "grace@example.com",
        first_name: "Grace",
        source: "ads",
    };
    assert_eq!(
        event_json(&signup),
        concat!(
            r#"{"type":"account.signup","email":"grace@example.com","#,
            r#""fields":{"first_name":"Grace"},"details":{"source":"ads"}}"#
        )
    );
    let cancelled = ShopEvent::Cancelled {
        who: "alan@example.com".into(),
        at: Some(Timestamp::parse("2024-05-01T12:00:00Z").unwrap()),
        internal: 7,
        reason: None,
    };
    let value = event_value(&cancelled);
    assert_eq!(value["type"], "plan.cancelled");
    assert_eq!(value["email"], "alan@example.com");
    assert!(value["date"].is_string(), "{value}");
    assert!(value.get("fields").is_none(), "{value}");
    assert!(value.get("details").is_none(), "{value}");
    assert_eq!(signup.event_type(), "account.signup");
}

#[test]
fn event_types_are_constants() {
    assert_eq!(
        ShopEvent::EVENT_TYPES,
        ["account.signup", "$purchase", "plan.cancelled"]
    );
    assert_eq!(Purchase::EVENT_TYPE, "$purchase");
    assert_eq!(Signup::EVENT_TYPE, "account.signup");
    const SIGNUP: &str = Signup::EVENT_TYPE;
    assert_eq!(SIGNUP, "account.signup");
}

#[derive(BentoEvent)]
#[bento(event = "plan.changed")]
struct Options {
    email: String,
    #[bento(field)]
    plan: Option<String>,
    #[bento(field)]
    seats: Option<u32>,
    reason: Option<String>,
    #[bento(unique)]
    change_id: Option<u64>,
    #[bento(date)]
    date: Option<Timestamp>,
}

#[test]
fn none_is_left_out_and_empty_objects_vanish() {
    let none = Options {
        email: "a@example.com".into(),
        plan: None,
        seats: None,
        reason: None,
        change_id: None,
        date: None,
    };
    assert_eq!(
        event_json(&none),
        r#"{"type":"plan.changed","email":"a@example.com"}"#
    );
    let some = Options {
        email: "a@example.com".into(),
        plan: Some("pro".into()),
        seats: None,
        reason: Some("growth".into()),
        change_id: Some(7),
        date: Some(Timestamp::parse("2024-05-01T12:00:00Z").unwrap()),
    };
    assert_eq!(
        event_json(&some),
        concat!(
            r#"{"type":"plan.changed","email":"a@example.com","fields":{"plan":"pro"},"#,
            r#""details":{"reason":"growth","unique":{"key":7}},"date":"2024-05-01T12:00:00Z"}"#
        )
    );
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(BentoEvent)]
#[bento(event = "team.updated", rename_all = "snake_case")]
#[allow(non_snake_case)]
struct Renamed {
    #[bento(email)]
    contactEmail: String,
    #[bento(field)]
    companyName: String,
    #[bento(field, rename = "tier")]
    planTier: String,
    #[bento(detail, rename = "members")]
    memberCount: u32,
    #[bento(skip_if = "is_zero")]
    invitesSent: u32,
    #[bento(skip)]
    #[allow(dead_code)]
    internalNote: String,
    r#type: &'static str,
}

#[test]
fn rename_rename_all_skip_and_skip_if() {
    let renamed = Renamed {
        contactEmail: "a@example.com".into(),
        companyName: "Acme".into(),
        planTier: "gold".into(),
        memberCount: 3,
        invitesSent: 0,
        internalNote: "never sent".into(),
        r#type: "team",
    };
    assert_eq!(
        event_json(&renamed),
        concat!(
            r#"{"type":"team.updated","email":"a@example.com","#,
            r#""fields":{"company_name":"Acme","tier":"gold"},"details":{"members":3,"type":"team"}}"#
        )
    );
    let invited = Renamed {
        invitesSent: 2,
        ..renamed
    };
    assert_eq!(event_value(&invited)["details"]["invites_sent"], 2);
}

#[derive(BentoEvent)]
#[bento(event = "page.view", rename_all = "lowercase")]
#[allow(non_snake_case)]
struct Lowercase {
    email: String,
    pageTitle: String,
}

#[test]
fn rename_all_lowercase() {
    let event = Lowercase {
        email: "a@example.com".into(),
        pageTitle: "Home".into(),
    };
    assert_eq!(event_value(&event)["details"], json!({"pagetitle": "Home"}));
}

#[derive(BentoEvent)]
#[bento(event = "import.row")]
struct Flattened {
    email: String,
    #[bento(field, flatten)]
    profile: BTreeMap<String, Value>,
    source: &'static str,
    #[bento(flatten)]
    extra: HashMap<String, u32>,
}

#[test]
fn flatten_merges_maps_and_checks_their_keys() {
    let event = Flattened {
        email: "a@example.com".into(),
        profile: BTreeMap::from([
            ("city".to_owned(), json!("Paris")),
            ("age".to_owned(), json!(36)),
        ]),
        source: "csv",
        extra: HashMap::from([("row".to_owned(), 4)]),
    };
    assert_eq!(
        event_json(&event),
        concat!(
            r#"{"type":"import.row","email":"a@example.com","fields":{"age":36,"city":"Paris"},"#,
            r#""details":{"source":"csv","row":4}}"#
        )
    );

    let empty = Flattened {
        profile: BTreeMap::new(),
        extra: HashMap::new(),
        ..event
    };
    assert_eq!(
        event_json(&empty),
        r#"{"type":"import.row","email":"a@example.com","details":{"source":"csv"}}"#
    );

    let clash = Flattened {
        extra: HashMap::from([("source".to_owned(), 1)]),
        ..empty
    };
    match bento_core::events::to_vec(&clash) {
        Err(ValidationError::InvalidKey { field, key, .. }) => {
            assert_eq!((field.as_str(), key.as_str()), ("event.extra", "source"));
        }
        other => panic!("expected InvalidKey, got {other:?}"),
    }
    let blank = Flattened {
        extra: HashMap::from([(" ".to_owned(), 1)]),
        ..clash
    };
    assert!(matches!(
        bento_core::events::to_vec(&blank),
        Err(ValidationError::InvalidKey { reason, .. }) if reason == "is empty"
    ));
}

#[derive(BentoEvent)]
#[bento(event = "$backfill")]
struct Dated<D> {
    email: String,
    #[bento(date)]
    at: D,
}

#[test]
fn dates_from_every_supported_type() {
    let at = UNIX_EPOCH + Duration::from_secs(1_714_564_800);
    let expect = |json: String| {
        let value: Value = serde_json::from_str(&json).unwrap();
        value["date"].as_str().unwrap().to_owned()
    };
    let email = || "a@example.com".to_owned();
    assert_eq!(
        expect(event_json(&Dated { email: email(), at })),
        "2024-05-01T12:00:00Z"
    );
    assert_eq!(
        expect(event_json(&Dated {
            email: email(),
            at: "2024-05-01T14:00:00+02:00"
        })),
        "2024-05-01T14:00:00+02:00"
    );
    assert_eq!(
        expect(event_json(&Dated {
            email: email(),
            at: chrono::DateTime::from_timestamp(1_714_564_800, 0).unwrap()
        })),
        "2024-05-01T12:00:00Z"
    );
    let offset = chrono::FixedOffset::east_opt(3600).unwrap();
    assert_eq!(
        expect(event_json(&Dated {
            email: email(),
            at: chrono::DateTime::from_timestamp(1_714_564_800, 0)
                .unwrap()
                .with_timezone(&offset)
        })),
        "2024-05-01T13:00:00+01:00"
    );
    assert_eq!(
        expect(event_json(&Dated {
            email: email(),
            at: time::OffsetDateTime::from_unix_timestamp(1_714_564_800).unwrap()
        })),
        "2024-05-01T12:00:00Z"
    );
    match bento_core::events::to_vec(&Dated {
        email: email(),
        at: "yesterday",
    }) {
        Err(ValidationError::InvalidDate { field, source }) => {
            assert_eq!(field, "event.date");
            assert_eq!(source.value(), "yesterday");
        }
        other => panic!("expected InvalidDate, got {other:?}"),
    }
}

#[derive(BentoEvent)]
#[bento(event = "generic.thing")]
struct Generic<'a, T, E> {
    #[bento(email)]
    who: E,
    payload: T,
    label: Option<&'a str>,
}

#[test]
fn generics_and_lifetimes_get_inferred_bounds() {
    let event = Generic {
        who: "a@example.com",
        payload: vec![1, 2],
        label: Some("x"),
    };
    assert_eq!(
        event_value(&event)["details"],
        json!({"payload": [1, 2], "label": "x"})
    );
}

/// Issue 19: a borrowed and a `'static` field of the same type made the
/// where clause ambiguous (E0283).
#[derive(BentoEvent)]
#[bento(event = "plan.changed")]
struct PlanChanged<'a> {
    email: &'a str,
    from: &'a str,
    to: &'static str,
    #[bento(field)]
    plan: &'static str,
    seats: Option<&'a u32>,
}

#[test]
fn borrowed_and_static_fields_of_one_type_mix() {
    let seats = 3;
    let event = PlanChanged {
        email: "a@example.com",
        from: "free",
        to: "pro",
        plan: "pro",
        seats: Some(&seats),
    };
    let value = event_value(&event);
    assert_eq!(
        value["details"],
        json!({"from": "free", "to": "pro", "seats": 3})
    );
    assert_eq!(value["fields"], json!({"plan": "pro"}));
}

#[derive(BentoEvent)]
#[bento(event = "wrapped", bound = "T: serde::Serialize + Clone")]
struct Bounded<T> {
    email: String,
    inner: Vec<T>,
}

#[test]
fn bound_replaces_the_inferred_bounds() {
    let event = Bounded {
        email: "a@example.com".into(),
        inner: vec!["x"],
    };
    assert_eq!(event_value(&event)["details"], json!({"inner": ["x"]}));
}

mod reexport {
    pub(crate) use bento_core as bento;
}

#[derive(BentoEvent)]
#[bento(crate = "reexport::bento", event = "via.reexport")]
struct ThroughReexport {
    email: String,
}

#[test]
fn crate_attribute_redirects_the_runtime_path() {
    let json = event_json(&ThroughReexport {
        email: "a@example.com".into(),
    });
    assert_eq!(json, r#"{"type":"via.reexport","email":"a@example.com"}"#);
}

#[test]
fn invalid_email_is_a_typed_error() {
    let bad = Signup {
        email: "not-an-email".into(),
    };
    assert!(matches!(
        bento_core::events::to_vec(&bad),
        Err(ValidationError::InvalidEmail { field, .. }) if field == "event.email"
    ));
}

#[derive(BentoSubscriber)]
struct Member<'a> {
    email: &'a str,
    first_name: Option<&'a str>,
    last_name: Option<&'a str>,
    tags: Vec<String>,
    #[bento(remove_tags)]
    drop_tags: &'a [&'a str],
    plan: &'a str,
    #[bento(rename = "company")]
    employer: Option<String>,
    #[bento(skip)]
    #[allow(dead_code)]
    password_hash: &'a str,
    #[bento(flatten)]
    custom: BTreeMap<String, Value>,
}

#[test]
fn subscriber_record_is_flat() {
    let member = Member {
        email: "ada@example.com",
        first_name: Some("Ada"),
        last_name: None,
        tags: vec!["lead".into(), "mql".into()],
        drop_tags: &["prospect"],
        plan: "pro",
        employer: Some("Acme".into()),
        password_hash: "secret",
        custom: BTreeMap::from([("score".to_owned(), json!(42))]),
    };
    assert_eq!(
        record_json(&member),
        concat!(
            r#"{"email":"ada@example.com","first_name":"Ada","tags":"lead,mql","#,
            r#""remove_tags":"prospect","plan":"pro","company":"Acme","score":42}"#
        )
    );

    let bare = Member {
        first_name: None,
        tags: Vec::new(),
        drop_tags: &[],
        employer: None,
        custom: BTreeMap::new(),
        ..member
    };
    assert_eq!(
        record_json(&bare),
        r#"{"email":"ada@example.com","plan":"pro"}"#
    );
}

#[test]
fn subscriber_checks_tags_and_flattened_keys() {
    let member = Member {
        email: "ada@example.com",
        first_name: None,
        last_name: None,
        tags: vec!["a,b".into()],
        drop_tags: &[],
        plan: "pro",
        employer: None,
        password_hash: "",
        custom: BTreeMap::new(),
    };
    match bento_core::subscribers::to_vec(&member) {
        Err(ValidationError::TagContainsComma { field, tag }) => {
            assert_eq!((field.as_str(), tag.as_str()), ("subscriber.tags", "a,b"));
        }
        other => panic!("expected TagContainsComma, got {other:?}"),
    }
    let clash = Member {
        tags: Vec::new(),
        custom: BTreeMap::from([("email".to_owned(), json!("b@example.com"))]),
        ..member
    };
    assert!(matches!(
        bento_core::subscribers::to_vec(&clash),
        Err(ValidationError::InvalidKey { key, .. }) if key == "email"
    ));
}

#[derive(BentoSubscriber)]
#[bento(rename_all = "snake_case")]
#[allow(non_snake_case)]
struct Imported {
    #[bento(email)]
    Email: String,
    #[bento(tags)]
    Labels: [&'static str; 2],
    FirstName: String,
    #[bento(skip_if = "Option::is_none")]
    Score: Option<u8>,
}

#[test]
fn subscriber_rename_all_and_marked_roles() {
    let record = Imported {
        Email: "a@example.com".into(),
        Labels: ["x", "y"],
        FirstName: "Ada".into(),
        Score: None,
    };
    assert_eq!(
        record_json(&record),
        r#"{"email":"a@example.com","tags":"x,y","first_name":"Ada"}"#
    );
}
