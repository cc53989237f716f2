//! Data deletion: `POST /data_deletion_requests`, Bento's anonymization of
//! one person (GDPR article 17, CCPA), asynchronous, 1,000 requests a day.

use serde::Serialize;

use crate::client::Client;
use crate::error::Error;
use crate::transport::ApiRequest;
use crate::validate;

/// What Bento said to a deletion request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Deletion {
    /// Accepted (202): the person is queued for anonymization, which Bento
    /// runs later; no call reports when it is done.
    Queued,
    /// The site has no subscriber with that email (404 `visitor_not_found`):
    /// nothing to delete.
    NotFound,
}

#[derive(Serialize)]
struct Body<'a> {
    data_deletion_request: Email<'a>,
}

#[derive(Serialize)]
struct Email<'a> {
    email: &'a str,
}

impl Client {
    /// Asks Bento to anonymize the subscriber `email`
    /// (`POST /data_deletion_requests`). Idempotent, so it is retried like
    /// a read.
    ///
    /// Bento answers at once and anonymizes later; it keeps some data (legal
    /// holds, abuse signals, backups), and an integration that sends the
    /// same email again re-creates the person. At most 1,000 requests a day:
    /// the client paces them under that quota (the `Deletion` family of
    /// [`RateLimits`](crate::RateLimits)), and a 429 is
    /// [`Error::Api`](crate::Error::Api) with status 429.
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// use bento_core::deletion::Deletion;
    /// match client.request_data_deletion("ada@example.com").await? {
    ///     Deletion::Queued => println!("queued for anonymization"),
    ///     Deletion::NotFound => println!("no such subscriber"),
    ///     _ => {}
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn request_data_deletion(&self, email: &str) -> Result<Deletion, Error> {
        validate::email(|| "email".to_owned(), email)?;
        let request = ApiRequest::post("data_deletion_requests").json(&Body {
            data_deletion_request: Email { email },
        })?;
        match self.call_raw(request).await {
            Ok(_) => Ok(Deletion::Queued),
            // A 404 of another kind (a wrong base URL) is not "no such person".
            Err(Error::Api(api))
                if api.status == http::StatusCode::NOT_FOUND
                    && api.message == "visitor_not_found" =>
            {
                Ok(Deletion::NotFound)
            }
            Err(error) => Err(error),
        }
    }
}
