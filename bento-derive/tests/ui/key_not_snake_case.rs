use bento_core::{BentoEvent, BentoSubscriber};

#[derive(BentoEvent)]
#[bento(event = "account.signup")]
#[allow(non_snake_case)]
struct Signup {
    email: String,
    #[bento(field, rename = "firstName")]
    first_name: String,
    #[bento(rename = "plan-tier")]
    tier: String,
    companyName: String,
}

#[derive(BentoSubscriber)]
struct Member {
    email: String,
    #[bento(rename = "Last Name")]
    last_name: String,
    #[bento(rename = "")]
    empty: String,
}

fn main() {}
