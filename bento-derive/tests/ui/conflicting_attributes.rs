use bento_core::BentoEvent;

#[derive(BentoEvent)]
#[bento(event = "account.signup")]
struct Signup {
    #[bento(email, rename = "mail")]
    email: String,
    #[bento(detail, field)]
    plan: String,
    #[bento(date, skip_if = "Option::is_none")]
    at: Option<String>,
    #[bento(flatten, rename = "extra")]
    extra: std::collections::BTreeMap<String, String>,
    #[bento(unique, flatten)]
    order: std::collections::BTreeMap<String, String>,
    #[bento(skip, rename = "x")]
    ignored: String,
}

fn main() {}
