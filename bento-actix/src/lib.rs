//! [Bento](https://bentonow.com) for [actix-web](https://docs.rs/actix-web):
//! a middleware that shares one [`bento_core::Client`] with every request, and
//! a [`Bento`] extractor whose `track` returns at once while the client's
//! delivery thread sends events in batches. The same names and semantics as
//! `bento-axum`.
//!
//! ```no_run
//! use actix_web::{App, HttpServer, web};
//! use bento_actix::{Bento, BentoMiddleware};
//! use bento_core::{BentoEvent, Client};
//!
//! #[derive(BentoEvent)]
//! #[bento(event = "account.signup")]
//! struct Signup { email: String }
//!
//! async fn signup(bento: Bento) -> Result<&'static str, bento_actix::TrackRejection> {
//!     // One line: the user's bad data is a 422; the program's mistakes were
//!     // already logged, counted and handed to the failure hook.
//!     bento.track(&Signup { email: "ada@example.com".into() })?;
//!     Ok("welcome")
//! }
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // `#[actix_web::main]` on an `async fn main` does the same.
//!     actix_web::rt::System::new().block_on(async {
//!         // Built once, outside the closure: HttpServer::new runs it once per worker.
//!         let bento = Client::from_env()?;
//!         let middleware = BentoMiddleware::new(bento.clone());
//!         let server = HttpServer::new(move || {
//!             App::new()
//!                 .wrap(middleware.clone())
//!                 .route("/signup", web::post().to(signup))
//!         })
//!         .bind(("0.0.0.0", 3000))?
//!         .run();
//!         // Until actix-web stops (SIGTERM: gracefully; Ctrl-C: at once, unless
//!         // given `.shutdown_signal(bento_actix::shutdown_signal())`), then
//!         // what is queued is delivered.
//!         bento_actix::run(server, bento).await?;
//!         Ok(())
//!     })
//! }
//! ```
//!
//! # Without the middleware
//!
//! The extractor falls back to the app data, so this works too (without the
//! request-scoped delivery policy, which needs the middleware):
//!
//! ```no_run
//! # use actix_web::{App, web};
//! # use bento_actix::Bento;
//! # async fn signup(_: Bento) -> &'static str { "" }
//! # fn app(client: bento_core::Client) {
//! App::new()
//!     .app_data(client.clone()) // or .app_data(web::Data::new(client))
//!     .route("/signup", web::post().to(signup));
//! # }
//! ```
//!
//! # Events from where the user is
//!
//! The request's subscriber, read once by the middleware's
//! [`identify`](BentoMiddleware::identify) (or set by a handler at login),
//! page views of HTML pages, and subscriber commands queued like events:
//!
//! ```no_run
//! use actix_web::{App, HttpResponse, web};
//! use bento_actix::{Bento, BentoMiddleware};
//! use bento_core::{BentoEvent, Command};
//!
//! /// No email: about the request's subscriber.
//! #[derive(BentoEvent)]
//! #[bento(event = "plan.upgraded")]
//! struct Upgraded<'a> { plan: &'a str }
//!
//! async fn upgrade(bento: Bento) -> HttpResponse {
//!     match bento.track(&Upgraded { plan: "team" }) {
//!         Ok(()) => HttpResponse::Ok().finish(),
//!         Err(error) => HttpResponse::Unauthorized().body(error.to_string()),
//!     }
//! }
//!
//! async fn newsletter(bento: Bento) -> HttpResponse {
//!     let Some(email) = bento.identity() else {
//!         return HttpResponse::Unauthorized().finish();
//!     };
//!     match bento.enqueue_command(Command::Subscribe { email: email.to_string() }) {
//!         Ok(()) => HttpResponse::Accepted().finish(),
//!         Err(error) => HttpResponse::ServiceUnavailable().body(error.to_string()),
//!     }
//! }
//!
//! # fn app(client: bento_core::Client) {
//! let middleware = BentoMiddleware::new(client)
//!     .identify(|request| {
//!         let user = request.headers().get("x-user")?; // or your session
//!         user.to_str().ok().map(str::to_owned)
//!     })
//!     .deliver_on_success()
//!     .track_page_views(); // `$view` for identified 2xx HTML GETs
//! App::new()
//!     .wrap(middleware)
//!     .route("/upgrade", web::post().to(upgrade))
//!     .route("/newsletter", web::post().to(newsletter));
//! # }
//! ```
//!
//! # Delivery policy
//!
//! [`BentoMiddleware::deliver_on_success`] holds the events a request tracks
//! until its response exists: below 500 they are delivered, otherwise (and
//! when the handler panics or the request is cancelled) they are discarded and
//! counted in [`BentoMiddleware::discarded`].
//!
//! # Missing client
//!
//! A handler that extracts [`Bento`] in an app with neither the middleware nor
//! a client in its app data answers 500 and logs what to add
//! ([`MissingBento`]); take `Option<Bento>` to make it optional.
#![deny(missing_docs)]

mod extract;
mod middleware;
mod run;

pub use bento_core::integration::PageViews;
pub use bento_core::integration::shutdown::{ServeError, signal as shutdown_signal};
pub use extract::{Bento, MissingBento, TrackRejection};
pub use middleware::{BentoMiddleware, BentoService, ResponseFuture};
pub use run::{Run, run};
