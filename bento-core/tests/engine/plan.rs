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
