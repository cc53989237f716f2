//! A real `axum::serve` on 127.0.0.1:0, with the layer, the client's delivery
//! thread and the emulator, driven over HTTP.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use bento_axum::{Bento, BentoLayer};
use bento_core::{Client, Event};
use bento_tests::{emulator_and_client, signup_for};
use tokio::net::TcpListener;

/// Serves `app` on a free port; returns its base URL and a switch that stops
/// it gracefully, and the server's join handle.
async fn serve(
    app: Router,
) -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    (url, stop, server)
}

fn http() -> reqwest::Client {
    bento_tests::install_tls();
    reqwest::Client::new()
}

async fn signup(bento: Bento, body: String) -> StatusCode {
    let n: usize = body.parse().unwrap_or(0);
    match bento.track(&signup_for(n)) {
        Ok(()) => StatusCode::CREATED,
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

#[tokio::test]
async fn events_tracked_in_handlers_arrive_with_the_right_shape() {
    let (emulator, client) = emulator_and_client().await;
    let app = Router::new()
        .route("/signup", post(signup))
        .layer(BentoLayer::new(client.clone()));
    let (url, stop, server) = serve(app).await;
    let response = http()
        .post(format!("{url}/signup"))
        .body("7")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    stop.send(()).unwrap();
    server.await.unwrap();
    client.shutdown(Duration::from_secs(5)).await.unwrap();

    let events = emulator.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, "account.signup");
    assert_eq!(events[0].email, "user7@example.com");
    assert_eq!(
        emulator.subscriber("user7@example.com").unwrap().fields["plan"],
        "pro"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_under_concurrent_load_delivers_every_event() {
    const REQUESTS: usize = 2000;
    let (emulator, client) = emulator_and_client().await;
    let app = Router::new()
        .route("/signup", post(signup))
        .layer(BentoLayer::new(client.clone()));
    let (url, stop, server) = serve(app).await;
    let http = http();
    let mut tasks = Vec::new();
    for worker in 0..16 {
        let (http, url) = (http.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            for i in (worker..REQUESTS).step_by(16) {
                let status = http
                    .post(format!("{url}/signup"))
                    .body(i.to_string())
                    .send()
                    .await
                    .unwrap()
                    .status();
                assert_eq!(status, 201);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    stop.send(()).unwrap();
    server.await.unwrap();
    let report = client.shutdown(Duration::from_secs(20)).await.unwrap();
    assert_eq!(report.stats.sent, REQUESTS as u64);
    let mut emails: Vec<String> = emulator.events().into_iter().map(|e| e.email).collect();
    emails.sort();
    emails.dedup();
    assert_eq!(
        emails.len(),
        REQUESTS,
        "every request's event, exactly once"
    );
}

#[tokio::test]
async fn without_the_layer_the_extractor_answers_500_and_option_works() {
    async fn optional(bento: Option<Bento>) -> &'static str {
        if bento.is_some() { "layer" } else { "no layer" }
    }
    let app = Router::new()
        .route("/signup", post(signup))
        .route("/optional", get(optional));
    let (url, stop, server) = serve(app).await;
    let http = http();
    let response = http
        .post(format!("{url}/signup"))
        .body("1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    // The body names the line to add, so the developer sees it at once.
    let body = response.text().await.unwrap();
    assert!(
        body.contains(".layer(bento_axum::BentoLayer::new(client))"),
        "{body}"
    );
    let answer = http.get(format!("{url}/optional")).send().await.unwrap();
    assert_eq!(answer.text().await.unwrap(), "no layer");
    stop.send(()).unwrap();
    server.await.unwrap();
}

#[tokio::test]
async fn nested_routers_and_layer_ordering() {
    let (emulator, client) = emulator_and_client().await;
    async fn has(bento: Option<Bento>) -> &'static str {
        if bento.is_some() { "yes" } else { "no" }
    }
    // `Router::layer` wraps the routes added before it, nested ones included;
    // a route added after the layer does not get it.
    let api = Router::new()
        .route("/signup", post(signup))
        .route("/has", get(has));
    let app = Router::new()
        .nest("/api", api)
        .layer(BentoLayer::new(client.clone()))
        .route("/late", get(has));
    let (url, stop, server) = serve(app).await;
    let http = http();
    assert_eq!(
        http.post(format!("{url}/api/signup"))
            .body("3")
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    assert_eq!(
        http.get(format!("{url}/api/has"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "yes"
    );
    assert_eq!(
        http.get(format!("{url}/late"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "no"
    );
    stop.send(()).unwrap();
    server.await.unwrap();
    client.flush(Duration::from_secs(5)).await.unwrap();
    assert_eq!(emulator.events().len(), 1);
}

#[tokio::test]
async fn state_and_from_ref_work_without_the_extractor() {
    #[derive(Clone, FromRef)]
    struct AppState {
        bento: Client,
        greeting: &'static str,
    }
    async fn handler(
        State(bento): State<Client>,
        State(greeting): State<&'static str>,
    ) -> &'static str {
        bento
            .track(&Event::new("state.used", "ada@example.com"))
            .unwrap();
        greeting
    }
    let (emulator, client) = emulator_and_client().await;
    let app = Router::new().route("/", get(handler)).with_state(AppState {
        bento: client.clone(),
        greeting: "hi",
    });
    let (url, stop, server) = serve(app).await;
    assert_eq!(
        http().get(&url).send().await.unwrap().text().await.unwrap(),
        "hi"
    );
    stop.send(()).unwrap();
    server.await.unwrap();
    client.flush(Duration::from_secs(5)).await.unwrap();
    assert_eq!(emulator.events()[0].event_type, "state.used");
}

#[tokio::test]
async fn deliver_on_success_keeps_events_of_failed_requests_out() {
    let (emulator, client) = emulator_and_client().await;
    let layer = BentoLayer::new(client.clone()).deliver_on_success();
    let panicked = Arc::new(AtomicBool::new(false));

    async fn ok(bento: Bento) -> StatusCode {
        bento.track(&signup_for(1)).unwrap();
        StatusCode::OK
    }
    async fn client_error(bento: Bento) -> StatusCode {
        bento.track(&signup_for(2)).unwrap();
        StatusCode::UNPROCESSABLE_ENTITY
    }
    async fn server_error(bento: Bento) -> StatusCode {
        bento.track(&signup_for(3)).unwrap();
        StatusCode::INTERNAL_SERVER_ERROR
    }
    async fn slow(bento: Bento) -> StatusCode {
        bento.track(&signup_for(4)).unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
        StatusCode::OK
    }
    let flag = Arc::clone(&panicked);
    let panics = move |bento: Bento| async move {
        bento.track(&signup_for(5)).unwrap();
        flag.store(true, Ordering::SeqCst);
        if flag.load(Ordering::SeqCst) {
            panic!("handler bug");
        }
        StatusCode::OK
    };
    let app = Router::new()
        .route("/ok", get(ok))
        .route("/client-error", get(client_error))
        .route("/server-error", get(server_error))
        .route("/slow", get(slow))
        .route("/panics", get(panics))
        .layer(layer.clone());

    // Driven in-process with tower's `oneshot`, so that a panicking handler and
    // a cancelled request are exercised deterministically.
    use tower::ServiceExt;
    let request = |path: &str| {
        axum::http::Request::get(path)
            .body(axum::body::Body::empty())
            .unwrap()
    };
    assert_eq!(
        app.clone().oneshot(request("/ok")).await.unwrap().status(),
        200
    );
    assert_eq!(
        app.clone()
            .oneshot(request("/client-error"))
            .await
            .unwrap()
            .status(),
        422
    );
    assert_eq!(
        app.clone()
            .oneshot(request("/server-error"))
            .await
            .unwrap()
            .status(),
        500
    );
    let cancelled = tokio::time::timeout(
        Duration::from_millis(50),
        app.clone().oneshot(request("/slow")),
    )
    .await;
    assert!(cancelled.is_err(), "the request was cancelled");
    let crashed = tokio::spawn(app.clone().oneshot(request("/panics"))).await;
    assert!(
        crashed.is_err() && panicked.load(Ordering::SeqCst),
        "the handler panicked"
    );

    client.flush(Duration::from_secs(5)).await.unwrap();
    let mut emails: Vec<String> = emulator.events().into_iter().map(|e| e.email).collect();
    emails.sort();
    assert_eq!(emails, vec!["user1@example.com", "user2@example.com"]);
    assert_eq!((layer.delivered(), layer.discarded()), (2, 3));
}

/// A request holds its events until its response (`deliver_on_success`);
/// the person is erased while it runs: when it succeeds, their event is
/// refused at release (the tombstone), and the other person's leaves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_held_by_a_request_are_refused_when_the_person_was_erased_meanwhile() {
    let (emulator, client) = emulator_and_client().await;
    let layer = BentoLayer::new(client.clone()).deliver_on_success();
    let (tracked, tracked_rx) = tokio::sync::oneshot::channel::<()>();
    let (erased, erased_rx) = tokio::sync::oneshot::channel::<()>();
    let steps = Arc::new(std::sync::Mutex::new(Some((tracked, erased_rx))));
    let app = Router::new()
        .route(
            "/checkout",
            get(move |bento: Bento| {
                let steps = steps.lock().unwrap().take();
                async move {
                    bento.track(&signup_for(1)).unwrap();
                    bento.track(&signup_for(2)).unwrap();
                    if let Some((tracked, erased)) = steps {
                        tracked.send(()).unwrap();
                        erased.await.unwrap();
                    }
                    StatusCode::OK
                }
            }),
        )
        .layer(layer.clone());
    use tower::ServiceExt;
    let request = axum::http::Request::get("/checkout")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = tokio::spawn(app.oneshot(request));
    tracked_rx.await.unwrap();
    client.erase("user1@example.com").await.unwrap();
    erased.send(()).unwrap();
    assert_eq!(response.await.unwrap().unwrap().status(), 200);

    client.flush(Duration::from_secs(5)).await.unwrap();
    let emails: Vec<String> = emulator.events().into_iter().map(|e| e.email).collect();
    assert_eq!(emails, vec!["user2@example.com"]);
    assert_eq!(client.stats().refused, 1, "{:?}", client.stats());
}

#[test]
fn layer_service_and_handle_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<BentoLayer>();
    assert_send_sync::<Bento>();
    assert_send_sync::<bento_axum::BentoService<Router>>();
    fn assert_send<T: Send>() {}
    assert_send::<
        bento_axum::ResponseFuture<
            std::future::Ready<Result<axum::response::Response, std::convert::Infallible>>,
        >,
    >();
}

/// `deliver_if`: a rule of the app's own on the response's status.
#[tokio::test]
async fn deliver_if_delivers_the_events_of_the_statuses_it_accepts() {
    let (emulator, client) = emulator_and_client().await;
    let layer = BentoLayer::new(client.clone()).deliver_if(|status| status.is_success());
    async fn created(bento: Bento) -> StatusCode {
        bento.track(&signup_for(1)).unwrap();
        StatusCode::CREATED
    }
    async fn conflict(bento: Bento) -> StatusCode {
        bento.track(&signup_for(2)).unwrap();
        StatusCode::CONFLICT
    }
    let app = Router::new()
        .route("/created", get(created))
        .route("/conflict", get(conflict))
        .layer(layer.clone());
    use tower::ServiceExt;
    for (path, status) in [("/created", 201), ("/conflict", 409)] {
        let request = axum::http::Request::get(path)
            .body(axum::body::Body::empty())
            .unwrap();
        assert_eq!(app.clone().oneshot(request).await.unwrap().status(), status);
    }
    client.flush(Duration::from_secs(5)).await.unwrap();
    let emails: Vec<String> = emulator.events().into_iter().map(|e| e.email).collect();
    assert_eq!(
        emails,
        vec!["user1@example.com"],
        "a 409 is not a success here"
    );
    assert_eq!((layer.delivered(), layer.discarded()), (1, 1));
}

/// Issue 19: the request's subscriber, from what the app's auth put in the
/// request (here a header) or from `bento.identify` in a handler; events
/// without an email are about them, anonymous ones are a typed error.
#[tokio::test]
async fn events_without_an_email_are_about_the_request_subscriber() {
    use bento_core::TrackError;
    use bento_tests::Upgraded;
    let (emulator, client) = emulator_and_client().await;
    let layer = BentoLayer::new(client.clone()).identify(|parts| {
        parts
            .headers
            .get("x-user")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    });
    async fn upgrade(bento: Bento) -> StatusCode {
        match bento.track(&Upgraded { plan: "pro" }) {
            Ok(()) => StatusCode::OK,
            Err(TrackError::Anonymous { event_type }) => {
                assert_eq!(event_type, "plan.upgraded");
                StatusCode::UNAUTHORIZED
            }
            Err(other) => panic!("{other}"),
        }
    }
    async fn signup(bento: Bento) -> StatusCode {
        assert!(bento.identity().is_none());
        bento.identify("new@example.com");
        bento.track(&Upgraded { plan: "trial" }).unwrap();
        // An event with its own email keeps it, identity or not.
        bento.track(&signup_for(9)).unwrap();
        StatusCode::CREATED
    }
    let app = Router::new()
        .route("/upgrade", post(upgrade))
        .route("/signup", post(signup))
        .layer(layer);
    let (url, stop, server) = serve(app).await;
    let http = http();
    let identified = http
        .post(format!("{url}/upgrade"))
        .header("x-user", "ada@example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(identified.status(), 200);
    let anonymous = http.post(format!("{url}/upgrade")).send().await.unwrap();
    assert_eq!(
        anonymous.status(),
        401,
        "nothing sent for an anonymous request"
    );
    let signed_up = http.post(format!("{url}/signup")).send().await.unwrap();
    assert_eq!(signed_up.status(), 201);
    // Outside a request: whom it is about is said at the call.
    client
        .track_for("grace@example.com", &Upgraded { plan: "team" })
        .unwrap();
    stop.send(()).unwrap();
    server.await.unwrap();
    client.flush(Duration::from_secs(5)).await.unwrap();
    let mut seen: Vec<(String, String)> = emulator
        .events()
        .into_iter()
        .map(|e| (e.event_type, e.email))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            ("account.signup".to_owned(), "user9@example.com".to_owned()),
            ("plan.upgraded".to_owned(), "ada@example.com".to_owned()),
            ("plan.upgraded".to_owned(), "grace@example.com".to_owned()),
            ("plan.upgraded".to_owned(), "new@example.com".to_owned()),
        ]
    );
}

/// Issue 19: page views of identified, successful HTML GETs, and commands
/// queued from a handler, both under the request's hold policy.
#[tokio::test]
async fn page_views_and_queued_commands_follow_the_request() {
    use axum::response::{Html, IntoResponse};
    use bento_core::Command;
    let (emulator, client) = emulator_and_client().await;
    let layer = BentoLayer::new(client.clone())
        .identify(|parts| {
            parts
                .headers
                .get("x-user")
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        })
        .deliver_on_success()
        .track_page_views_if(|path| !path.starts_with("/admin"));
    async fn page() -> Html<&'static str> {
        Html("<h1>Pricing</h1>")
    }
    async fn login(bento: Bento) -> Html<&'static str> {
        bento.identify("new@example.com");
        Html("<h1>Welcome</h1>")
    }
    async fn failing_page() -> impl IntoResponse {
        (StatusCode::INTERNAL_SERVER_ERROR, Html("<h1>Oops</h1>"))
    }
    async fn data() -> impl IntoResponse {
        (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            "7",
        )
    }
    async fn newsletter(bento: Bento, body: String) -> StatusCode {
        let email = bento.identity().unwrap().to_string();
        bento
            .enqueue_command(Command::AddTag {
                email,
                tag: "newsletter".into(),
            })
            .unwrap();
        if body == "fail" {
            StatusCode::BAD_GATEWAY
        } else {
            StatusCode::OK
        }
    }
    let app = Router::new()
        .route("/pricing", get(page).post(page))
        .route("/admin", get(page))
        .route("/login", get(login))
        .route("/broken", get(failing_page))
        .route("/api/data", get(data))
        .route("/newsletter", post(newsletter))
        .layer(layer.clone());
    let (url, stop, server) = serve(app).await;
    let http = http();
    let get_as = |path: &str, user: Option<&str>| {
        let request = http.get(format!("{url}{path}"));
        match user {
            Some(user) => request.header("x-user", user),
            None => request,
        }
    };
    let ada = Some("ada@example.com");
    for (path, user, status) in [
        ("/pricing?plan=pro#faq", ada, 200),
        ("/pricing", None, 200),
        ("/api/data", ada, 200),
        ("/admin", ada, 200),
        ("/nowhere", ada, 404),
        ("/broken", ada, 500),
        ("/login", None, 200),
    ] {
        let response = get_as(path, user).send().await.unwrap();
        assert_eq!(response.status(), status, "{path}");
    }
    let posted = http
        .post(format!("{url}/pricing"))
        .header("x-user", "ada@example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    for (body, status) in [("ok", 200), ("fail", 502)] {
        let response = http
            .post(format!("{url}/newsletter"))
            .header("x-user", "grace@example.com")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status);
    }
    stop.send(()).unwrap();
    server.await.unwrap();
    client.flush(Duration::from_secs(5)).await.unwrap();
    let mut views: Vec<(String, serde_json::Value)> = emulator
        .events()
        .into_iter()
        .filter(|e| e.event_type == "$view")
        .map(|e| (e.email, serde_json::Value::Object(e.details)))
        .collect();
    views.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        views,
        vec![
            (
                "ada@example.com".to_owned(),
                serde_json::json!({ "path": "/pricing", "query": "plan=pro" })
            ),
            (
                "new@example.com".to_owned(),
                serde_json::json!({ "path": "/login" })
            ),
        ]
    );
    assert_eq!(emulator.events().len(), 2, "nothing but the two views");
    let commands: usize = emulator
        .requests()
        .iter()
        .filter(|r| r.path == "fetch/commands")
        .filter_map(|r| r.items)
        .sum();
    assert_eq!(commands, 1, "the failed request's command was discarded");
    assert_eq!(
        emulator.subscriber("grace@example.com").unwrap().tags,
        vec!["newsletter"]
    );
    assert_eq!((layer.delivered(), layer.discarded()), (3, 1));
}

#[tokio::test]
async fn held_events_are_held_to_the_tracking_plan_when_tracked() {
    let emulator = bento_emulator::Emulator::builder()
        .no_rate_limits()
        .start()
        .await
        .unwrap();
    let plan = bento_core::plan::Plan::parse(
        "[events.\"account.signup\"]\ndetails = { source = \"string\" }\n",
    )
    .unwrap();
    let client = bento_tests::client_for(&emulator)
        .plan(plan)
        .build()
        .unwrap();
    async fn track(bento: Bento, kind: String) -> String {
        let event = Event::new(kind, "ada@example.com").detail("source", "ad");
        match bento.track(&event) {
            Ok(()) => "tracked".to_owned(),
            Err(error) => error.to_string(),
        }
    }
    let app = Router::new()
        .route("/track", post(track))
        .layer(BentoLayer::new(client.clone()).deliver_on_success());
    let (url, stop, server) = serve(app).await;
    let http = http();
    let track_as = |kind: &'static str| {
        let request = http.post(format!("{url}/track")).body(kind);
        async move { request.send().await.unwrap().text().await.unwrap() }
    };
    let off = track_as("acount.signup").await;
    assert!(
        off.contains("off the tracking plan") && off.contains("did you mean `account.signup`"),
        "{off}"
    );
    let on = track_as("account.signup").await;
    assert_eq!(on, "tracked");
    stop.send(()).unwrap();
    server.await.unwrap();
    client.flush(Duration::from_secs(10)).await.unwrap();
    let events = emulator.events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].event_type, "account.signup");
}

