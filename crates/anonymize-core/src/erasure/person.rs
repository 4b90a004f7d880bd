//! [`Person`]: whom to erase everywhere: an e-mail address and/or the person's id at some vendors.

use std::collections::BTreeMap;
use std::fmt;

use crate::email::Email;

/// A person to erase at every vendor that holds them: an e-mail address (each vendor with a
/// look-up finds its own id from it), the person's id at some vendors (e.g. the reference an HR
/// system keeps for a vendor without a look-up), or both. A vendor's given id wins over a look-up.
///
/// Built from one of the two (so a person always has something to be found by), then extended:
///
/// ```
/// use anonymize_core::{Email, Person};
///
/// let jane = Person::from_email(Email::parse("jane@example.com")?).with_id("acme", "42");
/// assert_eq!(jane.id("acme"), Some("42"));
/// assert!(!format!("{jane:?}").contains("jane"));
/// # Ok::<(), anonymize_core::Error>(())
/// ```
///
/// Personal data: `Debug` shows which vendors have an id, never an address or an id.
#[derive(Clone, PartialEq, Eq)]
pub struct Person {
    email: Option<Email>,
    /// Vendor name → the person's id there, as given.
    ids: BTreeMap<String, String>,
}

impl Person {
    /// A person known by an e-mail address.
    pub fn from_email(email: Email) -> Self {
        Self {
            email: Some(email),
            ids: BTreeMap::new(),
        }
    }

    /// A person known by their id at one vendor (e.g. `("acme", "42")`).
    pub fn from_id(vendor: impl Into<String>, id: impl Into<String>) -> Self {
        Self {
            email: None,
            ids: BTreeMap::new(),
        }
        .with_id(vendor, id)
    }

    /// The same person with this e-mail address (replacing any other).
    #[must_use = "with_email returns the changed person"]
    pub fn with_email(mut self, email: Email) -> Self {
        self.email = Some(email);
        self
    }

    /// The same person with their id at `vendor` (replacing any other id there). The id is taken
    /// as given, surrounding white space removed; the vendor parses it, and refuses a malformed
    /// one as [`Outcome::Invalid`](crate::Outcome::Invalid) without sending it.
    #[must_use = "with_id returns the changed person"]
    pub fn with_id(mut self, vendor: impl Into<String>, id: impl Into<String>) -> Self {
        self.ids.insert(vendor.into(), id.into().trim().to_owned());
        self
    }

    /// The e-mail address, if one was given.
    pub fn email(&self) -> Option<&Email> {
        self.email.as_ref()
    }

    /// The id given for `vendor`, if any.
    pub fn id(&self, vendor: &str) -> Option<&str> {
        self.ids.get(vendor).map(String::as_str)
    }

    /// Every given id, as `(vendor, id)`, ordered by vendor name.
    pub fn ids(&self) -> impl Iterator<Item = (&str, &str)> {
        self.ids.iter().map(|(v, id)| (v.as_str(), id.as_str()))
    }
}

impl fmt::Debug for Person {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Person")
            .field("email", &self.email.as_ref().map(|_| "<redacted>"))
            .field("ids_at", &self.ids.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_person_is_built_from_what_is_known_and_redacted() {
        let email = Email::parse("Jane@Example.com").unwrap();
        let p = Person::from_id("acme", " 42 ").with_email(email.clone());
        assert_eq!(p.id("acme"), Some("42"));
        assert_eq!(p.id("other"), None);
        assert_eq!(p.email(), Some(&email));
        assert_eq!(p.ids().collect::<Vec<_>>(), [("acme", "42")]);
        let shown = format!("{p:?}");
        assert!(!shown.contains("Jane") && !shown.contains("42"), "{shown}");
        assert!(shown.contains("acme"), "{shown}");
    }
}
