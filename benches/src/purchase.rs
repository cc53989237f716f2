//! The `$purchase` event of the benchmarks: email, two profile fields, the
//! de-duplication key, the value and a three-item cart, written three ways
//! that produce the same JSON.

use bento_core::BentoEvent;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::{Value, json};

/// An amount in cents.
#[derive(Debug, Clone, Serialize)]
pub struct Money {
    /// ISO currency code.
    pub currency: &'static str,
    /// Cents.
    pub amount: u64,
}

/// One cart line.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    /// SKU.
    pub product_sku: &'static str,
    /// Name.
    pub product_name: &'static str,
    /// How many.
    pub quantity: u32,
    /// Unit price in cents.
    pub price: u64,
}

/// The cart.
#[derive(Debug, Clone, Serialize)]
pub struct Cart {
    /// Lines.
    pub items: Vec<Item>,
}

/// Way one: the derive.
#[derive(Debug, Clone, BentoEvent)]
#[bento(event = "$purchase")]
pub struct Purchase {
    /// Who bought.
    pub email: String,
    /// Profile field.
    #[bento(field)]
    pub first_name: String,
    /// Profile field.
    #[bento(field)]
    pub plan: Option<&'static str>,
    /// De-duplication key.
    #[bento(unique)]
    pub order_id: String,
    /// Total.
    pub value: Money,
    /// What was bought.
    pub cart: Cart,
}

/// The same purchase as one variant of an enum of events (issue 19): the
/// derive's `match` must cost next to nothing over the struct.
#[derive(Debug, Clone, BentoEvent)]
pub enum ShopEvent {
    /// A sign-up, so that the `match` has more than one arm.
    #[bento(event = "account.signup")]
    Signup {
        /// Who signed up.
        email: String,
        /// Profile field.
        #[bento(field)]
        first_name: String,
    },
    /// The purchase, field for field as [`Purchase`].
    #[bento(event = "$purchase")]
    Purchase {
        /// Who bought.
        email: String,
        /// Profile field.
        #[bento(field)]
        first_name: String,
        /// Profile field.
        #[bento(field)]
        plan: Option<&'static str>,
        /// De-duplication key.
        #[bento(unique)]
        order_id: String,
        /// Total.
        value: Money,
        /// What was bought.
        cart: Cart,
    },
}

/// [`purchase`] as the enum's variant.
pub fn shop_purchase() -> ShopEvent {
    let Purchase {
        email,
        first_name,
        plan,
        order_id,
        value,
        cart,
    } = purchase();
    ShopEvent::Purchase {
        email,
        first_name,
        plan,
        order_id,
        value,
        cart,
    }
}

/// A realistic purchase.
pub fn purchase() -> Purchase {
    Purchase {
        email: "ada.lovelace@example.com".into(),
        first_name: "Ada".into(),
        plan: Some("pro"),
        order_id: "ord_2024_000042".into(),
        value: Money {
            currency: "USD",
            amount: 8000,
        },
        cart: Cart {
            items: vec![
                Item {
                    product_sku: "MUG-001",
                    product_name: "Analytical Engine Mug",
                    quantity: 2,
                    price: 1500,
                },
                Item {
                    product_sku: "TEA-017",
                    product_name: "Earl Grey, 100 bags",
                    quantity: 1,
                    price: 2000,
                },
                Item {
                    product_sku: "SPN-003",
                    product_name: "Brass Spoon",
                    quantity: 4,
                    price: 750,
                },
            ],
        },
    }
}

/// Way two: a hand-written `Serialize`, the fastest a person would write.
#[derive(Debug)]
pub struct HandWritten<'a>(pub &'a Purchase);

impl Serialize for HandWritten<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Fields<'a>(&'a Purchase);
        impl Serialize for Fields<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(None)?;
                map.serialize_entry("first_name", &self.0.first_name)?;
                if let Some(plan) = &self.0.plan {
                    map.serialize_entry("plan", plan)?;
                }
                map.end()
            }
        }
        struct Unique<'a>(&'a str);
        impl Serialize for Unique<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("key", self.0)?;
                map.end()
            }
        }
        struct Details<'a>(&'a Purchase);
        impl Serialize for Details<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(None)?;
                map.serialize_entry("unique", &Unique(&self.0.order_id))?;
                map.serialize_entry("value", &self.0.value)?;
                map.serialize_entry("cart", &self.0.cart)?;
                map.end()
            }
        }
        let event = self.0;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("type", "$purchase")?;
        map.serialize_entry("email", &event.email)?;
        map.serialize_entry("fields", &Fields(event))?;
        map.serialize_entry("details", &Details(event))?;
        map.end()
    }
}

/// Way three: a `serde_json::Value`, the way dynamic SDKs build events.
pub fn as_value(event: &Purchase) -> Value {
    json!({
        "type": "$purchase",
        "email": event.email,
        "fields": { "first_name": event.first_name, "plan": event.plan },
        "details": {
            "unique": { "key": event.order_id },
            "value": event.value,
            "cart": event.cart,
        },
    })
}

/// The derive's envelope without the checks before it, written here with the
/// public `BentoEvent` methods (the SDK keeps its own private): what the
/// serialization benchmark compares with a hand-written `Serialize`. The
/// benchmark asserts it writes the same bytes as the SDK.
#[allow(missing_debug_implementations)]
pub struct Envelope<'a, E: ?Sized>(pub &'a E);

impl<E: bento_core::BentoEvent + ?Sized> serde::Serialize for Envelope<'_, E> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        struct Fields<'a, E: ?Sized>(&'a E);
        impl<E: bento_core::BentoEvent + ?Sized> serde::Serialize for Fields<'_, E> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(None)?;
                self.0.serialize_fields(&mut map)?;
                map.end()
            }
        }
        struct Details<'a, E: ?Sized>(&'a E);
        impl<E: bento_core::BentoEvent + ?Sized> serde::Serialize for Details<'_, E> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(None)?;
                self.0.serialize_details(&mut map)?;
                map.end()
            }
        }
        let event = self.0;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("type", event.event_type())?;
        map.serialize_entry("email", event.email())?;
        if event.has_fields() {
            map.serialize_entry("fields", &Fields(event))?;
        }
        if event.has_details() {
            map.serialize_entry("details", &Details(event))?;
        }
        if let Ok(Some(date)) = event.date() {
            map.serialize_entry("date", date.as_str())?;
        }
        map.end()
    }
}
