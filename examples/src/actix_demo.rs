//! The demo app on actix-web.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use bento_actix::Bento;

use crate::app::{self, Answer, Member, Order, SignupForm, Upgrade};

fn respond((status, body): Answer) -> HttpResponse {
    HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .body(body)
}

/// The demo's middleware: identity from the demo's session header, events
/// held until the response, page views of HTML pages.
pub fn middleware(client: bento_core::Client) -> bento_actix::BentoMiddleware {
    bento_actix::BentoMiddleware::new(client)
        .identify(|request| {
            let user = request.headers().get(app::USER_HEADER)?;
            user.to_str().ok().map(str::to_owned)
        })
        .deliver_on_success()
        .track_page_views()
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
        .route(
            "/upgrade",
            web::post().to(|bento: Bento, upgrade: web::Json<Upgrade>| async move {
                respond(app::upgrade(&bento, &upgrade))
            }),
        )
        .route(
            "/newsletter",
            web::post().to(|bento: Bento| async move { respond(app::newsletter(&bento)) }),
        )
        .route(
            "/pricing",
            web::get().to(|| async {
                HttpResponse::Ok()
                    .content_type("text/html; charset=utf-8")
                    .body(app::PRICING_PAGE)
            }),
        )
        .route("/health", web::get().to(|| async { "ok" }));
}
