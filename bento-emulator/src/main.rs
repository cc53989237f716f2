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
    -h, --help                  print this help
";

fn main() {
    if let Err(message) = run() {
        eprintln!("bento-emulator: {message}\n\n{USAGE}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
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
                other => return Err(format!("unknown dialect `{other}`")),
            },
            "--no-rate-limits" => builder.no_rate_limits(),
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument `{other}`")),
        };
    }
    let emulator = builder
        .start_blocking()
        .map_err(|e| format!("could not start: {e}"))?;
    println!("Bento emulator listening on {}", emulator.base_url());
    println!();
    print!("{}", emulator.shell_exports());
    println!();
    println!(
        "Inspect with: curl http://{}/__emulator/events",
        emulator.addr()
    );
    println!("Press Ctrl-C to stop.");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime
        .block_on(tokio::signal::ctrl_c())
        .map_err(|e| e.to_string())?;
    emulator.shutdown();
    Ok(())
}
