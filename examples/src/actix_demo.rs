//! The demo app on actix-web.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use bento_actix::Bento;

use crate::app::{self, Answer, Member, Order, SignupForm};

fn respond((status, body): Answer) -> HttpResponse {
    HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .body(body)
}

/// The routes; wrap the `App` in `BentoMiddleware`.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route(
            "/signup",
            web::post().to(|bento: Bento, form: web::Json<SignupForm>| async move {
                respond(app::signup(&bento, &form))
            }),
        )
        .route(
            "/purchase",
            web::post().to(|bento: Bento, order: web::Json<Order>| async move {
                respond(app::purchase(&bento, &order))
            }),
        )
        .route(
            "/import",
            web::post().to(|bento: Bento, members: web::Json<Vec<Member>>| async move {
                respond(app::import(&bento, &members))
            }),
        )
        .route("/health", web::get().to(|| async { "ok" }));
}
