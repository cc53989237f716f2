//! What the emulator remembers for the operations of Bento's 2026 spec:
//! segments (and which subscribers they select), data deletion requests
//! (and the anonymization they lead to), and Chat (inboxes, contacts,
//! conversations, messages).

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};

use crate::state::{State, Subscriber, now};

/// A saved segment. Bento does not document its query language, so the
/// emulator defines one: a JSON object whose members must all hold for a
/// subscriber to match: `"tags": ["vip", ..]` (has every tag),
/// `"fields": {"plan": "pro", ..}` (each field equal), `"subscribed": true`
/// (or `false`). An empty object selects everyone.
#[derive(Debug, Clone)]
pub(crate) struct SegmentDef {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) query: Value,
    pub(crate) created_at: String,
}

/// A data deletion request, as the inspection API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeletionRecord {
    /// The email whose deletion was asked.
    pub email: String,
    /// When it was asked (RFC 3339).
    pub requested_at: String,
    /// When the subscriber was anonymized, once done.
    pub anonymized_at: Option<String>,
}

/// Deletions accepted but not yet carried out.
#[derive(Debug, Default)]
pub(crate) struct Deletions {
    pub(crate) records: Vec<DeletionRecord>,
    pub(crate) due: Vec<(usize, Instant)>,
    /// The UTC day (`YYYY-MM-DD`) and how many requests it took.
    pub(crate) today: (String, u32),
}

impl SegmentDef {
    /// Whether `subscriber` is selected, given the account's tag names.
    pub(crate) fn matches(
        &self,
        subscriber: &Subscriber,
        tag_name: impl Fn(u64) -> String,
    ) -> bool {
        let Some(query) = self.query.as_object() else {
            return false;
        };
        if let Some(tags) = query.get("tags").and_then(Value::as_array) {
            let has: Vec<String> = subscriber.tag_ids.iter().map(|id| tag_name(*id)).collect();
            if !tags
                .iter()
                .filter_map(Value::as_str)
                .all(|tag| has.iter().any(|h| h.eq_ignore_ascii_case(tag)))
            {
                return false;
            }
        }
        if let Some(fields) = query.get("fields").and_then(Value::as_object)
            && !fields
                .iter()
                .all(|(key, value)| subscriber.fields.get(key) == Some(value))
        {
            return false;
        }
        if let Some(subscribed) = query.get("subscribed").and_then(Value::as_bool)
            && subscribed != subscriber.unsubscribed_at.is_none()
        {
            return false;
        }
        true
    }

    pub(crate) fn json(&self) -> Value {
        let mut segment = json!({
            "id": self.id.to_string(), "type": "segments",
            "attributes": {
                "name": self.name,
                "visitor_event_query": self.query,
                "created_at": self.created_at, "updated_at": self.created_at,
            }
        });
        // The spec's `description` is a string: a segment without one has none.
        if let Some(description) = &self.description {
            segment["attributes"]["description"] = json!(description);
        }
        segment
    }
}

/// Chat's state.
#[derive(Debug, Default)]
pub(crate) struct Chat {
    pub(crate) inboxes: Vec<ChatInbox>,
    pub(crate) contacts: Vec<ChatContact>,
    pub(crate) conversations: Vec<Conversation>,
    next_message: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct ChatInbox {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) channel_type: String,
    pub(crate) email: String,
}

#[derive(Debug, Clone)]
pub(crate) struct ChatContact {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) email: String,
}

/// A conversation and its messages.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conversation {
    /// Its display id.
    pub id: u64,
    /// The contact's email.
    pub contact_email: String,
    /// Its inbox's id.
    pub inbox_id: u64,
    /// `open`, `resolved`, `pending` or `snoozed`.
    pub status: String,
    /// The subject, for an email inbox.
    pub subject: Option<String>,
    /// Its messages, oldest first.
    pub messages: Vec<ChatMessage>,
}

/// A message of a [`Conversation`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatMessage {
    /// Its id.
    pub id: u64,
    /// Its text.
    pub content: String,
    /// `incoming` or `outgoing`.
    pub message_type: String,
    /// A private note.
    pub private: bool,
    /// When it was written.
    pub created_at: String,
}

/// The statuses a conversation may have.
pub(crate) const STATUSES: [&str; 4] = ["open", "resolved", "pending", "snoozed"];

impl Chat {
    pub(crate) fn seeded() -> Self {
        Self {
            inboxes: vec![
                ChatInbox {
                    id: 1,
                    name: "Support".into(),
                    channel_type: "Channel::Email".into(),
                    email: "support@emulated.test".into(),
                },
                ChatInbox {
                    id: 2,
                    name: "Website".into(),
                    channel_type: "Channel::WebWidget".into(),
                    email: String::new(),
                },
            ],
            ..Self::default()
        }
    }

    pub(crate) fn inbox_json(inbox: &ChatInbox) -> Value {
        json!({
            "id": inbox.id, "name": inbox.name, "channel_type": inbox.channel_type,
            "email": inbox.email, "greeting_enabled": false, "greeting_message": "",
            "timezone": "UTC",
        })
    }

    pub(crate) fn contact(&mut self, email: &str, name: Option<&str>) -> ChatContact {
        if let Some(found) = self
            .contacts
            .iter()
            .find(|c| c.email.eq_ignore_ascii_case(email))
        {
            return found.clone();
        }
        let contact = ChatContact {
            id: self.contacts.len() as u64 + 1,
            name: name.unwrap_or_default().to_owned(),
            email: email.trim().to_owned(),
        };
        self.contacts.push(contact.clone());
        contact
    }

