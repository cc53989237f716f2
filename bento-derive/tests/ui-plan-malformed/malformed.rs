use bento_core::BentoEvent;

#[derive(BentoEvent)]
#[bento(event = "account.signup")]
struct Signup {
    email: String,
    source: String,
}

fn main() {}
