//! Experimental endpoints: `/experimental/*`. Bento may change these.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::{Error, ValidationError};
use crate::transport::ApiRequest;
use crate::validate;

/// Input of [`Client::validate_email`]: an address, optionally with context
/// that sharpens the guess.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmailCheck {
    email: String,
    name: Option<String>,
    user_agent: Option<String>,
    ip: Option<String>,
}

impl EmailCheck {
    /// Checks `email` (its domain's MX records among other heuristics).
    pub fn new(email: impl Into<String>) -> Self {
        Self {
            email: email.into(),
            ..Self::default()
        }
    }

    /// The person's full name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The browser's user agent.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// The person's IP address.
    pub fn ip(mut self, ip: impl Into<String>) -> Self {
        self.ip = Some(ip.into());
        self
    }
}

impl From<&str> for EmailCheck {
    fn from(email: &str) -> Self {
        Self::new(email)
    }
}

/// Answer of [`Client::validate_email`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct EmailValidity {
    /// Whether the address looks real.
    pub valid: bool,
}

/// What to look up in [`Client::blacklist_status`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BlacklistTarget {
    /// A domain, without scheme: `example.com`.
    Domain(String),
    /// An IP address.
    Ip(String),
}

/// Answer of [`Client::blacklist_status`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct BlacklistStatus {
    /// The domain or IP checked.
    #[serde(default)]
    pub query: Option<String>,
    /// A summary.
    #[serde(default)]
    pub description: Option<String>,
    /// Each list's verdict: `true` means listed. Empty when every check
    /// passed (Bento sends `null` or `false` then).
    #[serde(default, deserialize_with = "results")]
    pub results: BTreeMap<String, bool>,
}

/// `results`: a map of verdicts, or `null`/`false` when every check passed;
/// a verdict that is not a boolean counts as not listed.
fn results<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, bool>, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(match value {
        serde_json::Value::Object(map) => map
            .into_iter()
            .map(|(list, verdict)| (list, verdict.as_bool().unwrap_or(false)))
            .collect(),
        _ => BTreeMap::new(),
    })
}

impl BlacklistStatus {
    /// Whether any list has it.
    pub fn is_listed(&self) -> bool {
        self.results
            .iter()
            .any(|(list, listed)| *listed && list != "just_registered")
    }
}

/// Answer of [`Client::moderate_content`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ContentModeration {
    /// Whether the content is acceptable.
    pub valid: bool,
    /// Why not, when it is not.
    #[serde(default)]
    pub reasons: Vec<String>,
    /// The content with unsafe parts neutralized.
    #[serde(default)]
    pub safe_original_content: Option<String>,
}

/// Answer of [`Client::guess_gender`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct GenderGuess {
    /// The guess, such as `male`, `female` or `unknown`.
    #[serde(default)]
    pub gender: Option<String>,
    /// Confidence from 0 to 1.
    #[serde(default)]
    pub confidence: Option<f64>,
}

/// Answer of [`Client::geolocate`]; every member may be absent for private or unknown addresses.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
#[allow(missing_docs)]
pub struct Geolocation {
    #[serde(default)]
    pub request: Option<String>,
    #[serde(default)]
    pub ip: Option<String>,
    #[serde(default)]
    pub country_code2: Option<String>,
    #[serde(default)]
    pub country_code3: Option<String>,
    #[serde(default)]
    pub country_name: Option<String>,
    #[serde(default)]
    pub continent_code: Option<String>,
    #[serde(default)]
    pub region_name: Option<String>,
    #[serde(default)]
    pub city_name: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
    #[serde(default)]
    pub latitude: Option<f64>,
    #[serde(default)]
    pub longitude: Option<f64>,
    #[serde(default)]
    pub dma_code: Option<String>,
    #[serde(default)]
    pub area_code: Option<String>,
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub real_region_name: Option<String>,
}

/// The options of [`Client::review_signup_email`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SignupEmailReview {
    /// The address to review.
    pub email: String,
    /// Refuse free providers (gmail.com...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_free_providers: Option<bool>,
    /// Relax some of the stricter checks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wiggleroom: Option<bool>,
}

impl SignupEmailReview {
    /// A review of `email` with Bento's defaults.
    pub fn new(email: impl Into<String>) -> Self {
        Self {
            email: email.into(),
            block_free_providers: None,
            wiggleroom: None,
        }
    }

    /// Refuse (or accept) free providers.
    pub fn block_free_providers(mut self, block: bool) -> Self {
        self.block_free_providers = Some(block);
        self
    }

    /// Relax (or not) some of the stricter checks.
    pub fn wiggleroom(mut self, relax: bool) -> Self {
        self.wiggleroom = Some(relax);
        self
    }
}

impl From<&str> for SignupEmailReview {
    fn from(email: &str) -> Self {
        Self::new(email)
    }
}

/// Bento's verdict on a signup address ("Jesse's ruleset").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignupEmailVerdict {
    /// Whether the address passes.
    pub valid: bool,
    /// Why not (free text; may be empty when valid).
    pub reasons: Vec<String>,
}

