use bento_core::BentoSubscriber;

#[derive(BentoSubscriber)]
union Member {
    id: u64,
    score: f64,
}

fn main() {}
