use std::borrow::Cow;
use std::rc::Rc;
use std::sync::Arc;

/// A value that holds an email address: the type of a `#[bento(email)]` field.
///
/// Implement it for your own validated email type:
///
/// ```
/// use bento_core::convert::EmailAddress;
///
/// struct Email(String);
///
/// impl EmailAddress for Email {
///     fn as_email(&self) -> &str {
///         &self.0
///     }
/// }
/// ```
///
/// The address is checked when the event is sent or tracked; an invalid one
/// is a [`ValidationError::InvalidEmail`](crate::ValidationError::InvalidEmail).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as an email address",
    label = "the email field must be string-like",
    note = "use `String`, `&str`, `Cow<str>`, `Box<str>` or `Arc<str>`, or implement `bento_core::convert::EmailAddress` for `{Self}`",
    note = "an email is required on every event and subscriber, so `Option` is not accepted"
)]
pub trait EmailAddress {
    /// The address, such as `ada@example.com`.
    fn as_email(&self) -> &str;
}

impl EmailAddress for str {
    fn as_email(&self) -> &str {
        self
    }
}

impl EmailAddress for String {
    fn as_email(&self) -> &str {
        self
    }
}

impl EmailAddress for Cow<'_, str> {
    fn as_email(&self) -> &str {
        self
    }
}

impl EmailAddress for Box<str> {
    fn as_email(&self) -> &str {
        self
    }
}

impl EmailAddress for Rc<str> {
    fn as_email(&self) -> &str {
        self
    }
}

impl EmailAddress for Arc<str> {
    fn as_email(&self) -> &str {
        self
    }
}

impl<T: EmailAddress + ?Sized> EmailAddress for &T {
    fn as_email(&self) -> &str {
        (**self).as_email()
    }
}

impl<T: EmailAddress + ?Sized> EmailAddress for &mut T {
    fn as_email(&self) -> &str {
        (**self).as_email()
    }
}
