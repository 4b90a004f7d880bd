//! [`UserId`]: a 360Learning user id, a 24-hex-digit MongoDB ObjectId.

use std::fmt;

use anonymize_core::vendor::VendorId;
use anonymize_core::{Error, Result};

/// A 360Learning user id: a MongoDB ObjectId written as 24 hexadecimal digits
/// (e.g. `507f1f77bcf86cd799439011`).
///
/// Validated on construction (`parse`, `TryFrom`, serde), so a malformed id is refused before any
/// request is sent; the error never repeats the input. Stored as its 12 bytes;
/// [`Display`](fmt::Display) writes lower-case hex, which is what the vendor returns. Upper-case
/// input is accepted (the vendor's pattern is `^[a-fA-F0-9]{24}$`).
///
/// ```
/// use learning360_client::UserId;
///
/// let id: UserId = "507F1F77BCF86CD799439011".parse().unwrap();
/// assert_eq!(id.to_string(), "507f1f77bcf86cd799439011");
/// assert!("jane@example.com".parse::<UserId>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId([u8; 12]);

impl UserId {
    /// The id made of these 12 bytes.
    pub const fn from_bytes(bytes: [u8; 12]) -> Self {
        Self(bytes)
    }

    /// The id's 12 bytes.
    pub const fn as_bytes(&self) -> &[u8; 12] {
        &self.0
    }

    /// Whether `s` is a well-formed id (24 hexadecimal digits).
    pub fn is_valid(s: &str) -> bool {
        Self::parse_id(s).is_ok()
    }
}

impl VendorId for UserId {
    fn parse_id(s: &str) -> Result<Self> {
        let bytes = s.as_bytes();
        if bytes.len() != 24 {
            return Err(Error::invalid_input(
                "a 360Learning user id is exactly 24 hexadecimal digits",
            ));
        }
        let mut out = [0u8; 12];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            match (hex_value(pair[0]), hex_value(pair[1])) {
                (Some(hi), Some(lo)) => out[i] = (hi << 4) | lo,
                _ => {
                    return Err(Error::invalid_input(
                        "a 360Learning user id contains only hexadecimal digits (0-9, a-f)",
                    ));
                }
            }
        }
        Ok(Self(out))
    }

    fn fmt_id(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut buf = [0u8; 24];
        for (i, b) in self.0.iter().enumerate() {
            buf[2 * i] = HEX[usize::from(b >> 4)];
            buf[2 * i + 1] = HEX[usize::from(b & 0x0f)];
        }
        // Only ASCII hex digits were written.
        f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
    }
}

anonymize_core::vendor_id!(UserId);

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl From<UserId> for String {
    fn from(id: UserId) -> Self {
        id.to_string()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn parse(s: &str) -> Result<UserId> {
        s.parse()
    }

    #[test]
    fn parses_and_displays() {
        let id = parse("507f1f77bcf86cd799439011").unwrap();
        assert_eq!(id.to_string(), "507f1f77bcf86cd799439011");
        assert_eq!(format!("{id:?}"), "UserId(507f1f77bcf86cd799439011)");
        let upper = parse("507F1F77BCF86CD799439011").unwrap();
        assert_eq!(id, upper);
        assert_eq!(
            UserId::try_from("507f1f77bcf86cd799439011".to_string()).unwrap(),
            id
        );
        assert_eq!(UserId::try_from("507f1f77bcf86cd799439011").unwrap(), id);
        assert_eq!(UserId::from_bytes(*id.as_bytes()), id);
        assert_eq!(String::from(id), "507f1f77bcf86cd799439011");
        assert!(UserId::is_valid("507f1f77bcf86cd799439011"));
        assert!(!UserId::is_valid("507f1f77bcf86cd79943901"));
    }

    #[test]
    fn refuses_malformed_without_echo() {
        for bad in [
            "",
            "507f1f77bcf86cd79943901",
            "507f1f77bcf86cd7994390111",
            "507f1f77bcf86cd79943901g",
            " 507f1f77bcf86cd799439011",
            "jane.doe@example.com.....",
            "５０７f1f77bcf86cd799439011",
        ] {
            let err = parse(bad).unwrap_err();
            assert!(matches!(err, Error::InvalidInput { .. }), "{bad:?}");
            if !bad.is_empty() {
                assert!(!err.to_string().contains(bad), "{err}");
            }
        }
    }

    #[test]
    fn serde_round_trip_and_refusal() {
        let id = parse("0123456789abcdefABCDEF01").unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"0123456789abcdefabcdef01\"");
        assert_eq!(serde_json::from_str::<UserId>(&json).unwrap(), id);
        let err = serde_json::from_str::<UserId>("\"jane@example.com\"").unwrap_err();
        assert!(!err.to_string().contains("jane"), "{err}");
    }

    proptest! {
        #[test]
        fn any_24_hex_digits_round_trip(s in "[0-9a-fA-F]{24}") {
            let id = parse(&s).unwrap();
            prop_assert_eq!(id.to_string(), s.to_ascii_lowercase());
            prop_assert_eq!(parse(&id.to_string()).unwrap(), id);
        }

        #[test]
        fn anything_else_is_refused(s in "\\PC{0,40}") {
            let valid = s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit());
            prop_assert_eq!(parse(&s).is_ok(), valid);
        }

        #[test]
        fn bytes_round_trip(bytes in proptest::array::uniform12(any::<u8>())) {
            let id = UserId::from_bytes(bytes);
            prop_assert_eq!(parse(&id.to_string()).unwrap(), id);
        }
    }
}
