//! What a look-up found at each vendor: [`Lookup`], [`VendorPlan`] and a person's [`Plan`].

use std::fmt;

use crate::erasure::person::Person;
use crate::error::Error;

/// How a person's id at one vendor was found (or why it was not).
///
/// `Debug` shows the case, never the id: an id given with a person may be anything pasted
/// where an id belonged, an address included (`Given(<redacted>)`).
#[derive(Clone)]
#[non_exhaustive]
pub enum Lookup {
    /// The id was given with the person; nothing was asked of the vendor.
    Given(String),
    /// The vendor's look-up found this id for the person's e-mail address.
    Resolved(String),
    /// The vendor's look-up found no user with the person's address: nothing to erase there.
    NotFound,
    /// No id was given, and the vendor cannot find the person without one: it has no look-up by
    /// e-mail address, or the person has no address.
    NeedsId,
    /// The look-up failed (after the client's retries); nothing was erased.
    Failed(Error),
    /// Not looked up: an earlier error (refused credentials, a missing permission) stopped all
    /// work at this vendor.
    NotAttempted(Error),
}

impl Lookup {
    /// The id found, for [`Given`](Lookup::Given) and [`Resolved`](Lookup::Resolved).
    pub fn id(&self) -> Option<&str> {
        match self {
            Lookup::Given(id) | Lookup::Resolved(id) => Some(id),
            _ => None,
        }
    }

    /// Which case this is, without the data.
    pub fn kind(&self) -> LookupKind {
        match self {
            Lookup::Given(_) => LookupKind::Given,
            Lookup::Resolved(_) => LookupKind::Resolved,
            Lookup::NotFound => LookupKind::NotFound,
            Lookup::NeedsId => LookupKind::NeedsId,
            Lookup::Failed(_) => LookupKind::Failed,
            Lookup::NotAttempted(_) => LookupKind::NotAttempted,
        }
    }
}

impl fmt::Debug for Lookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lookup::Given(_) => f.write_str("Given(<redacted>)"),
            Lookup::Resolved(_) => f.write_str("Resolved(<redacted>)"),
            Lookup::NotFound => f.write_str("NotFound"),
            Lookup::NeedsId => f.write_str("NeedsId"),
            Lookup::Failed(e) => f.debug_tuple("Failed").field(e).finish(),
            Lookup::NotAttempted(e) => f.debug_tuple("NotAttempted").field(e).finish(),
        }
    }
}

/// How a [`Lookup`] is written: its case, and the error's record for the two that have one.
/// Never the id: one given with a person may be anything pasted where an id belonged.
#[derive(serde::Serialize)]
struct LookupRepr {
    lookup: LookupKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<crate::error::ErrorRecord>,
}

impl From<&Lookup> for LookupRepr {
    fn from(lookup: &Lookup) -> Self {
        let error = match lookup {
            Lookup::Failed(e) | Lookup::NotAttempted(e) => Some(e.record()),
            _ => None,
        };
        Self {
            lookup: lookup.kind(),
            error,
        }
    }
}

impl serde::Serialize for Lookup {
    /// `{"lookup":"given"}`, `{"lookup":"failed","error":{…}}`: the case and the error's record,
    /// never the id (so there is no `Deserialize`: a lookup cannot be rebuilt without its id).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        LookupRepr::from(self).serialize(s)
    }
}

/// The case of a [`Lookup`], as written in a [`Receipt`](crate::Receipt): `given`, `resolved`,
/// `not_found`, `needs_id`, `failed`, `not_attempted`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LookupKind {
    /// See [`Lookup::Given`].
    Given,
    /// See [`Lookup::Resolved`].
    Resolved,
    /// See [`Lookup::NotFound`].
    NotFound,
    /// See [`Lookup::NeedsId`].
    NeedsId,
    /// See [`Lookup::Failed`].
    Failed,
    /// See [`Lookup::NotAttempted`].
    NotAttempted,
}

impl LookupKind {
    /// The label: `given`, `resolved`, `not_found`, `needs_id`, `failed`, `not_attempted`.
    pub fn label(self) -> &'static str {
        match self {
            LookupKind::Given => "given",
            LookupKind::Resolved => "resolved",
            LookupKind::NotFound => "not_found",
            LookupKind::NeedsId => "needs_id",
            LookupKind::Failed => "failed",
            LookupKind::NotAttempted => "not_attempted",
        }
    }
}

impl fmt::Display for LookupKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// What a look-up found for one person at one vendor.
///
/// `Debug` shows the vendor and the [`Lookup`]'s case, never the id.
#[derive(Clone)]
#[non_exhaustive]
pub struct VendorPlan {
    /// The vendor's name.
    pub vendor: &'static str,
    /// How the person's id there was found, or why not.
    pub lookup: Lookup,
}

