use bento_core::{BentoEvent, BentoSubscriber};

#[derive(BentoEvent)]
#[bento(event = "account.signup")]
struct Signup {
    email: u64,
}

#[derive(BentoSubscriber)]
struct Member {
    email: Option<String>,
}

fn main() {}
