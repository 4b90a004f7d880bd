//! Receipts: a record per (person, vendor) that names the person by a keyed hash.

use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

use hmac::{KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};

use crate::email::Email;
use crate::erasure::person::Person;
use crate::erasure::plan::LookupKind;
use crate::erasure::report::{VendorReport, VendorStatus};
use crate::erasure::time::rfc3339;
use crate::error::{Error, Result};
use crate::outcome::{Evidence, Outcome};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The version of this library, written in every receipt.
pub const LIBRARY_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The secret that names persons in receipts: HMAC-SHA-256 keyed with it.
///
/// Whoever holds the key can tell whether a receipt is about `jane@example.com` (compute
/// [`email_ref`](Self::email_ref) and compare); without it, a receipt names nobody. Keep it like a
/// password: lose it and the receipts can no longer be matched to anyone; leak it and anyone
/// with the receipts can test guesses of addresses.
///
/// At least [`MIN_LEN`](Self::MIN_LEN) bytes of randomness, e.g. `openssl rand -hex 32`, given
/// as hex to [`from_hex`](Self::from_hex). `Debug` is redacted; there is no `Display`.
#[derive(Clone)]
pub struct ReceiptKey {
    mac: HmacSha256,
}

impl fmt::Debug for ReceiptKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiptKey")
            .field("id", &self.id())
            .finish_non_exhaustive()
    }
}

/// The domain-separation prefixes: an address, a set of ids and the key's own id never hash the
/// same input.
const EMAIL_DOMAIN: &[u8] = b"anonymize person email v1\0";
const IDS_DOMAIN: &[u8] = b"anonymize person ids v2\0";
const KEY_ID_DOMAIN: &[u8] = b"anonymize receipt key id v1\0";
const CHAIN_DOMAIN: &[u8] = b"anonymize receipts chain v1\0";

impl ReceiptKey {
    /// The shortest key accepted, in bytes (256 bits, the hash's own size).
    pub const MIN_LEN: usize = 32;

    /// A key from raw bytes; fewer than [`MIN_LEN`](Self::MIN_LEN) is an
    /// [`Error::InvalidInput`].
    pub fn new(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < Self::MIN_LEN {
            return Err(Error::invalid_input(format!(
                "a receipt key needs at least {} bytes, this one has {}",
                Self::MIN_LEN,
                bytes.len()
            )));
        }
        if bytes.iter().all(|b| *b == bytes[0]) {
            return Err(Error::invalid_input(
                "a receipt key of one repeated byte is no secret: use random bytes, e.g. \
                 `openssl rand -hex 32`",
            ));
        }
        let mac = HmacSha256::new_from_slice(bytes)
            .map_err(|_| Error::invalid_input("the receipt key cannot key HMAC-SHA-256"))?;
        Ok(Self { mac })
    }

    /// A key written in hex (at least 64 hex digits; white space around it is ignored). The error
    /// never repeats the text.
    pub fn from_hex(hex: &SecretString) -> Result<Self> {
        let text = hex.expose_secret().trim();
        let bytes = decode_hex(text).ok_or_else(|| {
            Error::invalid_input(format!(
                "a receipt key is written in hex: at least {} hex digits (0-9, a-f), an even number",
                Self::MIN_LEN * 2
            ))
        })?;
        Self::new(&bytes)
    }

    /// A short public name of this key (8 bytes of HMAC over a fixed text, in hex), to tell
    /// receipts written with another key apart. It reveals nothing of the key.
    pub fn id(&self) -> String {
        hex(&self.hash(&[KEY_ID_DOMAIN])[..8])
    }

    /// How receipts name the person with this address: HMAC-SHA-256, with this key, of the
    /// bytes `anonymize person email v1`, a NUL byte, then the normalized (lower-case) address.
    pub fn email_ref(&self, email: &Email) -> PersonRef {
        PersonRef(self.hash(&[EMAIL_DOMAIN, email.normalized().as_bytes()]))
    }

