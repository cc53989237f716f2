//! What both demo programs share: the client (or the in-process emulator),
//! the requests that drive the app, and the summary of what Bento received.

use std::time::Duration;

use bento_core::integration::shutdown::ServeError;
use bento_core::{Client, ClientBuilder, DeliveryFailure, DeliveryReport, FlushError, ItemKind};
use bento_emulator::Emulator;
use serde_json::{Value, json};

/// Where the demo writes what it could not deliver: events and subscribers
/// as JSON Lines, ready for `bento import events|subscribers FILE`.
pub fn spool_dir() -> std::path::PathBuf {
    std::env::var_os("BENTO_DEMO_SPOOL")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from("."))
}

/// A failure hook that loses nothing silently: it says what was given up
/// and why, and appends the items to `bento-undelivered-events.jsonl` or
/// `bento-undelivered-subscribers.jsonl` in [`spool_dir`]. Copy it: the
/// default (no hook) only logs.
pub fn spool_failures() -> impl Fn(DeliveryFailure) + Send + Sync + 'static {
    let dir = spool_dir();
    move |failure: DeliveryFailure| {
        let mut spooled = 0usize;
        let mut files: Vec<std::path::PathBuf> = Vec::new();
        for item in &failure.items {
            let name = match item.kind() {
                ItemKind::Event => "bento-undelivered-events.jsonl",
                ItemKind::Command => "bento-undelivered-commands.jsonl",
                ItemKind::Deletion => "bento-undelivered-deletions.jsonl",
                _ => "bento-undelivered-subscribers.jsonl",
            };
            let path = dir.join(name);
            let written = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .and_then(|mut file| {
                    use std::io::Write;
                    file.write_all(item.json())?;
                    file.write_all(b"\n")
                });
            match written {
                Ok(()) => {
                    spooled += 1;
                    if !files.contains(&path) {
                        files.push(path);
                    }
                }
                Err(error) => eprintln!(
                    "could not spool an undelivered item to {}: {error}",
                    path.display()
                ),
            }
        }
        let files: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        eprintln!(
            "Bento did not get {} item(s) ({}); {spooled} written to {}",
            failure.items.len(),
            failure.reason,
            files.join(" and ")
        );
    }
}

/// The spool files [`spool_failures`] writes about people (a spooled
/// deletion request is kept: it is the erasure itself).
const SPOOLS: [&str; 3] = [
    "bento-undelivered-events.jsonl",
    "bento-undelivered-subscribers.jsonl",
    "bento-undelivered-commands.jsonl",
];

/// Removes every line about `email` from the spool files in `dir` (call it
/// beside `Client::erase`: a spool replayed with `bento import` would
/// otherwise re-create the person); how many lines it removed. Each file is
/// rewritten to a temporary file and renamed over, so a crash leaves the old
/// file or the new one.
pub fn erase_from_spool(dir: &std::path::Path, email: &str) -> std::io::Result<usize> {
    let wanted = email.trim().to_lowercase();
    let about = |line: &str| {
        serde_json::from_str::<Value>(line)
            .ok()
            .and_then(|item| item.get("email")?.as_str().map(|e| e.trim().to_lowercase()))
            .is_some_and(|own| own == wanted)
    };
    let mut removed = 0;
    for name in SPOOLS {
        let path = dir.join(name);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) => return Err(error),
        };
        let kept: Vec<&str> = text.lines().filter(|line| !about(line)).collect();
        let gone = text.lines().count() - kept.len();
        if gone == 0 {
            continue;
        }
        let temporary = dir.join(format!("{name}.erasing"));
        let mut body = kept.join("\n");
        if !body.is_empty() {
            body.push('\n');
        }
        std::fs::write(&temporary, body)?;
        std::fs::rename(&temporary, &path)?;
        removed += gone;
    }
    Ok(removed)
}

/// Says in plain words how the shutdown went, and where anything not
/// delivered went; `Err` when something was not delivered.
pub fn report_shutdown(
    served: Result<DeliveryReport, ServeError>,
    discarded: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    match served {
        Ok(report) => {
            println!(
                "\nDelivered {} items to Bento ({} retried, {} failed); held back {} event(s) of failed requests.",
                report.stats.sent, report.stats.retried, report.stats.failed, discarded
            );
            Ok(())
        }
        Err(ServeError::Undelivered(FlushError::Timeout { pending, timeout })) => {
            let message = format!(
                "Bento could not be reached before the {} s shutdown deadline: {pending} item(s) were not \
                 delivered. They were handed to the failure hook, which wrote them to {} \
                 (bento-undelivered-*.jsonl): send them later with `bento import events FILE` and \
                 `bento import subscribers FILE`.",
                timeout.as_secs(),
                spool_dir().display()
            );
            eprintln!("\n{message}");
            Err(message.into())
        }
        Err(other) => Err(other.into()),
    }
}

/// A client for Bento when `BENTO_*` variables are set, else for an emulator
/// started in-process (returned too, to print what it received).
pub fn client(app_name: &str) -> Result<(Client, Option<Emulator>), Box<dyn std::error::Error>> {
    let (builder, emulator) = builder(app_name)?;
    Ok((builder.build()?, emulator))
}

