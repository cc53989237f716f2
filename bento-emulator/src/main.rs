//! `bento-emulator`: a local Bento API on a port of your choice.

use std::net::SocketAddr;

use bento_emulator::{Dialect, Emulator};

const USAGE: &str = "\
Runs a local Bento API emulator.

USAGE:
    bento-emulator [OPTIONS]

OPTIONS:
    --port <PORT>               port on 127.0.0.1 (default 4010; 0 picks a free one)
    --addr <IP:PORT>            full listen address (overrides --port)
    --publishable-key <KEY>     key to accept (default emulator-publishable-key)
    --secret-key <KEY>          key to accept (default emulator-secret-key)
    --site-uuid <UUID>          site to accept (default emulator-site-uuid)
    --dialect <live|spec>       response shapes (default live)
    --no-rate-limits            lift Bento's rate limits
    --rate-limit <FAMILY=N/SECS>
                                allow N requests of FAMILY (fetch, batch,
                                experimental, stats) in any SECS seconds
                                (repeatable; default 100/60, stats 60/3600)
    --no-retry-after            answer rate-limit 429s without Retry-After
    --keep-events <N>           events kept (default: all)
    --keep-requests <N>         requests kept in the request log (default 10000)
    --max-connections <N>       connections served at once (default 512)
    --header-timeout-ms <MS>    time allowed to send request headers (default 10000)
    --authorized-sender <ADDR>  allow ADDR as the `from` of emails and
                                broadcasts (repeatable; until one is given,
                                any sender is allowed)
    --deletion-delay-ms <MS>    anonymize a deleted subscriber MS after the
                                request (default at once)
    --deletion-quota <N>        data deletion requests per UTC day (default 1000)
    --import-delay-ms <MS>      make imported subscribers visible MS after the
                                request, as live Bento does (default at once)
    --no-transactional          the site has no Transactional Platform:
                                /delivery/* answers 403
    --plan <FILE>               answer 400 to events, imports, commands and
                                subscriber or field creation off this
                                tracking plan (bento-plan.toml)
    --json                      print one JSON line on start: base_url, keys, site_uuid
    --ready-file <PATH>         write that JSON line to PATH once listening
    -h, --help                  print this help

From another language's test suite, start it as a subprocess with
`--port 0 --json` and read the first line of its output to find it.
Inspection and faults: http://ADDR/__emulator/ (events, subscribers, emails,
requests, faults, reset).
";

/// Why the emulator did not run: a mistake in the command line (answered
/// with a pointer to `--help`), or anything else (answered alone).
enum Failure {
    Usage(String),
    Other(String),
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::Usage(message)
    }
}

fn main() {
    match run() {
        Ok(()) => {}
        Err(Failure::Usage(message)) => {
            eprintln!("bento-emulator: {message}\nRun `bento-emulator --help` for the options.");
            std::process::exit(2);
        }
        Err(Failure::Other(message)) => {
            eprintln!("bento-emulator: {message}");
            std::process::exit(2);
        }
    }
}

fn number<T: std::str::FromStr>(text: String) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("`{text}` is not a number"))
}

fn run() -> Result<(), Failure> {
    let mut json = false;
    let mut plan_file: Option<(String, usize, usize)> = None;
    let mut ready_file: Option<std::path::PathBuf> = None;
    let mut builder = Emulator::builder().port(4010);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        builder = match arg.as_str() {
            "--port" => builder.port(
                value("--port")?
                    .parse()
                    .map_err(|e| format!("bad --port: {e}"))?,
            ),
            "--addr" => builder.addr(
                value("--addr")?
                    .parse::<SocketAddr>()
                    .map_err(|e| format!("bad --addr: {e}"))?,
            ),
            "--publishable-key" => builder.publishable_key(value("--publishable-key")?),
            "--secret-key" => builder.secret_key(value("--secret-key")?),
            "--site-uuid" => builder.site_uuid(value("--site-uuid")?),
            "--dialect" => match value("--dialect")?.as_str() {
                "live" => builder.dialect(Dialect::Live),
                "spec" => builder.dialect(Dialect::Spec),
                other => return Err(Failure::Usage(format!("unknown dialect `{other}`"))),
            },
            "--no-rate-limits" => builder.no_rate_limits(),
            "--rate-limit" => {
                let (family, limit) = rate_limit(&value("--rate-limit")?)?;
                builder.rate_limit(family, limit)
            }
            "--no-retry-after" => builder.rate_limit_retry_after(false),
            "--keep-events" => builder.keep_events(number(value("--keep-events")?)?),
            "--keep-requests" => builder.keep_requests(number(value("--keep-requests")?)?),
            "--max-connections" => builder.max_connections(number(value("--max-connections")?)?),
            "--header-timeout-ms" => builder.header_timeout(std::time::Duration::from_millis(
                number::<u64>(value("--header-timeout-ms")?)?,
            )),
            "--authorized-sender" => builder.authorized_sender(value("--authorized-sender")?),
            "--deletion-delay-ms" => builder.deletion_delay(std::time::Duration::from_millis(
                number::<u64>(value("--deletion-delay-ms")?)?,
            )),
            "--import-delay-ms" => builder.import_delay(std::time::Duration::from_millis(
                number::<u64>(value("--import-delay-ms")?)?,
            )),
            "--deletion-quota" => builder.deletion_quota(number(value("--deletion-quota")?)?),
            "--no-transactional" => builder.transactional_platform(false),
            "--plan" => {
                let file = value("--plan")?;
                let plan = bento_plan::Plan::load(std::path::Path::new(&file)).map_err(|e| {
                    Failure::Other(format!("the --plan file is not a valid plan:\n{e}"))
                })?;
                plan_file = Some((file, plan.fields().count(), plan.events().count()));
                builder.plan(plan)
            }
            "--json" => {
                json = true;
                builder
            }
            "--ready-file" => {
                ready_file = Some(std::path::PathBuf::from(value("--ready-file")?));
                builder
            }
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(());
            }
            other => return Err(Failure::Usage(format!("unknown argument `{other}`"))),
        };
    }
    let emulator = builder
        .start_blocking()
        .map_err(|e| Failure::Other(format!("could not start: {e}")))?;
    if !emulator.addr().ip().is_loopback() {
        eprintln!(
            "warning: listening on {}, reachable from other machines; the emulator has no \
             real security: bind 127.0.0.1 unless you need this",
            emulator.addr()
        );
    }
    let ready = serde_json::json!({
        "base_url": emulator.base_url(),
        "addr": emulator.addr().to_string(),
        "publishable_key": emulator.publishable_key(),
        "secret_key": emulator.secret_key(),
        "site_uuid": emulator.site_uuid(),
        "plan": plan_file.as_ref().map(|(file, _, _)| file),
    })
    .to_string();
    let announce = || -> Result<(), Failure> {
        if let Some(path) = &ready_file {
            std::fs::write(path, format!("{ready}\n"))
                .map_err(|e| Failure::Other(format!("cannot write {}: {e}", path.display())))?;
        }
        if json {
            println!("{ready}");
        } else {
            println!("Bento emulator listening on {}", emulator.base_url());
            if let Some((file, fields, events)) = &plan_file {
                println!(
                    "Holding every write to the tracking plan {file} ({fields} fields, {events} events)"
                );
            }
            println!();
            print!("{}", emulator.shell_exports());
            println!();
            println!(
                "Inspect with: curl http://{}/__emulator/events",
                emulator.addr()
            );
            println!("Ctrl-C or SIGTERM stops it.");
        }
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        Ok(())
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Other(e.to_string()))?;
    runtime.block_on(async {
        // The handlers exist before the ready line: a supervisor that
        // stops the emulator as soon as it is announced stops it cleanly.
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let listen = |kind| signal(kind).map_err(|e| Failure::Other(e.to_string()));
            let mut term = listen(SignalKind::terminate())?;
            let mut interrupt = listen(SignalKind::interrupt())?;
            announce()?;
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = term.recv() => {}
            }
            Ok::<(), Failure>(())
        }
        #[cfg(not(unix))]
        {
            let interrupt = tokio::signal::ctrl_c();
            announce()?;
            interrupt.await.map_err(|e| Failure::Other(e.to_string()))
        }
    })?;
    emulator.shutdown();
    Ok(())
}

/// `FAMILY=N/SECS`, as `--rate-limit` takes it.
fn rate_limit(text: &str) -> Result<(bento_emulator::Family, bento_emulator::Limit), Failure> {
    use bento_emulator::{Family, Limit};
    let usage = || {
        Failure::Usage(format!(
            "bad --rate-limit `{text}`: expected FAMILY=N/SECS, e.g. batch=60/60"
        ))
    };
    let (family, limit) = text.split_once('=').ok_or_else(usage)?;
    let family = match family.trim() {
        "fetch" => Family::Fetch,
        "batch" => Family::Batch,
        "experimental" => Family::Experimental,
        "stats" => Family::Stats,
        other => {
            return Err(Failure::Usage(format!(
                "bad --rate-limit `{text}`: unknown family `{other}` (fetch, batch, experimental or stats)"
            )));
        }
    };
    let (requests, seconds) = limit.split_once('/').ok_or_else(usage)?;
    let requests: u32 = requests.trim().parse().map_err(|_| usage())?;
    let seconds: f64 = seconds.trim().parse().map_err(|_| usage())?;
    if requests == 0 || !(seconds > 0.0 && seconds <= 86_400.0 * 366.0) {
        return Err(usage());
    }
    Ok((
        family,
        Limit::new(requests, std::time::Duration::from_secs_f64(seconds)),
    ))
}
