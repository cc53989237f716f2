//! What the demo does with each request, independent of the web framework.

use bento_core::{BentoEvent, BentoSubscriber, Client, TrackError};
use serde::{Deserialize, Serialize};

/// `POST /signup` body.
#[derive(Debug, Deserialize)]
pub struct SignupForm {
    /// The new account's email.
    pub email: String,
    /// First name.
    pub first_name: String,
    /// Plan chosen.
    pub plan: String,
}

#[derive(BentoEvent)]
#[bento(event = "account.signup")]
struct Signup<'a> {
    email: &'a str,
    #[bento(field)]
    first_name: &'a str,
    #[bento(field)]
    plan: &'a str,
}

/// One cart line.
#[derive(Debug, Deserialize, Serialize)]
pub struct Item {
    /// SKU.
    pub product_sku: String,
    /// Name.
    pub product_name: String,
    /// How many.
    pub quantity: u32,
    /// Unit price in cents.
    pub price: u64,
}

/// `POST /purchase` body.
#[derive(Debug, Deserialize)]
pub struct Order {
    /// The buyer.
    pub email: String,
    /// The order id: Bento's de-duplication key.
    pub order_id: String,
    /// ISO currency code.
    pub currency: String,
    /// What was bought.
    pub items: Vec<Item>,
}

#[derive(Serialize)]
struct Money<'a> {
    currency: &'a str,
    amount: u64,
}

#[derive(Serialize)]
struct Cart<'a> {
    items: &'a [Item],
}

#[derive(BentoEvent)]
#[bento(event = "$purchase")]
struct Purchase<'a> {
    email: &'a str,
    #[bento(unique)]
    order_id: &'a str,
    value: Money<'a>,
    cart: Cart<'a>,
}

/// `POST /import` body: one record per subscriber.
#[derive(Debug, Deserialize, BentoSubscriber)]
pub struct Member {
    /// Email.
    pub email: String,
    /// First name.
    pub first_name: Option<String>,
    /// Tags to add.
    #[serde(default)]
    pub tags: Vec<String>,
    /// A custom field.
    pub company: Option<String>,
}

/// What a framework's `Bento` handle can do; both `bento_axum::Bento` and
/// `bento_actix::Bento` have it.
pub trait Tracker {
    /// Tracks an event under the request's delivery policy.
    fn track_event<E: BentoEvent>(&self, event: &E) -> Result<(), TrackError>;
    /// The client.
    fn bento(&self) -> &Client;
}

impl Tracker for bento_axum::Bento {
    fn track_event<E: BentoEvent>(&self, event: &E) -> Result<(), TrackError> {
        self.track(event)
    }
    fn bento(&self) -> &Client {
        self.client()
    }
}

impl Tracker for bento_actix::Bento {
    fn track_event<E: BentoEvent>(&self, event: &E) -> Result<(), TrackError> {
        self.track(event)
    }
    fn bento(&self) -> &Client {
        self.client()
    }
}

/// A status code and a body text.
pub type Answer = (u16, String);

/// `POST /signup`.
pub fn signup(bento: &impl Tracker, form: &SignupForm) -> Answer {
    let event = Signup {
        email: &form.email,
        first_name: &form.first_name,
        plan: &form.plan,
    };
    if let Err(error) = bento.track_event(&event) {
        return refused(error);
    }
    // Accounts for "fail@..." fail after the event was tracked: with
    // `deliver_on_success`, Bento never hears of this signup.
    if form.email.starts_with("fail@") {
        return (500, "database unavailable".into());
    }
    (201, String::new())
}

/// `POST /purchase`.
pub fn purchase(bento: &impl Tracker, order: &Order) -> Answer {
    let amount = order
        .items
        .iter()
        .map(|i| i.price * u64::from(i.quantity))
        .sum();
    let event = Purchase {
        email: &order.email,
        order_id: &order.order_id,
        value: Money {
            currency: &order.currency,
            amount,
        },
        cart: Cart {
            items: &order.items,
        },
    };
    match bento.track_event(&event) {
        Ok(()) => (201, String::new()),
        Err(error) => refused(error),
    }
}

/// `POST /import`.
pub fn import(bento: &impl Tracker, members: &[Member]) -> Answer {
    match bento.bento().enqueue_subscribers(members) {
        Ok(()) => (202, String::new()),
        Err(error) => refused(error),
    }
}

fn refused(error: TrackError) -> Answer {
    let status = match error {
        TrackError::Invalid(_) | TrackError::TooLarge { .. } => 422,
        _ => 503,
    };
    (status, error.to_string())
}
