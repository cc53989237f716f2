use bento_core::{BentoEvent, BentoSubscriber};

// An event without an email is about the subscriber it is tracked for:
// `Client::track`, which has nobody to send it for, refuses it and says
// what to do instead.
#[derive(BentoEvent)]
#[bento(event = "plan.upgraded")]
struct Upgraded {
    address: String,
}

#[derive(BentoSubscriber)]
struct Member {
    #[bento(skip)]
    email: String,
    name: String,
}

fn main() {
    let client = bento_core::Client::from_env().unwrap();
    let _ = client.track(&Upgraded { address: "x".into() });
    let _ = client.track_for("ada@example.com", &Upgraded { address: "x".into() });
}
