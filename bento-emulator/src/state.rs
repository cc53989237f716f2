//! What the emulator remembers: subscribers, tags, fields, events, emails,
//! broadcasts and the seeded read-only resources, with Bento's semantics for
//! how events, imports and commands change them.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::SystemTime;

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use crate::time::rfc3339;

/// An event as the emulator received it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedEvent {
    /// The event type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The subscriber's email.
    pub email: String,
    /// Profile fields sent with it.
    pub fields: Map<String, Value>,
    /// Details stored on it.
    pub details: Map<String, Value>,
    /// The backfill date, if sent.
    pub date: Option<String>,
    /// When the emulator received it.
    pub received_at: String,
}

/// An event as kept in memory: what the emulator's own logic reads, and the
/// event's `fields` and `details` as the JSON text received, so that taking in
/// a batch builds no tree of values. [`RecordedEvent`]s are built from it on
/// inspection.
#[derive(Debug, Clone)]
pub(crate) struct StoredEvent {
    pub(crate) event_type: String,
    pub(crate) email: String,
    pub(crate) fields: Option<Box<RawValue>>,
    pub(crate) details: Option<Box<RawValue>>,
    pub(crate) date: Option<String>,
    pub(crate) received_at: String,
}

impl StoredEvent {
    pub(crate) fn from_record(event: RecordedEvent) -> Self {
        let raw = |map: Map<String, Value>| {
            (!map.is_empty())
                .then(|| serde_json::value::to_raw_value(&map).ok())
                .flatten()
        };
        Self {
            event_type: event.event_type,
            email: event.email,
            fields: raw(event.fields),
            details: raw(event.details),
            date: event.date,
            received_at: event.received_at,
        }
    }

    pub(crate) fn object(raw: Option<&RawValue>) -> Map<String, Value> {
        raw.and_then(|raw| serde_json::from_str(raw.get()).ok())
            .unwrap_or_default()
    }

    pub(crate) fn fields(&self) -> Map<String, Value> {
        Self::object(self.fields.as_deref())
    }

    pub(crate) fn to_record(&self) -> RecordedEvent {
        RecordedEvent {
            event_type: self.event_type.clone(),
            email: self.email.clone(),
            fields: self.fields(),
            details: Self::object(self.details.as_deref()),
            date: self.date.clone(),
            received_at: self.received_at.clone(),
        }
    }
}

/// A subscriber's current state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubscriberRecord {
    /// Record id.
    pub id: u64,
    /// UUID.
    pub uuid: String,
    /// Email address.
    pub email: String,
    /// Custom fields (first and last names included).
    pub fields: Map<String, Value>,
    /// Tag names.
    pub tags: Vec<String>,
    /// Whether subscribed.
    pub subscribed: bool,
    /// When unsubscribed, if so.
    pub unsubscribed_at: Option<String>,
    /// Creation time.
    pub created_at: String,
}

/// A transactional email the emulator accepted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SentEmail {
    /// Recipient.
    pub to: String,
    /// Sender.
    pub from: String,
    /// Subject.
    pub subject: String,
    /// HTML body.
    pub html_body: String,
    /// Transactional (true) or marketing.
    pub transactional: bool,
    /// Placeholder values.
    pub personalizations: Map<String, Value>,
    /// Carbon copies, comma-separated.
    pub cc: Option<String>,
    /// Blind carbon copies, comma-separated.
    pub bcc: Option<String>,
    /// When the emulator accepted it (RFC 3339).
    pub sent_at: String,
}

