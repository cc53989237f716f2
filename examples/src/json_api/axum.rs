//! The JSON API on axum.

use axum::Router;
use axum::extract::{FromRequestParts, Json, State};
use axum::http::{StatusCode, request::Parts};
use axum::routing::{get, post};
use bento_axum::{Bento, BentoLayer, PageViews, TrackRejection};
use serde_json::{Value, json};

use super::{
    Credentials, CurrentUser, Login, Signup, Store, Upgrade, Upgraded, account_json, bearer,
};

/// The app's state.
#[derive(Clone, Debug, Default)]
pub struct AppState {
    /// Accounts and sessions.
    pub store: Store,
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = StatusCode;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, StatusCode> {
        let header = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        let token = bearer(header).ok_or(StatusCode::UNAUTHORIZED)?;
        let id = state
            .store
            .session_user(token)
            .await
            .ok_or(StatusCode::UNAUTHORIZED)?;
        Ok(CurrentUser { id })
    }
}

async fn signup(
    State(state): State<AppState>,
    bento: Bento,
    Json(form): Json<Credentials>,
) -> Result<Json<Value>, TrackRejection> {
    let id = state.store.account(&form.email).await;
    bento.track(&Signup {
        email: &form.email,
        first_name: &form.first_name,
    })?;
    Ok(Json(json!({ "token": state.store.open_session(id).await })))
}

async fn login(
    State(state): State<AppState>,
    bento: Bento,
    Json(form): Json<Credentials>,
) -> Result<Json<Value>, TrackRejection> {
    let id = state.store.account(&form.email).await;
    bento.identify(&form.email);
    bento.track(&Login { method: "password" })?;
    Ok(Json(json!({ "token": state.store.open_session(id).await })))
}

async fn account(user: CurrentUser) -> Json<Value> {
    Json(account_json(user))
}

async fn upgrade(
    _: CurrentUser,
    bento: Bento,
    Json(upgrade): Json<Upgrade>,
) -> Result<Json<Value>, TrackRejection> {
    bento.track(&Upgraded {
        plan: &upgrade.plan,
    })?;
    Ok(Json(json!({ "plan": upgrade.plan })))
}

/// The app, behind Bento's layer: the subscriber is the session's user,
/// looked up only when a request needs it; JSON answers of the account
/// endpoint are page views.
pub fn router(state: AppState, bento: &bento_core::Client) -> Router {
    let store = state.store.clone();
    let layer = BentoLayer::new(bento.clone())
        .identify_from(state.clone(), move |user: &CurrentUser| {
            let (store, id) = (store.clone(), user.id);
            async move { store.email_of(id).await }
        })
        .track_page_views_with(
            PageViews::content_types(["application/json"]).paths(|p| p == "/api/account"),
        )
        .deliver_on_success();
    Router::new()
        .route("/api/signup", post(signup))
        .route("/api/login", post(login))
        .route("/api/account", get(account))
        .route("/api/upgrade", post(upgrade))
        .with_state(state)
        .layer(layer)
}
