//! Events and records the plan accepts, including types the derive cannot
//! judge (a user's own type, `serde_json::Value`) and a flattened map.
use std::collections::HashMap;

use bento_core::{BentoEvent, BentoSubscriber};

#[derive(serde::Serialize)]
struct Money {
    amount: u64,
}

#[derive(BentoEvent)]
#[bento(event = "account.signup")]
struct Signup {
    email: String,
    #[bento(field)]
    first_name: Option<String>,
    source: &'static str,
    referrer: Option<String>,
}

#[derive(BentoEvent)]
enum Billing {
    #[bento(event = "$purchase")]
    Purchase {
        email: String,
        #[bento(unique)]
        order: String,
        value: Money,
    },
    #[bento(event = "plan.upgraded")]
    Upgraded {
        email: String,
        #[bento(field)]
        seats: u32,
        #[bento(rename = "seats")]
        seat_count: u32,
        note: serde_json::Value,
        #[bento(flatten)]
        rest: HashMap<String, serde_json::Value>,
    },
}

#[derive(BentoEvent)]
#[bento(event = "page.free")]
struct Free {
    email: String,
    anything: Vec<u8>,
}

#[derive(BentoSubscriber)]
struct Customer {
    email: String,
    first_name: String,
    seats: u16,
    trial: bool,
    tags: Vec<String>,
}

fn main() {
    let _ = (Signup { email: String::new(), first_name: None, source: "ad", referrer: None }, Free { email: String::new(), anything: vec![] });
    let _ = Billing::Purchase { email: String::new(), order: String::new(), value: Money { amount: 1 } };
    let _ = Customer { email: String::new(), first_name: String::new(), seats: 1, trial: false, tags: vec![] };
}
