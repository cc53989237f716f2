//! What the demo does with each request, independent of the web framework.

use std::sync::Arc;

use bento_core::{BentoEvent, BentoSubscriber, Client, Command, SubscriberEvent, TrackError};
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

/// Every event the shop tracks, in one enum: one event type per variant.
#[derive(BentoEvent)]
enum ShopEvent<'a> {
    #[bento(event = "account.signup")]
    Signup {
        email: &'a str,
        #[bento(field)]
        first_name: &'a str,
        #[bento(field)]
        plan: &'a str,
    },
    #[bento(event = "$purchase")]
    Purchase {
        email: &'a str,
        #[bento(unique)]
        order_id: &'a str,
        value: Money<'a>,
        cart: Cart<'a>,
    },
}

/// About the request's subscriber: no email of its own.
#[derive(BentoEvent)]
#[bento(event = "plan.upgraded")]
struct PlanUpgraded<'a> {
    #[bento(field)]
    plan: &'a str,
}

/// `POST /upgrade` body.
#[derive(Debug, Deserialize)]
pub struct Upgrade {
    /// The new plan.
    pub plan: String,
}

/// The header the demo's stand-in for a login session sets: in a real app
/// the layer's `identify` reads your session or JWT claim instead.
pub const USER_HEADER: &str = "x-demo-user";

/// The event types the demo tracks, for tests and tracking plans.
pub const EVENT_TYPES: &[&str] = ShopEvent::EVENT_TYPES;

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
    fn track_event<E: SubscriberEvent + ?Sized>(&self, event: &E) -> Result<(), TrackError>;
    /// Queues a subscriber command under the request's delivery policy.
    fn queue_command(&self, command: Command) -> Result<(), TrackError>;
    /// The request's subscriber, if known.
    fn subscriber(&self) -> Option<Arc<str>>;
    /// The client.
    fn bento(&self) -> &Client;
}

macro_rules! tracker {
    ($bento:ty) => {
        impl Tracker for $bento {
            fn track_event<E: SubscriberEvent + ?Sized>(
                &self,
                event: &E,
            ) -> Result<(), TrackError> {
                self.track(event)
            }
            fn queue_command(&self, command: Command) -> Result<(), TrackError> {
                self.enqueue_command(command)
            }
            fn subscriber(&self) -> Option<Arc<str>> {
                self.identity()
            }
            fn bento(&self) -> &Client {
                self.client()
            }
        }
    };
}

tracker!(bento_axum::Bento);
tracker!(bento_actix::Bento);

/// A status code and a body text.
pub type Answer = (u16, String);

/// `POST /signup`.
pub fn signup(bento: &impl Tracker, form: &SignupForm) -> Answer {
    let event = ShopEvent::Signup {
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
    let event = ShopEvent::Purchase {
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

/// `POST /upgrade`: about whoever is signed in.
pub fn upgrade(bento: &impl Tracker, upgrade: &Upgrade) -> Answer {
    // An event about "whoever is signed in" needs someone signed in: asked
    // first, since tracking it for nobody is the program's mistake.
    if bento.subscriber().is_none() {
        return (401, "sign in first".into());
    }
    match bento.track_event(&PlanUpgraded {
        plan: &upgrade.plan,
    }) {
        Ok(()) => (200, String::new()),
        Err(error) => refused(error),
    }
}

/// `POST /newsletter`: subscribes whoever is signed in, queued like an event.
pub fn newsletter(bento: &impl Tracker) -> Answer {
    let Some(email) = bento.subscriber() else {
        return (401, "sign in first".into());
    };
    let command = Command::AddTag {
        email: email.to_string(),
        tag: "newsletter".into(),
    };
    match bento.queue_command(command) {
        Ok(()) => (202, String::new()),
        Err(error) => refused(error),
    }
}

/// `GET /pricing`: an HTML page, whose views the layer tracks.
pub const PRICING_PAGE: &str = "<!doctype html><title>Pricing</title><h1>Pricing</h1>";

/// `POST /import`.
pub fn import(bento: &impl Tracker, members: &[Member]) -> Answer {
    match bento.bento().enqueue_subscribers(members) {
        Ok(()) => (202, String::new()),
        Err(error) => refused(error),
    }
}

/// The user's invalid data is theirs to see (422); the program's mistakes
/// were already logged, counted and handed to the failure hook by the client,
/// and their text (the plan's internals) is not for the user.
fn refused(error: TrackError) -> Answer {
    match error {
        TrackError::Invalid(invalid) => (422, invalid.to_string()),
        TrackError::QueueFull { .. } | TrackError::Closed { .. } => {
            (503, "please try again in a moment".to_owned())
        }
        _ => (500, "something went wrong on our side".to_owned()),
    }
}
