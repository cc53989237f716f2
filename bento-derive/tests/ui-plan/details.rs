use bento_core::BentoEvent;

#[derive(BentoEvent)]
#[bento(event = "account.signup")]
struct MissingSource {
    email: String,
    sourse: String,
}

#[derive(BentoEvent)]
#[bento(event = "account.signup")]
struct OptionalSource {
    email: String,
    source: Option<String>,
    referrer: u32,
}

#[derive(BentoEvent)]
#[bento(event = "plan.upgraded")]
struct Upgraded {
    email: String,
    seats: String,
    #[bento(skip_if = "Option::is_none")]
    note: Option<String>,
    extra: Vec<String>,
}

#[derive(BentoEvent)]
#[bento(event = "account.signup")]
struct Skipped {
    email: String,
    #[bento(skip_if = "String::is_empty")]
    source: String,
}

#[derive(BentoEvent)]
#[bento(event = "account.signup")]
struct Undeclared {
    email: String,
    source: String,
    coupon_code: Option<u32>,
}

fn main() {}
