//! One request described once ([`Call`]) and a vendor's 2xx answer ([`Response`]).

use std::fmt;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::error::{Error, Result, VendorReply};
use crate::ratelimit::Limiter;

/// One request, described once and sent as often as the retry policy allows.
pub struct Call<'a> {
    pub(crate) operation: &'static str,
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) headers: HeaderMap,
    /// The body and its `Content-Type` (a static value: no header map built for it per call).
    pub(crate) body: Option<(Bytes, &'static str)>,
    pub(crate) limiter: Option<&'a dyn Limiter>,
    pub(crate) idempotent: bool,
    pub(crate) expected: Option<StatusCode>,
}

impl<'a> Call<'a> {
    /// A request named `operation` (used in errors and traces; never personal data).
    /// GET, PUT and DELETE are idempotent; POST and PATCH are not.
    pub fn new(operation: &'static str, method: Method, url: Url) -> Self {
        let idempotent = matches!(
            method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
        );
        Self {
            operation,
            method,
            url,
            headers: HeaderMap::new(),
            body: None,
            limiter: None,
            idempotent,
            expected: None,
        }
    }

    /// Add a header.
    #[must_use]
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Send `value` as JSON with `content_type` (e.g. `application/json`).
    pub fn json<T: Serialize + ?Sized>(
        mut self,
        value: &T,
        content_type: &'static str,
    ) -> Result<Self> {
        let body = serde_json::to_vec(value)
            .map_err(|e| Error::invalid_input(format!("cannot encode the request body: {e}")))?;
        self.body = Some((Bytes::from(body), content_type));
        Ok(self)
    }

    /// Send `body` as it is, with `content_type`: for a body a client encodes once and sends with
    /// every request (cloning [`Bytes`] copies no data).
    #[must_use]
    pub fn body(mut self, body: Bytes, content_type: &'static str) -> Self {
        self.body = Some((body, content_type));
        self
    }

    /// Send `pairs` form-encoded (`application/x-www-form-urlencoded`).
    #[must_use]
    pub fn form<'p, I>(mut self, pairs: I) -> Self
    where
        I: IntoIterator<Item = (&'p str, &'p str)>,
    {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.body = Some((Bytes::from(body), "application/x-www-form-urlencoded"));
        self
    }

    /// Count every attempt of this request against `limiter` (an in-process
    /// [`RateLimiter`](crate::vendor::RateLimiter) or a shared one). Without it, the client's own
    /// limiter applies, if it has one ([`HttpClient::with_limiter`](crate::vendor::HttpClient::with_limiter)).
    #[must_use]
    pub fn rate_limited(mut self, limiter: &'a dyn Limiter) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// The vendor's documented success answer: any other 2xx (a proxy's `200 text/html` sign-in
    /// page, say) is an [`Error::UnexpectedResponse`] naming what came instead, never success.
    /// Without it, any 2xx is returned for the vendor client to check (e.g. by parsing its body).
    #[must_use]
    pub fn expect_status(mut self, status: StatusCode) -> Self {
        self.expected = Some(status);
        self
    }

    /// Override whether the request may be sent again after it may have reached the vendor.
    #[must_use]
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }
}

/// A vendor's 2xx answer, its body read in full (within the cap).
#[derive(Clone)]
pub struct Response {
    pub(crate) vendor: &'static str,
    pub(crate) operation: &'static str,
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("vendor", &self.vendor)
            .field("operation", &self.operation)
            .field("status", &self.status.as_u16())
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

impl Response {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Parse the body as JSON; a failure names the field that failed
    /// (e.g. `users[3].id: invalid type: string, expected u64`).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        let de = &mut serde_json::Deserializer::from_slice(&self.body);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            // serde quotes the offending string value ("invalid type: string \"a@b.c\"…"),
            // which may be personal data: keep the message without it, and drop the source.
            let message = redact_quoted(&e.into_inner().to_string());
            Error::UnexpectedResponse {
                reply: VendorReply::new(self.vendor, self.operation, self.status, None, None),
                detail: format!("cannot read the answer at `{path}`: {message}"),
                source: None,
            }
        })
    }

    /// An [`Error::UnexpectedResponse`] about this answer, for a vendor client's own checks.
    pub fn unexpected(&self, detail: impl Into<String>) -> Error {
        Error::UnexpectedResponse {
            reply: VendorReply::new(self.vendor, self.operation, self.status, None, None),
            detail: detail.into(),
            source: None,
        }
    }
}

/// Replace every `"…"`-quoted run in `text` by `"…"`.
fn redact_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quoted = false;
    for c in text.chars() {
        if c == '"' {
            if quoted {
                out.push_str("…\"");
            } else {
                out.push('"');
            }
            quoted = !quoted;
        } else if !quoted {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_name_the_field_but_not_the_value() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct User {
            id: u64,
        }
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Page {
            users: Vec<User>,
        }
        let response = Response {
            vendor: "v",
            operation: "op",
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: Bytes::from_static(br#"{"users":[{"id":1},{"id":"jane@example.com"}]}"#),
        };
        let err = response.json::<Page>().unwrap_err();
        let shown = err.to_string();
        assert!(shown.contains("users[1].id"), "{shown}");
        assert!(!shown.contains("jane"), "{shown}");
        assert!(!format!("{err:?}").contains("jane"));
        assert_eq!(redact_quoted(r#"a "b" c "d""#), r#"a "…" c "…""#);
    }
}
