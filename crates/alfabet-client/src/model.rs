//! Alfabet's wire format: the `anonymizeuser` request and answer (read tolerantly), and its
//! error bodies.

use anonymize_core::Error;
use anonymize_core::vendor::{ErrorBody, VendorReply};
use serde_json::{Map, Value};

use crate::id::RefStr;

/// The `Content-Type` Alfabet documents for `anonymizeuser`.
pub const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// The request body: `{"Refs":["421-5-0",…]}`, written directly: a REFSTR is digits and dashes,
/// which JSON needs no escape for, so each ref costs two numbers written, not a formatter's
/// round trip through `Display` (the per-ref cost of a batch of 10,000 refs).
pub(crate) fn anonymize_request(refs: &[RefStr]) -> Vec<u8> {
    // `"` + up to 20 digits + `-` + up to 20 digits + `-0",`
    let mut body = Vec::with_capacity(12 + refs.len() * 48);
    body.extend_from_slice(br#"{"Refs":["#);
    for (i, r) in refs.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.push(b'"');
        push_decimal(&mut body, r.class());
        body.push(b'-');
        push_decimal(&mut body, r.object());
        body.extend_from_slice(br#"-0""#);
    }
    body.extend_from_slice(b"]}");
    body
}

fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// Alfabet's answer to one `PUT api/v2/anonymizeuser`, as it was sent.
///
/// Read tolerantly: the documentation promises "three fields" but names two, and its own example
/// prints `RejectedObjects` as a single object where the reference text says a list. So `Count`
/// may be a number or a numeric string or be missing; `RejectedObjects` may be a list, a single
/// object, `null` or missing; field names match in any case; every other field is kept in
/// [`extra`](Self::extra).
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct AnonymizeAnswer {
    /// `Count`: how many users the vendor says it anonymized (`None` when missing or unreadable).
    pub count: Option<u64>,
    /// `RejectedObjects`: the refs the vendor did not anonymize, with its message.
    pub rejected_objects: Vec<RejectedObject>,
    /// Every other field of the answer, as sent.
    pub extra: Map<String, Value>,
    /// Parts of the answer that were present but could not be read (e.g. a `Count` of `"many"`).
    pub unreadable: Vec<String>,
}

/// One entry of `RejectedObjects`.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct RejectedObject {
    /// `RefStr`, as the vendor wrote it (`None` when missing).
    pub ref_str: Option<String>,
    /// `Message`, e.g. `Cannot find instance` (`None` when missing).
    pub message: Option<String>,
    /// Every other field of the entry, as sent.
    pub extra: Map<String, Value>,
}

impl RejectedObject {
    /// The ref this entry names, when it names a well-formed one (white space and leading zeros
    /// tolerated).
    pub fn parsed_ref(&self) -> Option<RefStr> {
        self.ref_str.as_deref().and_then(RefStr::parse_lenient)
    }

    /// Whether the vendor's message says the object does not exist (`Cannot find instance`,
    /// matched ignoring case, white space and punctuation).
    pub fn is_not_found(&self) -> bool {
        self.message.as_deref().is_some_and(is_not_found_message)
    }
}

/// Whether a rejection message means "no such object". Alfabet documents `Cannot find instance`;
/// close variants of the same words are accepted too, nothing broader (a message that merely says
/// "not found" about something else must stay a rejection).
pub(crate) fn is_not_found_message(message: &str) -> bool {
    let words: Vec<String> = message
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let text = words.join(" ");
    [
        "cannot find instance",
        "can not find instance",
        "could not find instance",
        "couldn't find instance",
        "can't find instance",
        "instance not found",
        "instance cannot be found",
        "instance could not be found",
    ]
    .iter()
    .any(|phrase| text.contains(phrase))
}

/// Why an answer body cannot be used at all (then no ref of its batch gets a verdict).
#[derive(Debug)]
pub(crate) struct Unusable(pub(crate) String);

impl AnonymizeAnswer {
    /// Read an answer body. Fails only when the body is not a JSON object or `RejectedObjects` is
    /// present but neither a list, an object nor `null`: then which refs were rejected is unknown.
    pub(crate) fn from_body(body: &[u8]) -> Result<Self, Unusable> {
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            Unusable(format!(
                "the answer is not JSON (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        let Value::Object(map) = value else {
            return Err(Unusable(format!(
                "the answer is a JSON {}, not an object",
                kind(&value)
            )));
        };
        let mut answer = AnonymizeAnswer::default();
        for (key, value) in map {
            if key.eq_ignore_ascii_case("Count") {
                match read_count(&value) {
                    Some(n) => answer.count = Some(n),
                    None if value.is_null() => {}
                    None => answer.unreadable.push(format!(
                        "`Count` is a JSON {} that is not a non-negative whole number",
                        kind(&value)
                    )),
                }
            } else if key.eq_ignore_ascii_case("RejectedObjects") {
                answer.rejected_objects = read_rejected(value)?;
            } else {
                answer.extra.insert(key, value);
            }
        }
        Ok(answer)
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn read_count(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= u64::MAX as f64)
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn read_rejected(value: Value) -> Result<Vec<RejectedObject>, Unusable> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| read_rejected_object(item, &format!("RejectedObjects[{i}]")))
            .collect(),
        object @ Value::Object(_) => Ok(vec![read_rejected_object(object, "RejectedObjects")?]),
        other => Err(Unusable(format!(
            "`RejectedObjects` is a JSON {}, not a list or an object",
            kind(&other)
        ))),
    }
}

