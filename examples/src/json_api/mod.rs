//! The second example app: a JSON API whose sessions live in an async store
//! (a database or Redis in a real app), written once and served by both
//! frameworks (`json_api/axum.rs`, `json_api/actix.rs`). Its Bento code is
//! its event declarations, one layer, one `track` per call site and one line
//! in `main`; the README's walkthrough counts them.

use std::collections::HashMap;
use std::sync::Arc;

use bento_core::BentoEvent;
use serde::Deserialize;
use tokio::sync::RwLock;

pub mod actix;
pub mod axum;

// --- Bento: the events (the only Bento code besides the layer and `main`) ---

/// A new account: about the address it was opened with.
#[derive(Debug, BentoEvent)]
#[bento(event = "account.signup")]
pub struct Signup<'a> {
    /// The new account's address.
    pub email: &'a str,
    /// Written to the subscriber's profile.
    #[bento(field)]
    pub first_name: &'a str,
}

/// A sign-in: about the request's subscriber (no email of its own).
#[derive(Debug, BentoEvent)]
#[bento(event = "account.login")]
pub struct Login<'a> {
    /// How they signed in.
    pub method: &'a str,
}

/// A new plan: about the request's subscriber.
#[derive(Debug, BentoEvent)]
#[bento(event = "plan.upgraded")]
pub struct Upgraded<'a> {
    /// Written to the subscriber's profile.
    #[bento(field)]
    pub plan: &'a str,
}

// --- The app itself: accounts and sessions in an async store ---

/// `POST /api/signup` and `POST /api/login` body.
#[derive(Debug, Deserialize)]
pub struct Credentials {
    /// The account's address.
    pub email: String,
    /// First name, at signup.
    #[serde(default)]
    pub first_name: String,
}

/// `POST /api/upgrade` body.
#[derive(Debug, Deserialize)]
pub struct Upgrade {
    /// The new plan.
    pub plan: String,
}

/// Accounts and sessions: an async store, as a database or Redis would be
/// (each call yields once, like a round trip).
#[derive(Clone, Default)]
pub struct Store {
    inner: Arc<RwLock<Tables>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Tables {
    /// User id to email.
    users: HashMap<u64, String>,
    /// Session token to user id.
    sessions: HashMap<String, u64>,
    next_id: u64,
}

impl Store {
    /// Opens an account, or finds it; returns its id.
    pub async fn account(&self, email: &str) -> u64 {
        tokio::task::yield_now().await;
        let mut tables = self.inner.write().await;
        if let Some((id, _)) = tables.users.iter().find(|(_, e)| e.as_str() == email) {
            return *id;
        }
        tables.next_id += 1;
        let id = tables.next_id;
        tables.users.insert(id, email.to_owned());
        id
    }

    /// A new session for `user`; its bearer token.
    pub async fn open_session(&self, user: u64) -> String {
        tokio::task::yield_now().await;
        let mut tables = self.inner.write().await;
        let token = format!("s{}-{}", user, tables.sessions.len() + 1);
        tables.sessions.insert(token.clone(), user);
        token
    }

    /// The user a session token belongs to.
    pub async fn session_user(&self, token: &str) -> Option<u64> {
        tokio::task::yield_now().await;
        self.inner.read().await.sessions.get(token).copied()
    }

    /// A user's email.
    pub async fn email_of(&self, user: u64) -> Option<String> {
        tokio::task::yield_now().await;
        self.inner.read().await.users.get(&user).cloned()
    }
}

/// Who sent a request: the user of its bearer token's session. The app's
/// auth, written as each framework's extractor; Bento's layer reuses it.
#[derive(Debug, Clone, Copy)]
pub struct CurrentUser {
    /// The user id (the session holds no email: Bento's lookup finds it).
    pub id: u64,
}

/// The bearer token of an `Authorization` header value.
pub fn bearer(value: Option<&str>) -> Option<&str> {
    value?.strip_prefix("Bearer ").map(str::trim)
}

/// The JSON the account endpoint answers.
pub fn account_json(user: CurrentUser) -> serde_json::Value {
    serde_json::json!({ "id": user.id, "plan": "free" })
}

/// The requests the example drives, in order: `(method, path, body,
/// signed in)`; a signup, a login, the account page (a JSON page view), an
/// upgrade, and an anonymous upgrade that is refused with a 401.
pub const SCRIPT: &[(&str, &str, &str, bool)] = &[
    (
        "POST",
        "/api/signup",
        r#"{"email":"ada@example.com","first_name":"Ada"}"#,
        false,
    ),
    (
        "POST",
        "/api/login",
        r#"{"email":"ada@example.com"}"#,
        false,
    ),
    ("GET", "/api/account", "", true),
    ("POST", "/api/upgrade", r#"{"plan":"team"}"#, true),
    ("POST", "/api/upgrade", r#"{"plan":"team"}"#, false),
];

/// Sends [`SCRIPT`] to the app at `url`; returns each status.
pub async fn drive(url: &str) -> Result<Vec<u16>, Box<dyn std::error::Error>> {
    let http = crate::demo::http();
    let mut token = None::<String>;
    let mut statuses = Vec::new();
    for (method, path, body, signed_in) in SCRIPT {
        let mut request = match *method {
            "GET" => http.get(format!("{url}{path}")),
            _ => http
                .post(format!("{url}{path}"))
                .header("content-type", "application/json")
                .body(*body),
        };
        if *signed_in && let Some(token) = &token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await?;
        statuses.push(response.status().as_u16());
        let text = response.text().await?;
        if let Ok(answer) = serde_json::from_str::<serde_json::Value>(&text)
            && let Some(new) = answer["token"].as_str()
        {
            token = Some(new.to_owned());
        }
        println!(
            "{method:<4} {path:<13} -> {} {text}",
            statuses.last().copied().unwrap_or(0)
        );
    }
    Ok(statuses)
}
