//! The built `bento` binary over real HTTP against the emulator.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use bento_emulator::{Emulator, Fault};

/// A fresh directory under the system's temporary directory.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "bento-cli-{name}-{}-{}",
        std::process::id(),
        fastrand_like()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn fastrand_like() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// `bento` with the emulator's credentials, no pacing to speak of, and no
/// terminal (pipes), as in CI.
fn bento(emulator: &Emulator) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bento"));
    command
        .env("BENTO_PUBLISHABLE_KEY", emulator.publishable_key())
        .env("BENTO_SECRET_KEY", emulator.secret_key())
        .env("BENTO_SITE_UUID", emulator.site_uuid())
        .env("BENTO_BASE_URL", emulator.base_url())
        .env("BENTO_CONFIG", "/nonexistent/bento/config.json")
        .args(["--requests-per-minute", "100000"])
        .stdin(Stdio::null());
    command
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn write_csv(path: &PathBuf, rows: usize) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(file, "email,First Name,tags,company").unwrap();
    for n in 0..rows {
        writeln!(file, "user{n}@example.com,User {n},\"lead,csv\",Acme").unwrap();
    }
}

/// Runs `bento import subscribers FILE` to completion, off the test's runtime.
async fn import(emulator: &Emulator, file: &std::path::Path) -> Output {
    let mut command = bento(emulator);
    command.args(["import", "subscribers"]).arg(file);
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

fn batch_requests(emulator: &Emulator) -> Vec<bento_emulator::RequestRecord> {
    emulator
        .requests()
        .into_iter()
        .filter(|r| r.path == "batch/subscribers" && r.status == 200)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100001_row_csv_takes_101_requests_and_every_subscriber_arrives() {
    let emulator = Emulator::builder().no_rate_limits().start().await.unwrap();
    let dir = scratch("big");
    let file = dir.join("people.csv");
    write_csv(&file, 100_001);
    let output = import(&emulator, &file).await;
    let all = text(&output);
    assert!(output.status.success(), "{all}");
    assert!(all.contains("100001 accepted, 0 failed"), "{all}");
    assert!(
        !all.contains('\u{1b}'),
        "no escape codes off a terminal: {all}"
    );
    assert_eq!(batch_requests(&emulator).len(), 101);
    assert_eq!(emulator.subscribers().len(), 100_001);
    let ada = emulator.subscriber("user100000@example.com").unwrap();
    assert_eq!(ada.fields["first_name"], "User 100000");
    assert_eq!(ada.fields["company"], "Acme");
    assert!(
        dir.join("people.csv.bento-checkpoint").exists(),
        "kept as the record of a finished import"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// Running a finished import again sends nothing (for events, sending them
/// again would record them twice) and says so; rows appended since are sent
/// alone; `--restart` sends the whole file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_import_run_again_sends_nothing_but_what_was_appended() {
    let emulator = Emulator::builder().no_rate_limits().start().await.unwrap();
    let dir = scratch("again");
    let file = dir.join("events.jsonl");
    let line = |n: usize| format!("{{\"type\":\"order.placed\",\"email\":\"u{n}@example.com\"}}\n");
    std::fs::write(&file, (0..50).map(line).collect::<String>()).unwrap();
    let run = |args: &[&str]| {
        let mut command = bento(&emulator);
        command.args(["import", "events"]).args(args).arg(&file);
        command.output().unwrap()
    };
    let first = run(&[]);
    assert!(first.status.success(), "{}", text_of(&first));
    assert_eq!(emulator.events().len(), 50);

    let again = run(&[]);
    let all = text_of(&again);
    assert!(again.status.success(), "{all}");
    assert!(all.contains("was imported by an earlier run"), "{all}");
    assert!(all.contains("pass --restart"), "{all}");
    assert_eq!(emulator.events().len(), 50, "nothing sent twice");

    let mut appended = std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap();
    for n in 50..55 {
        appended.write_all(line(n).as_bytes()).unwrap();
    }
    drop(appended);
    let more = run(&[]);
    assert!(more.status.success(), "{}", text_of(&more));
    assert_eq!(emulator.events().len(), 55, "only the appended rows");

    let restart = run(&["--restart"]);
    assert!(restart.status.success(), "{}", text_of(&restart));
    assert_eq!(
        emulator.events().len(),
        110,
        "--restart sends the whole file"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_import_resumes_and_sends_each_row_once_but_at_most_one_batch() {
    const ROWS: usize = 20_000;
    let emulator = Emulator::builder().no_rate_limits().start().await.unwrap();
    emulator.inject(
        Fault::delay(Duration::from_millis(200))
            .on("/batch/subscribers")
            .times(u64::MAX),
    );
    let dir = scratch("resume");
    let file = dir.join("people.csv");
    let checkpoint = dir.join("people.csv.bento-checkpoint");
    write_csv(&file, ROWS);
    let mut child = bento(&emulator)
        .args(["import", "subscribers"])
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it (SIGKILL: no chance to clean up) once a few batches are done.
    bento_tests::wait::eventually("5,000 rows checkpointed", Duration::from_secs(60), || {
        let done = std::fs::read(&checkpoint)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .and_then(|v| v["rows_done"].as_u64())
            .unwrap_or(0);
        done >= 5000
    })
    .await;
    child.kill().unwrap();
    child.wait().unwrap();
    let before = batch_requests(&emulator).len();
    assert!(before < ROWS / 1000, "killed midway ({before} requests)");

    emulator.clear_faults();
    // Rows appended meanwhile are after the checkpoint: they are sent too.
    {
        let mut appended = std::fs::OpenOptions::new()
            .append(true)
            .open(&file)
            .unwrap();
        for n in ROWS..ROWS + 10 {
            writeln!(appended, "user{n}@example.com,User {n},\"lead,csv\",Acme").unwrap();
        }
    }
    let output = import(&emulator, &file).await;
    let all = text(&output);
    assert!(output.status.success(), "{all}");
    assert!(all.contains("resuming at line"), "{all}");
    let requests = batch_requests(&emulator);
    let rows_sent: usize = requests.iter().map(|r| r.items.unwrap_or(0)).sum();
    assert!(
        (ROWS + 10..=ROWS + 1010).contains(&rows_sent),
        "every row once, at most one batch twice: {rows_sent} rows in {} requests",
        requests.len()
    );
    assert_eq!(emulator.subscribers().len(), ROWS + 10);
    std::fs::remove_dir_all(dir).unwrap();
}

/// Issue 18 D1: a quote that never closes would read every later row as
/// one field; the import refuses the file before sending anything, naming
/// the line, in a short message.
#[tokio::test]
async fn an_unterminated_quote_is_reported_where_it_opened_and_nothing_is_sent() {
    let emulator = Emulator::builder().no_rate_limits().start().await.unwrap();
    let dir = scratch("quote");
    let file = dir.join("people.csv");
    let mut text = String::from("email,notes\n");
    for n in 0..2_000 {
        if n == 1_500 {
            text.push_str(&format!("u{n}@example.com,\"opened here\n"));
        } else {
            text.push_str(&format!("u{n}@example.com,{}\n", "x".repeat(50)));
        }
    }
    std::fs::write(&file, text).unwrap();
    let output = import(&emulator, &file).await;
    let all = text_of(&output);
    assert_eq!(output.status.code(), Some(2), "{all}");
    assert!(all.contains("line 1502 (row 1501) never closes"), "{all}");
    assert!(all.len() < 1_000, "a short message: {} bytes", all.len());
    assert!(emulator.requests().is_empty(), "nothing was sent");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Issue 18 D2: requests are cut by size as well as by rows; a request
/// answered 413 is split; a row too large for any request is reported by
/// its line, and every other row arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_cut_by_bytes_split_on_413_and_oversized_rows_named() {
    let emulator = Emulator::builder()
        .no_rate_limits()
        .max_body_bytes(2 * 1024 * 1024)
        .start()
        .await
        .unwrap();
    let dir = scratch("bytes");
    let file = dir.join("people.csv");
    let mut text = String::from("email,notes\n");
    for n in 0..2_500 {
        text.push_str(&format!("u{n}@example.com,{}\n", "n".repeat(20 * 1024)));
    }
    // line 2502: larger than any request at the default 4 MiB
    text.push_str(&format!(
        "huge@example.com,{}\n",
        "h".repeat(5 * 1024 * 1024)
    ));
    std::fs::write(&file, text).unwrap();
    // The default cut (4 MiB) is larger than this emulator takes (2 MiB):
    // every first request is refused 413 and split.
    let output = import(&emulator, &file).await;
    let all = text_of(&output);
    assert_eq!(output.status.code(), Some(1), "one row failed: {all}");
    assert!(all.contains("line 2502: this row is"), "{all}");
    assert!(all.contains("2501 rows"), "{all}");
    assert!(all.contains("2500 accepted, 1 failed"), "{all}");
    assert_eq!(emulator.subscribers().len(), 2_500);
    // Cut at 4 MiB, 50 MB of rows take 13 requests; the emulator takes
    // 2 MiB at most (it refuses larger ones before logging them), so the
    // rows arrived only because refused requests were split.
    let accepted: Vec<_> = emulator
        .requests()
        .into_iter()
        .filter(|r| r.path == "batch/subscribers" && r.status == 200)
        .collect();
    assert!(accepted.len() >= 25, "{} requests", accepted.len());
    assert!(
        accepted.iter().all(|r| r.items.unwrap_or(0) <= 102),
        "2 MiB of 20 KB rows"
    );
    // With a cut under the emulator's limit, no request is refused.
    emulator.reset();
    let output = bento(&emulator)
        .args([
            "import",
            "subscribers",
            "--restart",
            "--max-request-bytes",
            "1000000",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text_of(&output));
    assert!(emulator.requests().iter().all(|r| r.status == 200));
    assert_eq!(emulator.subscribers().len(), 2_500);
    std::fs::remove_dir_all(dir).unwrap();
}

/// Issue 18 D4: a duplicate column fails once on the header; an empty file
/// says so; a BOM is stripped from JSON Lines as from CSV.
#[tokio::test]
async fn bad_headers_empty_files_and_boms() {
    let emulator = Emulator::builder().no_rate_limits().start().await.unwrap();
    let dir = scratch("headers");
    let duplicate = dir.join("dup.csv");
    std::fs::write(&duplicate, "email,First Name,Email\na@x.io,A,b@x.io\n").unwrap();
    let output = import(&emulator, &duplicate).await;
    let all = text_of(&output);
    assert_eq!(output.status.code(), Some(2), "{all}");
    assert!(
        all.contains("columns 1 (`email`) and 3 (`Email`) both become `email`"),
        "{all}"
    );
    assert_eq!(all.lines().count(), 1, "one message: {all}");

    let empty = dir.join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    let output = import(&emulator, &empty).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text_of(&output).contains("is empty"),
        "{}",
        text_of(&output)
    );

    let bom = dir.join("people.jsonl");
    std::fs::write(&bom, "\u{feff}{\"email\":\"bom@example.com\"}\n").unwrap();
    let output = import(&emulator, &bom).await;
    assert!(output.status.success(), "{}", text_of(&output));
    assert!(emulator.requests().iter().all(|r| r.status == 200));
    assert_eq!(emulator.subscribers().len(), 1);
    std::fs::remove_dir_all(dir).unwrap();
}

fn text_of(output: &Output) -> String {
    text(output)
}

#[tokio::test]
async fn dry_run_lists_each_error_with_its_line_and_sends_nothing() {
    let emulator = Emulator::builder().no_rate_limits().start().await.unwrap();
    let dir = scratch("dry");
    let file = dir.join("people.csv");
    std::fs::write(
        &file,
        "email,first_name,tags\n\
         ada@example.com,Ada,lead\n\
         not-an-email,Bob,\n\
         grace@example.com,Grace,\"multi\nline\"\n\
         ,Empty,\n\
         alan@example.com,Alan,\n",
    )
    .unwrap();
    let output = bento(&emulator)
        .args(["import", "subscribers", "--dry-run"])
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    // Line numbers are the file's, a quoted newline included.
    assert!(
        stdout.contains("line 3: subscribers") || stdout.contains("line 3: subscriber.email"),
        "{stdout}"
    );
    assert!(stdout.contains("line 6: the email is empty"), "{stdout}");
    assert!(stdout.contains("checked 5 rows: 2 invalid"), "{stdout}");
    assert!(emulator.requests().is_empty(), "nothing was sent");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn doctor_names_a_wrong_key_a_wrong_site_and_an_unreachable_host() {
    let emulator = Emulator::start().await.unwrap();
    let healthy = bento(&emulator).arg("doctor").output().unwrap();
    assert!(healthy.status.success(), "{}", text(&healthy));
    assert!(text(&healthy).contains("clock"), "{}", text(&healthy));

    let wrong_key = bento(&emulator)
        .env("BENTO_SECRET_KEY", "wrong")
        .arg("doctor")
        .output()
        .unwrap();
    assert_eq!(wrong_key.status.code(), Some(3));
    assert!(
        text(&wrong_key).contains("PROBLEM  keys"),
        "{}",
        text(&wrong_key)
    );

    let wrong_site = bento(&emulator)
        .env("BENTO_SITE_UUID", "not-my-site")
        .arg("doctor")
        .output()
        .unwrap();
    assert_eq!(wrong_site.status.code(), Some(3));
    assert!(
        text(&wrong_site).contains("PROBLEM  site uuid"),
        "{}",
        text(&wrong_site)
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable = bento(&emulator)
        .env("BENTO_BASE_URL", format!("http://127.0.0.1:{port}/api/v1"))
        .arg("doctor")
        .output()
        .unwrap();
    assert_eq!(unreachable.status.code(), Some(1));
    assert!(
        text(&unreachable).contains("cannot reach 127.0.0.1"),
        "{}",
        text(&unreachable)
    );
    for output in [&healthy, &wrong_key, &wrong_site, &unreachable] {
        assert!(
            !text(output).contains(emulator.secret_key()),
            "no secret printed"
        );
    }
}

#[tokio::test]
async fn everyday_commands_and_events_import() {
    let emulator = Emulator::builder().no_rate_limits().start().await.unwrap();
    let run = |args: &[&str]| {
        let output = bento(&emulator).args(args).output().unwrap();
        assert!(output.status.success(), "{args:?}: {}", text(&output));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    run(&[
        "track",
        "account.signup",
        "ada@example.com",
        "--field",
        "plan=pro",
        "--detail",
        "source=cli",
    ]);
    run(&["subscriber", "tag", "ada@example.com", "vip"]);
    run(&["subscriber", "field", "ada@example.com", "company", "Acme"]);
    let got = run(&["--json", "subscriber", "get", "ada@example.com"]);
    let got: serde_json::Value = serde_json::from_str(&got).unwrap();
    assert_eq!(got["fields"]["plan"], "pro");
    assert_eq!(got["fields"]["company"], "Acme");
    run(&["tags", "create", "newsletter"]);
    let tags: serde_json::Value = serde_json::from_str(&run(&["--json", "tags", "list"])).unwrap();
    let names: Vec<&str> = tags
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(
        names.contains(&"vip") && names.contains(&"newsletter"),
        "{names:?}"
    );
    assert!(
        run(&["tags", "list"]).starts_with("id"),
        "a table for people"
    );

    let dir = scratch("events");
    let file = dir.join("events.jsonl");
    std::fs::write(
        &file,
        "{\"type\":\"$purchase\",\"email\":\"ada@example.com\",\"details\":{\"value\":{\"amount\":800,\"currency\":\"USD\"}}}\n\
         \n\
         {\"type\":\"page.view\",\"email\":\"bob@example.com\",\"date\":\"2024-05-01T12:00:00Z\"}\n",
    )
    .unwrap();
    run(&["import", "events", file.to_str().unwrap()]);
    let events = emulator.events();
    assert!(events.iter().any(|e| e.event_type == "$purchase"));
    assert!(events.iter().any(|e| e.event_type == "page.view"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn config_is_saved_private_and_shown_redacted() {
    let dir = scratch("config");
    let config = dir.join("config.json");
    let bento = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_bento"))
            .env_remove("BENTO_SECRET_KEY")
            .env("BENTO_CONFIG", &config)
            .args(args)
            .output()
            .unwrap()
    };
    let saved = bento(&[
        "config",
        "set",
        "--publishable-key",
        "pk_live_1234",
        "--secret-key",
        "sk_SECRET",
        "--site-uuid",
        "site-1",
    ]);
    assert!(saved.status.success(), "{}", text(&saved));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&config).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let shown = bento(&["config", "show"]);
    let all = text(&shown);
    assert!(shown.status.success(), "{all}");
    assert!(
        all.contains("profile `default`") && all.contains("site-1"),
        "{all}"
    );
    assert!(
        !all.contains("sk_SECRET") && !all.contains("pk_live_1234"),
        "{all}"
    );
    let missing = bento(&["--profile", "other", "stats"]);
    assert_eq!(missing.status.code(), Some(3), "{}", text(&missing));
    let usage = bento(&["import", "subscribers"]);
    assert_eq!(usage.status.code(), Some(2));
    std::fs::remove_dir_all(dir).unwrap();
}

/// One key rule for files too: a JSON Lines key that is not lowercase and
/// underscored is reported with its line and the fix, and `--verbatim-keys`
/// sends it as written for accounts whose fields are named so.
#[tokio::test]
async fn json_lines_keys_follow_the_key_rule_unless_verbatim() {
    let emulator = Emulator::builder().no_rate_limits().start().await.unwrap();
    let dir = scratch("keys");
    let file = dir.join("people.jsonl");
    std::fs::write(
        &file,
        "{\"email\":\"ada@example.com\",\"plan\":\"pro\"}\n\
         {\"email\":\"bob@example.com\",\"firstName\":\"Bob\"}\n",
    )
    .unwrap();
    let output = bento(&emulator)
        .args(["import", "subscribers", "--dry-run"])
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("line 2:"), "{stdout}");
    assert!(stdout.contains("`firstName`"), "{stdout}");
    assert!(stdout.contains("write `first_name`"), "{stdout}");
    assert!(stdout.contains("checked 2 rows: 1 invalid"), "{stdout}");

    let output = bento(&emulator)
        .args(["import", "subscribers", "--verbatim-keys", "--restart"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let bob = emulator.subscriber("bob@example.com").unwrap();
    assert_eq!(bob.fields["firstName"], "Bob");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_lint_check_and_pull_against_the_account() {
    let emulator = Emulator::builder().no_rate_limits().start().await.unwrap();
    let client = bento_tests::client_for(&emulator).build().unwrap();
    client.create_field("first_name").await.unwrap();
    client.create_field("company").await.unwrap();
    let dir = scratch("plan");
    let file = dir.join("bento-plan.toml");
    let run = |args: &[&str]| {
        let mut command = bento(&emulator);
        command.args(["plan"]).args(args).arg("--plan").arg(&file);
        command.output().unwrap()
    };

    std::fs::write(
        &file,
        "[fields]\nfirst_name = \"string\"\nseats = \"numbr\"\n",
    )
    .unwrap();
    // Problems in the file are lint's findings: exit 1, every one named.
    let lint = tokio::task::block_in_place(|| run(&["lint"]));
    assert_eq!(lint.status.code(), Some(1), "{}", text(&lint));
    assert!(
        text(&lint).contains(
            "bento-plan.toml:3: unknown kind `numbr` for `seats` (did you mean `number`?)"
        ),
        "{}",
        text(&lint)
    );
    let json = tokio::task::block_in_place(|| run(&["lint", "--json"]));
    assert_eq!(json.status.code(), Some(1), "{}", text(&json));
    let report: serde_json::Value =
        serde_json::from_slice(&json.stdout).expect("one JSON object on stdout");
    assert_eq!(report["ok"], false);
    assert_eq!(report["problems"][0]["line"], 3, "{report}");

    std::fs::write(
        &file,
        "[fields]\nseats = \"number\"\n\nseats = \"string\"\n",
    )
    .unwrap();
    let duplicate = tokio::task::block_in_place(|| run(&["lint"]));
    assert_eq!(duplicate.status.code(), Some(1), "{}", text(&duplicate));
    assert!(
        text(&duplicate).contains("bento-plan.toml:4: duplicate key"),
        "{}",
        text(&duplicate)
    );
    std::fs::write(
        &file,
        "[fields]\nfirst_name = \"string\"\nseats = \"numbr\"\n",
    )
    .unwrap();

    let mut emulate = bento(&emulator);
    emulate
        .args(["emulator", "--port", "0", "--plan"])
        .arg(&file);
    let refused = tokio::task::block_in_place(|| emulate.output().unwrap());
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        text(&refused).contains(":3: unknown kind `numbr`"),
        "{}",
        text(&refused)
    );

    let written = "# our plan\n[fields]\nfirst_name = \"string\" # kept\nseats = \"number\"\n\n[events.\"account.signup\"]\nfields = [\"first_name\"]\n";
    std::fs::write(&file, written).unwrap();
    let lint = tokio::task::block_in_place(|| run(&["lint"]));
    assert!(lint.status.success(), "{}", text(&lint));
    assert!(
        text(&lint).contains("ok (2 fields, 1 events)"),
        "{}",
        text(&lint)
    );

    let check = tokio::task::block_in_place(|| run(&["check"]));
    assert_eq!(check.status.code(), Some(1), "{}", text(&check));
    assert!(
        text(&check).contains("in the plan, not in the account: seats"),
        "{}",
        text(&check)
    );
    assert!(
        text(&check).contains("in the account, not in the plan: company"),
        "{}",
        text(&check)
    );

    let pull = tokio::task::block_in_place(|| run(&["pull"]));
    assert!(pull.status.success(), "{}", text(&pull));
    assert!(
        text(&pull).contains("added 1 field(s) as \"string\": company"),
        "{}",
        text(&pull)
    );
    let merged = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        merged,
        "# our plan\n[fields]\nfirst_name = \"string\" # kept\nseats = \"number\"\ncompany = \"string\"\n\n[events.\"account.signup\"]\nfields = [\"first_name\"]\n"
    );
    client.create_field("seats").await.unwrap();
    let check = tokio::task::block_in_place(|| run(&["check"]));
    assert!(check.status.success(), "{}", text(&check));
    assert!(
        text(&check).contains("match the account"),
        "{}",
        text(&check)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// `bento track`, `bento import` and the subscriber commands hold every write
/// to the plan found from the working folder (or `--plan`), as the client
/// does; `--no-plan` lifts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn track_import_and_commands_are_held_to_the_plan() {
    let emulator = Emulator::builder().no_rate_limits().start().await.unwrap();
    let dir = scratch("plan-writes");
    std::fs::write(
        dir.join("bento-plan.toml"),
        "[fields]\nfirst_name = \"string\"\n\n[events.\"account.signup\"]\nfields = [\"first_name\"]\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let mut command = bento(&emulator);
        command.current_dir(&dir).args(args);
        tokio::task::block_in_place(|| command.output().unwrap())
    };

    let typo = run(&["track", "acount.signup", "ada@example.com"]);
    assert!(!typo.status.success(), "{}", text(&typo));
    assert!(
        text(&typo).contains("did you mean `account.signup`"),
        "{}",
        text(&typo)
    );
    let field = run(&[
        "track",
        "account.signup",
        "ada@example.com",
        "--field",
        "frist_name=Ada",
    ]);
    assert!(!field.status.success(), "{}", text(&field));
    assert!(text(&field).contains("frist_name"), "{}", text(&field));
    let unfield = run(&[
        "subscriber",
        "field",
        "ada@example.com",
        "frist_name",
        "Ada",
    ]);
    assert!(!unfield.status.success(), "{}", text(&unfield));
    assert!(
        emulator.events().is_empty(),
        "nothing off the plan was sent"
    );

    let ok = run(&[
        "track",
        "account.signup",
        "ada@example.com",
        "--field",
        "first_name=Ada",
    ]);
    assert!(ok.status.success(), "{}", text(&ok));
    let lifted = run(&["--no-plan", "track", "acount.signup", "bob@example.com"]);
    assert!(lifted.status.success(), "{}", text(&lifted));

    let file = dir.join("events.jsonl");
    std::fs::write(
        &file,
        "{\"type\":\"account.signup\",\"email\":\"carol@example.com\"}\n{\"type\":\"acount.signup\",\"email\":\"dan@example.com\"}\n",
    )
    .unwrap();
    let import = run(&["import", "events", "events.jsonl"]);
    assert!(
        !import.status.success(),
        "one row is off the plan: {}",
        text(&import)
    );
    assert!(text(&import).contains("line 2"), "{}", text(&import));
    assert!(
        text(&import).contains("not in the tracking plan"),
        "{}",
        text(&import)
    );
    let types: Vec<(String, String)> = emulator
        .events()
        .into_iter()
        .map(|e| (e.event_type, e.email))
        .collect();
    assert_eq!(
        types,
        [
            ("account.signup".to_owned(), "ada@example.com".to_owned()),
            ("acount.signup".to_owned(), "bob@example.com".to_owned()),
            ("account.signup".to_owned(), "carol@example.com".to_owned()),
        ]
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// `bento segments` and `bento subscriber delete`, on the newer operations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segments_and_deletion_from_the_shell() {
    let emulator = Emulator::builder().no_rate_limits().start().await.unwrap();
    let vips = emulator.add_segment("VIPs", serde_json::json!({ "tags": ["vip"] }));
    let client = bento_tests::client_for(&emulator).build().unwrap();
    client
        .run_command(bento_core::Command::AddTag {
            email: "ada@example.com".into(),
            tag: "vip".into(),
        })
        .await
        .unwrap();
    let run = |args: &[&str]| {
        let mut command = bento(&emulator);
        command.args(args);
        tokio::task::block_in_place(|| command.output().unwrap())
    };
    let list = run(&["--json", "segments", "list"]);
    assert!(list.status.success(), "{}", text(&list));
    assert!(text(&list).contains("\"VIPs\""), "{}", text(&list));
    let yes = run(&["segments", "match", &vips, "ada@example.com"]);
    assert!(yes.status.success(), "{}", text(&yes));
    let no = run(&["segments", "match", &vips, "bob@example.com"]);
    assert_eq!(no.status.code(), Some(1), "{}", text(&no));

    let deleted = run(&["subscriber", "delete", "ada@example.com"]);
    assert!(deleted.status.success(), "{}", text(&deleted));
    assert!(text(&deleted).contains("queued"), "{}", text(&deleted));
    assert!(
        emulator.subscriber("ada@example.com").is_none(),
        "anonymized"
    );
    let unknown = run(&["subscriber", "delete", "nobody@example.com"]);
    assert!(unknown.status.success(), "{}", text(&unknown));
    assert!(
        text(&unknown).contains("nothing to delete"),
        "{}",
        text(&unknown)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erase_from_a_file_keeps_the_daily_quota_resumes_and_names_no_address() {
    let emulator = Emulator::builder().no_rate_limits().start().await.unwrap();
    let client = bento_tests::client_for(&emulator).build().unwrap();
    for email in ["ada@example.com", "bob@example.com"] {
        client
            .send_events(&[bento_core::Event::new("account.signup", email)])
            .await
            .unwrap();
    }
    let dir = scratch("erase");
    let file = dir.join("forget.txt");
    std::fs::write(
        &file,
        "# asked to be forgotten\nada@example.com\n\nbob@example.com\ncyd@example.com\n\
         not-an-address\ndee@example.com\n",
    )
    .unwrap();
    let run = |per_day: &str| {
        let mut command = bento(&emulator);
        command.args(["erase", "--per-day", per_day]).arg(&file);
        tokio::task::block_in_place(|| command.output().unwrap())
    };
    let deletions = || {
        emulator
            .requests()
            .into_iter()
            .filter(|r| r.path == "data_deletion_requests")
            .count()
    };
    let addresses = ["ada@", "bob@", "cyd@", "dee@", "not-an-address"];

    // Two a day: the run stops after two, saying when and where it resumes.
    let first = run("2");
    let said = text(&first);
    assert_eq!(first.status.code(), Some(1), "{said}");
    assert!(
        said.contains("quota of deletion requests is used up"),
        "{said}"
    );
    assert!(said.contains("resume at line 5"), "{said}");
    assert_eq!(deletions(), 2);
    assert!(
        emulator.subscriber("ada@example.com").is_none(),
        "anonymized"
    );

    // The next day (a quota of ten): the rest, each once; the invalid line
    // is named by its number, the address is not shown.
    let second = run("10");
    let said = text(&second);
    assert_eq!(second.status.code(), Some(1), "an invalid line: {said}");
    assert!(said.contains("resuming at line 5"), "{said}");
    assert!(
        said.contains("line 6: email is not a valid email address (it has no @)"),
        "{said}"
    );
    assert!(said.contains("2 addresses Bento did not know"), "{said}");
    assert_eq!(deletions(), 4, "cyd and dee, once each");
    for shown in [text(&first), text(&second)] {
        for address in addresses {
            assert!(!shown.contains(address), "{address} shown: {shown}");
        }
    }

    // Run again: nothing is asked twice.
    let third = run("10");
    assert!(third.status.success(), "{}", text(&third));
    assert!(
        text(&third).contains("erased by an earlier run"),
        "{}",
        text(&third)
    );
    assert_eq!(deletions(), 4);
}
