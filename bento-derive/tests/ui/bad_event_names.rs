use bento_core::BentoEvent;

#[derive(BentoEvent)]
#[bento(event = "")]
struct Empty {
    email: String,
}

#[derive(BentoEvent)]
#[bento(event = "account signup")]
struct Whitespace {
    email: String,
}

#[derive(BentoEvent)]
#[bento(event = "account.'signup'")]
struct Quoted {
    email: String,
}

#[derive(BentoEvent)]
#[bento(event = "account\u{7}signup")]
struct Control {
    email: String,
}

#[derive(BentoEvent)]
#[bento(event = "purchase$")]
struct DollarInside {
    email: String,
}

#[derive(BentoEvent)]
#[bento(event = "$")]
struct DollarAlone {
    email: String,
}

fn main() {}
