//! The JSON API on actix-web.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::ErrorUnauthorized;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use bento_actix::{Bento, BentoMiddleware, PageViews, TrackRejection};
use serde_json::json;

use super::{
    Credentials, CurrentUser, Login, Signup, Store, Upgrade, Upgraded, account_json, bearer,
};

impl FromRequest for CurrentUser {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let header = request
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        let token = bearer(header).map(str::to_owned);
        let store = request.app_data::<web::Data<Store>>().cloned();
        Box::pin(async move {
            let (Some(token), Some(store)) = (token, store) else {
                return Err(ErrorUnauthorized("sign in"));
            };
            let id = store
                .session_user(&token)
                .await
                .ok_or_else(|| ErrorUnauthorized("sign in"))?;
            Ok(CurrentUser { id })
        })
    }
}

async fn signup(
    store: web::Data<Store>,
    bento: Bento,
    form: web::Json<Credentials>,
) -> Result<HttpResponse, TrackRejection> {
    let id = store.account(&form.email).await;
    bento.track(&Signup {
        email: &form.email,
        first_name: &form.first_name,
    })?;
    Ok(HttpResponse::Ok().json(json!({ "token": store.open_session(id).await })))
}

async fn login(
    store: web::Data<Store>,
    bento: Bento,
    form: web::Json<Credentials>,
) -> Result<HttpResponse, TrackRejection> {
    let id = store.account(&form.email).await;
    bento.identify(&form.email);
    bento.track(&Login { method: "password" })?;
    Ok(HttpResponse::Ok().json(json!({ "token": store.open_session(id).await })))
}

async fn account(user: CurrentUser) -> HttpResponse {
    HttpResponse::Ok().json(account_json(user))
}

async fn upgrade(
    _: CurrentUser,
    bento: Bento,
    upgrade: web::Json<Upgrade>,
) -> Result<HttpResponse, TrackRejection> {
    bento.track(&Upgraded {
        plan: &upgrade.plan,
    })?;
    Ok(HttpResponse::Ok().json(json!({ "plan": upgrade.plan })))
}

/// Bento's middleware: the subscriber is the session's user, looked up
/// only when a request needs it; JSON answers of the account endpoint are
/// page views.
pub fn middleware(store: &Store, bento: &bento_core::Client) -> BentoMiddleware {
    let store = store.clone();
    BentoMiddleware::new(bento.clone())
        .identify_from(move |user: &CurrentUser| {
            let (store, id) = (store.clone(), user.id);
            async move { store.email_of(id).await }
        })
        .track_page_views_with(
            PageViews::content_types(["application/json"]).paths(|p| p == "/api/account"),
        )
        .deliver_on_success()
}

/// The routes; wrap the `App` in [`middleware`] and give it the store as
/// `web::Data`.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/api/signup", web::post().to(signup))
        .route("/api/login", web::post().to(login))
        .route("/api/account", web::get().to(account))
        .route("/api/upgrade", web::post().to(upgrade));
}
