use bento_core::BentoEvent;

#[derive(BentoEvent)]
#[bento(event = "account.signup", event = "account.created")]
#[bento(rename_all = "snake_case")]
#[bento(rename_all = "lowercase")]
struct Signup {
    #[bento(email, email)]
    email: String,
    #[bento(rename = "a", rename = "b")]
    plan: String,
    #[bento(field, rename = "firstName", verbatim, verbatim)]
    first_name: String,
    #[bento(flatten)]
    #[bento(flatten)]
    extra: std::collections::BTreeMap<String, String>,
}

fn main() {}
