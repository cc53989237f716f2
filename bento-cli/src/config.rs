//! Credentials: the BENTO_* variables, or a named profile in a config file
//! written with mode 0600. Secrets are never printed.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use bento_core::{Client, ClientBuilder, EndpointFamily, RateLimit, RateLimits, RetryPolicy};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::Global;
use crate::failure::Failure;
use crate::output::Output;

/// One saved set of credentials.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Profile {
    pub(crate) publishable_key: String,
    pub(crate) secret_key: String,
    pub(crate) site_uuid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) base_url: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

/// `BENTO_CONFIG`, else `$XDG_CONFIG_HOME/bento/config.json`, else
/// `~/.config/bento/config.json`.
fn path() -> Result<PathBuf, Failure> {
    if let Some(path) = std::env::var_os("BENTO_CONFIG") {
        return Ok(PathBuf::from(path));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))
        .ok_or_else(|| {
            Failure::Config("no HOME or XDG_CONFIG_HOME to keep the config in".into())
        })?;
    Ok(base.join("bento").join("config.json"))
}

fn load() -> Result<File, Failure> {
    let path = path()?;
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            Failure::Config(format!(
                "{} is not a valid config file: {e}",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(File::default()),
        Err(e) => Err(Failure::Config(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

/// Saves `profile` as `name`, creating the file with mode 0600.
pub(crate) fn save(name: &str, profile: Profile) -> Result<PathBuf, Failure> {
    let path = path()?;
    let mut file = load()?;
    file.profiles.insert(name.to_owned(), profile);
    let text = serde_json::to_vec_pretty(&file).map_err(|e| Failure::Failed(e.to_string()))?;
    let cannot =
        |e: std::io::Error| Failure::Config(format!("cannot write {}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(cannot)?;
    }
    let temporary = path.with_extension("json.tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options.open(&temporary).map_err(cannot)?;
    out.write_all(&text).map_err(cannot)?;
    out.sync_all().map_err(cannot)?;
    fs::rename(&temporary, &path).map_err(cannot)?;
    Ok(path)
}

/// Where the credentials in effect come from.
pub(crate) enum Source {
    Environment,
    Profile(String),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Environment => f.write_str("the BENTO_* environment variables"),
            Source::Profile(name) => write!(f, "profile `{name}`"),
        }
    }
}

/// The credentials in effect: `--profile`, else the BENTO_* variables, else
/// the `default` profile.
pub(crate) fn builder(global: &Global) -> Result<(ClientBuilder, Source), Failure> {
    let from_profile = |name: &str| -> Result<(ClientBuilder, Source), Failure> {
        let file = load()?;
        let profile = file.profiles.get(name).ok_or_else(|| {
            Failure::Config(format!(
                "no profile `{name}` in {}; create it with `bento --profile {name} config set ...`",
                path().map(|p| p.display().to_string()).unwrap_or_default()
            ))
        })?;
        let mut builder = Client::builder()
            .publishable_key(&profile.publishable_key)
            .secret_key(&profile.secret_key)
            .site_uuid(&profile.site_uuid);
        if let Some(url) = &profile.base_url {
            builder = builder.base_url(url);
        }
        Ok((builder, Source::Profile(name.to_owned())))
    };
    if let Some(name) = &global.profile {
        return from_profile(name);
    }
    if std::env::var_os(bento_core::env::SECRET_KEY).is_some() {
        return Ok((ClientBuilder::from_env()?, Source::Environment));
    }
    from_profile("default").map_err(|_| {
        Failure::Config(
            "no credentials: set BENTO_PUBLISHABLE_KEY, BENTO_SECRET_KEY and BENTO_SITE_UUID, or \
             save a profile with `bento config set`"
                .into(),
        )
    })
}

/// A client for the credentials in effect, paced at `--requests-per-minute`,
/// holding every write to the tracking plan in effect ([`plan`]).
pub(crate) fn client(global: &Global) -> Result<Client, Failure> {
    let (builder, _) = builder(global)?;
    let builder = configure(builder, global);
    let builder = match plan(global)? {
        Some(plan) => builder.plan(plan),
        None => builder,
    };
    Ok(builder.build()?)
}

/// The tracking plan every write is held to: `--plan FILE`, else the one the
/// derives would find from here (`BENTO_PLAN`, else the nearest
/// `bento-plan.toml`); none with `--no-plan` or when there is none. A plan
/// that cannot be read is an error naming its line, not a silent skip.
pub(crate) fn plan(global: &Global) -> Result<Option<bento_core::plan::Plan>, Failure> {
    if global.no_plan {
        return Ok(None);
    }
    let path = match &global.plan {
        Some(path) => path.clone(),
        None => {
            let found = std::env::var_os("BENTO_PLAN")
                .map(std::path::PathBuf::from)
                .or_else(|| {
                    std::env::current_dir()
                        .ok()
                        .and_then(|here| bento_core::plan::Plan::find(&here))
                });
            match found {
                Some(path) => path,
                None => return Ok(None),
            }
        }
    };
    bento_core::plan::Plan::load(&path)
        .map(Some)
        .map_err(|error| Failure::Usage(format!("{error} (or pass --no-plan)")))
}

/// The CLI's pacing: `--requests-per-minute` for the families it sets.
pub(crate) fn limits(global: &Global) -> RateLimits {
    let limit = RateLimit::per_minute(global.requests_per_minute);
    RateLimits::default()
        .set(EndpointFamily::Fetch, limit)
        .set(EndpointFamily::Batch, limit)
        .set(EndpointFamily::Experimental, limit)
}

/// The CLI's settings on top of the credentials.
pub(crate) fn configure(builder: ClientBuilder, global: &Global) -> ClientBuilder {
    builder
        .app_name(concat!("bento-cli/", env!("CARGO_PKG_VERSION")))
        .rate_limits(limits(global))
        // An import is worth waiting for: Bento's limits reset within minutes.
        .retry(
            RetryPolicy::default()
                .max_attempts(8)
                .max_retry_after(std::time::Duration::from_secs(600)),
        )
}

/// `bento config show`: where the credentials come from, secrets redacted.
pub(crate) fn show(global: &Global, out: &Output) -> Result<ExitCode, Failure> {
    let (builder, source) = builder(global)?;
    let client = configure(builder, global).build()?;
    let key = |text: &str| format!("{}…", text.chars().take(4).collect::<String>());
    let publishable = std::env::var(bento_core::env::PUBLISHABLE_KEY)
        .ok()
        .filter(|_| matches!(source, Source::Environment))
        .or_else(|| {
            let Source::Profile(name) = &source else {
                return None;
            };
            load()
                .ok()?
                .profiles
                .get(name)
                .map(|p| p.publishable_key.clone())
        })
        .unwrap_or_default();
    out.table(
        &["setting", "value"],
        vec![
            vec!["source".into(), source.to_string()],
            vec!["config file".into(), path()?.display().to_string()],
            vec!["base url".into(), client.base_url().to_string()],
            vec!["publishable key".into(), key(&publishable)],
            vec!["secret key".into(), "[redacted]".into()],
            vec!["site uuid".into(), client.site_uuid().to_owned()],
            vec!["user agent".into(), client.user_agent().to_owned()],
        ],
        json!({
            "source": source.to_string(),
            "base_url": client.base_url(),
            "publishable_key": key(&publishable),
            "secret_key": "[redacted]",
            "site_uuid": client.site_uuid(),
            "user_agent": client.user_agent(),
        }),
    );
    Ok(ExitCode::SUCCESS)
}
