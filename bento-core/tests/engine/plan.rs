//! The tracking plan at run time, over loopback HTTP: a client built with
//! `ClientBuilder::plan` refuses events and records off the plan before
//! anything is queued, and an emulator started with a plan answers 400
//! naming what is off it (as it would for any language's SDK).

use std::time::Duration;

use bento_core::plan::{Plan, Violation};
use bento_core::{Error, Event, SubscriberImport, TrackError, ValidationError};
use bento_emulator::Emulator;
use bento_tests::client_for;

const PLAN: &str = r#"
[fields]
first_name = "string"
plan = "string"
seats = "number"

[events."account.signup"]
fields = ["first_name", "plan"]
details = { source = "string", referrer = "string?" }
"#;

fn signup(email: &str) -> Event {
    Event::new("account.signup", email)
        .field("first_name", "Ada")
        .detail("source", "ad")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_refuses_items_off_the_plan_and_sends_the_rest() {
    let emulator = Emulator::builder().no_rate_limits().start().await.unwrap();
    let client = client_for(&emulator)
        .plan(Plan::parse(PLAN).unwrap())
        .build()
        .unwrap();

    let typo = Event::new("acount.signup", "ada@example.com").detail("source", "ad");
    match client.track(&typo) {
        Err(TrackError::Bug(ValidationError::OffPlan { item, violations })) => {
            assert_eq!(item, "event");
            assert_eq!(
                violations,
                [Violation::UnknownEvent {
                    event: "acount.signup".into(),
                    suggestion: Some("account.signup".into()),
                }]
            );
        }
        other => panic!("expected OffPlan, got {other:?}"),
    }
    let drift = signup("bob@example.com")
        .field("seats", 3)
        .detail("sourse", "ad");
    let error = client.track(&drift).unwrap_err().to_string();
    assert!(error.contains("may not write field `seats`"), "{error}");
    assert!(error.contains("did you mean `source`"), "{error}");
    let record = SubscriberImport::new("carol@example.com").field("seats", "two");
    let error = client.enqueue_subscriber(&record).unwrap_err().to_string();
    assert!(
        error.contains("`seats` is a string, but the tracking plan says number"),
        "{error}"
    );

    // Direct calls too, before any request.
    let error = client
        .send_events(&[signup("ada@example.com"), typo])
        .await
        .unwrap_err();
    match &error {
        Error::Invalid(ValidationError::OffPlan { item, .. }) => assert_eq!(item, "events[1]"),
        other => panic!("expected OffPlan, got {other:?}"),
    }
    let error = client.import_subscribers(&[record]).await.unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("subscribers[0] is off the tracking plan"),
        "{error}"
    );
    assert!(emulator.requests().is_empty(), "nothing was sent");

    client.track(&signup("ada@example.com")).unwrap();
    client
        .enqueue_subscriber(&SubscriberImport::new("carol@example.com").field("seats", 2))
        .unwrap();
    client.flush(Duration::from_secs(10)).await.unwrap();
    let events = emulator.events();
    assert_eq!(
        events.len(),
        1,
        "only the planned event was sent: {events:?}"
    );
    assert_eq!(events[0].email, "ada@example.com");
    assert_eq!(
        emulator.subscriber("carol@example.com").unwrap().fields["seats"],
        2
    );
    assert!(emulator.subscriber("bob@example.com").is_none());
    client.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_answers_400_naming_what_is_off_the_plan() {
    let emulator = Emulator::builder()
        .no_rate_limits()
        .plan(Plan::parse(PLAN).unwrap())
        .start()
        .await
        .unwrap();
    // A client without a plan: the emulator is what catches the drift.
    let client = client_for(&emulator).build().unwrap();

    let batch = [
        signup("ada@example.com"),
        Event::new("acount.signup", "bob@example.com").detail("source", "ad"),
    ];
    let error = client.send_events(&batch).await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(400), "{error}");
    let shown = error.to_string();
    assert!(
        shown.contains("events[1] is off the tracking plan: event type `acount.signup` is not in the tracking plan (did you mean `account.signup`?)"),
        "{shown}"
    );
    assert!(
        emulator.events().is_empty(),
        "a 400 stores nothing of its batch"
    );

    let missing = Event::new("account.signup", "ada@example.com");
    let shown = client.track_now(&missing).await.unwrap_err().to_string();
    assert!(shown.contains("missing detail `source`"), "{shown}");

    let records = [SubscriberImport::new("carol@example.com").field("seat", 2)];
    let error = client.import_subscribers(&records).await.unwrap_err();
    assert!(matches!(error, Error::Api(_)), "{error:?}");
    let shown = error.to_string();
    assert!(
        shown.contains("subscribers[0] is off the tracking plan: field `seat` is not in the tracking plan's [fields] (did you mean `seats`?)"),
        "{shown}"
    );

    client.send_events(&batch[..1]).await.unwrap();
    client
        .import_subscribers(&[SubscriberImport::new("carol@example.com").field("seats", 2)])
        .await
        .unwrap();
    assert_eq!(emulator.events().len(), 1);
    assert_eq!(
        emulator.subscriber("carol@example.com").unwrap().fields["seats"],
        2
    );
}

