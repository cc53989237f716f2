use bento_core::BentoEvent;

#[derive(BentoEvent)]
#[bento(event, crate = "not a path", bound = "T:: +")]
struct Signup {
    #[bento(email = "yes")]
    email: String,
    #[bento(rename = 5)]
    plan: String,
    #[bento(skip_if = "1 + 1")]
    tier: String,
}

fn main() {}
