use bento_core::BentoEvent;

#[derive(BentoEvent)]
#[bento(event = "heartbeat")]
struct Heartbeat;

fn main() {}