/// One request the emulator answered (or dropped).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestRecord {
    /// HTTP method.
    pub method: String,
    /// Path after `/api/v1/`.
    pub path: String,
    /// The status answered; 0 when the connection was dropped.
    pub status: u16,
    /// The User-Agent sent, if any.
    pub user_agent: Option<String>,
    /// Request body size in bytes.
    pub body_bytes: usize,
    /// How many items a batch request carried.
    pub items: Option<usize>,
    /// When it arrived (RFC 3339).
    pub at: String,
    /// How long the emulator took to answer, in milliseconds.
    pub latency_ms: u64,
    /// The emulator's error message, when it answered with an error.
    pub error: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Subscriber {
    pub(crate) id: u64,
    pub(crate) uuid: String,
    pub(crate) email: String,
    pub(crate) fields: Map<String, Value>,
    pub(crate) tag_ids: BTreeSet<u64>,
    pub(crate) unsubscribed_at: Option<String>,
    pub(crate) created_at: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Tag {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) created_at: String,
    pub(crate) discarded_at: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Field {
    pub(crate) id: u64,
    pub(crate) key: String,
    pub(crate) created_at: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Template {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) subject: String,
    pub(crate) html: String,
    pub(crate) created_at: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Sequence {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) created_at: String,
    pub(crate) template_ids: Vec<u64>,
}

#[derive(Debug, Clone)]
pub(crate) struct Workflow {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) status: &'static str,
    pub(crate) created_at: String,
    pub(crate) template_ids: Vec<u64>,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    next_id: u64,
    pub(crate) subscribers: Vec<Subscriber>,
    by_email: HashMap<String, usize>,
    pub(crate) tags: Vec<Tag>,
    pub(crate) fields: Vec<Field>,
    pub(crate) events: VecDeque<StoredEvent>,
    /// At most this many events are kept (the oldest are forgotten).
    pub(crate) event_limit: Option<usize>,
    pub(crate) emails: Vec<SentEmail>,
    pub(crate) broadcasts: Vec<Value>,
    pub(crate) templates: Vec<Template>,
    pub(crate) sequences: Vec<Sequence>,
    pub(crate) workflows: Vec<Workflow>,
    pub(crate) form_responses: Vec<(String, Value)>,
    pub(crate) requests: std::collections::VecDeque<RequestRecord>,
    pub(crate) request_limit: usize,
    /// Bumped by every request and reset, so the web UI knows when to refresh.
    pub(crate) version: u64,
    /// Subscriber commands applied: (email, what, when), as long as the request log.
    pub(crate) commands: VecDeque<(String, String, String)>,
    /// Saved segments.
    pub(crate) segments: Vec<crate::newer::SegmentDef>,
    /// Data deletion requests.
    pub(crate) deletions: crate::newer::Deletions,
    /// Chat.
    pub(crate) chat: crate::newer::Chat,
    /// When each segment's last match requests arrived, for its own limit
    /// (120 a minute per segment).
    pub(crate) segment_matches: std::collections::HashMap<u64, VecDeque<std::time::Instant>>,
    /// Imports accepted and not visible yet, with when they will be.
    pub(crate) pending_imports: VecDeque<(std::time::Instant, Vec<PendingImport>)>,
}

/// One record of a `POST /batch/subscribers` accepted under an import delay.
#[derive(Debug, Clone)]
pub(crate) struct PendingImport {
    pub(crate) email: String,
    pub(crate) tags: Vec<String>,
    pub(crate) remove_tags: Vec<String>,
    pub(crate) fields: serde_json::Map<String, Value>,
}

pub(crate) fn now() -> String {
    rfc3339(SystemTime::now())
}

fn normalize(email: &str) -> String {
    email.trim().to_ascii_lowercase()
}

