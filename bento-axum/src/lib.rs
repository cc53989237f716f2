//! [Bento](https://bentonow.com) for [axum](https://docs.rs/axum): a layer
//! that shares one [`bento_core::Client`] with every request, and a [`Bento`]
//! extractor whose `track` returns at once while the client's delivery thread
//! sends events in batches.
//!
//! ```no_run
//! use axum::{Router, routing::post};
//! use bento_axum::{Bento, BentoLayer};
//! use bento_core::{BentoEvent, Client};
//!
//! #[derive(BentoEvent)]
//! #[bento(event = "account.signup")]
//! struct Signup { email: String }
//!
//! async fn signup(bento: Bento) -> Result<&'static str, bento_axum::TrackRejection> {
//!     // One line: the user's bad data is a 422; the program's mistakes were
//!     // already logged, counted and handed to the failure hook.
//!     bento.track(&Signup { email: "ada@example.com".into() })?;
//!     Ok("welcome")
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let bento = Client::from_env()?;
//!     let app = Router::new()
//!         .route("/signup", post(signup))
//!         .layer(BentoLayer::new(bento.clone()));
//!     let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await?;
//!     // Until SIGINT or SIGTERM; then the requests in flight finish and
//!     // what is queued is delivered.
//!     bento_axum::serve(listener, app, bento).await?;
//!     Ok(())
//! }
//! ```
//!
//! # Without the extractor
//!
//! The client is an ordinary `Clone` value, so it also works as state,
//! alone or in an app state with `#[derive(FromRef)]`:
//!
//! ```no_run
//! use axum::{Router, extract::{FromRef, State}, routing::post};
//! use bento_core::{Client, Event};
//!
//! #[derive(Clone, FromRef)]
//! struct AppState { bento: Client, greeting: &'static str }
//!
//! async fn signup(
//!     State(bento): State<Client>,
//!     State(greeting): State<&'static str>,
//! ) -> Result<&'static str, bento_axum::TrackRejection> {
//!     bento.track(&Event::new("account.signup", "ada@example.com"))?;
//!     Ok(greeting)
//! }
//!
//! # fn app(client: Client) -> Router {
//! Router::new()
//!     .route("/signup", post(signup))
//!     .with_state(AppState { bento: client, greeting: "welcome" })
//! # }
//! ```
//!
//! # Events from where the user is
//!
//! One enum of events; the request's subscriber, read once by the layer's
//! [`identify`](BentoLayer::identify) (or set by a handler at login); page
//! views of HTML pages; subscriber commands queued like events:
//!
//! ```no_run
//! use axum::{Router, response::Html, routing::{get, post}};
//! use bento_axum::{Bento, BentoLayer, TrackRejection};
//! use bento_core::{BentoEvent, Command};
//!
//! #[derive(BentoEvent)]
//! enum ShopEvent<'a> {
//!     #[bento(event = "account.signup")]
//!     Signup { email: &'a str, #[bento(field)] first_name: &'a str },
//!     #[bento(event = "$purchase")]
//!     Purchase { email: &'a str, #[bento(unique)] order_id: &'a str },
//! }
//!
//! /// No email: about the request's subscriber.
//! #[derive(BentoEvent)]
//! #[bento(event = "plan.upgraded")]
//! struct Upgraded<'a> { plan: &'a str }
//!
//! #[derive(Clone)]
//! struct CurrentUser { email: String } // what your auth puts in the request
//!
//! async fn upgrade(bento: Bento) -> Result<&'static str, TrackRejection> {
//!     bento.track(&Upgraded { plan: "team" })?;
//!     Ok("upgraded")
//! }
//!
//! async fn newsletter(bento: Bento) -> Result<&'static str, TrackRejection> {
//!     let Some(email) = bento.identity() else {
//!         return Ok("sign in first");
//!     };
//!     bento.enqueue_command(Command::Subscribe { email: email.to_string() })?;
//!     Ok("subscribed")
//! }
//!
//! # fn app(client: bento_core::Client) -> Router {
//! let layer = BentoLayer::new(client)
//!     .identify(|parts| parts.extensions.get::<CurrentUser>().map(|u| u.email.clone()))
//!     .deliver_on_success()
//!     .track_page_views(); // `$view` for identified 2xx HTML GETs
//! Router::new()
//!     .route("/pricing", get(|| async { Html("<h1>Pricing</h1>") }))
//!     .route("/upgrade", post(upgrade))
//!     .route("/newsletter", post(newsletter))
//!     .layer(layer)
//! # }
//! ```
//!
//! # Delivery policy
//!
//! [`BentoLayer::deliver_on_success`] holds the events a request tracks until
//! its response exists: below 500 they are delivered, otherwise (and when the
//! handler panics or the request is cancelled) they are discarded and counted
//! in [`BentoLayer::discarded`].
//!
//! # Missing layer
//!
//! A handler that extracts [`Bento`] on a route without the layer answers 500
//! and logs which line to add ([`MissingBentoLayer`]); take `Option<Bento>` to
//! make the layer optional.
#![deny(missing_docs)]

mod extract;
mod layer;
#[cfg(feature = "serve")]
mod serve;

pub use bento_core::integration::PageViews;
pub use bento_core::integration::shutdown::{ServeError, signal as shutdown_signal};
pub use extract::{Bento, MissingBentoLayer, TrackRejection};
pub use layer::{BentoLayer, BentoService, ResponseFuture};
#[cfg(feature = "serve")]
pub use serve::{Serve, serve};