/// A refusal that is the program's mistake is never silent, even with
/// `let _ =`: logged, counted in `stats().refused` and handed to the failure
/// hook; the user's invalid data is an `Invalid` the caller maps to a 4xx,
/// neither counted nor hooked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_that_are_the_programs_mistake_are_counted_and_hooked() {
    use std::sync::{Arc, Mutex};

    let emulator = Emulator::builder().no_rate_limits().start().await.unwrap();
    let hooked = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&hooked);
    let client = client_for(&emulator)
        .plan(Plan::parse(PLAN).unwrap())
        .on_delivery_failure(move |failure| {
            assert!(failure.items.is_empty());
            sink.lock().unwrap().push(failure.reason);
        })
        .build()
        .unwrap();

    // The docs' old idiom: the result ignored. Nothing is lost unseen.
    let typo = Event::new("acount.signup", "ada@example.com").detail("source", "ad");
    let _ = client.track(&typo);
    let not_json = signup("ada@example.com").detail("referrer", f64::NAN);
    let _ = client.track(&not_json);
    // The user's mistake: theirs to see, not a bug.
    match client.track(&signup("not-an-email")) {
        Err(TrackError::Invalid(error)) => assert!(error.is_user_input()),
        other => panic!("{other:?}"),
    }
    let stats = client.stats();
    assert_eq!(stats.refused, 2, "{stats:?}");
    assert_eq!(stats.queued, 0);
    let hooked = hooked.lock().unwrap();
    assert_eq!(hooked.len(), 2, "{hooked:?}");
    assert!(matches!(
        &hooked[0],
        bento_core::FailureReason::Refused(TrackError::Bug(ValidationError::OffPlan { .. }))
    ));
    assert!(matches!(
        &hooked[1],
        bento_core::FailureReason::Refused(TrackError::Bug(
            ValidationError::NonFiniteNumber { .. }
        ))
    ));
    assert!(
        hooked[0]
            .to_string()
            .contains("refused as the program's mistake")
    );
}

const EVERY_WRITE_PLAN: &str = r#"
[fields]
first_name = "string"
seats = "number"
renews_on = "date"

[events."account.signup"]
"#;