impl State {
    pub(crate) fn seeded() -> Self {
        let mut state = Self::default();
        let welcome = state.add_template(
            "Welcome",
            "Welcome aboard",
            "<p>Hi {{ visitor.first_name }}</p>",
        );
        let tips = state.add_template("Tips", "Three tips for week one", "<p>Tips</p>");
        let id = state.id();
        state.sequences.push(Sequence {
            id,
            name: "Onboarding".into(),
            created_at: now(),
            template_ids: vec![welcome, tips],
        });
        let receipt = state.add_template("Receipt", "Thanks for your purchase", "<p>Receipt</p>");
        let id = state.id();
        state.workflows.push(Workflow {
            id,
            name: "Purchase follow-up".into(),
            status: "live",
            created_at: now(),
            template_ids: vec![receipt],
        });
        let id = state.id();
        state.workflows.push(Workflow {
            id,
            name: "Win-back".into(),
            status: "draft",
            created_at: now(),
            template_ids: vec![],
        });
        state.add_segment("Subscribed", json!({ "subscribed": true }));
        state.chat = crate::newer::Chat::seeded();
        state.form_responses.push((
            "contact".into(),
            json!({
                "browser": {"name": "Firefox"}, "date": now(), "details": {"message": "Hello!"},
                "fields": {"name": "Grace"}, "id": "resp_1", "identity": {"email": "grace@example.com"},
                "ip": "127.0.0.1", "location": {"country": "US"}, "page": {"url": "https://example.com/contact"},
                "site": {"name": "Emulated site"}, "type": "$form_submitted", "visit": {"id": "v1"}, "visitor": {"id": "u1"}
            }),
        ));
        state
    }

    /// Logs a command for the web UI's timeline, bounded like the request log.
    pub(crate) fn log_command(&mut self, email: &str, what: String) {
        if self.commands.len() >= self.request_limit.max(1) {
            self.commands.pop_front();
        }
        self.commands.push_back((normalize(email), what, now()));
    }

    /// Logs a request, forgetting the oldest beyond the limit.
    pub(crate) fn log_request(&mut self, record: RequestRecord) {
        self.version += 1;
        if self.requests.len() >= self.request_limit.max(1) {
            self.requests.pop_front();
        }
        self.requests.push_back(record);
    }

