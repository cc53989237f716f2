use bento_core::BentoEvent;

#[derive(BentoEvent)]
#[bento(event = "acount.signup")]
struct Signup {
    email: String,
}

#[derive(BentoEvent)]
enum Billing {
    #[bento(event = "$purchase")]
    Purchase {
        email: String,
        #[bento(unique)]
        order: String,
        value: serde_json::Value,
    },
    #[bento(event = "subscription.renewed")]
    Renewed { email: String },
}

fn main() {}
