use bento_core::BentoEvent;

// Every struct-level check applies per variant: a variant without an email,
// a key that is not snake case, a duplicate key.
#[derive(BentoEvent)]
enum Shop<'a> {
    #[bento(event = "order.placed")]
    Placed { id: u64 },
    #[bento(event = "order.shipped")]
    Shipped {
        email: &'a str,
        #[bento(rename = "Carrier")]
        carrier: &'a str,
        #[bento(rename = "eta")]
        eta: u32,
        #[bento(rename = "eta")]
        arrival: u32,
    },
}

fn main() {}