    /// How receipts name `person`: by their address when they have one
    /// ([`email_ref`](Self::email_ref)), otherwise by their ids: HMAC-SHA-256 of
    /// `anonymize person ids v2` and a NUL byte, then every `vendor`, `id` pair in vendor
    /// (byte) order, each of the two written as its length in bytes (4 bytes, big-endian) and
    /// its bytes. Lengths, not separators: no id, whatever it holds, can make two persons'
    /// bytes equal. Ids are hashed as given: give each in its vendor's canonical form (its id
    /// type's `Display`, as the vendor crates and the command do), so that one id in two
    /// spellings is one person.
    pub fn person_ref(&self, person: &Person) -> PersonRef {
        match person.email() {
            Some(email) => self.email_ref(email),
            None => {
                let mut mac = self.mac.clone();
                mac.update(IDS_DOMAIN);
                for (vendor, id) in person.ids() {
                    for part in [vendor.as_bytes(), id.as_bytes()] {
                        let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
                        mac.update(&len.to_be_bytes());
                        mac.update(part);
                    }
                }
                PersonRef(mac.finalize().into_bytes().into())
            }
        }
    }

    /// The MAC that chains one line of a receipts log to the line before it: HMAC-SHA-256, with
    /// this key, of `anonymize receipts chain v1` and a NUL byte, the previous line's MAC (32
    /// bytes; none for the first line, the header), then the line's bytes. Each line carries
    /// its MAC, so an edited, removed, inserted or reordered line breaks the chain for whoever
    /// holds the key, and nobody without it can forge one.
    pub fn chain_mac(&self, previous: Option<&[u8; 32]>, line: &[u8]) -> [u8; 32] {
        let previous: &[u8] = previous.map_or(&[], |p| p.as_slice());
        self.hash(&[CHAIN_DOMAIN, previous, line])
    }

    fn hash(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }
}

/// How a receipt names a person: a keyed hash ([`ReceiptKey::person_ref`]), written as 64 hex
/// digits. Without the key it names nobody.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PersonRef([u8; 32]);

impl PersonRef {
    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The first 16 bytes as a number: a key half the size of the whole reference for
    /// in-memory sets of millions of persons (a collision needs about 2^64 persons).
    pub fn short_key(&self) -> u128 {
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&self.0[..16]);
        u128::from_be_bytes(bytes)
    }
}

impl fmt::Display for PersonRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

impl fmt::Debug for PersonRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PersonRef({self})")
    }
}

impl FromStr for PersonRef {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        decode_hex(s)
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .map(PersonRef)
            .ok_or_else(|| Error::invalid_input("a person reference is 64 hex digits"))
    }
}

impl serde::Serialize for PersonRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for PersonRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The record of one person's erasure at one vendor, free of personal data and secrets: keep
/// it to show later what was done (GDPR Art. 5(2)).
///
/// Written as one JSON object, e.g.
///
/// ```json
/// {"at":"2026-05-09T10:15:02.123Z","person":"6f1c…","vendor":"acme","vendor_id":"42",
///  "lookup":"resolved","outcome":"anonymized","evidence":{"summary":"HTTP 204"},
///  "elapsed_ms":35,"library":"0.1.0"}
/// ```
///
/// - `person`: the [`PersonRef`], never the address;
/// - `vendor_id`: the vendor's id for the user (absent when none was found, or when the vendor
///   refused the given one as malformed);
/// - `lookup`: how the id was found ([`LookupKind`]);
/// - `outcome` and its details, as an [`Outcome`] is written (`evidence` with the summary,
///   warnings and `verified` (how and when the erasure was checked at the vendor) only, never the
///   vendor's record; `message`; `reason`; `error`), or `not_attempted`
///   with the `error` that stopped the vendor; anything in a vendor's words that looks like an
///   e-mail address is replaced by `<redacted>`;
/// - `elapsed_ms`, and `library`, the version of this library.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Receipt {
    /// When the vendor's step finished (RFC 3339, UTC).
    pub at: String,
    /// Who (keyed hash).
    pub person: PersonRef,
    /// Where.
    pub vendor: String,
    /// The vendor's id for the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<String>,
    /// How the id was found.
    pub lookup: LookupKind,
    /// What happened.
    #[serde(flatten)]
    pub status: VendorStatus,
    /// How long the vendor's step took, in milliseconds.
    pub elapsed_ms: u64,
    /// The version of the library that wrote the receipt.
    pub library: String,
    /// This receipt settles an attempt that was interrupted after its [`IntentRecord`] was
    /// written (a crash, a signal, a full disk): the erasure was sent again to the id the intent
    /// named, without a new look-up. Written only when true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub settles_interrupted: bool,
}