/// The builder behind [`client`], for apps that add settings (an outbox).
pub fn builder(
    app_name: &str,
) -> Result<(ClientBuilder, Option<Emulator>), Box<dyn std::error::Error>> {
    if std::env::var_os(bento_core::env::SECRET_KEY).is_some() {
        let builder = ClientBuilder::from_env()?
            .app_name(app_name)
            .plan(bento_core::include_plan!())
            .on_delivery_failure(spool_failures());
        return Ok((builder, None));
    }
    // The emulator holds every request to the plan too, as Bento will not.
    let emulator = Emulator::builder()
        .plan(bento_core::include_plan!())
        .start_blocking()?;
    println!(
        "No BENTO_* variables set: using the in-process emulator at {}",
        emulator.base_url()
    );
    let client = Client::builder()
        .base_url(emulator.base_url())
        .publishable_key(emulator.publishable_key())
        .secret_key(emulator.secret_key())
        .site_uuid(emulator.site_uuid())
        .app_name(app_name)
        .plan(bento_core::include_plan!())
        .on_delivery_failure(spool_failures())
        .flush_interval(Duration::from_millis(200));
    Ok((client, Some(emulator)))
}

/// The address `--serve` listens on: `--listen ADDR`, else 127.0.0.1:3000.
pub fn listen_address() -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--listen")
        .and_then(|at| args.get(at + 1).cloned())
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned())
}

/// One request the demo sends.
#[derive(Debug, Clone)]
pub struct DemoRequest {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The path.
    pub path: &'static str,
    /// Who is signed in (the demo's session header), if anyone.
    pub user: Option<&'static str>,
    /// The JSON body of a `POST`.
    pub body: Value,
}

fn post(path: &'static str, user: Option<&'static str>, body: Value) -> DemoRequest {
    DemoRequest {
        method: "POST",
        path,
        user,
        body,
    }
}

/// The demo's requests: two signups that succeed or fail in different ways,
/// a purchase with a 3-item cart, a subscriber import, a signed-in visitor
/// who views the pricing page, upgrades and joins the newsletter, and an
/// anonymous one who tries to.
pub fn requests() -> Vec<DemoRequest> {
    let ada = Some("ada@example.com");
    vec![
        post(
            "/signup",
            None,
            json!({"email": "ada@example.com", "first_name": "Ada", "plan": "pro"}),
        ),
        post(
            "/signup",
            None,
            json!({"email": "fail@example.com", "first_name": "Bob", "plan": "free"}),
        ),
        post(
            "/signup",
            None,
            json!({"email": "not-an-email", "first_name": "Cy", "plan": "free"}),
        ),
        post(
            "/purchase",
            None,
            json!({
                "email": "ada@example.com", "order_id": "ord_1001", "currency": "USD",
                "items": [
                    {"product_sku": "MUG-1", "product_name": "Engine Mug", "quantity": 2, "price": 1500},
                    {"product_sku": "TEA-7", "product_name": "Earl Grey", "quantity": 1, "price": 2000},
                    {"product_sku": "SPN-3", "product_name": "Brass Spoon", "quantity": 4, "price": 750}
                ]
            }),
        ),
        post(
            "/import",
            None,
            json!([
                {"email": "grace@example.com", "first_name": "Grace", "tags": ["lead", "newsletter"]},
                {"email": "alan@example.com", "company": "Bletchley"}
            ]),
        ),
        DemoRequest {
            method: "GET",
            path: "/pricing",
            user: ada,
            body: Value::Null,
        },
        post("/upgrade", ada, json!({"plan": "team"})),
        post("/upgrade", None, json!({"plan": "team"})),
        post("/newsletter", ada, Value::Null),
    ]
}

/// An HTTP client for driving the demo apps (a program, not a library, so
/// it may install the process-wide rustls provider reqwest needs here: the
/// workspace builds reqwest with `rustls-no-provider`).
pub fn http() -> reqwest::Client {
    // ring is deprecated by rustls 0.23.48 (no post-quantum key exchange);
    // the demo talks to loopback and Bento, and builds without a C toolchain.
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// Sends the demo's requests to the app at `url`; returns each status.
pub async fn drive(url: &str, verbose: bool) -> Result<Vec<u16>, Box<dyn std::error::Error>> {
    let http = http();
    let mut statuses = Vec::new();
    for request in requests() {
        let DemoRequest {
            method,
            path,
            user,
            body,
        } = request;
        let mut builder = match method {
            "GET" => http.get(format!("{url}{path}")),
            _ => http
                .post(format!("{url}{path}"))
                .header("content-type", "application/json")
                .body(serde_json::to_vec(&body)?),
        };
        if let Some(user) = user {
            builder = builder.header(crate::app::USER_HEADER, user);
        }
        let response = builder.send().await?;
        let status = response.status();
        let text = response.text().await?;
        if verbose {
            let who = user.unwrap_or("anonymous");
            let text = if text.starts_with("<!doctype") {
                "(HTML)"
            } else {
                &text
            };
            println!("{method:<4} {path:<11} as {who:<15} -> {status} {text}");
        }
        statuses.push(status.as_u16());
    }
    Ok(statuses)
}

/// Prints what the emulator received.
pub fn print_received(emulator: &Emulator) {
    println!("\nWhat Bento received:");
    for event in emulator.events() {
        println!(
            "  event  {:<16} {:<22} fields {} details {}",
            event.event_type,
            event.email,
            Value::Object(event.fields.clone()),
            Value::Object(event.details.clone()),
        );
    }
    for person in emulator.subscribers() {
        println!(
            "  person {:<22} tags {:?} fields {}",
            person.email,
            person.tags,
            Value::Object(person.fields)
        );
    }
}
