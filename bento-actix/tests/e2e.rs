//! `actix_web::test` services and a real `HttpServer` on 127.0.0.1:0, with the
//! middleware, the client's delivery thread and the emulator.
#![allow(clippy::unwrap_used)]

use std::rc::Rc;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, HttpServer, test, web};
use bento_actix::{Bento, BentoMiddleware};
use bento_tests::{emulator_and_client_blocking, signup_for};

/// Runs `body` on actix's runtime (a current-thread runtime, as each worker's is).
fn actix<F: std::future::Future<Output = ()>>(body: F) {
    actix_web::rt::System::new().block_on(body);
}

async fn signup(bento: Bento, body: String) -> HttpResponse {
    let n: usize = body.parse().unwrap_or(0);
    match bento.track(&signup_for(n)) {
        Ok(()) => HttpResponse::Created().finish(),
        Err(_) => HttpResponse::ServiceUnavailable().finish(),
    }
}

#[test]
fn events_tracked_in_handlers_arrive_with_the_right_shape() {
    let (emulator, client) = emulator_and_client_blocking();
    actix(async {
        let app = test::init_service(
            App::new()
                .wrap(BentoMiddleware::new(client.clone()))
                .route("/signup", web::post().to(signup)),
        )
        .await;
        let request = test::TestRequest::post()
            .uri("/signup")
            .set_payload("7")
            .to_request();
        assert_eq!(
            test::call_service(&app, request).await.status(),
            StatusCode::CREATED
        );
        client.shutdown(Duration::from_secs(5)).await.unwrap();
    });
    let events = emulator.events();
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].event_type.as_str(), events[0].email.as_str()),
        ("account.signup", "user7@example.com")
    );
    assert_eq!(
        emulator.subscriber("user7@example.com").unwrap().fields["plan"],
        "pro"
    );
}

#[test]
fn app_data_works_without_the_middleware() {
    let (emulator, client) = emulator_and_client_blocking();
    actix(async {
        let plain = test::init_service(
            App::new()
                .app_data(client.clone())
                .route("/signup", web::post().to(signup)),
        )
        .await;
        let data = test::init_service(
            App::new()
                .app_data(web::Data::new(client.clone()))
                .route("/signup", web::post().to(signup)),
        )
        .await;
        for (app, n) in [(&plain, "1"), (&data, "2")] {
            let request = test::TestRequest::post()
                .uri("/signup")
                .set_payload(n)
                .to_request();
            assert_eq!(
                test::call_service(app, request).await.status(),
                StatusCode::CREATED
            );
        }
        client.flush(Duration::from_secs(5)).await.unwrap();
    });
    assert_eq!(emulator.events().len(), 2);
}

#[test]
fn without_a_client_the_extractor_answers_500_and_option_works() {
    async fn optional(bento: Option<Bento>) -> &'static str {
        if bento.is_some() {
            "client"
        } else {
            "no client"
        }
    }
    actix(async {
        let app = test::init_service(
            App::new()
                .route("/signup", web::post().to(signup))
                .route("/optional", web::get().to(optional)),
        )
        .await;
        let response =
            test::call_service(&app, test::TestRequest::post().uri("/signup").to_request()).await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        // The body names the line to add, so the developer sees it at once.
        let body = test::read_body(response).await;
        let body = String::from_utf8_lossy(&body);
        assert!(
            body.contains(".wrap(bento_actix::BentoMiddleware::new(client.clone()))"),
            "{body}"
        );
        let response =
            test::call_service(&app, test::TestRequest::get().uri("/optional").to_request()).await;
        assert_eq!(test::read_body(response).await, "no client");
    });
}