/// The write-ahead record of an erasure about to be sent: written (and synced) before the
/// request, so that an erasure the vendor may have received always has a record, even when its
/// outcome was never learned. An intent without a later [`Receipt`] for the same person and
/// vendor is *in doubt*: settle it at the [`vendor_id`](Self::vendor_id) it names, never by
/// looking the person up again (they may be erased already, hence not found).
///
/// Written as one JSON line: `{"at":"…","intent":"erase","person":"…","vendor":"…",
/// "vendor_id":"…","library":"…"}`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct IntentRecord {
    /// When the intent was recorded (RFC 3339, UTC).
    pub at: String,
    /// What is about to be done: `erase`.
    pub intent: String,
    /// Who (keyed hash).
    pub person: PersonRef,
    /// Where.
    pub vendor: String,
    /// The vendor's id the request names.
    pub vendor_id: String,
    /// The version of the library that wrote it.
    pub library: String,
}

impl IntentRecord {
    /// The intent, recorded at `at`, to erase `person` at `vendor` by `vendor_id`.
    pub fn erase(at: SystemTime, person: PersonRef, vendor: &str, vendor_id: &str) -> Self {
        Self {
            at: rfc3339(at),
            intent: "erase".to_owned(),
            person,
            vendor: vendor.to_owned(),
            vendor_id: vendor_id.to_owned(),
            library: LIBRARY_VERSION.to_owned(),
        }
    }
}

impl Receipt {
    /// The receipt of `report` (one vendor's part of `person`'s erasure), finished now.
    pub fn new(key: &ReceiptKey, person: &Person, report: &VendorReport) -> Self {
        Self::at(SystemTime::now(), key.person_ref(person), report)
    }

    /// The receipt of `report` for the person named `person`, finished at `at`.
    pub fn at(at: SystemTime, person: PersonRef, report: &VendorReport) -> Self {
        Self {
            at: rfc3339(at),
            person,
            vendor: report.vendor.to_owned(),
            vendor_id: report.vendor_id().map(str::to_owned),
            lookup: report.lookup.kind(),
            status: scrubbed(&report.status),
            elapsed_ms: u64::try_from(report.elapsed.as_millis()).unwrap_or(u64::MAX),
            library: LIBRARY_VERSION.to_owned(),
            settles_interrupted: false,
        }
    }

    /// This receipt, marked as settling an interrupted attempt ([`settles_interrupted`](
    /// Self::settles_interrupted)).
    #[must_use = "settling returns the marked receipt"]
    pub fn settling(mut self) -> Self {
        self.settles_interrupted = true;
        self
    }

    /// Whether the person's data is gone from this vendor (anonymized, or not there).
    pub fn is_done(&self) -> bool {
        self.status.is_done()
    }
}

/// The status as a receipt keeps it: the evidence's summary and warnings without the vendor's
/// record, and every word of the vendor's that looks like an e-mail address redacted.
fn scrubbed(status: &VendorStatus) -> VendorStatus {
    let error = |e: &Error| {
        let mut record = e.record();
        record.code = record.code.as_deref().map(scrub);
        record.message = record.message.as_deref().map(scrub);
        record.text = scrub(&record.text);
        Error::Recorded(Box::new(record))
    };
    match status {
        VendorStatus::Finished(Outcome::Anonymized(evidence)) => {
            let mut kept = Evidence::new(scrub(&evidence.summary));
            kept.warnings = evidence.warnings.iter().map(|w| scrub(w)).collect();
            // How and when it was checked at the vendor: this crate's and the vendor crates'
            // own phrases (field names, never values).
            kept.verified = evidence.verified.clone();
            VendorStatus::Finished(Outcome::Anonymized(kept))
        }
        VendorStatus::Finished(Outcome::Rejected { message }) => {
            VendorStatus::Finished(Outcome::Rejected {
                message: rejection(&scrub(message)),
            })
        }
        VendorStatus::Finished(Outcome::Invalid { reason }) => {
            VendorStatus::Finished(Outcome::Invalid {
                reason: scrub(reason),
            })
        }
        VendorStatus::Finished(Outcome::Failed(e)) => {
            VendorStatus::Finished(Outcome::Failed(error(e)))
        }
        VendorStatus::NotAttempted(e) => VendorStatus::NotAttempted(error(e)),
        VendorStatus::Finished(other) => VendorStatus::Finished(other.clone()),
    }
}