    pub(crate) fn contact_json(contact: &ChatContact) -> Value {
        json!({ "id": contact.id, "name": contact.name, "email": contact.email, "phone_number": "" })
    }

    pub(crate) fn find(&mut self, id: u64) -> Option<&mut Conversation> {
        self.conversations.iter_mut().find(|c| c.id == id)
    }

    /// A new message in `conversation`.
    pub(crate) fn message(&mut self, content: &str, incoming: bool, private: bool) -> ChatMessage {
        self.next_message += 1;
        ChatMessage {
            id: self.next_message,
            content: content.to_owned(),
            message_type: if incoming { "incoming" } else { "outgoing" }.to_owned(),
            private,
            created_at: now(),
        }
    }

    pub(crate) fn message_json(message: &ChatMessage) -> Value {
        json!({
            "id": message.id, "content": message.content, "message_type": message.message_type,
            "private": message.private, "created_at": message.created_at,
            "sender": { "type": if message.message_type == "incoming" { "contact" } else { "user" } },
        })
    }

    /// The conversation as the list and by-email answers show it.
    pub(crate) fn conversation_json(&self, conversation: &Conversation) -> Value {
        let contact = self
            .contacts
            .iter()
            .find(|c| c.email == conversation.contact_email)
            .map(Self::contact_json)
            .unwrap_or(Value::Null);
        let inbox = self
            .inboxes
            .iter()
            .find(|i| i.id == conversation.inbox_id)
            .map(|i| json!({ "id": i.id, "name": i.name, "inbox_type": i.channel_type }))
            .unwrap_or(Value::Null);
        json!({
            "id": conversation.id, "contact": contact, "inbox": inbox, "assignee": null,
            "status": conversation.status,
            "last_message": conversation.messages.last().map(|m| m.content.clone()),
            "url": format!("/chat/conversations/{}", conversation.id),
        })
    }

    /// The answer to a message, a reply or a note.
    pub(crate) fn sent_json(&self, conversation: &Conversation, message: &ChatMessage) -> Value {
        let contact = self
            .contacts
            .iter()
            .find(|c| c.email == conversation.contact_email)
            .map(Self::contact_json)
            .unwrap_or(Value::Null);
        json!({
            "success": true,
            "message": Self::message_json(message),
            "conversation": { "id": conversation.id, "status": conversation.status },
            "contact": contact,
        })
    }
}

impl State {
    /// Carries out what is due by now: deletions, then imports.
    pub(crate) fn run_due(&mut self) {
        self.run_due_deletions();
        let now = Instant::now();
        while self
            .pending_imports
            .front()
            .is_some_and(|(at, _)| *at <= now)
        {
            if let Some((_, records)) = self.pending_imports.pop_front() {
                self.apply_imports(records);
            }
        }
    }

    /// Applies imported records: upserts, fields, tags added and removed.
    pub(crate) fn apply_imports(&mut self, records: Vec<crate::state::PendingImport>) {
        for import in records {
            let index = self.upsert(&import.email);
            self.set_fields(index, &import.fields);
            for tag in &import.tags {
                self.add_tag(index, tag);
            }
            for tag in &import.remove_tags {
                self.remove_tag(index, tag);
            }
        }
    }

    /// Carries out the deletions that are due: the subscriber's email, fields
    /// and tags are cleared, and its events and emails lose the address.
    pub(crate) fn run_due_deletions(&mut self) {
        let now_instant = Instant::now();
        let due: Vec<usize> = self
            .deletions
            .due
            .iter()
            .filter(|(_, at)| *at <= now_instant)
            .map(|(record, _)| *record)
            .collect();
        if due.is_empty() {
            return;
        }
        self.deletions.due.retain(|(_, at)| *at > now_instant);
        for record in due {
            let email = self.deletions.records[record].email.clone();
            self.anonymize(&email);
            self.deletions.records[record].anonymized_at = Some(now());
        }
    }

    /// Accepts a deletion of `email`, carried out after `delay`.
    pub(crate) fn request_deletion(&mut self, email: &str, delay: Duration) {
        self.deletions.records.push(DeletionRecord {
            email: email.trim().to_owned(),
            requested_at: now(),
            anonymized_at: None,
        });
        let record = self.deletions.records.len() - 1;
        self.deletions.due.push((record, Instant::now() + delay));
        self.run_due_deletions();
    }

    /// Counts one deletion request against today's quota; false when the
    /// day's `quota` is used up.
    pub(crate) fn take_deletion_quota(&mut self, quota: u32) -> bool {
        let today: String = now().chars().take(10).collect();
        if self.deletions.today.0 != today {
            self.deletions.today = (today, 0);
        }
        if self.deletions.today.1 >= quota {
            return false;
        }
        self.deletions.today.1 += 1;
        true
    }

    pub(crate) fn segment_members(&self, segment: &SegmentDef) -> Vec<usize> {
        let name = |id: u64| {
            self.tags
                .iter()
                .find(|t| t.id == id)
                .map(|t| t.name.clone())
                .unwrap_or_default()
        };
        (0..self.subscribers.len())
            .filter(|index| segment.matches(&self.subscribers[*index], name))
            .collect()
    }

    pub(crate) fn add_segment(&mut self, name: &str, query: Value) -> u64 {
        let id = self.segments.len() as u64 + 1;
        self.segments.push(SegmentDef {
            id,
            name: name.to_owned(),
            description: None,
            query,
            created_at: now(),
        });
        id
    }
}
