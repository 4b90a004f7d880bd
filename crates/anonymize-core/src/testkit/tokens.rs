//! [`TokenStore`]: the tokens a simulator issued.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The tokens a simulator issued, each with what it grants (`G`: scopes, an account…), and the
/// count of token requests. Plain data: a simulator keeps it inside its own state lock.
#[derive(Debug)]
pub struct TokenStore<G> {
    tokens: HashMap<String, (G, Instant)>,
    lifetime: Duration,
    requests: usize,
    serial: u64,
    prefix: &'static str,
}

/// What a presented token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenCheck<'a, G> {
    /// Issued and not expired: what it grants.
    Valid(&'a G),
    /// Issued, but expired.
    Expired,
    /// Never issued here.
    Unknown,
}

impl<G> TokenStore<G> {
    /// A store whose tokens start with `prefix` and live `lifetime`.
    pub fn new(prefix: &'static str, lifetime: Duration) -> Self {
        Self {
            tokens: HashMap::new(),
            lifetime,
            requests: 0,
            serial: 0,
            prefix,
        }
    }

    /// Count one request at the token endpoint (granted or not).
    pub fn count_request(&mut self) {
        self.requests += 1;
    }

    /// How many token requests arrived.
    pub fn requests(&self) -> usize {
        self.requests
    }

    /// Issue a token that grants `grant` and lives the current lifetime.
    pub fn issue(&mut self, grant: G) -> String {
        self.serial += 1;
        // Some variety, so that a test cannot pass by guessing (not security: a test server).
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let token = format!("{}-{}-{:08x}", self.prefix, self.serial, nanos);
        self.tokens
            .insert(token.clone(), (grant, Instant::now() + self.lifetime));
        token
    }

    /// What `token` grants, if it is valid.
    pub fn check(&self, token: &str) -> TokenCheck<'_, G> {
        match self.tokens.get(token) {
            Some((grant, expires)) if Instant::now() < *expires => TokenCheck::Valid(grant),
            Some(_) => TokenCheck::Expired,
            None => TokenCheck::Unknown,
        }
    }

    /// Every token issued so far expires now.
    pub fn expire_all(&mut self) {
        let now = Instant::now();
        for (_, expires) in self.tokens.values_mut() {
            *expires = now;
        }
    }

    /// How long tokens issued from now on live.
    pub fn set_lifetime(&mut self, lifetime: Duration) {
        self.lifetime = lifetime;
    }

    /// How long tokens live.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_check_expire() {
        let mut store = TokenStore::new("t", Duration::from_secs(60));
        let a = store.issue("scope-a");
        let b = store.issue("scope-b");
        assert_ne!(a, b);
        assert_eq!(store.check(&a), TokenCheck::Valid(&"scope-a"));
        assert_eq!(store.check("nope"), TokenCheck::Unknown);
        store.expire_all();
        assert_eq!(store.check(&b), TokenCheck::Expired);
        store.count_request();
        assert_eq!(store.requests(), 1);
    }
}
