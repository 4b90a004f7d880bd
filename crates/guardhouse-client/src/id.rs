//! [`UserId`]: a Guardhouse user id, checked before anything is sent.

use std::fmt;
use std::num::NonZeroU64;

use anonymize_core::vendor::VendorId;
use anonymize_core::{Error, Result};

/// A Guardhouse user id: a whole number greater than 0.
///
/// Guardhouse documents `userId` as "an integer greater than 0". This type accepts exactly the
/// canonical decimal form of `1..=i64::MAX` (the largest integer a .NET `long` and a JSON
/// number read by common parsers hold): no sign, no white space, no leading zeros, no fraction.
/// Leading zeros are refused so that one user has one spelling (`7` and `007` would otherwise be
/// two entries of a batch for the same user).
///
/// Errors are [`Error::InvalidInput`] and never repeat the input, which may be personal data
/// pasted in the wrong column. Like every vendor id, it converts from and to text (`FromStr`,
/// `Display`, `TryFrom<&str>`, `TryFrom<String>`, serde as a string); Guardhouse's JSON sends it
/// as a number, which [`User`](crate::User) reads.
///
/// ```
/// use guardhouse_client::UserId;
///
/// let id: UserId = "101".parse().unwrap();
/// assert_eq!(id.get(), 101);
/// assert_eq!(id.to_string(), "101");
/// assert!("0".parse::<UserId>().is_err());
/// assert!("-4".parse::<UserId>().is_err());
/// assert!("jane@example.com".parse::<UserId>().is_err());
/// assert!(UserId::try_from(0_i64).is_err());
/// assert!(UserId::try_from(u64::MAX).is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserId(NonZeroU64);

anonymize_core::vendor_id!(UserId);

/// The largest id accepted (`i64::MAX`).
const MAX: u64 = i64::MAX as u64;

impl UserId {
    /// The id as a number.
    pub fn get(self) -> u64 {
        self.0.get()
    }

    fn from_u64(n: u64) -> Result<Self> {
        if n > MAX {
            return Err(too_large());
        }
        NonZeroU64::new(n).map(Self).ok_or_else(not_positive)
    }
}

fn too_large() -> Error {
    Error::invalid_input("a Guardhouse user id is too large (it must fit a signed 64-bit integer)")
}

fn not_positive() -> Error {
    Error::invalid_input("a Guardhouse user id must be a positive number")
}

