//! [`RefStr`]: the REFSTR that names one Alfabet object.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The REFSTR of an Alfabet object: three dash-separated non-negative integers,
/// `class-object-0`, e.g. `421-5-0` (the class number, the object number, and always `0`).
///
/// Only the *shape* is checked, not the class: `421` is the class in Alfabet's example, but the
/// documentation does not say it is fixed.
///
/// # The canonical form
///
/// A `RefStr` only accepts the canonical form, the one Alfabet prints: decimal digits without a
/// sign, without white space and **without leading zeros** (`0` itself is fine), and a third part
/// that is exactly `0`. So the text a caller gives is exactly the text that is sent and exactly
/// the text the vendor answers with, which is how rejected refs are matched back to their inputs.
/// `421-05-0` is refused rather than silently rewritten into another id. Each number must fit
/// in a `u64`.
///
/// Errors never repeat the input.
///
/// ```
/// use alfabet_client::RefStr;
///
/// let r: RefStr = "421-5-0".parse()?;
/// assert_eq!((r.class(), r.object()), (421, 5));
/// assert_eq!(r.to_string(), "421-5-0");
/// assert_eq!(RefStr::new(421, 5), r);
///
/// for bad in ["", "421-5", "421-5-1", " 421-5-0", "+421-5-0", "421-05-0", "421-x-0"] {
///     assert!(bad.parse::<RefStr>().is_err());
/// }
/// # Ok::<(), alfabet_client::InvalidRefStr>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RefStr {
    class: u64,
    object: u64,
}

impl RefStr {
    /// The REFSTR `class-object-0`.
    pub const fn new(class: u64, object: u64) -> Self {
        Self { class, object }
    }

    /// The class number (e.g. `421`).
    pub const fn class(&self) -> u64 {
        self.class
    }

    /// The object number within the class.
    pub const fn object(&self) -> u64 {
        self.object
    }

    /// Parse `s`, accepting only the canonical form (see the [type docs](RefStr)).
    pub fn parse(s: &str) -> Result<Self, InvalidRefStr> {
        let mut parts = s.split('-');
        let (Some(class), Some(object), Some(last), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(InvalidRefStr(Reason::Shape));
        };
        let class = number(class)?;
        let object = number(object)?;
        if last != "0" {
            return Err(match number(last) {
                Ok(_) => InvalidRefStr(Reason::ThirdNotZero),
                Err(e) => e,
            });
        }
        Ok(Self { class, object })
    }

    /// Parse text the vendor sent back, tolerating what a vendor might add: white space around
    /// the text and leading zeros. Used to match the vendor's answer to the refs sent; never used
    /// for a caller's input.
    pub(crate) fn parse_lenient(s: &str) -> Option<Self> {
        let mut parts = s.trim().split('-');
        let (Some(class), Some(object), Some(last), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let digits = |p: &str| -> Option<u64> {
            let p = p.trim();
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            p.parse().ok()
        };
        let (class, object) = (digits(class)?, digits(object)?);
        (digits(last)? == 0).then_some(Self { class, object })
    }
}

fn number(part: &str) -> Result<u64, InvalidRefStr> {
    if part.is_empty() {
        return Err(InvalidRefStr(Reason::EmptyPart));
    }
    if !part.bytes().all(|b| b.is_ascii_digit()) {
        return Err(InvalidRefStr(Reason::NotDigits));
    }
    if part.len() > 1 && part.starts_with('0') {
        return Err(InvalidRefStr(Reason::LeadingZero));
    }
    part.parse().map_err(|_| InvalidRefStr(Reason::TooLarge))
}

impl fmt::Display for RefStr {
    /// The canonical form, `class-object-0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-0", self.class, self.object)
    }
}

impl FromStr for RefStr {
    type Err = InvalidRefStr;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<&str> for RefStr {
    type Error = InvalidRefStr;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::parse(s)
    }
}

impl TryFrom<String> for RefStr {
    type Error = InvalidRefStr;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl TryFrom<&String> for RefStr {
    type Error = InvalidRefStr;

    fn try_from(s: &String) -> Result<Self, Self::Error> {
        Self::parse(s)
    }
}

impl From<RefStr> for String {
    fn from(r: RefStr) -> Self {
        r.to_string()
    }
}

impl Serialize for RefStr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RefStr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Why a text is not a [`RefStr`]. Its message never repeats the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidRefStr(Reason);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    Shape,
    EmptyPart,
    NotDigits,
    LeadingZero,
    TooLarge,
    ThirdNotZero,
}

impl fmt::Display for InvalidRefStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a REFSTR of the form `class-object-0`: ")?;
        f.write_str(match self.0 {
            Reason::Shape => "it must have exactly three dash-separated parts",
            Reason::EmptyPart => "a part is empty",
            Reason::NotDigits => {
                "a part has a character other than a digit (no signs or white space)"
            }
            Reason::LeadingZero => "a number has a leading zero",
            Reason::TooLarge => "a number is too large",
            Reason::ThirdNotZero => "the third part must be 0",
        })
    }
}

impl std::error::Error for InvalidRefStr {}

