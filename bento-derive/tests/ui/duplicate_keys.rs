use bento_core::{BentoEvent, BentoSubscriber};

#[derive(BentoEvent)]
#[bento(event = "account.signup")]
struct InFields {
    email: String,
    #[bento(field)]
    plan: String,
    #[bento(field, rename = "plan")]
    tier: String,
    // Same key, other object: fine.
    #[bento(rename = "plan")]
    detail_plan: String,
}

#[derive(BentoEvent)]
#[bento(event = "$purchase", rename_all = "snake_case")]
#[allow(non_snake_case)]
struct InDetails {
    email: String,
    order_id: String,
    orderId: String,
    #[bento(unique)]
    key: String,
    unique: String,
}

#[derive(BentoSubscriber)]
struct Member {
    email: String,
    #[bento(rename = "email")]
    contact: String,
    #[bento(tags)]
    labels: Vec<String>,
    tags: Vec<String>,
}

fn main() {}
