use bento_core::{BentoEvent, BentoSubscriber};

#[derive(BentoEvent)]
#[bento(event = "account.signup")]
struct Signup {
    email: String,
    #[bento(field)]
    frist_name: String,
    #[bento(field)]
    seats: u32,
    #[bento(field)]
    plan: u32,
    source: String,
}

#[derive(BentoSubscriber)]
struct Customer {
    email: String,
    nickname: String,
    #[bento(rename = "seats")]
    seat_count: String,
    trial: bool,
}

fn main() {}
