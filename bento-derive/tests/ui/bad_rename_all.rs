use bento_core::BentoEvent;

#[derive(BentoEvent)]
#[bento(event = "account.signup", rename_all = "camelCase")]
struct Signup {
    email: String,
}

fn main() {}
