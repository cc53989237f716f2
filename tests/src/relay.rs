//! A relaying child process, for the outbox suites that kill relays with
//! real signals: the test binary itself re-run for its ignored test
//! `relay_child_process` (which calls [`child::main`]), started with the
//! emulator's `BENTO_*` variables, its counters read from the line it prints
//! every 50 ms.

#[path = "relay_child.rs"]
pub mod child;

/// Set in the child's environment: the ignored test runs only then.
const CHILD: &str = "BENTO_RELAY_CHILD";

/// The name of the ignored test a suite declares to host the child:
///
/// ```ignore
/// #[test]
/// #[ignore = "the relaying child process RelayProcess starts"]
/// fn relay_child_process() {
///     bento_tests::relay::child::main()
/// }
/// ```
pub const CHILD_TEST: &str = "relay_child_process";

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bento_emulator::Emulator;

/// A running relay process.
#[derive(Debug)]
pub struct RelayProcess {
    child: Child,
    last: Arc<Mutex<HashMap<String, u64>>>,
    /// Reads the child's stdout; ends when the child exits.
    reader: Option<std::thread::JoinHandle<()>>,
}

impl RelayProcess {
    /// Re-runs the current test binary for [`CHILD_TEST`] against
    /// `emulator`, with `env` added.
    pub fn start(emulator: &Emulator, env: &[(&str, String)]) -> Self {
        let program = std::env::current_exe().expect("the test binary's path");
        let mut child = Command::new(program)
            .args([CHILD_TEST, "--exact", "--ignored", "--nocapture"])
            .args(["--test-threads", "1"])
            .env(CHILD, "1")
            .env("BENTO_BASE_URL", emulator.base_url())
            .env("BENTO_PUBLISHABLE_KEY", emulator.publishable_key())
            .env("BENTO_SECRET_KEY", emulator.secret_key())
            .env("BENTO_SITE_UUID", emulator.site_uuid())
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the relay process starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let last = Arc::new(Mutex::new(HashMap::new()));
        let sink = Arc::clone(&last);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // The test harness prints its own lines around the child's.
                if !line.starts_with("leader=") {
                    continue;
                }
                let parsed = line
                    .split_whitespace()
                    .filter_map(|pair| pair.split_once('='))
                    .filter_map(|(k, v)| Some((k.to_owned(), v.parse().ok()?)))
                    .collect();
                *sink.lock().unwrap_or_else(|p| p.into_inner()) = parsed;
            }
        });
        Self {
            child,
            last,
            reader: Some(reader),
        }
    }

    /// The counter `name` as last printed.
    pub fn stat(&self, name: &str) -> u64 {
        let last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        last.get(name).copied().unwrap_or(0)
    }

    /// Whether it leads, as last printed.
    pub fn leader(&self) -> bool {
        self.stat("leader") == 1
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `kill -9`, and waits for it to be gone.
    pub fn kill9(&mut self) {
        let status = Command::new("kill")
            .args(["-KILL", &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        let _ = self.child.wait();
    }

    /// SIGSTOP, and waits until the process is stopped (a signal is
    /// delivered asynchronously): it freezes where it is, holding what it
    /// holds.
    pub fn freeze(&self) {
        self.signal("STOP");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while self.state() != Some('T') {
            assert!(
                std::time::Instant::now() < deadline,
                "the process did not stop"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// The process's state letter from /proc (`R`, `S`, `T` when stopped).
    fn state(&self) -> Option<char> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).ok()?;
        // After the command name, which is in parentheses and may hold spaces.
        let after = stat.rsplit_once(')')?.1;
        after.trim_start().chars().next()
    }

    /// SIGCONT: a frozen process goes on.
    pub fn thaw(&self) {
        self.signal("CONT");
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal}");
    }

    /// Its resident memory, in KiB, from /proc.
    pub fn rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// SIGTERM; asserts a graceful exit and returns its last counters.
    pub fn terminate(mut self) -> HashMap<String, u64> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let status = self.child.wait().expect("the relay exits");
        assert!(status.success(), "graceful exit: {status:?}");
        // The reader ends at the end of the child's output: after it, the
        // last line printed is the one recorded.
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.last.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
