//! The receipts file is `anonymize_core`'s [`ReceiptLog`](anonymize_core::ReceiptLog): the
//! command reads and writes it through the library only, so that a service that records its
//! erasures with the library writes a file this command reads. What stays here is how the
//! command names a person in its in-memory sets.

use anonymize_core::PersonRef;

/// A person's place in the in-memory sets ([`PersonRef::short_key`]).
pub(crate) fn short(person: &PersonRef) -> u128 {
    person.short_key()
}
