//! [`RefStr`]: the REFSTR that names one Alfabet object.

use std::fmt;

use anonymize_core::vendor::VendorId;
use anonymize_core::{Error, Result};

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
/// Like every vendor id it converts from and to text (`FromStr`, `Display`, `TryFrom<&str>`,
/// `TryFrom<String>`, serde as a string). A refusal is an [`Error::InvalidInput`] whose reason
/// never repeats the input.
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
/// # Ok::<(), anonymize_core::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RefStr {
    class: u64,
    object: u64,
}

anonymize_core::vendor_id!(RefStr);

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

impl VendorId for RefStr {
    /// Accept only the canonical form (see the [type docs](RefStr)).
    fn parse_id(s: &str) -> Result<Self> {
        // Exactly two dashes: `class-object-last`. Bytes, not chars: a dash is one byte in
        // UTF-8 and never part of another character, so the parts stay valid `str`s.
        let mut dashes = s.bytes().enumerate().filter(|&(_, b)| b == b'-');
        let (Some((first, _)), Some((second, _)), None) =
            (dashes.next(), dashes.next(), dashes.next())
        else {
            return Err(Problem::Shape.into());
        };
        let class = number(&s[..first])?;
        let object = number(&s[first + 1..second])?;
        match number(&s[second + 1..])? {
            0 => Ok(Self { class, object }),
            _ => Err(Problem::ThirdNotZero.into()),
        }
    }

    /// The canonical form, `class-object-0`.
    fn fmt_id(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-0", self.class, self.object)
    }
}

/// One canonical decimal number, read in one pass. When a part has several problems, the one
/// reported is the first of: empty, a non-digit, a leading zero, too large.
fn number(part: &str) -> Result<u64, Problem> {
    let digits = part.as_bytes();
    if digits.is_empty() {
        return Err(Problem::EmptyPart);
    }
    let mut value: Option<u64> = Some(0);
    for &b in digits {
        if !b.is_ascii_digit() {
            return Err(Problem::NotDigits);
        }
        value = value
            .and_then(|v| v.checked_mul(10))
            .and_then(|v| v.checked_add(u64::from(b - b'0')));
    }
    if digits.len() > 1 && digits[0] == b'0' {
        return Err(Problem::LeadingZero);
    }
    value.ok_or(Problem::TooLarge)
}

/// Why a text is not a [`RefStr`]; said without repeating the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Problem {
    Shape,
    EmptyPart,
    NotDigits,
    LeadingZero,
    TooLarge,
    ThirdNotZero,
}

impl Problem {
    fn reason(self) -> &'static str {
        match self {
            Problem::Shape => "it must have exactly three dash-separated parts",
            Problem::EmptyPart => "a part is empty",
            Problem::NotDigits => {
                "a part has a character other than a digit (no signs or white space)"
            }
            Problem::LeadingZero => "a number has a leading zero",
            Problem::TooLarge => "a number is too large",
            Problem::ThirdNotZero => "the third part must be 0",
        }
    }
}

impl From<Problem> for Error {
    fn from(problem: Problem) -> Self {
        Error::invalid_input(format!(
            "not a REFSTR of the form `class-object-0`: {}",
            problem.reason()
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    /// The reason a text is refused, as the caller reads it.
    fn refusal(s: &str) -> String {
        match s.parse::<RefStr>() {
            Err(Error::InvalidInput { reason }) => reason,
            other => panic!("{s:?}: {other:?}"),
        }
    }

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
            let r: RefStr = s.parse().unwrap();
            assert_eq!((r.class(), r.object()), (class, object));
            assert_eq!(r.to_string(), s);
            assert_eq!(RefStr::try_from(s).unwrap(), r);
            assert_eq!(RefStr::try_from(s.to_string()).unwrap(), r);
        }
        assert_eq!(format!("{:?}", RefStr::new(421, 5)), "RefStr(421-5-0)");
    }

    #[test]
    fn refuses_everything_else_without_echo() {
        let cases = [
            ("", Problem::Shape),
            ("421", Problem::Shape),
            ("421-5", Problem::Shape),
            ("421-5-0-0", Problem::Shape),
            ("-5-0", Problem::EmptyPart),
            ("421--0", Problem::EmptyPart),
            ("421-5-", Problem::EmptyPart),
            ("+421-5-0", Problem::NotDigits),
            ("421-+5-0", Problem::NotDigits),
            (" 421-5-0", Problem::NotDigits),
            ("421-5-0 ", Problem::NotDigits),
            ("421-5-0\n", Problem::NotDigits),
            ("421-５-0", Problem::NotDigits),
            ("a-5-0", Problem::NotDigits),
            ("421-05-0", Problem::LeadingZero),
            ("0421-5-0", Problem::LeadingZero),
            ("421-5-00", Problem::LeadingZero),
            ("18446744073709551616-5-0", Problem::TooLarge),
            ("421-99999999999999999999999-0", Problem::TooLarge),
            ("421-5-1", Problem::ThirdNotZero),
        ];
        for (s, problem) in cases {
            let reason = refusal(s);
            assert!(reason.ends_with(problem.reason()), "{s:?}: {reason}");
            if !s.trim().is_empty() {
                assert!(!reason.contains(s.trim()), "{reason}");
            }
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
            prop_assert_eq!(r.to_string().parse::<RefStr>().unwrap(), r);
        }

        #[test]
        fn parse_accepts_exactly_the_canonical_form(s in "\\PC{0,30}") {
            match s.parse::<RefStr>() {
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
            prop_assert!(wrong_third.parse::<RefStr>().is_err());
            let mut parts = [class.to_string(), object.to_string(), "0".to_string()];
            parts[pos] = format!("{pad}{}", parts[pos]);
            let padded = parts.join("-");
            prop_assert!(padded.parse::<RefStr>().is_err(), "{:?} was accepted", padded);
            let two = format!("{class}-{object}");
            let four = format!("{class}-{object}-0-0");
            prop_assert!(two.parse::<RefStr>().is_err());
            prop_assert!(four.parse::<RefStr>().is_err());
        }

        #[test]
        fn structured_strings_parse_iff_canonical(
            a in "[0-9]{1,22}", b in "[0-9]{1,22}", c in "[0-9]{1,3}",
        ) {
            let s = format!("{a}-{b}-{c}");
            let canonical = |p: &str| p == "0" || !p.starts_with('0');
            let fits = |p: &str| p.parse::<u64>().is_ok();
            let expected = canonical(&a) && canonical(&b) && c == "0" && fits(&a) && fits(&b);
            prop_assert_eq!(s.parse::<RefStr>().is_ok(), expected, "{}", s);
        }
    }
}
