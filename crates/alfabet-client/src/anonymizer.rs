//! `impl Anonymizer for AlfabetClient`.

use anonymize_core::vendor::Batch;
use anonymize_core::{Anonymizer, BatchError, Email, Error, Result, UserOutcome};
use async_trait::async_trait;

use crate::VENDOR;
use crate::client::AlfabetClient;
use crate::id::RefStr;
use crate::report::Position;

#[async_trait]
impl Anonymizer for AlfabetClient {
    fn vendor(&self) -> &'static str {
        VENDOR
    }

    /// Ids are REFSTRs (`421-5-0`); a malformed one is [`Outcome::Invalid`] and never sent. The
    /// distinct valid refs go in batches of [`batch_size`](AlfabetClient::batch_size), one
    /// [`anonymize_batch`](AlfabetClient::anonymize_batch) request after the other; each
    /// anonymized ref's evidence names its batch and carries the batch's warnings.
    /// **Irreversible.**
    ///
    /// A batch whose request fails (after the retries) is [`Outcome::Failed`] for each of its
    /// refs, and the next batch is still sent, unless the error stops the run (credentials
    /// refused, permission missing, a base URL that answers 404).
    ///
    /// [`Outcome::Invalid`]: anonymize_core::Outcome::Invalid
    /// [`Outcome::Failed`]: anonymize_core::Outcome::Failed
    async fn anonymize(&self, ids: &[String]) -> Result<Vec<UserOutcome>, BatchError> {
        let batch = Batch::<RefStr>::parse(VENDOR, ids);
        let size = self.batch_size();
        let of = batch.ids().count().div_ceil(size);
        let mut number = 0;
        batch
            .chunks(size, |refs| {
                number += 1;
                let position = Position { number, of };
                async move {
                    let report = self.send_batch(position, refs).await?;
                    Ok(report.outcomes)
                }
            })
            .await
    }

    /// Alfabet documents no look-up of a user by e-mail: always [`Error::Unsupported`].
    async fn resolve_email(&self, _email: &Email) -> Result<Option<String>> {
        Err(Error::Unsupported {
            vendor: VENDOR,
            operation: "looking up a user by e-mail",
        })
    }
}
