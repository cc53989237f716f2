//! `/chat/*`: conversations with contacts, in two seeded inboxes (1, an
//! email inbox; 2, a web widget). Conversations persist and show in the web
//! inbox; a message to a contact with no open conversation in that inbox
//! starts one.

use serde_json::{Value, json};

use super::{Call, numeric_id};
use crate::newer::{Chat, Conversation, STATUSES};
use crate::reply::{Handled, Reply, bad, is_email, not_found};

/// A required non-empty string member of the JSON body.
fn text(call: &Call<'_>, key: &str) -> Result<String, Reply> {
    call.body
        .as_ref()
        .and_then(|body| body.get(key))
        .and_then(|value| match value {
            Value::String(text) => Some(text.trim().to_owned()),
            Value::Number(number) => Some(number.to_string()),
            _ => None,
        })
        .filter(|text| !text.is_empty())
        .ok_or_else(|| bad(format!("`{key}` is required")))
}

/// Conversations per page of the list.
const PER_PAGE: usize = 25;

pub(super) fn list(call: &Call<'_>) -> Handled {
    let status = call.param("status");
    if let Some(status) = &status
        && status != "all"
        && !STATUSES.contains(&status.as_str())
    {
        return Err(bad(format!(
            "`status` must be one of open, resolved, pending, snoozed, all; not `{status}`"
        )));
    }
    let inbox: Option<u64> = match call.param("inbox_id") {
        Some(id) => Some(id.parse().map_err(|_| bad("`inbox_id` must be a number"))?),
        None => None,
    };
    let page: usize = match call.param("page") {
        Some(page) => page
            .parse()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| bad("`page` must be a number from 1"))?,
        None => 1,
    };
    let q = call.param("q").map(|q| q.to_ascii_lowercase());
    let state = call.shared.state();
    let chat = &state.chat;
    let selected: Vec<&Conversation> = chat
        .conversations
        .iter()
        .filter(|c| match status.as_deref() {
            None => c.status == "open",
            Some("all") => true,
            Some(status) => c.status == status,
        })
        .filter(|c| inbox.is_none_or(|id| c.inbox_id == id))
        .filter(|c| {
            q.as_ref().is_none_or(|q| {
                c.messages
                    .iter()
                    .any(|m| m.content.to_ascii_lowercase().contains(q))
            })
        })
        .collect();
    let total = selected.len();
    let shown: Vec<Value> = selected
        .iter()
        .skip((page - 1) * PER_PAGE)
        .take(PER_PAGE)
        .map(|c| chat.conversation_json(c))
        .collect();
    Ok(Reply::ok(json!({
        "conversations": shown,
        "meta": { "count": shown.len(), "total_count": total, "page": page, "per_page": PER_PAGE },
    })))
}

pub(super) fn by_email(call: &Call<'_>) -> Handled {
    let email = call
        .param("contact_email")
        .ok_or_else(|| bad("`contact_email` is required"))?;
    let state = call.shared.state();
    let chat = &state.chat;
    let Some(contact) = chat
        .contacts
        .iter()
        .find(|c| c.email.eq_ignore_ascii_case(&email))
    else {
        return Err(not_found("Contact not found"));
    };
    let conversations: Vec<Value> = chat
        .conversations
        .iter()
        .filter(|c| c.contact_email == contact.email)
        .map(|c| chat.conversation_json(c))
        .collect();
    Ok(Reply::ok(json!({
        "contact": Chat::contact_json(contact),
        "conversations": conversations,
    })))
}

pub(super) fn one(call: &Call<'_>, id: &str) -> Handled {
    let id = numeric_id("conversation", id)?;
    let state = call.shared.state();
    let chat = &state.chat;
    let conversation = chat
        .conversations
        .iter()
        .find(|c| c.id == id)
        .ok_or_else(|| not_found("Conversation not found"))?;
    let mut body = chat.conversation_json(conversation);
    body["messages"] = conversation
        .messages
        .iter()
        .rev()
        .take(20)
        .rev()
        .map(Chat::message_json)
        .collect();
    Ok(Reply::ok(body))
}

pub(super) fn inboxes(call: &Call<'_>) -> Handled {
    let state = call.shared.state();
    let inboxes: Vec<Value> = state.chat.inboxes.iter().map(Chat::inbox_json).collect();
    Ok(Reply::ok(json!({ "success": true, "inboxes": inboxes })))
}

pub(super) fn start(call: &Call<'_>) -> Handled {
    let inbox = text(call, "inbox_id")?;
    let email = text(call, "contact_email")?;
    let content = text(call, "message_content")?;
    if !is_email(&email) {
        return Err(bad(format!("`{email}` is not a valid email address")));
    }
    let inbox: u64 = inbox
        .parse()
        .map_err(|_| bad("`inbox_id` must be a number"))?;
    let name = call.param("contact_name");
    let subject = call.param("mail_subject");
    let mut state = call.shared.state();
    let chat = &mut state.chat;
    if !chat.inboxes.iter().any(|i| i.id == inbox) {
        return Err(not_found(format!("Inbox {inbox} not found")));
    }
    let contact = chat.contact(&email, name.as_deref());
    let message = chat.message(&content, false, false);
    let existing = chat.conversations.iter().position(|c| {
        c.contact_email == contact.email && c.inbox_id == inbox && c.status != "resolved"
    });
    let index = match existing {
        Some(index) => index,
        None => {
            let id = chat.conversations.len() as u64 + 1;
            chat.conversations.push(Conversation {
                id,
                contact_email: contact.email.clone(),
                inbox_id: inbox,
                status: "open".into(),
                subject,
                messages: Vec::new(),
            });
            chat.conversations.len() - 1
        }
    };
    chat.conversations[index].messages.push(message.clone());
    let body = chat.sent_json(&chat.conversations[index], &message);
    state.version += 1;
    Ok(Reply::ok(body))
}

fn add(call: &Call<'_>, id: &str, key: &str, private: bool) -> Handled {
    let id = numeric_id("conversation", id)?;
    let content = text(call, key)?;
    let mut state = call.shared.state();
    let chat = &mut state.chat;
    let message = chat.message(&content, false, private);
    let conversation = chat
        .find(id)
        .ok_or_else(|| not_found("Conversation not found"))?;
    conversation.messages.push(message.clone());
    let conversation = conversation.clone();
    let body = chat.sent_json(&conversation, &message);
    state.version += 1;
    Ok(Reply::ok(body))
}

pub(super) fn reply(call: &Call<'_>, id: &str) -> Handled {
    add(call, id, "message_content", false)
}

pub(super) fn note(call: &Call<'_>, id: &str) -> Handled {
    add(call, id, "content", true)
}

pub(super) fn status(call: &Call<'_>, id: &str) -> Handled {
    let id = numeric_id("conversation", id)?;
    let status = text(call, "status")?;
    if !STATUSES.contains(&status.as_str()) {
        return Err(bad(format!(
            "`status` must be one of open, resolved, pending, snoozed; not `{status}`"
        )));
    }
    let mut state = call.shared.state();
    let conversation = state
        .chat
        .find(id)
        .ok_or_else(|| not_found("Conversation not found"))?;
    conversation.status = status.clone();
    state.version += 1;
    Ok(Reply::ok(json!({
        "success": true,
        "conversation": { "id": id, "status": status },
    })))
}
