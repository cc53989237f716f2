use bento_core::{BentoEvent, BentoSubscriber};

#[derive(BentoEvent)]
#[bento(event = "account.signup")]
struct Signup {
    #[bento(email)]
    work: String,
    #[bento(email)]
    home: String,
}

#[derive(BentoEvent)]
#[bento(event = "account.signup")]
struct MarkedAndNamed {
    #[bento(email)]
    work: String,
    email: String,
}

#[derive(BentoSubscriber)]
struct Member {
    email: String,
    #[bento(email)]
    backup: String,
}

fn main() {}
