use bento_core::BentoEvent;

// One enum is one kind of event: every variant has an email, or none.
#[derive(BentoEvent)]
enum Account {
    #[bento(event = "account.signup")]
    Signup { email: String },
    #[bento(event = "plan.upgraded")]
    Upgraded { plan: String },
}

fn main() {}
