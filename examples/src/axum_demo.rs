//! The demo app on axum.

use axum::Router;
use axum::extract::Json;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use bento_axum::{Bento, BentoLayer};

use crate::app::{self, Answer, Member, Order, SignupForm};

fn respond((status, body): Answer) -> impl IntoResponse {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        body,
    )
}

/// The routes, behind `layer`.
pub fn router(layer: BentoLayer) -> Router {
    Router::new()
        .route(
            "/signup",
            post(|bento: Bento, Json(form): Json<SignupForm>| async move {
                respond(app::signup(&bento, &form))
            }),
        )
        .route(
            "/purchase",
            post(|bento: Bento, Json(order): Json<Order>| async move {
                respond(app::purchase(&bento, &order))
            }),
        )
        .route(
            "/import",
            post(
                |bento: Bento, Json(members): Json<Vec<Member>>| async move {
                    respond(app::import(&bento, &members))
                },
            ),
        )
        .route("/health", get(|| async { "ok" }))
        .layer(layer)
}
