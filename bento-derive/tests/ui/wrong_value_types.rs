use bento_core::{BentoEvent, BentoSubscriber};

struct NotSerialize;

#[derive(BentoEvent)]
#[bento(event = "account.signup")]
struct Signup {
    email: String,
    #[bento(date)]
    at: u64,
    #[bento(flatten)]
    extra: Vec<u8>,
    payload: NotSerialize,
}

#[derive(BentoSubscriber)]
struct Member {
    email: String,
    tags: String,
}

fn main() {}
