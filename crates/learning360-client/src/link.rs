//! Reading the `Link: <…>; rel="next"` header of a paginated answer (RFC 8288).

use reqwest::header::{HeaderMap, LINK};
use url::Url;

/// Why a `Link` header could not be followed. Never contains the URL (it may hold a filter value
/// such as an e-mail address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LinkError {
    /// The header is not valid text or a link target is not a valid URL.
    Malformed,
    /// The next page is on another scheme, host or port than the page that named it.
    OtherOrigin,
}

/// The `rel="next"` target of every `Link` header in `headers`, resolved against `request`,
/// and refused when it points to another origin (scheme, host, port) than `request`: following
/// it would send the bearer token elsewhere.
pub(crate) fn next_link(headers: &HeaderMap, request: &Url) -> Result<Option<Url>, LinkError> {
    for value in headers.get_all(LINK) {
        let text = value.to_str().map_err(|_| LinkError::Malformed)?;
        for (target, rels) in parse_links(text)? {
            if rels.iter().any(|r| r.eq_ignore_ascii_case("next")) {
                let url = request.join(target).map_err(|_| LinkError::Malformed)?;
                if url.origin() != request.origin() {
                    return Err(LinkError::OtherOrigin);
                }
                return Ok(Some(url));
            }
        }
    }
    Ok(None)
}

/// Split one header value into `(target, rel values)` pairs. Tolerates white space, several
/// links per value, commas and semicolons inside `<…>` and inside quoted parameters, quoted or
/// bare `rel`, several space-separated relations, and other parameters.
fn parse_links(text: &str) -> Result<Vec<(&str, Vec<String>)>, LinkError> {
    let mut out = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        if let Some(after_comma) = rest.strip_prefix(',') {
            rest = after_comma.trim_start();
            continue;
        }
        let inner = rest.strip_prefix('<').ok_or(LinkError::Malformed)?;
        let end = inner.find('>').ok_or(LinkError::Malformed)?;
        let target = inner[..end].trim();
        rest = &inner[end + 1..];
        let mut rels = Vec::new();
        // Parameters: `; name=value` or `; name="quoted, value"`, up to the next top-level comma.
        loop {
            rest = rest.trim_start();
            let Some(param) = rest.strip_prefix(';') else {
                break;
            };
            let param = param.trim_start();
            let name_end = param
                .find(|c: char| c == '=' || c == ';' || c == ',' || c.is_whitespace())
                .unwrap_or(param.len());
            let name = &param[..name_end];
            let mut after = param[name_end..].trim_start();
            let mut value = String::new();
            if let Some(v) = after.strip_prefix('=') {
                let v = v.trim_start();
                if let Some(q) = v.strip_prefix('"') {
                    let mut chars = q.char_indices();
                    let mut closed = None;
                    while let Some((i, c)) = chars.next() {
                        match c {
                            '\\' => {
                                if let Some((_, escaped)) = chars.next() {
                                    value.push(escaped);
                                }
                            }
                            '"' => {
                                closed = Some(i);
                                break;
                            }
                            c => value.push(c),
                        }
                    }
                    let close = closed.ok_or(LinkError::Malformed)?;
                    after = &q[close + 1..];
                } else {
                    let end = v.find([';', ',']).unwrap_or(v.len());
                    value.push_str(v[..end].trim());
                    after = &v[end..];
                }
            }
            if name.eq_ignore_ascii_case("rel") {
                rels.extend(value.split_whitespace().map(str::to_owned));
            }
            rest = after;
        }
        rest = rest.trim_start();
        if !rest.is_empty() && !rest.starts_with(',') {
            return Err(LinkError::Malformed);
        }
        out.push((target, rels));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use reqwest::header::HeaderValue;

    fn next(values: &[&str]) -> Result<Option<String>, LinkError> {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(LINK, HeaderValue::from_str(v).unwrap());
        }
        let req =
            Url::parse("https://app.360learning.com/api/v2/users?status%5Beq%5D=active").unwrap();
        next_link(&h, &req).map(|u| u.map(|u| u.to_string()))
    }

    #[test]
    fn absolute_quoted_and_bare() {
        assert_eq!(
            next(&[r#"<https://app.360learning.com/api/v2/users?page=2>; rel="next""#]).unwrap(),
            Some("https://app.360learning.com/api/v2/users?page=2".into())
        );
        assert_eq!(
            next(&["<https://app.360learning.com/api/v2/users?page=2>;rel=next"]).unwrap(),
            Some("https://app.360learning.com/api/v2/users?page=2".into())
        );
        assert_eq!(
            next(&[r#"<https://app.360learning.com/x>; REL="NEXT""#]).unwrap(),
            Some("https://app.360learning.com/x".into())
        );
    }

    #[test]
    fn relative_links_resolve_against_the_request() {
        assert_eq!(
            next(&[r#"</api/v2/users?page=2>; rel="next""#]).unwrap(),
            Some("https://app.360learning.com/api/v2/users?page=2".into())
        );
        assert_eq!(
            next(&[r#"<users?page=3>; rel="next""#]).unwrap(),
            Some("https://app.360learning.com/api/v2/users?page=3".into())
        );
    }

    #[test]
    fn several_links_several_headers_and_parameters() {
        let v = r#"<https://app.360learning.com/a?x=1,2>; rel="prev"; title="a, b; c", <https://app.360learning.com/b>; type="application/json"; rel="last next""#;
        assert_eq!(
            next(&[v]).unwrap(),
            Some("https://app.360learning.com/b".into())
        );
        assert_eq!(
            next(&[
                r#"<https://app.360learning.com/first>; rel="first""#,
                r#"<https://app.360learning.com/n>; rel="next""#
            ])
            .unwrap(),
            Some("https://app.360learning.com/n".into())
        );
        assert_eq!(
            next(&[r#"<https://app.360learning.com/p>; rel="prev""#]).unwrap(),
            None
        );
        assert_eq!(next(&[]).unwrap(), None);
        assert_eq!(next(&[""]).unwrap(), None);
        assert_eq!(
            next(&[r#"<https://app.360learning.com/q>; rel="next\"x""#]).unwrap(),
            None
        );
    }

    #[test]
    fn other_origins_are_refused() {
        for v in [
            r#"<https://evil.example.com/api/v2/users?page=2>; rel="next""#,
            r#"<http://app.360learning.com/api/v2/users?page=2>; rel="next""#,
            r#"<https://app.360learning.com:8443/api/v2/users>; rel="next""#,
            r#"<//evil.example.com/api/v2/users>; rel="next""#,
        ] {
            assert_eq!(next(&[v]), Err(LinkError::OtherOrigin), "{v}");
        }
    }

    #[test]
    fn malformed_headers_are_errors() {
        for v in [
            r#"https://app.360learning.com/x; rel="next""#,
            r#"<https://app.360learning.com/x; rel="next""#,
            r#"<https://app.360learning.com/x>; rel="next"#,
            r#"<https://app.360learning.com/x> garbage"#,
        ] {
            assert_eq!(next(&[v]), Err(LinkError::Malformed), "{v}");
        }
    }
}
