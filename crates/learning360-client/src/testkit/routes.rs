//! The simulator's routes: the published rate limits, the token grant, API v2 and API v1.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anonymize_core::testkit::{TokenCheck, header, reply};
use anonymize_core::vendor::append_segments;
use httpmock::{HttpMockRequest, HttpMockResponse};
use serde_json::{Value, json};

use super::{ErrorShape, SCOPE_READ, SCOPE_WRITE, State, lock};
use crate::id::UserId;
use crate::model::{User, UserStatus};

/// `2025-12-23T10:42:50.300Z`, now.
pub(super) fn now_iso() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_millis()
    )
}

/// 32 hex digits that differ from call to call: the random strings pseudonymization writes.
fn random_hex(seed: u64) -> String {
    // splitmix64: unpredictable enough for a simulator, no dependency.
    let mut x = seed
        .wrapping_add(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos() as u64,
        )
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut out = String::new();
    for _ in 0..2 {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        out.push_str(&format!("{z:016x}"));
    }
    out
}

/// The vendor's flat error shape, `{"error":"code"}`.
fn flat(status: u16, code: &str) -> HttpMockResponse {
    reply::json(status, &json!({ "error": code }))
}

/// The vendor's nested error shape, `{"error":{"code":…,"message":…}}`.
fn nested(status: u16, code: &str, message: &str) -> HttpMockResponse {
    reply::json(
        status,
        &json!({ "error": { "code": code, "message": message } }),
    )
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (
                (bytes[i + 1] as char).to_digit(16),
                (bytes[i + 2] as char).to_digit(16),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every request that gets past core's front door (which logged it and found no fault to inject).
pub(super) fn handle(state: &Mutex<State>, req: &HttpMockRequest) -> HttpMockResponse {
    let uri = req.uri();
    let method = req.method_str().to_ascii_uppercase();
    let segments: Vec<String> = uri
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    let params = req.query_params();
    let mut s = lock(state);

    // The published limits, per company, over sliding one-second windows.
    let is_read = method == "GET" || method == "HEAD";
    if segs.first() == Some(&"api") {
        let now = Instant::now();
        let (limit, window) = if is_read {
            (s.reads_per_second, &mut s.reads)
        } else {
            (s.writes_per_second, &mut s.writes)
        };
        if let Some(limit) = limit {
            while window
                .front()
                .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
            {
                window.pop_front();
            }
            if window.len() >= limit as usize {
                s.rate_limited += 1;
                return flat(429, "tooManyRequests");
            }
            window.push_back(now);
        }
    }

    match (method.as_str(), segs.as_slice()) {
        ("POST", ["api", "v2", "oauth2", "token"]) => token(&mut s, req),
        (_, ["api", "v2", ..]) => v2(&mut s, &method, &segs[2..], &params, req),
        (_, ["api", "v1", ..]) => v1(&mut s, &method, &segs[2..], &params, req),
        _ => nested(404, "notFound", "Unknown route."),
    }
}

fn token(s: &mut State, req: &HttpMockRequest) -> HttpMockResponse {
    s.tokens.count_request();
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(req.body_ref()) else {
        return flat(400, "invalid_request");
    };
    let field = |k: &str| body.get(k).and_then(Value::as_str);
    let (Some(grant), Some(id), Some(secret)) = (
        field("grant_type"),
        field("client_id"),
        field("client_secret"),
    ) else {
        return flat(400, "invalid_request");
    };
    if grant != "client_credentials" {
        return flat(400, "unsupported_grant_type");
    }
    let scopes = match s.clients.get(id) {
        Some(c) if c.secret == secret => c.scopes.clone(),
        _ => return flat(401, "invalid_client"),
    };
    let token = s.tokens.issue(scopes);
    let lifetime = s.tokens.lifetime().as_secs();
    let expires_in = if s.expires_in_as_string {
        json!(lifetime.to_string())
    } else {
        json!(lifetime)
    };
    reply::json(
        200,
        &json!({ "token_type": "Bearer", "access_token": token, "expires_in": expires_in }),
    )
}

fn v2(
    s: &mut State,
    method: &str,
    segs: &[&str],
    params: &[(String, String)],
    req: &HttpMockRequest,
) -> HttpMockResponse {
    let presented = header(req, "authorization");
    let scopes = match presented
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| s.tokens.check(t))
    {
        Some(TokenCheck::Valid(scopes)) => scopes.clone(),
        _ => return flat(401, "invalid_token"),
    };
    if header(req, "360-api-version") != Some("v2.0") {
        return nested(
            400,
            "invalidApiVersion",
            "The 360-api-version header must be v2.0.",
        );
    }
    let needed = if method == "GET" {
        SCOPE_READ
    } else {
        SCOPE_WRITE
    };
    if !scopes.iter().any(|sc| sc == needed) {
        let message = format!("The access token lacks the {needed} scope.");
        return match s.scope_error_shape {
            ErrorShape::Flat => flat(403, "invalid_scope"),
            ErrorShape::Nested => nested(403, "invalid_scope", &message),
        };
    }
    match (method, segs) {
        ("GET", ["users"]) => list(s, params),
        ("GET", ["users", id]) => match find(s, id) {
            Some(i) => reply::json(200, &user_json(&s.users[i].user)),
            None => user_not_found(),
        },
        ("DELETE", ["users", id]) => match find(s, id) {
            Some(i) if s.users[i].owner => nested(
                400,
                "userIsCompanyOwner",
                "The company owner cannot be deleted.",
            ),
            Some(i) => {
                let user = &mut s.users[i].user;
                if !user.is_deleted() {
                    user.status = Some(UserStatus::Deleted);
                    user.deleted = None;
                    user.deleted_at.push(now_iso());
                }
                reply::empty(204)
            }
            None => user_not_found(),
        },
        ("PUT", ["users", id, "pseudonymize"]) => {
            let delete_ext = match params.iter().find(|(k, _)| k == "deleteExternalIds") {
                None => false,
                Some((_, v)) if v == "true" => true,
                Some((_, v)) if v == "false" => false,
                Some(_) => {
                    return nested(
                        400,
                        "invalidQuery",
                        "deleteExternalIds must be true or false.",
                    );
                }
            };
            match find(s, id) {
                Some(i) if !s.users[i].user.is_deleted() => nested(
                    400,
                    "userNotDeleted",
                    "The given userId does not correspond to a deleted user.",
                ),
                Some(i) => {
                    let seed = s.next_id + i as u64;
                    let rec = &mut s.users[i];
                    pseudonymize(&mut rec.user, seed);
                    if delete_ext {
                        rec.external_ids.clear();
                    }
                    reply::json(200, &user_json(&rec.user))
                }
                None => user_not_found(),
            }
        }
        _ => nested(404, "notFound", "Unknown route."),
    }
}

fn pseudonymize(user: &mut User, seed: u64) {
    let r = random_hex(seed);
    user.mail = Some(format!("{}@pseudonymized.invalid", &r[..20]));
    user.username = Some(r[..16].to_owned());
    if user.first_name.is_some() {
        user.first_name = Some(r[8..20].to_owned());
    }
    if user.last_name.is_some() {
        user.last_name = Some(r[20..32].to_owned());
    }
    user.custom = None;
    user.extra.remove("customFields");
}

fn user_not_found() -> HttpMockResponse {
    nested(
        404,
        "userNotFound",
        "The given userId does not correspond to any existing user.",
    )
}

fn find(s: &State, id: &str) -> Option<usize> {
    id.parse::<UserId>()
        .ok()
        .and_then(|id| s.index.get(&id).copied())
}

fn user_json(user: &User) -> Value {
    serde_json::to_value(user).unwrap_or(Value::Null)
}

fn list(s: &State, params: &[(String, String)]) -> HttpMockResponse {
    let mut mail_eq = None;
    let mut mail_in: Vec<&str> = Vec::new();
    let mut username_eq = None;
    let mut status_eq = None;
    let mut page = 1usize;
    for (k, v) in params {
        match k.as_str() {
            "mail[eq]" => mail_eq = Some(v.as_str()),
            "mail[in][]" | "mail[in]" => mail_in.push(v),
            "username[eq]" => username_eq = Some(v.as_str()),
            "status[eq]" => {
                if !matches!(v.as_str(), "active" | "invited" | "deleted") {
                    return nested(
                        400,
                        "invalidQuery",
                        "status[eq] must be active, invited or deleted.",
                    );
                }
                status_eq = Some(v.as_str());
            }
            "page" => match v.parse::<usize>() {
                Ok(p) if p >= 1 => page = p,
                _ => return nested(400, "invalidQuery", "Invalid page."),
            },
            _ => {}
        }
    }
    let mail_is = |u: &User, want: &str| {
        u.mail
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case(want))
    };
    let matching: Vec<&User> = s
        .users
        .iter()
        .map(|r| &r.user)
        .filter(|u| mail_eq.is_none_or(|m| mail_is(u, m)))
        .filter(|u| mail_in.is_empty() || mail_in.iter().any(|m| mail_is(u, m)))
        .filter(|u| username_eq.is_none_or(|n| u.username.as_deref() == Some(n)))
        .filter(|u| {
            status_eq.is_none_or(|st| u.effective_status().is_some_and(|x| x.as_str() == st))
        })
        .collect();
    let size = s.page_size;
    let start = (page - 1).saturating_mul(size).min(matching.len());
    let end = (start + size).min(matching.len());
    let body = Value::Array(matching[start..end].iter().map(|u| user_json(u)).collect());
    let mut answer = HttpMockResponse::builder()
        .status(200)
        .header("content-type", "application/json; charset=utf-8")
        .body(body.to_string());
    if end < matching.len() {
        let mut next = append_segments(&s.base, &["api", "v2", "users"]);
        {
            let mut q = next.query_pairs_mut();
            for (k, v) in params.iter().filter(|(k, _)| k != "page") {
                q.append_pair(k, v);
            }
            q.append_pair("page", &(page + 1).to_string());
        }
        let target = if s.relative_links {
            format!("{}?{}", next.path(), next.query().unwrap_or(""))
        } else {
            next.to_string()
        };
        answer = answer.header("link", format!("<{target}>; rel=\"next\""));
    }
    answer.build()
}