#[test]
fn deliver_on_success_keeps_events_of_failed_requests_out() {
    let (emulator, client) = emulator_and_client_blocking();
    let middleware = BentoMiddleware::new(client.clone()).deliver_on_success();
    async fn ok(bento: Bento) -> HttpResponse {
        bento.track(&signup_for(1)).unwrap();
        HttpResponse::Ok().finish()
    }
    async fn client_error(bento: Bento) -> Result<HttpResponse, actix_web::Error> {
        bento.track(&signup_for(2)).unwrap();
        Err(actix_web::error::ErrorUnprocessableEntity("invalid"))
    }
    async fn server_error(bento: Bento) -> HttpResponse {
        bento.track(&signup_for(3)).unwrap();
        HttpResponse::InternalServerError().finish()
    }
    async fn slow(bento: Bento) -> HttpResponse {
        bento.track(&signup_for(4)).unwrap();
        actix_web::rt::time::sleep(Duration::from_secs(30)).await;
        HttpResponse::Ok().finish()
    }
    async fn panics(bento: Bento) -> HttpResponse {
        bento.track(&signup_for(5)).unwrap();
        if bento.client().stats().queued < u64::MAX {
            panic!("handler bug");
        }
        HttpResponse::Ok().finish()
    }
    actix(async {
        let app = Rc::new(
            test::init_service(
                App::new()
                    .wrap(middleware.clone())
                    .route("/ok", web::get().to(ok))
                    .route("/client-error", web::get().to(client_error))
                    .route("/server-error", web::get().to(server_error))
                    .route("/slow", web::get().to(slow))
                    .route("/panics", web::get().to(panics)),
            )
            .await,
        );
        let get = |path: &str| test::TestRequest::get().uri(path).to_request();
        assert_eq!(test::call_service(&*app, get("/ok")).await.status(), 200);
        assert_eq!(
            test::call_service(&*app, get("/client-error"))
                .await
                .status(),
            422
        );
        assert_eq!(
            test::call_service(&*app, get("/server-error"))
                .await
                .status(),
            500
        );
        let cancelled = actix_web::rt::time::timeout(
            Duration::from_millis(50),
            test::call_service(&*app, get("/slow")),
        )
        .await;
        assert!(cancelled.is_err(), "the request was cancelled");
        let crashing = Rc::clone(&app);
        let crashed = actix_web::rt::spawn(async move {
            test::call_service(
                &*crashing,
                test::TestRequest::get().uri("/panics").to_request(),
            )
            .await
        })
        .await;
        assert!(crashed.is_err(), "the handler panicked");
        client.flush(Duration::from_secs(5)).await.unwrap();
    });
    let mut emails: Vec<String> = emulator.events().into_iter().map(|e| e.email).collect();
    emails.sort();
    assert_eq!(emails, vec!["user1@example.com", "user2@example.com"]);
    assert_eq!((middleware.delivered(), middleware.discarded()), (2, 3));
}