/// `{"valid", "reasons"}`, or `{"data": {"reasons"}}`, or a bare list of
/// reasons, as Bento's SDKs accept.
impl<'de> Deserialize<'de> for SignupEmailVerdict {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Fields {
            #[serde(default)]
            valid: Option<bool>,
            #[serde(default, deserialize_with = "crate::wire::de::null_as_default")]
            reasons: Vec<String>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Flat(Fields),
            Wrapped { data: Fields },
            List(Vec<String>),
        }
        let fields = match Wire::deserialize(deserializer)? {
            Wire::Flat(fields) | Wire::Wrapped { data: fields } => fields,
            Wire::List(reasons) => Fields {
                valid: None,
                reasons,
            },
        };
        Ok(Self {
            valid: fields.valid.unwrap_or(fields.reasons.is_empty()),
            reasons: fields.reasons,
        })
    }
}

impl Client {
    /// Reviews an address for signups with Bento's strict rules ("Jesse's
    /// ruleset", `POST /experimental/jesses_ruleset`): disposable or role
    /// addresses, typos of big providers, and (on request) free providers.
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// use bento_core::experimental::SignupEmailReview;
    /// let verdict = client
    ///     .review_signup_email(SignupEmailReview::new("ada@gmail.com").block_free_providers(true))
    ///     .await?;
    /// if !verdict.valid {
    ///     println!("refused: {}", verdict.reasons.join(", "));
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn review_signup_email(
        &self,
        review: impl Into<SignupEmailReview>,
    ) -> Result<SignupEmailVerdict, Error> {
        let review = review.into();
        validate::non_empty(|| "email".to_owned(), &review.email)?;
        let request = ApiRequest::post("experimental/jesses_ruleset").json(&review)?;
        self.call(request).await
    }

    /// Guesses whether an email address is real.
    pub async fn validate_email(
        &self,
        check: impl Into<EmailCheck>,
    ) -> Result<EmailValidity, Error> {
        let check = check.into();
        validate::non_empty(|| "email".to_owned(), &check.email)?;
        let mut request = ApiRequest::post("experimental/validation").query("email", check.email);
        for (key, value) in [
            ("name", check.name),
            ("user_agent", check.user_agent),
            ("ip", check.ip),
        ] {
            if let Some(value) = value {
                request = request.query(key, value);
            }
        }
        self.call(request).await
    }

    /// Checks a domain or IP against spam blacklists.
    pub async fn blacklist_status(
        &self,
        target: BlacklistTarget,
    ) -> Result<BlacklistStatus, Error> {
        // `blacklist.json`, the older path, is what Bento's guidance now says
        // not to use.
        let request = ApiRequest::get("experimental/blacklist");
        let request = match target {
            BlacklistTarget::Domain(domain) => {
                if domain.contains("://") || domain.contains('/') {
                    return Err(ValidationError::Arguments(format!(
                        "blacklist domain `{domain}` must be a bare domain such as example.com, without scheme or path"
                    ))
                    .into());
                }
                validate::non_empty(|| "domain".to_owned(), &domain)?;
                request.query("domain", domain)
            }
            BlacklistTarget::Ip(ip) => {
                validate::non_empty(|| "ip".to_owned(), &ip)?;
                request.query("ip", ip)
            }
        };
        self.call(request).await
    }

    /// Scores short user-written text (links, scripts, abuse).
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// let moderation = client.moderate_content("Win a free cruise!").await?;
    /// println!("{moderation:?}");
    /// # Ok(()) }
    /// ```
    pub async fn moderate_content(&self, content: &str) -> Result<ContentModeration, Error> {
        validate::non_empty(|| "content".to_owned(), content)?;
        self.call(ApiRequest::post("experimental/content_moderation").query("content", content))
            .await
    }

    /// Guesses gender from a name (US census data).
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// let guess = client.guess_gender("Ada Lovelace").await?;
    /// println!("{:?}", guess.gender);
    /// # Ok(()) }
    /// ```
    pub async fn guess_gender(&self, name: &str) -> Result<GenderGuess, Error> {
        validate::non_empty(|| "name".to_owned(), name)?;
        self.call(ApiRequest::post("experimental/gender").query("name", name))
            .await
    }

    /// Geolocates an IP address; `None` when Bento knows nothing, which
    /// is always since Bento disabled the lookup (the 2026-08-22 spec: the
    /// legacy endpoint answers `{}`; do not use it for location data).
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// // Bento disabled the lookup: expect `None`.
    /// let place = client.geolocate("8.8.8.8").await?;
    /// println!("{place:?}");
    /// # Ok(()) }
    /// ```
    pub async fn geolocate(&self, ip: &str) -> Result<Option<Geolocation>, Error> {
        validate::non_empty(|| "ip".to_owned(), ip)?;
        let answer: serde_json::Value = self
            .call(ApiRequest::get("experimental/geolocation").query("ip", ip))
            .await?;
        if answer.as_object().is_none_or(serde_json::Map::is_empty) {
            return Ok(None);
        }
        serde_json::from_value(answer)
            .map(Some)
            .map_err(|source| Error::Decode {
                endpoint: "experimental/geolocation".into(),
                body: "<geolocation>".into(),
                source,
            })
    }
}