/// What [`Eraser::plan`](crate::Eraser::plan) found for one person: per vendor, the id that an
/// erasure would use (given or looked up), or why there is none. Making a plan sends only reads.
///
/// `Debug` shows vendors and cases, never the person's address or an id.
#[derive(Clone)]
pub struct Plan {
    pub(crate) person: Person,
    pub(crate) vendors: Vec<VendorPlan>,
}

impl serde::Serialize for VendorPlan {
    /// `{"vendor":"acme","lookup":"resolved"}` (and the error's record for a failed look-up):
    /// nothing personal, for a service's logs.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Repr {
            vendor: &'static str,
            #[serde(flatten)]
            lookup: LookupRepr,
        }
        Repr {
            vendor: self.vendor,
            lookup: LookupRepr::from(&self.lookup),
        }
        .serialize(s)
    }
}

impl serde::Serialize for Plan {
    /// `{"vendors":[{"vendor":"acme","lookup":"resolved"},…]}`: the vendors and cases, never the
    /// person's address or an id. So a plan cannot be rebuilt from it (no `Deserialize`): to
    /// erase later, keep the [`Person`] (your own record of them) and plan again.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Repr<'a> {
            vendors: &'a [VendorPlan],
        }
        Repr {
            vendors: &self.vendors,
        }
        .serialize(s)
    }
}

impl fmt::Debug for VendorPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VendorPlan")
            .field("vendor", &self.vendor)
            .field("lookup", &self.lookup)
            .finish()
    }
}

impl fmt::Debug for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plan")
            .field("person", &self.person)
            .field("vendors", &self.vendors)
            .finish()
    }
}

impl Plan {
    /// The person planned for.
    pub fn person(&self) -> &Person {
        &self.person
    }

    /// One entry per vendor of the eraser, in the eraser's order.
    pub fn vendors(&self) -> &[VendorPlan] {
        &self.vendors
    }

    /// The vendors where an erasure would send a request, with the id it would erase.
    pub fn to_erase(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.vendors
            .iter()
            .filter_map(|v| v.lookup.id().map(|id| (v.vendor, id)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::email::Email;

    /// Jane, with her address pasted as her id at `acme` too, and a plan with these look-ups.
    fn jane_plan(vendors: Vec<(&'static str, Lookup)>) -> Plan {
        Plan {
            person: Person::from_id("acme", "jane.doe@example.com")
                .with_email(Email::parse("jane.doe@example.com").unwrap()),
            vendors: vendors
                .into_iter()
                .map(|(vendor, lookup)| VendorPlan { vendor, lookup })
                .collect(),
        }
    }

    /// Point 4 of issue 18: an address pasted where an id belonged, and the person's own
    /// address, never show in a plan's `Debug` (they did: `Given("jane…@…")`).
    #[test]
    fn debug_never_shows_an_id_or_an_address() {
        let plan = jane_plan(vec![
            ("acme", Lookup::Given("jane.doe@example.com".into())),
            ("other", Lookup::Resolved("4242".into())),
            ("third", Lookup::NeedsId),
        ]);
        let shown = format!(
            "{plan:?} {:?} {:?}",
            plan.vendors[0], plan.vendors[0].lookup
        );
        assert!(
            !shown.contains("jane") && !shown.contains("4242"),
            "{shown}"
        );
        assert!(shown.contains("Given(<redacted>)"), "{shown}");
        assert!(
            shown.contains("Resolved(<redacted>)") && shown.contains("NeedsId"),
            "{shown}"
        );
        assert!(shown.contains("acme") && shown.contains("third"), "{shown}");
    }

    /// Point 6 of issue 18: a plan serializes (a service logs it as JSON) with nothing
    /// personal in it: no address, no id.
    #[test]
    fn a_plan_serializes_without_ids_or_addresses() {
        let plan = jane_plan(vec![
            ("acme", Lookup::Given("jane.doe@example.com".into())),
            (
                "other",
                Lookup::Failed(Error::invalid_input("no such thing")),
            ),
        ]);
        let json = serde_json::to_value(&plan).unwrap();
        assert!(!json.to_string().contains("jane"), "{json}");
        assert_eq!(
            json["vendors"][0],
            serde_json::json!({"vendor": "acme", "lookup": "given"})
        );
        assert_eq!(json["vendors"][1]["lookup"], "failed");
        assert_eq!(json["vendors"][1]["error"]["kind"], "invalid_input");
    }
}
