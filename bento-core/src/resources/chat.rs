//! Chat: `/chat/*`, the site's conversations with its contacts: list and
//! read them, start one, reply, add a private note, set a status.
//!
//! Only Bento's 2026-08-22 spec describes these; fields it does not pin
//! (a message's sender, enum values) are optional or kept as JSON.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::pages::{Page, Pages};
use crate::client::Client;
use crate::error::{Error, ValidationError};
use crate::transport::ApiRequest;
use crate::validate;
use crate::wire::de::null_as_default;

/// A conversation's status.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConversationStatus {
    /// Waiting for an answer from the team.
    Open,
    /// Done.
    Resolved,
    /// Waiting on something else.
    Pending,
    /// Put aside for now.
    Snoozed,
    /// A status this client does not know, as Bento sent it.
    Other(String),
}

impl ConversationStatus {
    fn as_str(&self) -> &str {
        match self {
            Self::Open => "open",
            Self::Resolved => "resolved",
            Self::Pending => "pending",
            Self::Snoozed => "snoozed",
            Self::Other(other) => other,
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "open" => Self::Open,
            "resolved" => Self::Resolved,
            "pending" => Self::Pending,
            "snoozed" => Self::Snoozed,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl<'de> Deserialize<'de> for ConversationStatus {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self::parse(&String::deserialize(deserializer)?))
    }
}

/// A chat contact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ChatContact {
    /// Its id.
    #[serde(default, deserialize_with = "crate::wire::de::id")]
    pub id: String,
    /// Its name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Its email.
    #[serde(default, deserialize_with = "null_as_default")]
    pub email: String,
    /// Its phone number.
    #[serde(default)]
    pub phone_number: Option<String>,
}

/// An inbox conversations arrive in (email, web widget...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ChatInbox {
    /// Its id: what [`NewChatMessage`] names.
    #[serde(deserialize_with = "crate::wire::de::id")]
    pub id: String,
    /// Its name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Its channel, as Bento names it (`Channel::Email`, `Channel::WebWidget`).
    #[serde(default, alias = "inbox_type")]
    pub channel_type: Option<String>,
    /// Its address, for an email inbox.
    #[serde(default)]
    pub email: Option<String>,
    /// Whether it greets new conversations.
    #[serde(default)]
    pub greeting_enabled: Option<bool>,
    /// The greeting.
    #[serde(default)]
    pub greeting_message: Option<String>,
    /// Its timezone.
    #[serde(default)]
    pub timezone: Option<String>,
}

/// A conversation.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Conversation {
    /// Its display id (the one in the conversation's URL).
    #[serde(deserialize_with = "crate::wire::de::id")]
    pub id: String,
    /// Whom it is with.
    #[serde(default)]
    pub contact: ChatContact,
    /// The inbox it is in.
    #[serde(default)]
    pub inbox: Option<ChatInbox>,
    /// Who on the team it is assigned to, as sent.
    #[serde(default)]
    pub assignee: Option<Value>,
    /// Its status.
    pub status: ConversationStatus,
    /// The last message's text.
    #[serde(default)]
    pub last_message: Option<String>,
    /// Its page in Bento.
    #[serde(default)]
    pub url: Option<String>,
    /// Its recent messages (only when one conversation is read).
    #[serde(default, deserialize_with = "null_as_default")]
    pub messages: Vec<ChatMessage>,
}

/// A message in a conversation.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ChatMessage {
    /// Its id.
    #[serde(deserialize_with = "crate::wire::de::id")]
    pub id: String,
    /// Its text.
    #[serde(default, deserialize_with = "null_as_default")]
    pub content: String,
    /// Its type, as Bento names it.
    #[serde(default)]
    pub message_type: Option<String>,
    /// A private note (never sent to the contact).
    #[serde(default)]
    pub private: bool,
    /// When it was written.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Who wrote it, as sent.
    #[serde(default)]
    pub sender: Value,
}

/// What Bento answers to a message, a reply or a note.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ChatMessageSent {
    /// The message.
    pub message: ChatMessage,
    /// The conversation it is in, and its status now.
    pub conversation: ConversationRef,
    /// The contact.
    #[serde(default)]
    pub contact: ChatContact,
}

/// A conversation's id and status.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ConversationRef {
    /// Its display id.
    #[serde(deserialize_with = "crate::wire::de::id")]
    pub id: String,
    /// Its status.
    pub status: ConversationStatus,
}

/// Which conversations [`Client::conversations`] lists: every filter
/// optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConversationQuery {
    /// `open`, `resolved`, `pending`, `snoozed`, or every status (`None`
    /// leaves Bento's default).
    pub status: Option<StatusFilter>,
    /// `me`, `unassigned`, `assigned` or `all`.
    pub assignee_type: Option<String>,
    /// One inbox.
    pub inbox_id: Option<String>,
    /// Text searched in the messages.
    pub q: Option<String>,
}