/// Every write of a field is held to the plan, in the client before anything
/// is sent and in the emulator's `--plan` mode: commands, subscriber and
/// field creation, `add_tag_via_event` (which creates a `$tag` event), and
/// dates that are not dates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_of_a_field_is_held_to_the_plan_in_the_client_and_the_emulator() {
    use bento_core::{Command, NewSubscriber};
    use serde_json::json;

    let plan = || Plan::parse(EVERY_WRITE_PLAN).unwrap();
    let add_field = |key: &str, value: serde_json::Value| Command::AddField {
        email: "ada@example.com".into(),
        key: key.into(),
        value,
    };
    let typo = add_field("frist_name", json!("Ada"));
    let bad_date = add_field("renews_on", json!("whenever"));
    let remove_typo = Command::RemoveField {
        email: "ada@example.com".into(),
        key: "frist_name".into(),
    };
    let tag_event = Command::AddTagViaEvent {
        email: "ada@example.com".into(),
        tag: "vip".into(),
    };

    // The client: refused before any request, queued or direct.
    let emulator = Emulator::builder().no_rate_limits().start().await.unwrap();
    let client = client_for(&emulator).plan(plan()).build().unwrap();
    for command in [&typo, &bad_date, &remove_typo, &tag_event] {
        let queued = client.enqueue_command(command.clone());
        assert!(
            matches!(
                queued,
                Err(TrackError::Bug(ValidationError::OffPlan { .. }))
            ),
            "{command:?}: {queued:?}"
        );
        let direct = client.run_command(command.clone()).await.unwrap_err();
        assert!(
            matches!(direct, Error::Invalid(ValidationError::OffPlan { .. })),
            "{command:?}: {direct:?}"
        );
    }
    let shown = client
        .run_command(typo.clone())
        .await
        .unwrap_err()
        .to_string();
    assert!(shown.contains("did you mean `first_name`"), "{shown}");
    let shown = client
        .run_command(bad_date.clone())
        .await
        .unwrap_err()
        .to_string();
    assert!(shown.contains("`whenever`, which is not a date"), "{shown}");
    let shown = client
        .run_command(tag_event.clone())
        .await
        .unwrap_err()
        .to_string();
    assert!(shown.contains("[events.\"$tag\"]"), "{shown}");
    let created = client
        .create_subscriber(NewSubscriber::new("ada@example.com").field("frist_name", "Ada"))
        .await
        .unwrap_err();
    assert!(created.to_string().contains("frist_name"), "{created}");
    let field = client.create_field("frist_name").await.unwrap_err();
    assert!(
        field.to_string().contains("did you mean `first_name`"),
        "{field}"
    );
    let dated = SubscriberImport::new("ada@example.com").field("renews_on", "whenever");
    assert!(client.enqueue_subscriber(&dated).is_err());
    assert!(emulator.requests().is_empty(), "nothing was sent");
    // What is on the plan goes through.
    client
        .run_command(add_field("renews_on", json!("2027-01-31")))
        .await
        .unwrap();
    client.create_field("seats").await.unwrap();
    client.shutdown(Duration::from_secs(5)).await.unwrap();

    // The emulator with the plan, for a client without one.
    let emulator = Emulator::builder()
        .no_rate_limits()
        .plan(plan())
        .start()
        .await
        .unwrap();
    let client = client_for(&emulator).build().unwrap();
    for command in [&typo, &bad_date, &remove_typo, &tag_event] {
        let error = client.run_command(command.clone()).await.unwrap_err();
        assert_eq!(
            error.status().map(|s| s.as_u16()),
            Some(400),
            "{command:?}: {error}"
        );
        assert!(
            error.to_string().contains("off the tracking plan"),
            "{error}"
        );
    }
    let error = client
        .create_subscriber(NewSubscriber::new("ada@example.com").field("frist_name", "Ada"))
        .await
        .unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(400), "{error}");
    let error = client.create_field("frist_name").await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(400), "{error}");
    assert!(
        emulator.subscriber("ada@example.com").is_none(),
        "nothing of a refused request is stored"
    );
    assert!(emulator.events().is_empty(), "no `$tag` event either");
    client
        .run_command(add_field("seats", json!(3)))
        .await
        .unwrap();
    assert_eq!(
        emulator.subscriber("ada@example.com").unwrap().fields["seats"],
        3
    );
}

/// `testing::emulator_with`: one line gives the client and the emulator the
/// same plan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_with_gives_the_plan_to_the_client_and_the_emulator() {
    let (emulator, client) =
        bento_core::testing::emulator_with(|client| client.plan(Plan::parse(PLAN).unwrap()))
            .await
            .unwrap();
    let typo = Event::new("acount.signup", "ada@example.com").detail("source", "ad");
    assert!(matches!(client.track(&typo), Err(TrackError::Bug(_))));
    // A client without the plan meets the emulator's.
    let unplanned = client_for(&emulator).build().unwrap();
    let error = unplanned.track_now(&typo).await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(400), "{error}");
    client.track(&signup("ada@example.com")).unwrap();
    bento_core::testing::wait_for_events(&emulator, 1, Duration::from_secs(10))
        .await
        .unwrap();
}
