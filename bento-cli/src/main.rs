//! `bento`: imports of any size with progress and resume, everyday account
//! work, and a doctor, on the Rust client (`bento-core`).
//!
//! Exit codes: 0 success, 1 some rows or the operation failed, 2 usage, 3
//! configuration or authentication.

mod checkpoint;
mod commands;
mod config;
mod doctor;
mod erase;
mod failure;
mod import;
mod output;
mod plan;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::failure::Failure;
use crate::output::Output;

/// Bento from the shell: imports of any size, everyday account work, and a doctor.
///
/// Credentials come from BENTO_PUBLISHABLE_KEY, BENTO_SECRET_KEY, BENTO_SITE_UUID (and
/// BENTO_BASE_URL), or from a profile saved with `bento config set`.
#[derive(Debug, Parser)]
#[command(name = "bento", version, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
struct Global {
    /// Use this profile of the config file instead of the BENTO_* variables.
    #[arg(long, global = true, env = "BENTO_PROFILE")]
    profile: Option<String>,
    /// Machine-readable JSON output instead of tables.
    #[arg(long, global = true)]
    json: bool,
    /// Requests per minute per endpoint family (Bento's documented limit is 100).
    #[arg(long, global = true, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    requests_per_minute: u32,
    /// The tracking plan every write is held to, and the one `bento plan` reads (default:
    /// BENTO_PLAN, else bento-plan.toml here or in the nearest parent folder that holds one).
    #[arg(long, global = true)]
    plan: Option<std::path::PathBuf>,
    /// Hold nothing to a tracking plan, even when one is found.
    #[arg(long, global = true, conflicts_with = "plan")]
    no_plan: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Import subscribers (CSV or JSON Lines) or events (JSON Lines), 1000 per request.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Track one event.
    Track {
        /// The event type, such as `account.signup`.
        event_type: String,
        /// The subscriber's email.
        email: String,
        /// A field written to the subscriber's profile: `key=value` (repeatable).
        #[arg(long = "field", value_parser = key_value)]
        fields: Vec<(String, String)>,
        /// A detail stored on the event: `key=value` (repeatable).
        #[arg(long = "detail", value_parser = key_value)]
        details: Vec<(String, String)>,
    },
    /// Look up and change one subscriber.
    #[command(subcommand)]
    Subscriber(SubscriberCommand),
    /// List, create and delete tags.
    #[command(subcommand)]
    Tags(TagsCommand),
    /// List and create custom fields.
    #[command(subcommand)]
    Fields(FieldsCommand),
    /// List broadcasts.
    #[command(subcommand)]
    Broadcasts(BroadcastsCommand),
    /// List segments, and check whether an email belongs to one.
    #[command(subcommand)]
    Segments(SegmentsCommand),
    /// The site's audience counts.
    Stats,
    /// Send transactional email.
    #[command(subcommand)]
    Email(EmailCommand),
    /// Erase people who asked to be forgotten: a file of addresses, one per line (blank lines
    /// and `# comments` skipped), each sent as Bento's data deletion request under the daily
    /// quota, resumable (a checkpoint after each address).
    Erase(EraseArgs),
    /// Check the keys, site UUID, User-Agent, reachability and clock.
    Doctor,
    /// The tracking plan (bento-plan.toml) against the account.
    #[command(subcommand)]
    Plan(PlanCommand),
    /// Run the local Bento emulator until Ctrl-C or SIGTERM.
    Emulator {
        /// Port on 127.0.0.1 (0 picks a free one).
        #[arg(long, default_value_t = 4010)]
        port: u16,
        /// Lift Bento's rate limits.
        #[arg(long)]
        no_rate_limits: bool,
    },
    /// Save or show credentials profiles (the file is written with mode 0600).
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print shell completions.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
enum PlanCommand {
    /// Start a plan in this crate: a bento-plan.toml, and a build.rs that tells cargo to
    /// rebuild when the plan appears or changes (cargo cannot learn of a file that did not
    /// exist at the last build any other way).
    Init(InitArgs),
    /// Add the account's custom fields (GET /fetch/fields) the plan lacks, as "string",
    /// keeping everything already in the file.
    Pull,
    /// Compare the plan's fields with the account's; exit 1 when they differ.
    Check,
    /// Check the file alone: syntax, kinds, duplicate keys, with line numbers.
    Lint,
}

#[derive(Debug, Args)]
struct InitArgs {
    /// The crate's folder, where Cargo.toml is (default: here).
    #[arg(long, default_value = ".")]
    dir: std::path::PathBuf,
}

#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// Subscribers from a CSV or JSON Lines file.
    Subscribers(ImportArgs),
    /// Events from a JSON Lines file.
    Events(ImportArgs),
}

/// How to read and send one file.
#[derive(Debug, Args)]
struct ImportArgs {
    /// The file: `.csv`, or `.jsonl`/`.ndjson` (one JSON object per line).
    file: PathBuf,
    /// The file's format, when its extension does not say.
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Check every row and list each error with its line number; send nothing.
    #[arg(long)]
    dry_run: bool,
    /// Read CSV column COLUMN as field FIELD (`--map "E-Mail Address=email"`; repeatable).
    #[arg(long = "map", value_parser = key_value)]
    map: Vec<(String, String)>,
    /// Add this tag to every subscriber (repeatable).
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// Where progress is recorded, to resume an interrupted import (default: FILE.bento-checkpoint).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Start from the first row even if a checkpoint exists.
    #[arg(long)]
    restart: bool,
    /// The largest request body, in bytes (default 4 MiB, the delivery
    /// engine's); a row larger than this alone is reported by its line.
    #[arg(long, default_value_t = import::DEFAULT_MAX_BYTES)]
    max_request_bytes: usize,
    /// Send JSON Lines keys as written (`firstName`), for an account whose
    /// fields predate Bento's key rule; by default a key that is not
    /// lowercase and underscored is an error naming its line and the fix.
    /// (CSV headers are always turned into Bento keys.)
    #[arg(long)]
    verbatim_keys: bool,
}

