//! Reading a vendor's error answer: the standard shapes here, each vendor's own shapes in its
//! crate, through one hook ([`ErrorBodyReader`], given to
//! [`HttpClient::with_error_reader`](crate::vendor::HttpClient::with_error_reader)).

use serde_json::Value;

use crate::error::{EXCERPT_CHARS, excerpt};

/// What an error answer's body says: the vendor's machine-readable code and its message.
/// Both are optional; [`VendorReply`](crate::vendor::VendorReply) shortens them to excerpts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ErrorBody {
    /// The machine-readable code (e.g. `invalid_client`).
    pub code: Option<String>,
    /// The human-readable message.
    pub message: Option<String>,
}

/// How a vendor crate reads its own error bodies. A reader that does not recognise a body
/// should fall back to [`ErrorBody::standard`].
pub type ErrorBodyReader = fn(&[u8]) -> ErrorBody;

impl ErrorBody {
    /// A body with this code and message.
    pub fn new(code: Option<String>, message: Option<String>) -> Self {
        Self { code, message }
    }

    /// The standard shapes, which any vendor may send:
    ///
    /// - the OAuth 2 error response (RFC 6749 §5.2): `{"error":"invalid_client","error_description":"…"}`;
    /// - problem details (RFC 7807): `{"type":…,"title":"Bad Request","detail":"…"}`, the `detail`
    ///   preferred as the message;
    /// - plain text, as an excerpt (an HTML page is not quoted: it is a proxy's, not the vendor's).
    ///
    /// Any other JSON gives an empty [`ErrorBody`]: a vendor's own shape is its crate's to read.
    pub fn standard(body: &[u8]) -> Self {
        if let Ok(json) = serde_json::from_slice::<Value>(body) {
            let Value::Object(map) = json else {
                return Self::default();
            };
            if let Some(Value::String(code)) = map.get("error") {
                return Self::new(Some(code.clone()), text(map.get("error_description")));
            }
            return Self::new(
                None,
                text(map.get("detail")).or_else(|| text(map.get("title"))),
            );
        }
        Self::new(None, plain_text(body))
    }
}

/// A JSON string or number as text.
pub(crate) fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The body as a short text excerpt, or `None` when it is empty or an HTML page.
pub(crate) fn plain_text(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(&body[..body.len().min(4 * 1024)]);
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.starts_with('<') {
        return None;
    }
    Some(excerpt(
        &crate::error::redact_addresses(trimmed),
        EXCERPT_CHARS,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(s: &str) -> (Option<String>, Option<String>) {
        let b = ErrorBody::standard(s.as_bytes());
        (b.code, b.message)
    }

    #[test]
    fn oauth_errors() {
        assert_eq!(
            read(r#"{"error":"invalid_token"}"#),
            (Some("invalid_token".into()), None)
        );
        assert_eq!(
            read(r#"{"error":"invalid_client","error_description":"bad client"}"#),
            (Some("invalid_client".into()), Some("bad client".into()))
        );
    }

    #[test]
    fn problem_details() {
        assert_eq!(
            read(
                r#"{"type":"about:blank","title":"Bad Request","status":400,"detail":"Failed to anonymize user data."}"#
            ),
            (None, Some("Failed to anonymize user data.".into()))
        );
        assert_eq!(
            read(r#"{"title":"Forbidden","status":403}"#),
            (None, Some("Forbidden".into()))
        );
    }

    #[test]
    fn plain_text_and_pages() {
        assert_eq!(
            read("User not found"),
            (None, Some("User not found".into()))
        );
        assert_eq!(read("<html><body>502</body></html>"), (None, None));
        assert_eq!(read(""), (None, None));
        let long = "x".repeat(10_000);
        let (_, m) = read(&long);
        assert!(m.unwrap().chars().count() <= EXCERPT_CHARS + 1);
    }

    #[test]
    fn vendor_shapes_are_not_guessed() {
        // A vendor's own nested or capitalised shapes are its crate's to read.
        assert_eq!(
            read(r#"{"error":{"code":"userNotFound","message":"No user"}}"#),
            (None, None)
        );
        assert_eq!(read(r#"{"Message":"Denied"}"#), (None, None));
    }
}
