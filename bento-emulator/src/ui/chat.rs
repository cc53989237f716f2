//! The web UI's Chat pages: the conversations the app opened through the
//! Chat API, and one conversation's messages with its private notes.

use std::fmt::Write as _;

use super::esc;
use crate::shared::Shared;

/// Every conversation, newest first.
pub(super) fn conversations(shared: &Shared) -> String {
    let state = shared.state();
    let chat = &state.chat;
    let mut out = String::from(
        "<h1>Chat</h1><p class=\"muted\">Conversations opened and answered through the Chat \
         API, newest first.</p>",
    );
    if chat.conversations.is_empty() {
        out.push_str("<p class=\"muted\">No conversation yet.</p>");
        return out;
    }
    out.push_str(
        "<table><thead><tr><th>#</th><th>Contact</th><th>Inbox</th><th>Status</th>\
         <th>Subject</th><th>Messages</th><th>Last</th></tr></thead><tbody>",
    );
    for conversation in chat.conversations.iter().rev() {
        let inbox = chat
            .inboxes
            .iter()
            .find(|i| i.id == conversation.inbox_id)
            .map_or_else(|| conversation.inbox_id.to_string(), |i| i.name.clone());
        let last = conversation
            .messages
            .last()
            .map(|m| m.content.as_str())
            .unwrap_or_default();
        let _ = write!(
            out,
            "<tr><td><a href=\"/__emulator/ui/chat/{id}\">{id}</a></td><td>{}</td><td>{}</td>\
             <td class=\"status-{}\">{}</td><td>{}</td><td>{}</td><td class=\"muted\">{}</td></tr>",
            esc(&conversation.contact_email),
            esc(&inbox),
            esc(&conversation.status),
            esc(&conversation.status),
            esc(conversation.subject.as_deref().unwrap_or_default()),
            conversation.messages.len(),
            esc(last),
            id = conversation.id,
        );
    }
    out.push_str("</tbody></table>");
    out
}

/// One conversation: its contact, status and messages, notes marked.
pub(super) fn conversation(shared: &Shared, id: u64) -> Option<String> {
    let state = shared.state();
    let conversation = state.chat.conversations.iter().find(|c| c.id == id)?;
    let mut out = format!(
        "<p><a href=\"/__emulator/ui/chat\">← Chat</a></p><h1>Conversation {id}</h1>\
         <dl><dt>Contact</dt><dd>{}</dd><dt>Status</dt><dd>{}</dd><dt>Subject</dt><dd>{}</dd></dl>",
        esc(&conversation.contact_email),
        esc(&conversation.status),
        esc(conversation.subject.as_deref().unwrap_or("(none)")),
    );
    out.push_str("<ol class=\"messages\">");
    for message in &conversation.messages {
        let kind = if message.private {
            "note"
        } else {
            message.message_type.as_str()
        };
        let _ = write!(
            out,
            "<li class=\"message {}\"><span class=\"muted\">{} · {}</span><p>{}</p></li>",
            esc(kind),
            esc(&message.created_at),
            esc(if message.private {
                "private note"
            } else {
                kind
            }),
            esc(&message.content),
        );
    }
    out.push_str("</ol>");
    Some(out)
}