#[derive(Debug, Args)]
struct EraseArgs {
    /// The file of addresses, one per line.
    file: PathBuf,
    /// Where progress is recorded, to resume (default: FILE.bento-checkpoint).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Start from the first line even if a checkpoint exists.
    #[arg(long)]
    restart: bool,
    /// Deletion requests a day (Bento allows 1,000): the run stops at the quota and says when
    /// to run it again.
    #[arg(long, default_value_t = 1000)]
    per_day: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Csv,
    Jsonl,
}

#[derive(Debug, Subcommand)]
enum SubscriberCommand {
    /// Show a subscriber.
    Get { email: String },
    /// Add a tag (without triggering automations).
    Tag { email: String, tag: String },
    /// Remove a tag.
    Untag { email: String, tag: String },
    /// Set a custom field.
    Field {
        email: String,
        key: String,
        value: String,
    },
    /// Remove a custom field.
    Unfield { email: String, key: String },
    /// Subscribe.
    Subscribe { email: String },
    /// Unsubscribe.
    Unsubscribe { email: String },
    /// Change the subscriber's email address.
    ChangeEmail { email: String, new_email: String },
    /// Ask Bento to anonymize the subscriber (a data deletion request,
    /// asynchronous; 1,000 a day).
    Delete { email: String },
}

#[derive(Debug, Subcommand)]
enum SegmentsCommand {
    /// List every saved segment.
    List,
    /// Whether EMAIL belongs to segment ID now (exit 1 when it does not).
    Match { id: String, email: String },
}

#[derive(Debug, Subcommand)]
enum TagsCommand {
    /// List every tag.
    List,
    /// Create a tag.
    Create { name: String },
    /// Delete a tag, by name or id (Bento's delete toggles: a deleted tag is
    /// restored).
    Delete { tag: String },
}

#[derive(Debug, Subcommand)]
enum FieldsCommand {
    /// List every custom field.
    List,
    /// Create a custom field.
    Create { key: String },
}

#[derive(Debug, Subcommand)]
enum BroadcastsCommand {
    /// List every broadcast.
    List,
}

#[derive(Debug, Subcommand)]
enum EmailCommand {
    /// Send one transactional email.
    Send {
        /// The sender: an authorized author of your account.
        #[arg(long)]
        from: String,
        /// The recipient.
        #[arg(long)]
        to: String,
        /// The subject line.
        #[arg(long)]
        subject: String,
        /// A file holding the HTML body.
        #[arg(long)]
        html_file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Save a profile (default: `default`).
    Set {
        #[arg(long)]
        publishable_key: String,
        #[arg(long)]
        secret_key: String,
        #[arg(long)]
        site_uuid: String,
        #[arg(long)]
        base_url: Option<String>,
    },
    /// Show the configuration in effect, secrets redacted.
    Show,
}

fn key_value(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("`{text}` is not key=value"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = Output::new(cli.global.json);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: could not start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, &out)) {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("error: {failure}");
            failure.exit_code()
        }
    }
}

async fn run(cli: Cli, out: &Output) -> Result<ExitCode, Failure> {
    let global = &cli.global;
    match cli.command {
        Command::Import(ImportCommand::Subscribers(args)) => {
            import::run(global, out, import::Kind::Subscribers, args).await
        }
        Command::Import(ImportCommand::Events(args)) => {
            import::run(global, out, import::Kind::Events, args).await
        }
        Command::Doctor => doctor::run(global, out).await,
        Command::Erase(args) => erase::run(global, out, args).await,
        Command::Plan(PlanCommand::Init(args)) => plan::init(&args.dir, out),
        Command::Plan(PlanCommand::Lint) => plan::lint(&plan::path(global.plan.clone()), out),
        Command::Plan(PlanCommand::Check) => {
            let client = config::client(global)?;
            plan::check(&client, &plan::path(global.plan.clone()), out).await
        }
        Command::Plan(PlanCommand::Pull) => {
            let client = config::client(global)?;
            plan::pull(&client, &plan::path(global.plan.clone()), out).await
        }
        // Explicit only: an emulator holds requests to a plan when asked to
        // (`bento emulator --plan bento-plan.toml`), not to one found nearby.
        Command::Emulator {
            port,
            no_rate_limits,
        } => commands::emulator(port, no_rate_limits, global.plan.clone()).await,
        Command::Config(ConfigCommand::Set {
            publishable_key,
            secret_key,
            site_uuid,
            base_url,
        }) => {
            let profile = config::Profile {
                publishable_key,
                secret_key,
                site_uuid,
                base_url,
            };
            let name = global.profile.as_deref().unwrap_or("default");
            let path = config::save(name, profile)?;
            println!("saved profile `{name}` to {} (mode 0600)", path.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Config(ConfigCommand::Show) => config::show(global, out),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "bento", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        other => {
            let client = config::client(global)?;
            commands::run(&client, out, other).await
        }
    }
}