/// One line per call site loses nothing: `bento.track(..)?` answers a 422
/// for the user's bad data and a 500 (generic, the internals not shown) for
/// the program's mistake, which the client also counted and hooked; a
/// handler that ignores the result (`let _ =`) still has its program
/// mistakes counted and hooked.
#[tokio::test]
async fn refusals_answer_by_whose_mistake_and_are_never_silent() {
    use bento_axum::TrackRejection;

    let emulator = bento_emulator::Emulator::builder()
        .no_rate_limits()
        .start()
        .await
        .unwrap();
    let hooked = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = Arc::clone(&hooked);
    let client = bento_tests::client_for(&emulator)
        .on_delivery_failure(move |failure| sink.lock().unwrap().push(failure.reason.to_string()))
        .build()
        .unwrap();
    async fn checked(bento: Bento, email: String) -> Result<&'static str, TrackRejection> {
        bento.track(&Event::new("account.signup", email))?;
        Ok("ok")
    }
    async fn anonymous(bento: Bento) -> Result<&'static str, TrackRejection> {
        bento.track(&bento_tests::Upgraded { plan: "team" })?;
        Ok("ok")
    }
    async fn ignored(bento: Bento) -> &'static str {
        let _ = bento.track(&bento_tests::Upgraded { plan: "team" });
        "ok"
    }
    let app = Router::new()
        .route("/checked", post(checked))
        .route("/anonymous", post(anonymous))
        .route("/ignored", post(ignored))
        .layer(BentoLayer::new(client.clone()));
    let (url, stop, server) = serve(app).await;
    let http = http();
    let bad_email = http
        .post(format!("{url}/checked"))
        .body("not-an-email")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_email.status(), 422);
    // What to fix, without echoing the address (personal data).
    let said = bad_email.text().await.unwrap();
    assert!(
        said.contains("not a valid email address (it has no @)"),
        "{said}"
    );
    assert!(!said.contains("not-an-email"), "{said}");
    let bug = http.post(format!("{url}/anonymous")).send().await.unwrap();
    assert_eq!(bug.status(), 500);
    let body = bug.text().await.unwrap();
    assert!(
        !body.contains("plan.upgraded"),
        "no internals shown: {body}"
    );
    let ignored = http.post(format!("{url}/ignored")).send().await.unwrap();
    assert_eq!(ignored.status(), 200);
    stop.send(()).unwrap();
    server.await.unwrap();
    let stats = client.stats();
    assert_eq!(
        stats.refused, 2,
        "the anonymous events, answered or ignored: {stats:?}"
    );
    let hooked = hooked.lock().unwrap().clone();
    assert_eq!(hooked.len(), 2, "{hooked:?}");
    assert!(hooked.iter().all(|reason| reason.contains("plan.upgraded")));
    client.shutdown(Duration::from_secs(5)).await.unwrap();
}
