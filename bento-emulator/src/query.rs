//! Request helpers the routes share.

/// The decoded value of `key` in a query string.
pub(crate) fn query_param(query: &str, key: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params_are_decoded() {
        assert_eq!(
            query_param("site_uuid=abc&email=a%40b.co", "email").as_deref(),
            Some("a@b.co")
        );
        assert_eq!(
            query_param("name=Ada+Lovelace", "name").as_deref(),
            Some("Ada Lovelace")
        );
        assert_eq!(query_param("a=1", "b"), None);
    }
}