/// A status filter of [`ConversationQuery`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatusFilter {
    /// One status.
    Only(ConversationStatus),
    /// Every status.
    All,
}

impl ConversationQuery {
    /// Bento's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only conversations with `status`.
    pub fn status(mut self, status: ConversationStatus) -> Self {
        self.status = Some(StatusFilter::Only(status));
        self
    }

    /// Conversations of every status.
    pub fn any_status(mut self) -> Self {
        self.status = Some(StatusFilter::All);
        self
    }

    /// Only conversations in `inbox`.
    pub fn inbox(mut self, inbox: impl Into<String>) -> Self {
        self.inbox_id = Some(inbox.into());
        self
    }

    /// Only conversations whose messages mention `text`.
    pub fn search(mut self, text: impl Into<String>) -> Self {
        self.q = Some(text.into());
        self
    }
}

/// A new conversation (or a message in the contact's existing one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct NewChatMessage {
    /// The inbox ([`ChatInbox::id`]).
    pub inbox_id: String,
    /// The contact's email.
    pub contact_email: String,
    /// The message.
    pub message_content: String,
    /// The contact's name, if the contact is new.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_name: Option<String>,
    /// The subject, for an email inbox.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mail_subject: Option<String>,
}

impl NewChatMessage {
    /// `content` to `contact_email` through `inbox_id`.
    pub fn new(
        inbox_id: impl Into<String>,
        contact_email: impl Into<String>,
        content: impl Into<String>,
    ) -> Self {
        Self {
            inbox_id: inbox_id.into(),
            contact_email: contact_email.into(),
            message_content: content.into(),
            contact_name: None,
            mail_subject: None,
        }
    }

    /// The contact's name, if the contact is new.
    pub fn contact_name(mut self, name: impl Into<String>) -> Self {
        self.contact_name = Some(name.into());
        self
    }

    /// The subject, for an email inbox.
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.mail_subject = Some(subject.into());
        self
    }
}

#[derive(Deserialize)]
struct ConversationList {
    #[serde(default, deserialize_with = "null_as_default")]
    conversations: Vec<Conversation>,
    #[serde(default)]
    meta: Option<ListMeta>,
}

#[derive(Deserialize)]
struct ListMeta {
    #[serde(default)]
    total_count: Option<u64>,
    #[serde(default)]
    page: Option<u64>,
    #[serde(default)]
    per_page: Option<u64>,
}

#[derive(Deserialize)]
struct ByEmail {
    #[serde(default)]
    contact: Option<ChatContact>,
    #[serde(default, deserialize_with = "null_as_default")]
    conversations: Vec<Conversation>,
}

#[derive(Deserialize)]
struct Inboxes {
    #[serde(default, deserialize_with = "null_as_default")]
    inboxes: Vec<ChatInbox>,
}

#[derive(Deserialize)]
struct StatusSet {
    conversation: ConversationRef,
}

fn conversation_path(id: &str, rest: &str) -> Result<String, Error> {
    validate::path_id("conversation id", id)?;
    Ok(format!("chat/conversations/{id}{rest}"))
}

