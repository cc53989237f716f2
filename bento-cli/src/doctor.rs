//! `bento doctor`: each check on a line of its own, saying what is wrong and
//! how to fix it.

use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use bento_core::Error;

use crate::Global;
use crate::config;
use crate::failure::Failure;
use crate::output::Output;

struct Report {
    lines: Vec<(bool, String, String)>,
}

impl Report {
    fn ok(&mut self, check: &str, detail: impl Into<String>) {
        self.lines.push((true, check.to_owned(), detail.into()));
    }
    fn problem(&mut self, check: &str, detail: impl Into<String>) {
        self.lines.push((false, check.to_owned(), detail.into()));
    }
}

/// Clock skew beyond which signed links and date checks go wrong.
const SKEW: Duration = Duration::from_secs(60);

pub(crate) async fn run(global: &Global, out: &Output) -> Result<ExitCode, Failure> {
    let mut report = Report { lines: Vec::new() };
    let mut config_problem = false;
    let client = match config::builder(global).and_then(|(builder, source)| {
        let client = config::configure(builder, global).build()?;
        Ok((client, source))
    }) {
        Ok((client, source)) => {
            report.ok("configuration", format!("keys and site UUID from {source}"));
            Some(client)
        }
        Err(failure) => {
            report.problem("configuration", failure.to_string());
            config_problem = true;
            None
        }
    };
    if let Some(client) = &client {
        report.ok(
            "user agent",
            format!("{} (names no key or site UUID)", client.user_agent()),
        );
        let host = host_of(client.base_url()).to_owned();
        match client.ping().await {
            Ok(ping) => {
                report.ok(
                    "reachability",
                    format!("{host} answered in {} ms", ping.latency.as_millis()),
                );
                report.ok("keys", "Bento accepted the keys");
                report.ok(
                    "site uuid",
                    format!("Bento accepted {}", client.site_uuid()),
                );
                match ping.server_time {
                    Some(server) => {
                        let now = SystemTime::now();
                        let skew = now
                            .duration_since(server)
                            .or_else(|_| server.duration_since(now))
                            .unwrap_or_default();
                        if skew > SKEW {
                            report.problem(
                                "clock",
                                format!(
                                    "this machine's clock is {} s off Bento's: enable NTP \
                                     (timedatectl set-ntp true) so backdated events and dates are right",
                                    skew.as_secs()
                                ),
                            );
                        } else {
                            report.ok("clock", format!("within {} s of Bento's", skew.as_secs()));
                        }
                    }
                    None => report.ok("clock", "Bento sent no Date header to compare with"),
                }
            }
            Err(
                error @ (Error::Connect { .. } | Error::Timeout { .. } | Error::Transport { .. }),
            ) => {
                report.problem(
                    "reachability",
                    format!(
                        "cannot reach {host}: {error}. Check the network, a proxy or firewall, and \
                         BENTO_BASE_URL ({})",
                        client.base_url()
                    ),
                );
            }
            Err(Error::Api(api)) if api.status.as_u16() == 401 => {
                config_problem = true;
                report.ok("reachability", format!("{host} answered"));
                if api.message.contains("site_uuid") {
                    report.ok("keys", "Bento accepted the keys");
                    report.problem(
                        "site uuid",
                        format!(
                            "Bento rejected site UUID {}: copy it from Settings > API Keys \
                             (BENTO_SITE_UUID). Server said: {}",
                            client.site_uuid(),
                            api.message
                        ),
                    );
                } else {
                    report.problem(
                        "keys",
                        format!(
                            "Bento rejected the keys (or the site UUID): copy the publishable and \
                             secret keys from Settings > API Keys (BENTO_PUBLISHABLE_KEY, \
                             BENTO_SECRET_KEY). Server said: {}",
                            api.message
                        ),
                    );
                }
            }
            Err(error) => {
                config_problem |= matches!(error.status().map(|s| s.as_u16()), Some(403));
                report.problem("api", error.to_string());
            }
        }
    }
    let healthy = report.lines.iter().all(|(ok, _, _)| *ok);
    let json: Vec<serde_json::Value> = report
        .lines
        .iter()
        .map(|(ok, check, detail)| serde_json::json!({"check": check, "ok": ok, "detail": detail}))
        .collect();
    let rows = report
        .lines
        .into_iter()
        .map(|(ok, check, detail)| {
            vec![if ok { "ok" } else { "PROBLEM" }.to_owned(), check, detail]
        })
        .collect();
    out.table(
        &["", "check", "detail"],
        rows,
        serde_json::Value::from(json),
    );
    Ok(if healthy {
        ExitCode::SUCCESS
    } else if config_problem {
        ExitCode::from(3)
    } else {
        ExitCode::from(1)
    })
}

/// The host of a URL such as `https://app.bentonow.com/api/v1/`.
fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or(rest);
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => authority.split(':').next().unwrap_or(authority),
    }
}

#[cfg(test)]
mod tests {
    use super::host_of;

    #[test]
    fn hosts_of_urls() {
        assert_eq!(
            host_of("https://app.bentonow.com/api/v1/"),
            "app.bentonow.com"
        );
        assert_eq!(host_of("http://127.0.0.1:4010/api/v1/"), "127.0.0.1");
        assert_eq!(host_of("http://[::1]:4010/"), "::1");
        assert_eq!(host_of("https://user:pw@example.com/x"), "example.com");
    }
}
