//! The web inbox at `/__emulator/ui/`: what an app sent, the way Mailpit
//! shows a dev server's mail. Server-rendered HTML with a little embedded
//! CSS and JS (no build step, no CDN), refreshed live by polling.
//!
//! Everything shown is untrusted: every value is escaped, and email HTML is
//! rendered only inside an `<iframe sandbox>` (no scripts, no access to this
//! origin), under a Content-Security-Policy that allows no inline script.

mod chat;
mod deletions;
mod pages;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};
use http_body_util::Full;

use crate::shared::Shared;

const CSS: &str = include_str!("app.css");
const JS: &str = include_str!("app.js");

/// Scripts only from this origin (so no inline script or handler runs, even
/// if escaping failed somewhere), frames only from `srcdoc`, images from
/// anywhere an email points (they render inside the sandboxed frame).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src * data:; \
                   frame-src 'self' about:; connect-src 'self'; form-action 'self'; \
                   base-uri 'none'; frame-ancestors 'none'";

pub(crate) fn handle(
    shared: &Shared,
    method: &Method,
    headers: &HeaderMap,
    path: &str,
    query: Option<&str>,
    body: &[u8],
) -> Response<Full<Bytes>> {
    let path = path.trim_end_matches('/');
    let query = query.unwrap_or("");
    if method == Method::POST {
        if !same_origin(headers) {
            return text(StatusCode::FORBIDDEN, "cross-origin form posts are refused");
        }
        return pages::act(shared, path, body);
    }
    if method != Method::GET {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            "the web UI takes GET and POST",
        );
    }
    match path {
        "/app.css" => asset("text/css; charset=utf-8", CSS),
        "/app.js" => asset("text/javascript; charset=utf-8", JS),
        "/version" => text(StatusCode::OK, &shared.state().version.to_string()),
        "" => redirect("/__emulator/ui/emails"),
        _ => match pages::render(shared, path, query) {
            Some(page) => html(StatusCode::OK, page),
            None => html(
                StatusCode::NOT_FOUND,
                pages::layout("Not found", "", 0, "<h1>Not found</h1>"),
            ),
        },
    }
}

/// A form post must come from the UI itself: a page elsewhere must not be
/// able to reset the emulator or inject faults through the browser.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    origin
        .split_once("://")
        .is_some_and(|(_, authority)| authority == host)
}

fn response(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn html(status: StatusCode, page: String) -> Response<Full<Bytes>> {
    let mut response = response(status, "text/html; charset=utf-8", Bytes::from(page));
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    response
}

fn asset(content_type: &'static str, content: &'static str) -> Response<Full<Bytes>> {
    response(
        StatusCode::OK,
        content_type,
        Bytes::from_static(content.as_bytes()),
    )
}

fn text(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    response(
        status,
        "text/plain; charset=utf-8",
        Bytes::from(message.to_owned()),
    )
}

pub(crate) fn redirect(to: &str) -> Response<Full<Bytes>> {
    let mut response = response(
        StatusCode::SEE_OTHER,
        "text/plain; charset=utf-8",
        Bytes::new(),
    );
    if let Ok(location) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// Text made safe for HTML content and attribute values.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A query or form value, percent-encoded for a URL.
pub(crate) fn url_encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_content_and_attributes() {
        assert_eq!(
            esc(r#"<img src=x onerror="alert('x')">&"#),
            "&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;&amp;"
        );
    }

    #[test]
    fn only_same_origin_posts_pass() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:4010"));
        assert!(same_origin(&headers), "no Origin: a non-browser client");
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:4010"),
        );
        assert!(same_origin(&headers));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(!same_origin(&headers));
    }
}