fn read_rejected_object(value: Value, path: &str) -> Result<RejectedObject, Unusable> {
    let Value::Object(map) = value else {
        return Err(Unusable(format!(
            "`{path}` is a JSON {}, not an object",
            kind(&value)
        )));
    };
    let mut rejected = RejectedObject::default();
    for (key, value) in map {
        if key.eq_ignore_ascii_case("RefStr") || key.eq_ignore_ascii_case("Ref") {
            rejected.ref_str = text(&value);
            if rejected.ref_str.is_none() && !value.is_null() {
                rejected.extra.insert(key, value);
            }
        } else if key.eq_ignore_ascii_case("Message") {
            rejected.message = text(&value);
            if rejected.message.is_none() && !value.is_null() {
                rejected.extra.insert(key, value);
            }
        } else {
            rejected.extra.insert(key, value);
        }
    }
    Ok(rejected)
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Read an Alfabet error body. Alfabet documents none; its server is ASP.NET Web API, which
/// answers `{"Message":"Authorization has been denied for this request."}`, so a `Message` (in
/// any case) is the message. Anything else is read as a standard shape (the token endpoint's
/// OAuth `{"error":"invalid_grant",…}`, problem details, plain text).
pub(crate) fn read_error_body(body: &[u8]) -> ErrorBody {
    let standard = ErrorBody::standard(body);
    if standard.code.is_some() || standard.message.is_some() {
        return standard;
    }
    let message = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => map
            .into_iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("Message"))
            .and_then(|(_, v)| text(&v)),
        _ => None,
    };
    match message {
        Some(message) => ErrorBody::new(None, Some(message)),
        None => standard,
    }
}

/// A 404 from one of Alfabet's fixed endpoints (`api/token`, `api/v2/anonymizeuser`): the base
/// URL is not an Alfabet API server, or its REST API is off. Every further request would fail
/// the same way, so it becomes [`Error::Configuration`], which stops a run.
///
/// It lives with the wire format, not in `client.rs`, so that `auth.rs` (the token endpoint) and
/// `client.rs` (`anonymizeuser`) both read it without importing each other.
pub(crate) struct WrongBaseUrl {
    endpoint: &'static str,
    reply: VendorReply,
}

impl WrongBaseUrl {
    /// `error`, with a 404 from `endpoint` read as a wrong base URL.
    pub(crate) fn check(error: Error, endpoint: &'static str) -> Error {
        match error {
            Error::NotFound(reply) => WrongBaseUrl { endpoint, reply }.into(),
            other => other,
        }
    }
}

