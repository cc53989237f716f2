//! Page views: which requests are one (a successful `GET` whose response
//! the rule accepts: an HTML page by default, or JSON, or anything), and
//! what each needs of its request until the response says whether it is.

use std::sync::Arc;

/// Which paths' page views are tracked.
type PathFilter = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// Which successful `GET` responses are page views: by `Content-Type`
/// (HTML by default), or every one; optionally on the paths a filter
/// accepts. Given to a layer's `track_page_views_with`.
///
/// ```
/// use bento_core::integration::PageViews;
///
/// // A JSON API or an SPA's backend: its JSON answers are the views.
/// let api = PageViews::content_types(["application/json"]).paths(|path| path.starts_with("/api/"));
/// // Every successful GET, whatever it answers.
/// let all = PageViews::every_get();
/// # let _ = (api, all);
/// ```
#[derive(Clone)]
pub struct PageViews {
    content: Content,
    paths: Option<PathFilter>,
}

#[derive(Clone, Debug)]
enum Content {
    /// Responses with one of these media types (lowercase, no parameters).
    Types(Arc<[String]>),
    /// Any response.
    Any,
}

impl std::fmt::Debug for PageViews {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageViews")
            .field("content", &self.content)
            .field("filters_paths", &self.paths.is_some())
            .finish()
    }
}

impl Default for PageViews {
    fn default() -> Self {
        Self::html()
    }
}

impl PageViews {
    /// HTML pages (`Content-Type: text/html`): a server-rendered site.
    pub fn html() -> Self {
        Self::content_types(["text/html"])
    }

    /// Responses of these media types (`application/json`, say; matched on
    /// the media type alone, in any case, whatever parameters follow).
    pub fn content_types<I, T>(types: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        let types: Vec<String> = types
            .into_iter()
            .map(|t| t.as_ref().trim().to_ascii_lowercase())
            .collect();
        Self {
            content: Content::Types(types.into()),
            paths: None,
        }
    }

    /// Every successful `GET`, whatever it answers (an SPA's backend whose
    /// routes are its screens).
    pub fn every_get() -> Self {
        Self {
            content: Content::Any,
            paths: None,
        }
    }

    /// Only on the paths `filter` accepts (`|path| !path.starts_with("/admin")`).
    /// Leave out pages whose query carries secrets (a reset token): the
    /// query is sent as is.
    pub fn paths(mut self, filter: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        self.paths = Some(Arc::new(filter));
        self
    }

    /// Whether a response with `content_type` is a view under this rule.
    pub(crate) fn accepts(&self, content_type: Option<&str>) -> bool {
        match &self.content {
            Content::Any => true,
            Content::Types(types) => content_type.is_some_and(|value| {
                let essence = value.split(';').next().unwrap_or_default().trim();
                types.iter().any(|t| essence.eq_ignore_ascii_case(t))
            }),
        }
    }
}

/// The request line of a request, as much of it as page views need.
#[derive(Debug, Clone, Copy)]
pub struct RequestLine<'a> {
    method: &'a str,
    path: &'a str,
    query: Option<&'a str>,
}

impl<'a> RequestLine<'a> {
    /// A request for `path` (such as `/pricing`) with `query` (without its
    /// `?`), by HTTP `method` (such as `GET`).
    pub fn new(method: &'a str, path: &'a str, query: Option<&'a str>) -> Self {
        Self {
            method,
            path,
            query,
        }
    }
}

/// What a page view needs of its request until the response exists.
pub(crate) struct PageCandidate {
    pub(crate) path: String,
    pub(crate) query: Option<String>,
}

impl PageCandidate {
    /// The page view `line` may be, when `rule` is set and its paths accept it.
    pub(crate) fn of(rule: Option<&PageViews>, line: Option<RequestLine<'_>>) -> Option<Self> {
        match (rule, line) {
            (Some(rule), Some(line))
                if line.method == "GET" && rule.paths.as_ref().is_none_or(|f| f(line.path)) =>
            {
                Some(Self {
                    path: line.path.to_owned(),
                    query: line.query.map(str::to_owned),
                })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PageViews;

    #[test]
    fn content_types_are_matched_on_their_essence() {
        let html = PageViews::html();
        assert!(html.accepts(Some("text/html")));
        assert!(html.accepts(Some("text/html; charset=utf-8")));
        assert!(html.accepts(Some(" Text/HTML ;charset=utf-8")));
        assert!(!html.accepts(Some("application/json")));
        assert!(!html.accepts(Some("text/htmlx")));
        assert!(!html.accepts(Some("")));
        assert!(!html.accepts(None));
        let json = PageViews::content_types(["Application/JSON"]);
        assert!(json.accepts(Some("application/json; charset=utf-8")));
        assert!(!json.accepts(Some("text/html")));
        let any = PageViews::every_get();
        assert!(any.accepts(None) && any.accepts(Some("image/png")));
    }
}
