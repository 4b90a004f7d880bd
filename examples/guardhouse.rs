//! Anonymize Guardhouse users given by id or e-mail address. **Irreversible.**
//!
//! ```text
//! GUARDHOUSE_URL=https://your-tenant.guardhouse.cloud \
//! GUARDHOUSE_CLIENT_ID=… GUARDHOUSE_CLIENT_SECRET=… \
//!   cargo run --example guardhouse -- 101 jane@example.com
//! ```
//!
//! Environment (read by `GuardhouseClient::from_env`): `GUARDHOUSE_URL` (the tenant / issuer URL;
//! `http://` only for loopback), and either `GUARDHOUSE_CLIENT_ID` + `GUARDHOUSE_CLIENT_SECRET`
//! (client credentials, scope `system_api`) or `GUARDHOUSE_TOKEN` (a pre-issued access token).
//! Optional: `GUARDHOUSE_API_URL` (when the API base differs from the issuer),
//! `GUARDHOUSE_AUDIENCE`.
//!
//! Each ARG is a user id, or an e-mail address (contains `@`) that is first resolved to the one
//! user with exactly that address. Output: one line per ARG, `ARG<TAB>outcome [details]`, where
//! outcome is `anonymized`, `not_found`, `rejected`, `failed` or `invalid` (never sent).
//! Exit status 0 when every ARG got an outcome; 1 when the run failed (refused credentials,
//! unreachable server), with the reason on stderr; 2 for a usage or configuration error.
//! Secrets are never printed.

use std::io::Write;
use std::process::ExitCode;

use anonymize_examples::cli::{self, Env};
use guardhouse_client::GuardhouseClient;

#[tokio::main]
async fn main() -> ExitCode {
    cli::main(run).await
}

/// The whole program: `env` reads a variable, `out` gets the outcome lines, `err` the reason a
/// run failed. Returns the exit status.
pub(crate) async fn run(
    args: &[String],
    env: Env<'_>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let build = || GuardhouseClient::from_env_with(env)?.build();
    cli::run_vendor("guardhouse", "USER_ID_OR_EMAIL...", args, build, out, err).await
}