impl From<WrongBaseUrl> for Error {
    fn from(e: WrongBaseUrl) -> Self {
        Error::configuration(format!(
            "no {} endpoint at the base URL ({}); the base URL should be the API server, e.g. \
             https://host/AlfabetAPIServer",
            e.endpoint, e.reply
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> AnonymizeAnswer {
        AnonymizeAnswer::from_body(v.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn request_body_is_the_documented_shape() {
        let refs = [RefStr::new(421, 5), RefStr::new(421, 9)];
        let body = String::from_utf8(anonymize_request(&refs)).unwrap();
        assert_eq!(body, r#"{"Refs":["421-5-0","421-9-0"]}"#);
        assert_eq!(anonymize_request(&[]), br#"{"Refs":[]}"#);
        // The same as serde would write, for every size of number.
        let refs: Vec<RefStr> = [0, 1, 9, 10, 421, 99_999, u64::MAX]
            .into_iter()
            .flat_map(|c| {
                [
                    RefStr::new(c, 0),
                    RefStr::new(c, u64::MAX),
                    RefStr::new(7, c),
                ]
            })
            .collect();
        let by_serde = json!({ "Refs": refs.iter().map(ToString::to_string).collect::<Vec<_>>() });
        let ours: Value = serde_json::from_slice(&anonymize_request(&refs)).unwrap();
        assert_eq!(ours, by_serde);
    }

    #[test]
    fn the_vendors_example_with_a_single_object() {
        let a = parse(json!({
            "Count": 3,
            "RejectedObjects": {"RefStr": "421-999-0", "Message": "Cannot find instance"}
        }));
        assert_eq!(a.count, Some(3));
        assert_eq!(a.rejected_objects.len(), 1);
        let r = &a.rejected_objects[0];
        assert_eq!(r.ref_str.as_deref(), Some("421-999-0"));
        assert_eq!(r.parsed_ref(), Some(RefStr::new(421, 999)));
        assert!(r.is_not_found());
        assert!(a.extra.is_empty() && a.unreadable.is_empty());
    }

    #[test]
    fn a_list_null_or_missing() {
        let a = parse(json!({"Count": 1, "RejectedObjects": [
            {"RefStr": "421-1-0", "Message": "User is excluded from anonymization"},
            {"RefStr": "421-2-0", "Message": "Cannot find instance", "Code": 7}
        ]}));
        assert_eq!(a.rejected_objects.len(), 2);
        assert!(!a.rejected_objects[0].is_not_found());
        assert_eq!(a.rejected_objects[1].extra.get("Code"), Some(&json!(7)));
        for v in [
            json!({"Count": 2, "RejectedObjects": null}),
            json!({"Count": 2}),
            json!({"Count": 2, "RejectedObjects": []}),
        ] {
            let a = parse(v);
            assert_eq!(a.count, Some(2));
            assert!(a.rejected_objects.is_empty());
        }
    }

    #[test]
    fn unknown_fields_are_kept_and_names_match_in_any_case() {
        let a = parse(json!({
            "count": "4",
            "rejectedObjects": {"refStr": "421-9-0", "message": "x", "Extra": true},
            "Duration": 12,
            "Warnings": ["w"]
        }));
        assert_eq!(a.count, Some(4));
        assert_eq!(a.rejected_objects[0].ref_str.as_deref(), Some("421-9-0"));
        assert_eq!(a.rejected_objects[0].message.as_deref(), Some("x"));
        assert_eq!(a.rejected_objects[0].extra.get("Extra"), Some(&json!(true)));
        assert_eq!(a.extra.get("Duration"), Some(&json!(12)));
        assert_eq!(a.extra.get("Warnings"), Some(&json!(["w"])));
    }

    #[test]
    fn counts_in_every_tolerable_shape() {
        for (v, expected) in [
            (json!(3), Some(3)),
            (json!(3.0), Some(3)),
            (json!(" 3 "), Some(3)),
            (json!(null), None),
        ] {
            let a = parse(json!({ "Count": v }));
            assert_eq!(a.count, expected, "{v}");
            assert!(a.unreadable.is_empty());
        }
        for v in [
            json!(-1),
            json!(2.5),
            json!("many"),
            json!(true),
            json!([1]),
        ] {
            let a = parse(json!({ "Count": v }));
            assert_eq!(a.count, None);
            assert_eq!(a.unreadable.len(), 1, "{v}");
        }
        assert_eq!(parse(json!({})).count, None);
    }

    #[test]
    fn unusable_answers() {
        for body in [
            "",
            "not json",
            "[1,2]",
            "3",
            r#"{"RejectedObjects": "421-1-0"}"#,
            r#"{"RejectedObjects": [1]}"#,
            r#"{"RejectedObjects": 5}"#,
        ] {
            assert!(
                AnonymizeAnswer::from_body(body.as_bytes()).is_err(),
                "{body}"
            );
        }
    }

    #[test]
    fn entries_without_ref_or_message_are_kept() {
        let a = parse(json!({"RejectedObjects": [{"Message": "Cannot find instance"}, {}]}));
        assert_eq!(a.rejected_objects.len(), 2);
        assert_eq!(a.rejected_objects[0].parsed_ref(), None);
        assert!(!a.rejected_objects[1].is_not_found());
    }

    #[test]
    fn error_bodies() {
        let read = |body: &str| {
            let b = read_error_body(body.as_bytes());
            (b.code, b.message)
        };
        assert_eq!(
            read(r#"{"Message":"Authorization has been denied for this request."}"#),
            (
                None,
                Some("Authorization has been denied for this request.".into())
            )
        );
        assert_eq!(read(r#"{"message":"boom"}"#), (None, Some("boom".into())));
        assert_eq!(
            read(
                r#"{"error":"invalid_grant","error_description":"The user name or password is incorrect."}"#
            ),
            (
                Some("invalid_grant".into()),
                Some("The user name or password is incorrect.".into())
            )
        );
        assert_eq!(read("Not Found"), (None, Some("Not Found".into())));
        assert_eq!(read(r#"{"Message":null}"#), (None, None));
        assert_eq!(read("<html>502</html>"), (None, None));
    }

    #[test]
    fn not_found_messages() {
        for m in [
            "Cannot find instance",
            "cannot find instance",
            "CANNOT FIND INSTANCE.",
            "Cannot  find\ninstance",
            "Error: Cannot find instance 421-999-0",
            "Could not find instance",
            "Instance not found",
        ] {
            assert!(is_not_found_message(m), "{m}");
        }
        for m in [
            "User is excluded from anonymization",
            "Permission not found",
            "Cannot anonymize instance",
            "",
        ] {
            assert!(!is_not_found_message(m), "{m}");
        }
    }
}
