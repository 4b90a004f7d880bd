//! The receipts file is `anonymize_core`'s [`ReceiptLog`](anonymize_core::ReceiptLog): the
//! command reads and writes it through the library only, so that a service that records its
//! erasures with the library writes a file this command reads. What stays here is how the
//! command names a person in its in-memory sets.

use anonymize_core::PersonRef;

/// A person's place in the in-memory sets: the first 16 bytes of their reference (a collision
/// needs about 2^64 persons), half the memory of the whole reference at 200,000 persons.
pub(crate) fn short(person: &PersonRef) -> u128 {
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&person.as_bytes()[..16]);
    u128::from_be_bytes(bytes)
}
