use bento_core::BentoEvent;

#[derive(BentoEvent)]
struct Signup {
    email: String,
}

fn main() {}
