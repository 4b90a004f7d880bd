//! Typed vendor ids: one trait ([`VendorId`]) and one macro ([`vendor_id!`](crate::vendor_id))
//! that gives every id type the same traits.

use std::fmt;

use crate::error::Result;

/// A vendor's user id: parsed from its one canonical text form, checked before anything is sent.
///
/// Implement the two methods, then call [`vendor_id!`](crate::vendor_id) for the rest:
/// `FromStr`, `Display`, `TryFrom<&str>`, `TryFrom<String>`, serde as text (a parse failure in
/// serde says what the id must look like, never the value), and `Debug` (printed, or redacted
/// where the id may be personal data).
pub trait VendorId: Sized {
    /// Parse the canonical text form. The error is an [`Error::InvalidInput`](crate::Error::InvalidInput)
    /// whose reason never repeats the input (it may be personal data pasted in the wrong column).
    fn parse_id(text: &str) -> Result<Self>;

    /// Write the canonical text form: [`parse_id`](Self::parse_id) of it gives the same id back.
    fn fmt_id(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

/// Implement `FromStr`, `Display`, `TryFrom<&str>`, `TryFrom<String>`, `Serialize`,
/// `Deserialize` and `Debug` for a [`VendorId`](crate::vendor::VendorId) type.
///
/// `vendor_id!(Type)` prints the id in `Debug` (`Type(42)`); `vendor_id!(Type, redacted)` prints
/// `Type(<redacted>)`, for ids that may be personal data (an e-mail used as an id).
///
/// ```
/// use std::fmt;
/// use anonymize_core::{Error, Result};
/// use anonymize_core::vendor::VendorId;
///
/// /// An Acme user id: a number from 1.
/// #[derive(Clone, Copy, PartialEq, Eq, Hash)]
/// pub struct AcmeId(u32);
///
/// impl VendorId for AcmeId {
///     fn parse_id(text: &str) -> Result<Self> {
///         match text.parse::<u32>() {
///             Ok(n) if n > 0 && !text.starts_with(['+', '0']) => Ok(Self(n)),
///             _ => Err(Error::invalid_input("an Acme id is a number from 1")),
///         }
///     }
///     fn fmt_id(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
///         write!(f, "{}", self.0)
///     }
/// }
/// anonymize_core::vendor_id!(AcmeId);
///
/// let id: AcmeId = "42".parse()?;
/// assert_eq!(id.to_string(), "42");
/// assert_eq!(format!("{id:?}"), "AcmeId(42)");
/// assert!(AcmeId::try_from("0").is_err());
/// assert_eq!(serde_json::to_string(&id).unwrap(), r#""42""#);
/// assert!(serde_json::from_str::<AcmeId>(r#""x""#).is_err());
/// # Ok::<(), anonymize_core::Error>(())
/// ```
#[macro_export]
macro_rules! vendor_id {
    ($ty:ident) => {
        $crate::vendor_id!(@common $ty);
        impl ::std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(concat!(stringify!($ty), "("))?;
                $crate::vendor::VendorId::fmt_id(self, f)?;
                f.write_str(")")
            }
        }
    };
    ($ty:ident, redacted) => {
        $crate::vendor_id!(@common $ty);
        impl ::std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(concat!(stringify!($ty), "(<redacted>)"))
            }
        }
    };
    (@common $ty:ident) => {
        impl ::std::str::FromStr for $ty {
            type Err = $crate::Error;
            fn from_str(s: &str) -> $crate::Result<Self> {
                <$ty as $crate::vendor::VendorId>::parse_id(s)
            }
        }
        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                $crate::vendor::VendorId::fmt_id(self, f)
            }
        }
        impl ::std::convert::TryFrom<&str> for $ty {
            type Error = $crate::Error;
            fn try_from(s: &str) -> $crate::Result<Self> {
                <$ty as $crate::vendor::VendorId>::parse_id(s)
            }
        }
        impl ::std::convert::TryFrom<::std::string::String> for $ty {
            type Error = $crate::Error;
            fn try_from(s: ::std::string::String) -> $crate::Result<Self> {
                <$ty as $crate::vendor::VendorId>::parse_id(&s)
            }
        }
        impl $crate::__private::serde::Serialize for $ty {
            fn serialize<S>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error>
            where
                S: $crate::__private::serde::Serializer,
            {
                serializer.collect_str(self)
            }
        }
        impl<'de> $crate::__private::serde::Deserialize<'de> for $ty {
            fn deserialize<D>(deserializer: D) -> ::std::result::Result<Self, D::Error>
            where
                D: $crate::__private::serde::Deserializer<'de>,
            {
                $crate::__private::deserialize_id(deserializer)
            }
        }
    };
}

/// Deserialize a [`VendorId`] from a string; the error says what is wrong, never the value.
#[doc(hidden)]
pub fn deserialize_id<'de, T, D>(deserializer: D) -> std::result::Result<T, D::Error>
where
    T: VendorId,
    D: serde::Deserializer<'de>,
{
    use serde::Deserialize;
    use serde::de::Error as _;
    let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
    T::parse_id(&text).map_err(|e| match e {
        crate::Error::InvalidInput { reason } => D::Error::custom(reason),
        other => D::Error::custom(other),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::Error;

    /// A test id: a decimal number from 1, canonical form only.
    #[derive(Clone, Copy, PartialEq, Eq, Hash)]
    pub(crate) struct TestId(pub(crate) u32);

    impl VendorId for TestId {
        fn parse_id(text: &str) -> Result<Self> {
            match text.parse::<u32>() {
                Ok(n) if n > 0 && !text.starts_with(['+', '0']) => Ok(Self(n)),
                _ => Err(Error::invalid_input("a test id is a number from 1")),
            }
        }
        fn fmt_id(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{}", self.0)
        }
    }
    crate::vendor_id!(TestId);

    #[derive(Clone, PartialEq, Eq)]
    struct Secretish(String);
    impl VendorId for Secretish {
        fn parse_id(text: &str) -> Result<Self> {
            Ok(Self(text.to_owned()))
        }
        fn fmt_id(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(&self.0)
        }
    }
    crate::vendor_id!(Secretish, redacted);

    #[test]
    fn one_set_of_traits() {
        let id: TestId = "42".parse().unwrap();
        assert_eq!(id.to_string(), "42");
        assert_eq!(TestId::try_from("42").unwrap(), id);
        assert_eq!(TestId::try_from(String::from("42")).unwrap(), id);
        assert_eq!(format!("{id:?}"), "TestId(42)");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"42\"");
        assert_eq!(serde_json::from_str::<TestId>("\"42\"").unwrap(), id);
        let err = serde_json::from_str::<TestId>("\"jane@example.com\"").unwrap_err();
        assert!(!err.to_string().contains("jane"), "{err}");
        assert!(err.to_string().contains("a test id is a number from 1"));
        assert!(matches!(
            "07".parse::<TestId>(),
            Err(Error::InvalidInput { .. })
        ));
    }

    #[test]
    fn redacted_debug() {
        let id: Secretish = "jane@example.com".parse().unwrap();
        assert_eq!(format!("{id:?}"), "Secretish(<redacted>)");
        assert_eq!(id.to_string(), "jane@example.com");
    }
}