use crate::error::redact_addresses as scrub;

/// Vendor rejections whose words are known to name nobody: kept in a receipt as they are.
const KNOWN_REJECTIONS: [&str; 4] = [
    "User is excluded from anonymization",
    "Failed to anonymize user data.",
    "Cannot find instance",
    "refused by the vendor",
];

/// A rejection as a receipt keeps it: the vendor's code (an identifier, such as
/// `userIsCompanyOwner`) and a message only when it is one of the [`KNOWN_REJECTIONS`]. Any other
/// words of the vendor's are left out, since they may name the person (`Jane Doe is the company
/// owner`); the vendor's own log has them.
fn rejection(message: &str) -> String {
    let known = |m: &str| {
        KNOWN_REJECTIONS
            .iter()
            .find(|k| k.eq_ignore_ascii_case(m.trim()))
            .map(|k| (*k).to_owned())
    };
    let is_code = |c: &str| {
        !c.is_empty()
            && c.len() <= 64
            && c.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "_-.".contains(ch))
    };
    if let Some(k) = known(message) {
        return k;
    }
    let (code, rest) = match message.split_once(": ") {
        Some((code, rest)) if is_code(code) => (Some(code), Some(rest)),
        _ if is_code(message) => (Some(message), None),
        _ => (None, Some(message)),
    };
    match (code, rest.map(known)) {
        (Some(code), Some(Some(k))) => format!("{code}: {k}"),
        (Some(code), None) => code.to_owned(),
        (Some(code), Some(None)) => {
            format!("{code} (the vendor's message is not kept: it may name the person)")
        }
        (None, _) => {
            "refused by the vendor (its message is not kept: it may name the person)".to_owned()
        }
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    text.as_bytes()
        .chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::erasure::plan::Lookup;
    use crate::error::VendorReply;
    use std::time::{Duration, UNIX_EPOCH};

    fn key() -> ReceiptKey {
        ReceiptKey::from_hex(&SecretString::from(EXAMPLE_KEY)).unwrap()
    }

    /// The key of docs/erasure.md's worked example: the bytes 0x00 to 0x1f.
    const EXAMPLE_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    /// RFC 4231, test case 2: the HMAC-SHA-256 this module is built on.
    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        let mut mac = HmacSha256::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex(&mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    /// Computed independently: `printf 'anonymize person email v1\0jane@example.com' |
    /// openssl dgst -sha256 -mac HMAC -macopt hexkey:000102…1f` (docs/erasure.md), and Python's
    /// `hmac` and `struct.pack(">I", …)` for the ids and the key id.
    #[test]
    fn person_refs_are_known_hmacs_of_the_normalized_address() {
        let jane = Email::parse("Jane@Example.COM").unwrap();
        let r = key().email_ref(&jane);
        assert_eq!(
            r.to_string(),
            "b4f6025d2b6111097e1be6bc459211f6f945be85bd5bb54c21f7b3b85c19267b"
        );
        let by_ids = key().person_ref(&Person::from_id("acme", "42").with_id("zeta", "7"));
        assert_eq!(
            by_ids.to_string(),
            "f43fbeabdff253f0e870e8e3195fc1101c9836875c53e603c18a8e187d169f5c"
        );
        assert_eq!(key().id(), "1a167da8970a8cb6");
        assert_eq!(r.to_string().parse::<PersonRef>().unwrap(), r);
        assert_eq!(
            key().person_ref(&Person::from_email(jane).with_id("acme", "1")),
            r
        );
    }

    #[test]
    fn a_rejection_keeps_the_vendors_code_and_known_words_only() {
        for (given, kept) in [
            ("userIsCompanyOwner", "userIsCompanyOwner"),
            (
                "userIsCompanyOwner: Jane Doe is the company owner",
                "userIsCompanyOwner (the vendor's message is not kept: it may name the person)",
            ),
            (
                "Jane Doe is the company owner",
                "refused by the vendor (its message is not kept: it may name the person)",
            ),
            (
                "user is excluded from anonymization",
                "User is excluded from anonymization",
            ),
            (
                "code: Failed to anonymize user data.",
                "code: Failed to anonymize user data.",
            ),
        ] {
            let report = VendorReport {
                vendor: "acme",
                lookup: Lookup::Given("1".into()),
                status: VendorStatus::Finished(Outcome::Rejected {
                    message: given.into(),
                }),
                elapsed: Duration::ZERO,
            };
            let receipt = Receipt::at(UNIX_EPOCH, PersonRef([0; 32]), &report);
            match receipt.status {
                VendorStatus::Finished(Outcome::Rejected { message }) => {
                    assert_eq!(message, kept, "{given}")
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn a_vendors_code_and_message_lose_addresses_before_they_are_cut() {
        let long = format!(
            "{} octavia.featherstonehaugh.p9@example.com",
            "x ".repeat(95)
        );
        let reply = VendorReply::new(
            "acme",
            "op",
            reqwest::StatusCode::CONFLICT,
            Some("user jane@example.com is locked".into()),
            Some(long),
        );
        let code = reply.code().unwrap();
        let message = reply.message().unwrap();
        assert!(!code.contains('@') && code.contains("<redacted>"), "{code}");
        assert!(
            !message.contains("octavia") && !message.contains('@'),
            "{message}"
        );
    }

    #[test]
    fn ids_are_length_prefixed_so_no_id_can_pose_as_two() {
        // Joined with NUL bytes, these two persons hashed alike.
        let one = Person::from_id("alfabet", "421-1-0\0guardhouse\x00101");
        let two = Person::from_id("alfabet", "421-1-0").with_id("guardhouse", "101");
        assert_ne!(key().person_ref(&one), key().person_ref(&two));
        let split = Person::from_id("ab", "c");
        let moved = Person::from_id("a", "bc");
        assert_ne!(key().person_ref(&split), key().person_ref(&moved));
    }

    #[test]
    fn did_we_erase_jane_needs_the_key() {
        let jane = Email::parse("jane@example.com").unwrap();
        let report = VendorReport {
            vendor: "acme",
            lookup: Lookup::Resolved("42".into()),
            status: VendorStatus::Finished(Outcome::Anonymized(Evidence::new("HTTP 204"))),
            elapsed: Duration::from_millis(12),
        };
        let receipt = Receipt::new(&key(), &Person::from_email(jane.clone()), &report);
        // With the key: a lookup by address finds the receipt.
        assert_eq!(receipt.person, key().email_ref(&jane));
        // With another key (or none): the same address names someone else.
        let other = ReceiptKey::new(&[7u8, 8].repeat(16)).unwrap();
        assert_ne!(receipt.person, other.email_ref(&jane));
        assert_ne!(key().id(), other.id());
    }

    #[test]
    fn keys_are_checked_and_never_shown() {
        let short = ReceiptKey::from_hex(&SecretString::from("ab".repeat(31))).unwrap_err();
        assert!(short.to_string().contains("at least 32 bytes"), "{short}");
        for bad in ["zz".repeat(32), "abc".into(), String::new()] {
            let err = ReceiptKey::from_hex(&SecretString::from(bad.clone())).unwrap_err();
            assert!(bad.is_empty() || !err.to_string().contains(&bad), "{err}");
        }
        let shown = format!("{:?}", key());
        assert!(!shown.contains("0102"), "{shown}");
        // One byte repeated is no key.
        let err = ReceiptKey::new(&[0u8; 32]).unwrap_err().to_string();
        assert!(err.contains("one repeated byte"), "{err}");
        assert!(ReceiptKey::from_hex(&SecretString::from("5e".repeat(32))).is_err());
        assert!(
            ReceiptKey::from_hex(&SecretString::from(format!(" {} \n", "ABCD".repeat(20)))).is_ok()
        );
    }

    #[test]
    fn receipts_keep_no_personal_data_and_read_back() {
        let jane = Email::parse("jane@example.com").unwrap();
        let person = Person::from_email(jane);
        let at = UNIX_EPOCH + Duration::from_millis(1_778_321_702_123);
        let reply = VendorReply::new(
            "acme",
            "anonymize user",
            reqwest::StatusCode::SERVICE_UNAVAILABLE,
            None,
            Some("cannot erase jane@example.com now".into()),
        );
        let cases = [
            VendorStatus::Finished(Outcome::Anonymized(
                Evidence::new("HTTP 204")
                    .with_record(serde_json::json!({"mail": "jane@example.com"}))
                    .with_warning("kept phone of jane@example.com"),
            )),
            VendorStatus::Finished(Outcome::NotFound),
            VendorStatus::Finished(Outcome::Rejected {
                message: "user jane@example.com is the owner".into(),
            }),
            VendorStatus::Finished(Outcome::Failed(Error::from_reply(reply.clone(), None))),
            VendorStatus::NotAttempted(Error::Unauthenticated(reply)),
        ];
        for status in cases {
            let report = VendorReport {
                vendor: "acme",
                lookup: Lookup::Given("42".into()),
                status,
                elapsed: Duration::from_millis(7),
            };
            let receipt = Receipt::at(at, key().person_ref(&person), &report);
            let line = serde_json::to_string(&receipt).unwrap();
            assert!(!line.contains("jane"), "{line}");
            assert!(
                line.contains("\"at\":\"2026-05-09T10:15:02.123Z\""),
                "{line}"
            );
            assert!(
                line.contains(&format!("\"library\":\"{LIBRARY_VERSION}\"")),
                "{line}"
            );
            let back: Receipt = serde_json::from_str(&line).unwrap();
            assert_eq!(back, receipt, "{line}");
            assert_eq!(back.status.label(), report.status.label());
            assert_eq!(back.is_done(), report.status.is_done());
        }
        // A refused (malformed) id is not repeated: it may be anything.
        let invalid = VendorReport {
            vendor: "acme",
            lookup: Lookup::Given("jane@example.com".into()),
            status: VendorStatus::Finished(Outcome::Invalid {
                reason: "not an acme id".into(),
            }),
            elapsed: Duration::ZERO,
        };
        let receipt = Receipt::at(at, key().person_ref(&person), &invalid);
        assert_eq!(receipt.vendor_id, None);
        let json = serde_json::to_value(&receipt).unwrap();
        assert_eq!(json["outcome"], "invalid");
        assert_eq!(json["lookup"], "given");
    }

    #[test]
    fn a_receipt_keeps_how_and_when_the_erasure_was_verified() {
        let jane = Person::from_email(Email::parse("jane@example.com").unwrap());
        for verification in [
            crate::Verification::passed("read back: status Archived"),
            crate::Verification::failed("read back", "status is not Archived"),
            crate::Verification::unsupported("acme offers no documented way to check an erasure"),
        ] {
            let report = VendorReport {
                vendor: "acme",
                lookup: Lookup::Given("42".into()),
                status: VendorStatus::Finished(Outcome::Anonymized(
                    Evidence::new("HTTP 204").with_verification(verification.clone()),
                )),
                elapsed: Duration::ZERO,
            };
            let receipt = Receipt::new(&key(), &jane, &report);
            let json = serde_json::to_value(&receipt).unwrap();
            assert_eq!(json["evidence"]["verified"]["result"], verification.label());
            if verification.label() != "unsupported" {
                assert!(json["evidence"]["verified"]["at"].is_string(), "{json}");
            }
            if verification.label() == "failed" {
                assert_eq!(
                    json["evidence"]["warnings"][0],
                    "verification at the vendor failed: status is not Archived"
                );
            }
            let back: Receipt = serde_json::from_value(json).unwrap();
            assert_eq!(back, receipt);
        }
    }

    #[test]
    fn scrub_redacts_words_with_an_at_sign() {
        assert_eq!(scrub("no address here"), "no address here");
        assert_eq!(
            scrub("user <jane@example.com> is\tthe owner"),
            "user <redacted> is\tthe owner"
        );
    }
}
