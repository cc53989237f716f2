use bento_core::BentoEvent;

#[derive(BentoEvent)]
#[bento(event = "account.signup")]
struct Signup {
    email: String,
    date: String,
}

fn main() {}
