//! `impl Anonymizer for AlfabetClient`.

use std::collections::HashMap;

use anonymize_core::{
    Anonymizer, BatchError, Email, Error, Outcome, Result, UserOutcome, distinct,
};
use async_trait::async_trait;

use crate::client::{AlfabetClient, VENDOR};
use crate::refstr::RefStr;

#[async_trait]
impl Anonymizer for AlfabetClient {
    fn vendor(&self) -> &'static str {
        VENDOR
    }

    /// Ids are REFSTRs (`421-5-0`); a malformed one is [`Outcome::Invalid`] and never sent. The
    /// rest go through [`AlfabetClient::anonymize_users`]. **Irreversible.**
    async fn anonymize(&self, ids: &[String]) -> Result<Vec<UserOutcome>, BatchError> {
        let ids = distinct(ids);
        let parsed: Vec<(&str, Result<RefStr, Error>)> = ids
            .iter()
            .map(|id| (*id, RefStr::parse(id).map_err(Error::from)))
            .collect();
        let valid: Vec<RefStr> = parsed
            .iter()
            .filter_map(|(_, r)| r.as_ref().ok().copied())
            .collect();

        let (mut outcomes, stopped) = match self.anonymize_users(&valid).await {
            Ok(report) => (report.outcomes, None),
            Err(stopped) => {
                let (error, report, _) = stopped.into_parts();
                (report.outcomes, Some(error))
            }
        };
        // The canonical form is the only accepted form, so the id text is the ref's text.
        let mut by_ref: HashMap<RefStr, Outcome> =
            outcomes.drain(..).map(|o| (o.ref_str, o.outcome)).collect();

        let mut completed = Vec::with_capacity(parsed.len());
        let mut not_attempted = Vec::new();
        for (id, parsed) in parsed {
            match parsed {
                Err(Error::InvalidInput { reason }) => {
                    completed.push(UserOutcome::new(id, Outcome::Invalid { reason }));
                }
                Err(other) => completed.push(UserOutcome::new(id, Outcome::Failed(other))),
                Ok(r) => match by_ref.remove(&r) {
                    Some(outcome) => completed.push(UserOutcome::new(id, outcome)),
                    None => not_attempted.push(id.to_owned()),
                },
            }
        }
        match stopped {
            Some(error) => Err(BatchError {
                error,
                completed,
                not_attempted,
            }),
            None if not_attempted.is_empty() => Ok(completed),
            // Unreachable by construction (every valid ref gets an outcome when nothing stopped),
            // but never drop an id silently.
            None => Err(BatchError {
                error: Error::configuration("the client returned no outcome for some refs"),
                completed,
                not_attempted,
            }),
        }
    }

    /// Alfabet documents no look-up of a user by e-mail: always [`Error::Unsupported`].
    async fn resolve_email(&self, _email: &Email) -> Result<Option<String>> {
        Err(Error::Unsupported {
            vendor: VENDOR,
            operation: "looking up a user by e-mail",
        })
    }
}
