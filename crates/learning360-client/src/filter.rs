//! [`UserFilter`]: the documented filters of *List users*.

use std::fmt;

use anonymize_core::Email;
use url::Url;

use crate::model::UserStatus;

/// Filters for [`list_users`](crate::Learning360Client::list_users), in the vendor's bracket
/// notation: `mail[eq]`, `mail[in][]` (repeated), `username[eq]`, `status[eq]`. Filters combine
/// (all must match). The vendor keeps them in every `Link` to the next page.
///
/// E-mail and username filters travel in the query string of an HTTPS request (that is the only
/// way the vendor offers); `Debug` redacts them.
///
/// ```
/// use learning360_client::{UserFilter, UserStatus};
/// use anonymize_core::Email;
///
/// let filter = UserFilter::new()
///     .mail(Email::parse("jane@example.com").unwrap())
///     .status(UserStatus::Active);
/// assert!(!format!("{filter:?}").contains("jane"));
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct UserFilter {
    mail_eq: Option<Email>,
    mail_in: Vec<Email>,
    username_eq: Option<String>,
    status_eq: Option<UserStatus>,
}

impl UserFilter {
    /// No filter: every user.
    pub fn new() -> Self {
        Self::default()
    }

    /// Users whose e-mail is `email` (`mail[eq]`).
    pub fn mail(mut self, email: Email) -> Self {
        self.mail_eq = Some(email);
        self
    }

    /// Users whose e-mail is one of `emails` (`mail[in][]`, repeated).
    pub fn mails<I: IntoIterator<Item = Email>>(mut self, emails: I) -> Self {
        self.mail_in.extend(emails);
        self
    }

    /// The user with this username (`username[eq]`).
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.username_eq = Some(username.into());
        self
    }

    /// Users with this status (`status[eq]`).
    pub fn status(mut self, status: UserStatus) -> Self {
        self.status_eq = Some(status);
        self
    }

    /// Whether no filter is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Append the filters to `url`'s query.
    pub(crate) fn apply(&self, url: &mut Url) {
        if self.is_empty() {
            return;
        }
        let mut q = url.query_pairs_mut();
        if let Some(m) = &self.mail_eq {
            q.append_pair("mail[eq]", m.as_str());
        }
        for m in &self.mail_in {
            q.append_pair("mail[in][]", m.as_str());
        }
        if let Some(u) = &self.username_eq {
            q.append_pair("username[eq]", u);
        }
        if let Some(s) = &self.status_eq {
            q.append_pair("status[eq]", s.as_str());
        }
    }
}

impl fmt::Debug for UserFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserFilter")
            .field("mail_eq", &self.mail_eq.as_ref().map(|_| "<redacted>"))
            .field("mail_in", &self.mail_in.len())
            .field(
                "username_eq",
                &self.username_eq.as_ref().map(|_| "<redacted>"),
            )
            .field("status_eq", &self.status_eq)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn bracket_notation() {
        let mut url = Url::parse("https://h/api/v2/users").unwrap();
        UserFilter::new()
            .mail(Email::parse("a+b@example.com").unwrap())
            .mails([
                Email::parse("c@example.com").unwrap(),
                Email::parse("d@example.com").unwrap(),
            ])
            .username("jdoe")
            .status(UserStatus::Deleted)
            .apply(&mut url);
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let expect = [
            ("mail[eq]", "a+b@example.com"),
            ("mail[in][]", "c@example.com"),
            ("mail[in][]", "d@example.com"),
            ("username[eq]", "jdoe"),
            ("status[eq]", "deleted"),
        ];
        assert_eq!(pairs.len(), expect.len());
        for ((k, v), (ek, ev)) in pairs.iter().zip(expect) {
            assert_eq!((k.as_str(), v.as_str()), (ek, ev));
        }
        let mut plain = Url::parse("https://h/api/v2/users").unwrap();
        UserFilter::new().apply(&mut plain);
        assert_eq!(plain.query(), None);
    }

    #[test]
    fn debug_redacts() {
        let f = UserFilter::new()
            .mail(Email::parse("jane@example.com").unwrap())
            .username("janed");
        let shown = format!("{f:?}");
        assert!(!shown.contains("jane"), "{shown}");
    }
}
