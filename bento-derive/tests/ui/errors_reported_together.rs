// Three mistakes, three errors, and no "trait not implemented" at the use site.
use bento_core::BentoEvent;

#[derive(BentoEvent)]
#[bento(event = "account signup")]
struct Signup {
    #[bento(email)]
    address: String,
    #[bento(email)]
    backup: String,
    #[bento(rename = "Plan")]
    plan: String,
}

fn main() {
    let signup = Signup { address: String::new(), backup: String::new(), plan: String::new() };
    let _ = bento_core::events::to_vec(&signup);
}
