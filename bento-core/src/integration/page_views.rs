//! Page views: which requests are one (a successful `GET` of an HTML page,
//! on the paths a filter accepts), and what each needs of its request until
//! the response says whether it is.

use std::sync::Arc;

/// Which paths' page views are tracked.
pub(crate) type PageFilter = Arc<dyn Fn(&str) -> bool + Send + Sync>;

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
    /// The page view `line` may be, when `filter` is set and accepts it.
    pub(crate) fn of(filter: Option<&PageFilter>, line: Option<RequestLine<'_>>) -> Option<Self> {
        match (filter, line) {
            (Some(filter), Some(line)) if line.method == "GET" && filter(line.path) => Some(Self {
                path: line.path.to_owned(),
                query: line.query.map(str::to_owned),
            }),
            _ => None,
        }
    }
}

/// Whether a `Content-Type` is an HTML page's (`text/html; charset=utf-8`).
pub(crate) fn is_html(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("text/html")
}

#[cfg(test)]
mod tests {
    use super::is_html;

    #[test]
    fn html_is_recognised_by_its_essence() {
        assert!(is_html("text/html"));
        assert!(is_html("text/html; charset=utf-8"));
        assert!(is_html(" Text/HTML ;charset=utf-8"));
        assert!(!is_html("application/json"));
        assert!(!is_html("text/htmlx"));
        assert!(!is_html(""));
    }
}
