// Tracking a type without the derive says what to add.
struct Signup {
    email: String,
}

struct Member {
    email: String,
}

fn main() {
    let client = bento_core::Client::from_env().unwrap();
    let _ = client.track(&Signup { email: "ada@example.com".into() });
    let _ = client.enqueue_subscriber(&Member { email: "ada@example.com".into() });
}
