//! Anonymize Alfabet users by REFSTR against a real Alfabet API server. **Irreversible.**
//!
//! ```text
//! ALFABET_URL=https://host/AlfabetAPIServer \
//! ALFABET_USERNAME=api-user ALFABET_PASSWORD=… \
//!     cargo run --example alfabet -- 421-5-0 421-9-0
//! ```
//!
//! Environment (what `AlfabetClient::from_env` reads): `ALFABET_URL` (the API server; `http://`
//! only for loopback), and either `ALFABET_USERNAME` + `ALFABET_PASSWORD` (password grant) or
//! `ALFABET_TOKEN` (a pre-issued token, sent as `bearer <token>`). Optional: `ALFABET_BATCH_SIZE`
//! (refs per request, default 100).
//!
//! Prints one line per argument: the argument, a TAB, and `anonymized`, `not_found`,
//! `rejected`, `failed` or `invalid` (malformed, never sent), followed by details. Exits 0 when
//! every argument got an outcome, 1 when the run itself failed (credentials refused, server
//! unreachable; every argument still gets its line), 2 on bad usage or settings.
use std::io::Write;
use std::process::ExitCode;

use alfabet_client::AlfabetClient;
use anonymize_examples::cli::{self, Env};

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
    let build = || AlfabetClient::from_env_with(env)?.build();
    cli::run_vendor("alfabet", "REFSTR...", args, build, out, err).await
}