fn v1(
    s: &mut State,
    method: &str,
    segs: &[&str],
    params: &[(String, String)],
    req: &HttpMockRequest,
) -> HttpMockResponse {
    let param = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.to_owned())
    };
    let company = header(req, "x-company-id")
        .map(str::to_owned)
        .or_else(|| param("company"));
    let key = header(req, "x-apikey")
        .map(str::to_owned)
        .or_else(|| param("apiKey"));
    if company.as_deref() != Some(s.v1_company.as_str())
        || key.as_deref() != Some(s.v1_key.as_str())
    {
        return flat(401, "unauthorized");
    }
    match (method, segs) {
        ("GET", ["users"]) => {
            let all: Vec<Value> = s.users.iter().map(|r| user_json(&r.user)).collect();
            reply::json(200, &Value::Array(all))
        }
        ("PUT", ["users", who, "pseudonymize"]) => {
            let at = find(s, who).or_else(|| {
                s.users.iter().position(|r| {
                    r.user
                        .mail
                        .as_deref()
                        .is_some_and(|m| m.eq_ignore_ascii_case(who))
                })
            });
            match at {
                Some(i) => {
                    let seed = s.next_id + i as u64;
                    pseudonymize(&mut s.users[i].user, seed);
                    reply::json(
                        200,
                        &json!({ "message": "user_personal_data_removed_successfully" }),
                    )
                }
                None => flat(404, "user_not_found"),
            }
        }
        _ => nested(404, "notFound", "Unknown route."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates_look_right() {
        let d = now_iso();
        assert_eq!(d.len(), 24, "{d}");
        assert!(d.ends_with('Z') && d.as_bytes()[10] == b'T', "{d}");
        assert!(d.starts_with("20"), "{d}");
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%40b.c"), "a@b.c");
        assert_eq!(percent_decode("%2F%zz%4"), "/%zz%4");
    }
}
