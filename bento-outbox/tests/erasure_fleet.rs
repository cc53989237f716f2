//! The erasure promise across a fleet, under faults: two relaying processes
//! (real child processes) drain the outbox while Bento answers a quarter of
//! batch requests 503 and holds each for 30 ms; the test writes events and
//! imports for five people a round and erases, right after each round's
//! commit, one of its people (whose rows are then waiting, claimed, held for
//! a retry or in flight) and one of the round before, each with a dead
//! letter about them and one about someone else that is then retried;
//! halfway through each ten rounds, the leader is killed with SIGKILL and a
//! new process joins (`BENTO_SOAK_ROUNDS=200` makes it a soak). After each
//! `erase` returns, no request that reaches Bento carries that person but
//! their deletion request (a recording proxy sees every body), none of them
//! exists in Bento at the end, and every event and record of everyone else
//! arrives. On SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::collections::HashSet;
use std::time::Duration;

use bento_core::{Event, SubscriberImport};
use bento_emulator::{Emulator, Fault};
use bento_tests::contract::ContractProxy;
use bento_tests::relay::RelayProcess;
use bento_tests::wait::eventually;

/// Rounds of the story; `BENTO_SOAK_ROUNDS` makes it a soak.
fn rounds() -> usize {
    std::env::var("BENTO_SOAK_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10)
}
const PEOPLE: usize = 5;

fn person(round: usize, i: usize) -> String {
    format!("r{round}p{i}@example.com")
}

/// Who is erased after each round's commit: its first person (whose rows
/// are then waiting, claimed, held for a retry or in flight), and the third
/// of the round before (most likely delivered already).
fn erased(round: usize) -> Vec<String> {
    let mut gone = vec![person(round, 0)];
    gone.extend(round.checked_sub(1).map(|before| person(before, 2)));
    gone
}

async fn start() -> (Emulator, ContractProxy) {
    let emulator = Emulator::builder()
        .no_rate_limits()
        .deletion_delay(Duration::ZERO)
        .start()
        .await
        .unwrap();
    emulator.inject(Fault::status(503).on("/batch/").ratio(0.25));
    emulator.inject(Fault::delay(Duration::from_millis(30)).on("/batch/"));
    let proxy = ContractProxy::observe(&emulator.base_url()).await;
    (emulator, proxy)
}

/// The story, on the database `$outbox` and `$pool` name and the child
/// processes reach with `$env`; `$dead` is its SQL for a dead letter.
macro_rules! fleet_story {
    ($outbox:expr, $pool:expr, $env:expr, dead: $dead:literal) => {{
        let (outbox, pool) = ($outbox, $pool);
        outbox.migrate().await.unwrap();
        let (emulator, proxy) = start().await;
        let mut env: Vec<(&str, String)> = $env;
        env.push(("BENTO_BASE_URL", proxy.base_url()));
        env.push(("RELAY_TAKEOVER_MS", "100".to_owned()));
        env.push(("RELAY_LEASE_MS", "600".to_owned()));
        let mut relays = vec![
            RelayProcess::start(&emulator, &env),
            RelayProcess::start(&emulator, &env),
        ];
        let mut marks: Vec<(String, usize)> = Vec::new();
        eventually("a relay leads", Duration::from_secs(30), || {
            relays.iter().any(RelayProcess::leader)
        })
        .await;
        let rounds = rounds();
        for round in 0..rounds {
            let before = proxy.exchanges().len();
            let mut tx = pool.begin().await.unwrap();
            let events: Vec<Event> = (0..PEOPLE)
                .flat_map(|i| {
                    (0..4).map(move |n| {
                        Event::new("order.placed", person(round, i)).detail("n", n as u64)
                    })
                })
                .collect();
            outbox.track_all(&mut tx, &events).await.unwrap();
            let records: Vec<SubscriberImport> = (0..PEOPLE)
                .map(|i| SubscriberImport::new(person(round, i)).field("round", round as u64))
                .collect();
            outbox.import(&mut tx, &records).await.unwrap();
            tx.commit().await.unwrap();
            for gone in erased(round) {
                for about in [gone.clone(), person(round, 1)] {
                    sqlx::query($dead)
                        .bind(serde_json::json!({"type": "old", "email": about}).to_string())
                        .execute(&pool)
                        .await
                        .unwrap();
                }
                let erasure = outbox.erase(&gone).await.unwrap();
                marks.push((gone, proxy.exchanges().len()));
                assert_eq!(erasure.dead_letters, 1, "{erasure:?}");
                // Only the other person's dead letter comes back.
                assert_eq!(outbox.retry_all_dead_letters().await.unwrap(), 1);
            }
            // The relays work between rounds: the next erasures meet them busy.
            eventually("the relays send this round", Duration::from_secs(30), || {
                proxy.exchanges().len() > before
            })
            .await;
            // A leader killed every ten rounds, halfway through each ten.
            if round % 10 == 5 {
                eventually("a relay leads", Duration::from_secs(30), || {
                    relays.iter().any(RelayProcess::leader)
                })
                .await;
                if let Some(leader) = relays.iter().position(RelayProcess::leader) {
                    relays[leader].kill9();
                    relays.remove(leader);
                }
                relays.push(RelayProcess::start(&emulator, &env));
            }
        }
        outbox.wait_drained(Duration::from_secs(120)).await.unwrap();
        let exchanges = proxy.exchanges();
        for (gone, mark) in &marks {
            bento_tests::erasure::none_carries(&exchanges[*mark..], gone);
            assert!(emulator.subscriber(gone).is_none(), "{gone} was re-created");
        }
        // Everyone else's events and records arrived.
        let erased_people: HashSet<&str> = marks.iter().map(|(gone, _)| gone.as_str()).collect();
        let seen: HashSet<(String, u64)> = emulator
            .events()
            .iter()
            .filter(|e| e.event_type == "order.placed")
            .filter_map(|e| Some((e.email.clone(), e.details.get("n")?.as_u64()?)))
            .collect();
        for round in 0..rounds {
            for i in 0..PEOPLE {
                let who = person(round, i);
                if erased_people.contains(who.as_str()) {
                    continue;
                }
                for n in 0..4u64 {
                    assert!(seen.contains(&(who.clone(), n)), "{who} event {n} was lost");
                }
                let record = emulator.subscriber(&who);
                assert!(record.is_some(), "{who}'s record was lost");
            }
        }
        eventually("the relays settle their counters", Duration::from_secs(5), || {
            relays.iter().any(|r| r.stat("sent") > 0)
        })
        .await;
        let kills = rounds.saturating_sub(5).div_ceil(10);
        eprintln!(
            "{rounds} rounds: {} erasures, {} requests reached Bento, {kills} leaders killed; \
             none carried an erased person after their erasure, nobody else lost",
            marks.len(),
            exchanges.len()
        );
        for relay in relays {
            relay.terminate();
        }
    }};
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_fleet_erasures_under_503s_and_a_killed_leader() {
    use bento_outbox::sqlite::Outbox;
    let file = bento_tests::sqlite::SqliteFile::new("erasure-fleet");
    let pool = bento_tests::sqlite::pool(&file.path()).await.unwrap();
    let path = file.path().display().to_string();
    fleet_story!(
        Outbox::new(pool.clone()),
        pool,
        vec![("RELAY_SQLITE", path)],
        dead: "INSERT INTO bento_outbox (kind, body, dead, reason) VALUES (1, ?1, 1, 'refused')"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_fleet_erasures_under_503s_and_a_killed_leader() {
    use bento_outbox::postgres::Outbox;
    let server = bento_tests::postgres::Postgres::start();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect(&server.url())
        .await
        .unwrap();
    fleet_story!(
        Outbox::new(pool.clone()),
        pool,
        vec![("DATABASE_URL", server.url())],
        dead: "INSERT INTO bento_outbox (kind, body, dead, reason) VALUES (1, $1::json, true, 'refused')"
    );
}

#[test]
#[ignore = "the relaying child process RelayProcess starts; not a test on its own"]
fn relay_child_process() {
    bento_tests::relay::child::main()
}
