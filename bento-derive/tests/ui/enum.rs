use bento_core::BentoEvent;

#[derive(BentoEvent)]
#[bento(event = "account.signup")]
enum Signup {
    Email(String),
}

fn main() {}