#[test]
fn several_workers_track_concurrently_and_graceful_shutdown_delivers_everything() {
    const REQUESTS: usize = 2000;
    let (emulator, client) = emulator_and_client_blocking();
    bento_tests::install_tls();
    actix(async {
        // Built outside the closure, which runs once per worker.
        let middleware = BentoMiddleware::new(client.clone());
        let server = HttpServer::new(move || {
            App::new()
                .wrap(middleware.clone())
                .route("/signup", web::post().to(signup))
        })
        .workers(2)
        .bind(("127.0.0.1", 0))
        .unwrap();
        let url = format!("http://{}", server.addrs()[0]);
        let server = server.run();
        let handle = server.handle();
        let running = actix_web::rt::spawn(server);

        let http = reqwest::Client::new();
        let mut tasks = Vec::new();
        for worker in 0..16 {
            let (http, url) = (http.clone(), url.clone());
            tasks.push(actix_web::rt::spawn(async move {
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
        handle.stop(true).await;
        running.await.unwrap().unwrap();
        let report = client.shutdown(Duration::from_secs(20)).await.unwrap();
        assert_eq!(report.stats.sent, REQUESTS as u64);
    });
    let mut emails: Vec<String> = emulator.events().into_iter().map(|e| e.email).collect();
    emails.sort();
    emails.dedup();
    assert_eq!(
        emails.len(),
        REQUESTS,
        "every request's event, exactly once"
    );
}

#[test]
fn middleware_and_handle_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<BentoMiddleware>();
    assert_send_sync::<Bento>();
}

/// `deliver_if`: the same rule as in axum, on actix's status type.
#[test]
fn deliver_if_delivers_the_events_of_the_statuses_it_accepts() {
    let (emulator, client) = emulator_and_client_blocking();
    let middleware = BentoMiddleware::new(client.clone()).deliver_if(|status| status.is_success());
    async fn created(bento: Bento) -> HttpResponse {
        bento.track(&signup_for(1)).unwrap();
        HttpResponse::Created().finish()
    }
    async fn conflict(bento: Bento) -> HttpResponse {
        bento.track(&signup_for(2)).unwrap();
        HttpResponse::Conflict().finish()
    }
    actix(async {
        let app = test::init_service(
            App::new()
                .wrap(middleware.clone())
                .route("/created", web::get().to(created))
                .route("/conflict", web::get().to(conflict)),
        )
        .await;
        for (path, status) in [("/created", 201), ("/conflict", 409)] {
            let response =
                test::call_service(&app, test::TestRequest::get().uri(path).to_request()).await;
            assert_eq!(response.status(), status);
        }
        client.flush(Duration::from_secs(5)).await.unwrap();
    });
    let emails: Vec<String> = emulator.events().into_iter().map(|e| e.email).collect();
    assert_eq!(
        emails,
        vec!["user1@example.com"],
        "a 409 is not a success here"
    );
    assert_eq!((middleware.delivered(), middleware.discarded()), (1, 1));
}

/// Issue 19: the same identity semantics as axum, from a header and from
/// `bento.identify` in a handler.
#[test]
fn events_without_an_email_are_about_the_request_subscriber() {
    use bento_core::TrackError;
    use bento_tests::Upgraded;
    let (emulator, client) = emulator_and_client_blocking();
    let middleware = BentoMiddleware::new(client.clone()).identify(|request| {
        request
            .headers()
            .get("x-user")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    });
    async fn upgrade(bento: Bento) -> HttpResponse {
        match bento.track(&Upgraded { plan: "pro" }) {
            Ok(()) => HttpResponse::Ok().finish(),
            Err(TrackError::Anonymous { .. }) => HttpResponse::Unauthorized().finish(),
            Err(other) => panic!("{other}"),
        }
    }
    async fn signup(bento: Bento) -> HttpResponse {
        bento.identify("new@example.com");
        bento.track(&Upgraded { plan: "trial" }).unwrap();
        bento.track(&signup_for(9)).unwrap();
        HttpResponse::Created().finish()
    }
    actix(async {
        let app = test::init_service(
            App::new()
                .wrap(middleware.clone())
                .route("/upgrade", web::post().to(upgrade))
                .route("/signup", web::post().to(signup)),
        )
        .await;
        let identified = test::TestRequest::post()
            .uri("/upgrade")
            .insert_header(("x-user", "ada@example.com"))
            .to_request();
        assert_eq!(test::call_service(&app, identified).await.status(), 200);
        let anonymous = test::TestRequest::post().uri("/upgrade").to_request();
        assert_eq!(test::call_service(&app, anonymous).await.status(), 401);
        let signup = test::TestRequest::post().uri("/signup").to_request();
        assert_eq!(test::call_service(&app, signup).await.status(), 201);
        client.flush(Duration::from_secs(5)).await.unwrap();
    });
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
            ("plan.upgraded".to_owned(), "new@example.com".to_owned()),
        ]
    );
}

/// Issue 19, as in bento-axum: page views of identified, successful HTML
/// GETs, and commands queued from a handler, under the hold policy.
#[test]
fn page_views_and_queued_commands_follow_the_request() {
    use bento_core::Command;
    let (emulator, client) = emulator_and_client_blocking();
    let middleware = BentoMiddleware::new(client.clone())
        .identify(|request| {
            request
                .headers()
                .get("x-user")
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        })
        .deliver_on_success()
        .track_page_views_if(|path| !path.starts_with("/admin"));
    async fn page() -> HttpResponse {
        HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body("<h1>Pricing</h1>")
    }
    async fn login(bento: Bento) -> HttpResponse {
        bento.identify("new@example.com");
        page().await
    }
    async fn failing_page() -> HttpResponse {
        HttpResponse::InternalServerError()
            .content_type("text/html")
            .body("<h1>Oops</h1>")
    }
    async fn data() -> HttpResponse {
        HttpResponse::Ok()
            .content_type("application/json")
            .body("7")
    }
    async fn newsletter(bento: Bento, body: String) -> HttpResponse {
        let email = bento.identity().unwrap().to_string();
        bento
            .enqueue_command(Command::AddTag {
                email,
                tag: "newsletter".into(),
            })
            .unwrap();
        if body == "fail" {
            HttpResponse::BadGateway().finish()
        } else {
            HttpResponse::Ok().finish()
        }
    }
    actix(async {
        let app = test::init_service(
            App::new()
                .wrap(middleware.clone())
                .route("/pricing", web::get().to(page))
                .route("/pricing", web::post().to(page))
                .route("/admin", web::get().to(page))
                .route("/login", web::get().to(login))
                .route("/broken", web::get().to(failing_page))
                .route("/api/data", web::get().to(data))
                .route("/newsletter", web::post().to(newsletter)),
        )
        .await;
        let ada = Some("ada@example.com");
        for (path, user, status) in [
            ("/pricing?plan=pro", ada, 200),
            ("/pricing", None, 200),
            ("/api/data", ada, 200),
            ("/admin", ada, 200),
            ("/nowhere", ada, 404),
            ("/broken", ada, 500),
            ("/login", None, 200),
        ] {
            let mut request = test::TestRequest::get().uri(path);
            if let Some(user) = user {
                request = request.insert_header(("x-user", user));
            }
            let response = test::call_service(&app, request.to_request()).await;
            assert_eq!(response.status().as_u16(), status, "{path}");
        }
        let posted = test::TestRequest::post()
            .uri("/pricing")
            .insert_header(("x-user", "ada@example.com"))
            .to_request();
        assert_eq!(test::call_service(&app, posted).await.status(), 200);
        for (body, status) in [("ok", 200), ("fail", 502)] {
            let request = test::TestRequest::post()
                .uri("/newsletter")
                .insert_header(("x-user", "grace@example.com"))
                .set_payload(body)
                .to_request();
            let response = test::call_service(&app, request).await;
            assert_eq!(response.status().as_u16(), status);
        }
        client.flush(Duration::from_secs(5)).await.unwrap();
    });
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
    assert_eq!((middleware.delivered(), middleware.discarded()), (3, 1));
}

/// The same answers as bento-axum's: `bento.track(..)?` is a 422 for the
/// user's bad data and a generic 500 for the program's mistake, which is also
/// counted and hooked, as it is when a handler ignores the result.
#[test]
fn refusals_answer_by_whose_mistake_and_are_never_silent() {
    use bento_actix::TrackRejection;
    use std::sync::{Arc, Mutex};

    let emulator = bento_emulator::Emulator::builder()
        .no_rate_limits()
        .start_blocking()
        .unwrap();
    let hooked = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&hooked);
    let client = bento_tests::client_for(&emulator)
        .on_delivery_failure(move |failure| sink.lock().unwrap().push(failure.reason.to_string()))
        .build()
        .unwrap();
    async fn checked(bento: Bento, email: String) -> Result<&'static str, TrackRejection> {
        bento.track(&bento_core::Event::new("account.signup", email))?;
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
    actix(async {
        let app = test::init_service(
            App::new()
                .wrap(BentoMiddleware::new(client.clone()))
                .route("/checked", web::post().to(checked))
                .route("/anonymous", web::post().to(anonymous))
                .route("/ignored", web::post().to(ignored)),
        )
        .await;
        let call = |uri: &'static str, body: &'static str| {
            test::TestRequest::post()
                .uri(uri)
                .set_payload(body)
                .to_request()
        };
        let bad_email = test::call_service(&app, call("/checked", "not-an-email")).await;
        assert_eq!(bad_email.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = test::read_body(bad_email).await;
        // What to fix, without echoing the address (personal data).
        let said = String::from_utf8_lossy(&body);
        assert!(
            said.contains("not a valid email address (it has no @)"),
            "{said}"
        );
        assert!(!said.contains("not-an-email"), "{said}");
        let bug = test::call_service(&app, call("/anonymous", "")).await;
        assert_eq!(bug.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = test::read_body(bug).await;
        assert!(!String::from_utf8_lossy(&body).contains("plan.upgraded"));
        let ignored = test::call_service(&app, call("/ignored", "")).await;
        assert_eq!(ignored.status(), StatusCode::OK);
        client.shutdown(Duration::from_secs(5)).await.unwrap();
    });
    assert_eq!(client.stats().refused, 2);
    let hooked = hooked.lock().unwrap();
    assert_eq!(hooked.len(), 2, "{hooked:?}");
}