impl Client {
    /// Every conversation the query selects, page by page
    /// (`GET /chat/conversations`).
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// use bento_core::chat::{ConversationQuery, ConversationStatus};
    /// let mut pages = client.conversations(ConversationQuery::new().status(ConversationStatus::Open));
    /// while let Some(page) = pages.next_page().await? {
    ///     for conversation in page {
    ///         println!("{} {}", conversation.id, conversation.contact.email);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn conversations(&self, query: ConversationQuery) -> Pages<Conversation> {
        let client = self.clone();
        Pages::new(move |page| {
            let (client, query) = (client.clone(), query.clone());
            Box::pin(async move {
                let mut request =
                    ApiRequest::get("chat/conversations").query("page", page.to_string());
                match &query.status {
                    Some(StatusFilter::All) => request = request.query("status", "all"),
                    Some(StatusFilter::Only(status)) => {
                        request = request.query("status", status.as_str().to_owned());
                    }
                    None => {}
                }
                for (key, value) in [
                    ("assignee_type", &query.assignee_type),
                    ("inbox_id", &query.inbox_id),
                    ("q", &query.q),
                ] {
                    if let Some(value) = value {
                        request = request.query(key, value.clone());
                    }
                }
                let list: ConversationList = client.call(request).await?;
                // More while the pages so far hold fewer than the total.
                let more = list.meta.as_ref().is_some_and(|meta| {
                    match (meta.total_count, meta.page, meta.per_page) {
                        (Some(total), Some(page), Some(per_page)) => page * per_page < total,
                        _ => false,
                    }
                });
                Ok(Page {
                    items: list.conversations,
                    more,
                })
            })
        })
    }

    /// A contact and their conversations, by email
    /// (`GET /chat/conversations/by_email`); `None` when Chat does not know
    /// them.
    pub async fn conversations_of(
        &self,
        email: &str,
    ) -> Result<Option<(ChatContact, Vec<Conversation>)>, Error> {
        validate::email(|| "contact_email".to_owned(), email)?;
        let request = ApiRequest::get("chat/conversations/by_email").query("contact_email", email);
        match self.call::<ByEmail>(request).await {
            Ok(ByEmail {
                contact: Some(contact),
                conversations,
            }) => Ok(Some((contact, conversations))),
            Ok(_) => Ok(None),
            Err(error) if error.status() == Some(http::StatusCode::NOT_FOUND) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// One conversation with its recent messages
    /// (`GET /chat/conversations/{id}`); `None` when there is none.
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// if let Some(conversation) = client.conversation("42").await? {
    ///     println!("{} messages", conversation.messages.len());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn conversation(&self, id: &str) -> Result<Option<Conversation>, Error> {
        let path = conversation_path(id, "")?;
        let request = ApiRequest::get(&path).template("chat/conversations/{id}");
        match self.call::<Conversation>(request).await {
            Ok(conversation) => Ok(Some(conversation)),
            Err(error) if error.status() == Some(http::StatusCode::NOT_FOUND) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// The site's chat inboxes (`GET /chat/inboxes`).
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// for inbox in client.chat_inboxes().await? {
    ///     println!("{} {}", inbox.id, inbox.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn chat_inboxes(&self) -> Result<Vec<ChatInbox>, Error> {
        Ok(self
            .call::<Inboxes>(ApiRequest::get("chat/inboxes"))
            .await?
            .inboxes)
    }

    /// Starts a conversation with a contact, or continues theirs
    /// (`POST /chat/messages`). Sent at most once: a message is not retried
    /// after it may have reached Bento.
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// use bento_core::chat::NewChatMessage;
    /// let inbox = &client.chat_inboxes().await?[0];
    /// let sent = client
    ///     .send_chat_message(&NewChatMessage::new(&inbox.id, "ada@example.com", "Hi Ada!").subject("Welcome"))
    ///     .await?;
    /// println!("conversation {}", sent.conversation.id);
    /// # Ok(()) }
    /// ```
    pub async fn send_chat_message(
        &self,
        message: &NewChatMessage,
    ) -> Result<ChatMessageSent, Error> {
        validate::non_empty(|| "inbox_id".to_owned(), &message.inbox_id)?;
        validate::email(|| "contact_email".to_owned(), &message.contact_email)?;
        validate::non_empty(|| "message_content".to_owned(), &message.message_content)?;
        let request = ApiRequest::post("chat/messages")
            .json(message)?
            .at_most_once();
        self.call(request).await
    }

    /// A public reply in a conversation (`POST /chat/conversations/{id}/messages`),
    /// sent to the contact. Sent at most once.
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// client.reply("42", "Thanks, we are on it.").await?;
    /// # Ok(()) }
    /// ```
    pub async fn reply(&self, conversation: &str, content: &str) -> Result<ChatMessageSent, Error> {
        validate::non_empty(|| "message_content".to_owned(), content)?;
        let path = conversation_path(conversation, "/messages")?;
        let request = ApiRequest::post(&path)
            .template("chat/conversations/{id}/messages")
            .json(&serde_json::json!({ "message_content": content }))?
            .at_most_once();
        self.call(request).await
    }

    /// A private note in a conversation (`POST /chat/conversations/{id}/notes`):
    /// kept in the thread, never sent to the contact. Sent at most once.
    pub async fn add_note(
        &self,
        conversation: &str,
        content: &str,
    ) -> Result<ChatMessageSent, Error> {
        validate::non_empty(|| "content".to_owned(), content)?;
        let path = conversation_path(conversation, "/notes")?;
        let request = ApiRequest::post(&path)
            .template("chat/conversations/{id}/notes")
            .json(&serde_json::json!({ "content": content }))?
            .at_most_once();
        self.call(request).await
    }

    /// Sets a conversation's status (`POST /chat/conversations/{id}/status`);
    /// returns it as Bento has it now.
    pub async fn set_conversation_status(
        &self,
        conversation: &str,
        status: ConversationStatus,
    ) -> Result<ConversationRef, Error> {
        if let ConversationStatus::Other(other) = &status {
            return Err(ValidationError::Arguments(format!(
                "conversation status `{other}` is not one of open, resolved, pending, snoozed"
            ))
            .into());
        }
        let path = conversation_path(conversation, "/status")?;
        let request = ApiRequest::post(&path)
            .template("chat/conversations/{id}/status")
            .json(&serde_json::json!({ "status": status.as_str() }))?;
        Ok(self.call::<StatusSet>(request).await?.conversation)
    }
}
