use bento_core::{BentoEvent, BentoSubscriber};

#[derive(BentoEvent)]
#[bento(event = "account.signup")]
struct Signup {
    address: String,
}

#[derive(BentoSubscriber)]
struct Member {
    #[bento(skip)]
    email: String,
    name: String,
}

fn main() {}