impl From<InvalidRefStr> for anonymize_core::Error {
    fn from(e: InvalidRefStr) -> Self {
        anonymize_core::Error::invalid_input(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_the_canonical_form() {
        for (s, class, object) in [
            ("421-5-0", 421, 5),
            ("0-0-0", 0, 0),
            ("1-999-0", 1, 999),
            (
                "18446744073709551615-18446744073709551615-0",
                u64::MAX,
                u64::MAX,
            ),
        ] {
            let r = RefStr::parse(s).unwrap();
            assert_eq!((r.class(), r.object()), (class, object));
            assert_eq!(r.to_string(), s);
            assert_eq!(RefStr::try_from(s).unwrap(), r);
            assert_eq!(RefStr::try_from(s.to_string()).unwrap(), r);
        }
    }

    #[test]
    fn refuses_everything_else_without_echo() {
        let cases = [
            ("", Reason::Shape),
            ("421", Reason::Shape),
            ("421-5", Reason::Shape),
            ("421-5-0-0", Reason::Shape),
            ("-5-0", Reason::EmptyPart),
            ("421--0", Reason::EmptyPart),
            ("421-5-", Reason::EmptyPart),
            ("+421-5-0", Reason::NotDigits),
            ("421-+5-0", Reason::NotDigits),
            (" 421-5-0", Reason::NotDigits),
            ("421-5-0 ", Reason::NotDigits),
            ("421-5-0\n", Reason::NotDigits),
            ("421-５-0", Reason::NotDigits),
            ("a-5-0", Reason::NotDigits),
            ("421-05-0", Reason::LeadingZero),
            ("0421-5-0", Reason::LeadingZero),
            ("421-5-00", Reason::LeadingZero),
            ("18446744073709551616-5-0", Reason::TooLarge),
            ("421-99999999999999999999999-0", Reason::TooLarge),
            ("421-5-1", Reason::ThirdNotZero),
        ];
        for (s, reason) in cases {
            let err = RefStr::parse(s).unwrap_err();
            assert_eq!(err.0, reason, "{s:?}");
            let shown = err.to_string();
            if !s.trim().is_empty() {
                assert!(!shown.contains(s.trim()), "{shown}");
            }
            let core: anonymize_core::Error = err.into();
            assert!(matches!(core, anonymize_core::Error::InvalidInput { .. }));
        }
    }

    #[test]
    fn lenient_parse_is_for_vendor_answers_only() {
        assert_eq!(
            RefStr::parse_lenient(" 421-005-0 "),
            Some(RefStr::new(421, 5))
        );
        assert_eq!(RefStr::parse_lenient("421-5-00"), Some(RefStr::new(421, 5)));
        assert_eq!(RefStr::parse_lenient("421-5-1"), None);
        assert_eq!(RefStr::parse_lenient("421-5"), None);
        assert_eq!(RefStr::parse_lenient("x-5-0"), None);
    }

    #[test]
    fn serde_round_trip_as_string() {
        let r = RefStr::new(421, 9);
        assert_eq!(serde_json::to_string(&r).unwrap(), r#""421-9-0""#);
        assert_eq!(serde_json::from_str::<RefStr>(r#""421-9-0""#).unwrap(), r);
        assert!(serde_json::from_str::<RefStr>(r#""421-9""#).is_err());
        assert!(serde_json::from_str::<RefStr>("4219").is_err());
    }

    proptest! {
        #[test]
        fn display_parses_back(class in any::<u64>(), object in any::<u64>()) {
            let r = RefStr::new(class, object);
            prop_assert_eq!(RefStr::parse(&r.to_string()).unwrap(), r);
        }

        #[test]
        fn parse_accepts_exactly_the_canonical_form(s in "\\PC{0,30}") {
            match RefStr::parse(&s) {
                Ok(r) => prop_assert_eq!(r.to_string(), s),
                Err(e) => {
                    let shown = e.to_string();
                    prop_assert!(s.len() < 3 || !shown.contains(&s), "echoed input");
                }
            }
        }

        #[test]
        fn near_misses_are_refused(
            class in any::<u64>(),
            object in any::<u64>(),
            third in 1u64..,
            pad in "[ \t+0]{1,3}",
            pos in 0usize..3,
        ) {
            let wrong_third = format!("{class}-{object}-{third}");
            prop_assert!(RefStr::parse(&wrong_third).is_err());
            let mut parts = [class.to_string(), object.to_string(), "0".to_string()];
            parts[pos] = format!("{pad}{}", parts[pos]);
            let padded = parts.join("-");
            prop_assert!(RefStr::parse(&padded).is_err(), "{:?} was accepted", padded);
            let two = format!("{class}-{object}");
            let four = format!("{class}-{object}-0-0");
            prop_assert!(RefStr::parse(&two).is_err());
            prop_assert!(RefStr::parse(&four).is_err());
        }

        #[test]
        fn structured_strings_parse_iff_canonical(
            a in "[0-9]{1,22}", b in "[0-9]{1,22}", c in "[0-9]{1,3}",
        ) {
            let s = format!("{a}-{b}-{c}");
            let canonical = |p: &str| p == "0" || !p.starts_with('0');
            let fits = |p: &str| p.parse::<u64>().is_ok();
            let expected = canonical(&a) && canonical(&b) && c == "0" && fits(&a) && fits(&b);
            prop_assert_eq!(RefStr::parse(&s).is_ok(), expected, "{}", s);
        }
    }
}
