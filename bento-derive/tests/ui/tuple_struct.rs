use bento_core::BentoEvent;

#[derive(BentoEvent)]
#[bento(event = "account.signup")]
struct Signup(String, u32);

fn main() {}
