//! The demo app on axum.

use axum::Router;
use axum::extract::Json;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use bento_axum::{Bento, BentoLayer};

use crate::app::{self, Answer, Member, Order, SignupForm, Upgrade};

fn respond((status, body): Answer) -> impl IntoResponse {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        body,
    )
}

/// The demo's layer: identity from the demo's session header, events held
/// until the response, page views of HTML pages.
pub fn layer(client: bento_core::Client) -> BentoLayer {
    BentoLayer::new(client)
        .identify(|parts| {
            let user = parts.headers.get(app::USER_HEADER)?;
            user.to_str().ok().map(str::to_owned)
        })
        .deliver_on_success()
        .track_page_views()
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
        .route(
            "/upgrade",
            post(|bento: Bento, Json(upgrade): Json<Upgrade>| async move {
                respond(app::upgrade(&bento, &upgrade))
            }),
        )
        .route(
            "/newsletter",
            post(|bento: Bento| async move { respond(app::newsletter(&bento)) }),
        )
        .route(
            "/pricing",
            get(|| async { axum::response::Html(app::PRICING_PAGE) }),
        )
        .route("/health", get(|| async { "ok" }))
        .layer(layer)
}

/// A listener on `--listen ADDR` (127.0.0.1:3000 by default) when
/// `serve_forever`, else on a free port; prints the address (and, for
/// `--serve`, a request to try).
pub async fn listen(serve_forever: bool) -> std::io::Result<(tokio::net::TcpListener, String)> {
    let address = if serve_forever {
        crate::demo::listen_address()
    } else {
        "127.0.0.1:0".to_owned()
    };
    let listener = tokio::net::TcpListener::bind(address).await?;
    let url = format!("http://{}", listener.local_addr()?);
    println!("Serving on {url}");
    if serve_forever {
        println!(
            "Try:\n  curl -X POST {url}/signup -H 'content-type: application/json' \\\n    -d '{{\"email\":\"ada@example.com\",\"first_name\":\"Ada\",\"plan\":\"pro\"}}'"
        );
    }
    Ok((listener, url))
}