impl VendorId for UserId {
    fn parse_id(s: &str) -> Result<Self> {
        if s.is_empty() {
            return Err(Error::invalid_input(
                "a Guardhouse user id must not be empty",
            ));
        }
        if s.starts_with('-') && s.len() > 1 && s[1..].bytes().all(|b| b.is_ascii_digit()) {
            return Err(not_positive());
        }
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::invalid_input(
                "a Guardhouse user id must be a whole number written with ASCII digits only",
            ));
        }
        if s.len() > 1 && s.starts_with('0') {
            return Err(if s.bytes().all(|b| b == b'0') {
                not_positive()
            } else {
                Error::invalid_input("a Guardhouse user id must not have leading zeros")
            });
        }
        // Only digits are left, so the only way to fail is overflow.
        let n = s.parse::<u64>().map_err(|_| too_large())?;
        Self::from_u64(n)
    }

    fn fmt_id(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl TryFrom<u64> for UserId {
    type Error = Error;

    fn try_from(n: u64) -> Result<Self> {
        Self::from_u64(n)
    }
}

impl TryFrom<i64> for UserId {
    type Error = Error;

    fn try_from(n: i64) -> Result<Self> {
        u64::try_from(n)
            .map_err(|_| not_positive())
            .and_then(Self::from_u64)
    }
}

impl From<UserId> for u64 {
    fn from(id: UserId) -> u64 {
        id.get()
    }
}

/// The id as Guardhouse's JSON carries it: written as a number; read from a number or,
/// tolerantly, from a string holding one. For `#[serde(with = "…")]` on wire types.
pub(crate) mod json_number {
    use std::fmt;

    use serde::{Deserializer, Serializer, de};

    use super::UserId;

    pub(crate) fn serialize<S: Serializer>(id: &UserId, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(id.get())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<UserId, D::Error> {
        struct Visitor;

        impl de::Visitor<'_> for Visitor {
            type Value = UserId;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a user id (an integer greater than 0)")
            }

            fn visit_u64<E: de::Error>(self, n: u64) -> Result<UserId, E> {
                UserId::try_from(n).map_err(|_| E::custom("not a valid user id"))
            }

            fn visit_i64<E: de::Error>(self, n: i64) -> Result<UserId, E> {
                UserId::try_from(n).map_err(|_| E::custom("not a valid user id"))
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<UserId, E> {
                s.trim()
                    .parse()
                    .map_err(|_| E::custom("not a valid user id"))
            }
        }

        d.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;

    fn reason(e: Error) -> String {
        match e {
            Error::InvalidInput { reason } => reason,
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }

    #[test]
    fn accepts_canonical_positive_integers() {
        assert_eq!("1".parse::<UserId>().unwrap().get(), 1);
        assert_eq!("101".parse::<UserId>().unwrap().get(), 101);
        assert_eq!(
            "9223372036854775807".parse::<UserId>().unwrap().get(),
            i64::MAX as u64
        );
        assert_eq!(UserId::try_from(5_i64).unwrap().get(), 5);
        assert_eq!(UserId::try_from(5_u64).unwrap().get(), 5);
        assert_eq!(UserId::try_from("5").unwrap().get(), 5);
        assert_eq!(UserId::try_from(String::from("5")).unwrap().get(), 5);
        assert_eq!(u64::from(UserId::try_from(5_u64).unwrap()), 5);
    }

    #[test]
    fn refuses_everything_else_with_a_reason_that_does_not_echo() {
        let cases = [
            ("", "empty"),
            ("0", "positive number"),
            ("000", "positive number"),
            ("-1", "positive number"),
            ("-0", "positive number"),
            ("007", "leading zeros"),
            ("+7", "digits"),
            (" 7", "digits"),
            ("7 ", "digits"),
            ("1.5", "digits"),
            ("1e3", "digits"),
            ("abc", "digits"),
            ("jane@example.com", "digits"),
            ("٣", "digits"),
            ("9223372036854775808", "too large"),
            ("18446744073709551616", "too large"),
            ("99999999999999999999999999", "too large"),
        ];
        for (input, expected) in cases {
            let r = reason(input.parse::<UserId>().unwrap_err());
            assert!(r.contains(expected), "{input:?}: {r}");
            if !input.trim().is_empty() {
                assert!(!r.contains(input.trim()), "{input:?} echoed in {r}");
            }
        }
        assert!(UserId::try_from(0_i64).is_err());
        assert!(UserId::try_from(-5_i64).is_err());
        assert!(UserId::try_from(i64::MIN).is_err());
        assert!(UserId::try_from(0_u64).is_err());
        assert!(UserId::try_from(u64::MAX).is_err());
        assert!(UserId::try_from(i64::MAX as u64 + 1).is_err());
    }

    /// Guardhouse's JSON: a number, or (tolerantly) a numeric string; written as a number.
    #[test]
    fn the_wire_form_reads_numbers_and_numeric_strings() {
        #[derive(serde::Serialize, serde::Deserialize)]
        struct Wire(#[serde(with = "json_number")] UserId);
        let read = |json: &str| serde_json::from_str::<Wire>(json).map(|w| w.0);
        let id = read("42").unwrap();
        assert_eq!(id.get(), 42);
        assert_eq!(read("\"42\"").unwrap(), id);
        assert!(read("0").is_err());
        assert!(read("-3").is_err());
        assert!(read("\"x\"").is_err());
        assert!(read("1.5").is_err());
        assert_eq!(serde_json::to_string(&Wire(id)).unwrap(), "42");
        assert_eq!(format!("{id:?}"), "UserId(42)");
    }

    /// As every vendor id: serde as the canonical text, a failure that does not echo the value.
    #[test]
    fn serde_is_the_canonical_text() {
        let id: UserId = serde_json::from_str("\"42\"").unwrap();
        assert_eq!(id.get(), 42);
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"42\"");
        let err = serde_json::from_str::<UserId>("\"jane@example.com\"").unwrap_err();
        assert!(!err.to_string().contains("jane"), "{err}");
        assert!(serde_json::from_str::<UserId>("\"007\"").is_err());
    }

    proptest! {
        #[test]
        fn every_valid_number_round_trips(n in 1..=i64::MAX) {
            let id: UserId = n.to_string().parse().unwrap();
            prop_assert_eq!(id.get(), n as u64);
            prop_assert_eq!(id.to_string(), n.to_string());
            prop_assert_eq!(UserId::try_from(n).unwrap(), id);
            prop_assert_eq!(UserId::try_from(n as u64).unwrap(), id);
        }

        #[test]
        fn non_positive_numbers_are_refused(n in i64::MIN..=0) {
            prop_assert!(n.to_string().parse::<UserId>().is_err());
            prop_assert!(UserId::try_from(n).is_err());
        }

        #[test]
        fn numbers_beyond_i64_are_refused(n in (i64::MAX as u64 + 1)..=u64::MAX) {
            prop_assert!(n.to_string().parse::<UserId>().is_err());
            prop_assert!(UserId::try_from(n).is_err());
        }

        #[test]
        fn arbitrary_text_parses_only_if_canonical(s in "\\PC{0,24}") {
            let canonical = !s.is_empty()
                && s.bytes().all(|b| b.is_ascii_digit())
                && !s.starts_with('0')
                && s.parse::<u64>().is_ok_and(|n| n <= i64::MAX as u64);
            match s.parse::<UserId>() {
                Ok(id) => {
                    prop_assert!(canonical, "{:?} was accepted", s);
                    prop_assert_eq!(id.to_string(), s);
                }
                Err(e) => {
                    prop_assert!(!canonical, "{:?} was refused", s);
                    let invalid = matches!(e, Error::InvalidInput { .. });
                    prop_assert!(invalid);
                }
            }
        }
    }
}