    pub(crate) fn reset(&mut self) {
        let (event_limit, request_limit) = (self.event_limit, self.request_limit);
        let version = self.version + 1;
        *self = Self::seeded();
        self.event_limit = event_limit;
        self.request_limit = request_limit;
        self.version = version;
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn add_template(&mut self, name: &str, subject: &str, html: &str) -> u64 {
        let id = self.id();
        self.templates.push(Template {
            id,
            name: name.into(),
            subject: subject.into(),
            html: html.into(),
            created_at: now(),
        });
        id
    }

    pub(crate) fn new_template(&mut self, name: &str, subject: &str, html: &str) -> u64 {
        self.add_template(name, subject, html)
    }

    pub(crate) fn template_mut(&mut self, id: u64) -> Option<&mut Template> {
        self.templates.iter_mut().find(|t| t.id == id)
    }

    pub(crate) fn find(&self, email: &str) -> Option<usize> {
        self.by_email.get(&normalize(email)).copied()
    }

    pub(crate) fn find_uuid(&self, uuid: &str) -> Option<usize> {
        self.subscribers.iter().position(|s| s.uuid == uuid)
    }

    /// The subscriber with `email`, created if new.
    pub(crate) fn upsert(&mut self, email: &str) -> usize {
        if let Some(index) = self.find(email) {
            return index;
        }
        let id = self.id();
        // Deterministic, UUID-shaped, and distinct per id.
        let mixed = splitmix(id) as u128 | ((splitmix(id ^ 0xA5A5) as u128) << 64);
        self.subscribers.push(Subscriber {
            id,
            uuid: format!("{mixed:032x}"),
            email: email.trim().to_owned(),
            fields: Map::new(),
            tag_ids: BTreeSet::new(),
            unsubscribed_at: None,
            created_at: now(),
        });
        let index = self.subscribers.len() - 1;
        self.by_email.insert(normalize(email), index);
        index
    }

    pub(crate) fn tag_id(&mut self, name: &str) -> u64 {
        if let Some(tag) = self
            .tags
            .iter()
            .find(|t| t.name == name && t.discarded_at.is_none())
        {
            return tag.id;
        }
        let id = self.id();
        self.tags.push(Tag {
            id,
            name: name.to_owned(),
            created_at: now(),
            discarded_at: None,
        });
        id
    }

    pub(crate) fn field_id(&mut self, key: &str) -> u64 {
        if let Some(field) = self.fields.iter().find(|f| f.key == key) {
            return field.id;
        }
        let id = self.id();
        self.fields.push(Field {
            id,
            key: key.to_owned(),
            created_at: now(),
        });
        id
    }

    pub(crate) fn set_fields(&mut self, index: usize, fields: &Map<String, Value>) {
        for (key, value) in fields {
            self.field_id(key);
            self.subscribers[index]
                .fields
                .insert(key.clone(), value.clone());
        }
    }

    pub(crate) fn remove_field(&mut self, index: usize, key: &str) {
        self.subscribers[index].fields.remove(key);
    }

    pub(crate) fn add_tag(&mut self, index: usize, name: &str) {
        let id = self.tag_id(name);
        self.subscribers[index].tag_ids.insert(id);
    }

    pub(crate) fn remove_tag(&mut self, index: usize, name: &str) {
        let ids: Vec<u64> = self
            .tags
            .iter()
            .filter(|t| t.name == name)
            .map(|t| t.id)
            .collect();
        for id in ids {
            self.subscribers[index].tag_ids.remove(&id);
        }
    }

    pub(crate) fn delete_tag(&mut self, id: u64) -> bool {
        let Some(tag) = self
            .tags
            .iter_mut()
            .find(|t| t.id == id && t.discarded_at.is_none())
        else {
            return false;
        };
        tag.discarded_at = Some(now());
        for subscriber in &mut self.subscribers {
            subscriber.tag_ids.remove(&id);
        }
        true
    }

    /// Restores a discarded tag (subscribers do not get it back).
    pub(crate) fn restore_tag(&mut self, id: u64) {
        if let Some(tag) = self.tags.iter_mut().find(|t| t.id == id) {
            tag.discarded_at = None;
        }
    }

    pub(crate) fn set_subscribed(&mut self, index: usize, subscribed: bool) {
        let subscriber = &mut self.subscribers[index];
        match (subscribed, &subscriber.unsubscribed_at) {
            (true, _) => subscriber.unsubscribed_at = None,
            (false, None) => subscriber.unsubscribed_at = Some(now()),
            (false, Some(_)) => {}
        }
    }

    /// Anonymizes the subscriber `email` as a data deletion does: its
    /// address becomes `deleted-<id>@anonymized.invalid`, its fields and
    /// tags go, and its events and emails lose the address. No-op for an
    /// unknown email.
    pub(crate) fn anonymize(&mut self, email: &str) {
        let Some(index) = self.find(email) else {
            return;
        };
        let key = normalize(email);
        let stand_in = format!("deleted-{}@anonymized.invalid", self.subscribers[index].id);
        self.by_email.remove(&key);
        self.by_email.insert(normalize(&stand_in), index);
        let subscriber = &mut self.subscribers[index];
        subscriber.email = stand_in.clone();
        subscriber.fields.clear();
        subscriber.tag_ids.clear();
        for event in &mut self.events {
            if normalize(&event.email) == key {
                event.email = stand_in.clone();
                event.fields = None;
                event.details = None;
            }
        }
        for sent in &mut self.emails {
            if normalize(&sent.to) == key {
                sent.to = stand_in.clone();
            }
        }
        for conversation in &mut self.chat.conversations {
            if normalize(&conversation.contact_email) == key {
                conversation.contact_email = stand_in.clone();
            }
        }
        for contact in &mut self.chat.contacts {
            if normalize(&contact.email) == key {
                contact.email = stand_in.clone();
                contact.name.clear();
            }
        }
    }

    /// Moves a subscriber to a new address; `false` if the new one is taken.
    pub(crate) fn change_email(&mut self, index: usize, new_email: &str) -> bool {
        if let Some(other) = self.find(new_email) {
            return other == index;
        }
        let old = normalize(&self.subscribers[index].email);
        self.by_email.remove(&old);
        self.by_email.insert(normalize(new_email), index);
        self.subscribers[index].email = new_email.trim().to_owned();
        true
    }

    /// Applies an event as Bento does: creates the subscriber, writes fields,
    /// and honours the built-in event types.
    pub(crate) fn record_event(&mut self, event: StoredEvent) {
        let index = self.upsert(&event.email);
        if event.fields.is_some() {
            self.set_fields(index, &event.fields());
        }
        let builtin = matches!(
            event.event_type.as_str(),
            "$subscribe" | "$unsubscribe" | "$tag" | "$remove_tag"
        );
        let tag = builtin
            .then(|| StoredEvent::object(event.details.as_deref()))
            .and_then(|details| {
                details
                    .get("tag")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            });
        match event.event_type.as_str() {
            "$subscribe" => self.set_subscribed(index, true),
            "$unsubscribe" => self.set_subscribed(index, false),
            "$tag" => {
                if let Some(tag) = tag {
                    self.add_tag(index, &tag)
                }
            }
            "$remove_tag" => {
                if let Some(tag) = tag {
                    self.remove_tag(index, &tag)
                }
            }
            _ => {}
        }
        self.events.push_back(event);
        if self
            .event_limit
            .is_some_and(|limit| self.events.len() > limit)
        {
            self.events.pop_front();
        }
    }

    pub(crate) fn tag_names(&self, subscriber: &Subscriber) -> Vec<String> {
        subscriber
            .tag_ids
            .iter()
            .filter_map(|id| {
                self.tags
                    .iter()
                    .find(|t| t.id == *id)
                    .map(|t| t.name.clone())
            })
            .collect()
    }

    pub(crate) fn record(&self, subscriber: &Subscriber) -> SubscriberRecord {
        SubscriberRecord {
            id: subscriber.id,
            uuid: subscriber.uuid.clone(),
            email: subscriber.email.clone(),
            fields: subscriber.fields.clone(),
            tags: self.tag_names(subscriber),
            subscribed: subscriber.unsubscribed_at.is_none(),
            unsubscribed_at: subscriber.unsubscribed_at.clone(),
            created_at: subscriber.created_at.clone(),
        }
    }
}

fn splitmix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, email: &str, fields: Value, details: Value) -> StoredEvent {
        StoredEvent::from_record(RecordedEvent {
            event_type: kind.into(),
            email: email.into(),
            fields: fields.as_object().cloned().unwrap_or_default(),
            details: details.as_object().cloned().unwrap_or_default(),
            date: None,
            received_at: now(),
        })
    }

    #[test]
    fn events_create_subscribers_and_apply_builtins() {
        let mut state = State::seeded();
        state.record_event(event(
            "account.signup",
            "Ada@Example.com",
            json!({"first_name": "Ada"}),
            json!({}),
        ));
        let index = state.find("ada@example.com").expect("created");
        assert_eq!(state.subscribers[index].fields["first_name"], "Ada");
        assert!(state.fields.iter().any(|f| f.key == "first_name"));
        state.record_event(event(
            "$tag",
            "ada@example.com",
            json!({}),
            json!({"tag": "vip"}),
        ));
        state.record_event(event(
            "$unsubscribe",
            "ada@example.com",
            json!({}),
            json!({}),
        ));
        let record = state.record(&state.subscribers[index]);
        assert_eq!(record.tags, vec!["vip"]);
        assert!(!record.subscribed);
        state.record_event(event(
            "$remove_tag",
            "ada@example.com",
            json!({}),
            json!({"tag": "vip"}),
        ));
        assert!(state.record(&state.subscribers[index]).tags.is_empty());
    }

    #[test]
    fn change_email_keeps_the_record_and_refuses_taken_addresses() {
        let mut state = State::seeded();
        let a = state.upsert("a@example.com");
        state.upsert("b@example.com");
        assert!(!state.change_email(a, "b@example.com"));
        assert!(state.change_email(a, "c@example.com"));
        assert_eq!(state.find("c@example.com"), Some(a));
        assert_eq!(state.find("a@example.com"), None);
    }

    #[test]
    fn uuids_are_distinct() {
        let mut state = State::default();
        let a = state.upsert("a@example.com");
        let b = state.upsert("b@example.com");
        assert_ne!(state.subscribers[a].uuid, state.subscribers[b].uuid);
        assert_eq!(state.subscribers[a].uuid.len(), 32);
    }
}
