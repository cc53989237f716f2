use bento_core::{BentoEvent, BentoSubscriber};

#[derive(BentoEvent)]
#[bento(event = "account.signup", evnt_type = "x", email)]
struct Signup {
    #[bento(emial)]
    email: String,
    #[bento(frobnicate)]
    plan: String,
    #[bento(event = "x")]
    other: String,
}

#[derive(BentoSubscriber)]
#[bento(event = "member")]
struct Member {
    email: String,
    #[bento(unique)]
    id: String,
    #[bento(tag)]
    labels: Vec<String>,
}

fn main() {}
