use bento_core::{BentoEvent, BentoSubscriber};

// `event` goes on each variant; a tuple variant has no keys.
#[derive(BentoEvent)]
#[bento(event = "account.signup")]
enum Signup {
    #[bento(event = "account.signup")]
    Email(String),
}

// A variant without `event`, and two variants with the same event type.
#[derive(BentoEvent)]
enum Shop {
    #[bento(event = "account.signup")]
    Signup { email: String },
    Refund { email: String },
    #[bento(event = "account.signup")]
    SignupAgain { email: String },
    Nothing,
}

// A subscriber is one record shape: enums stay refused there.
#[derive(BentoSubscriber)]
enum People {
    Lead { email: String },
}

fn main() {}
