//! Erase users at a real 360Learning platform (or the simulator): one line per argument.
//! **Irreversible**: each user found is deleted and pseudonymized.
//!
//! ```text
//! LEARNING360_URL=https://app.360learning.com \
//! LEARNING360_CLIENT_ID=… LEARNING360_CLIENT_SECRET=… \
//!   cargo run --example learning360 -- 507f1f77bcf86cd799439011 jane@example.com
//! ```
//!
//! Environment: `LEARNING360_URL` (the platform, e.g. `https://app.360learning.com` or
//! `https://app.us.360learning.com`; `http://` only for loopback), `LEARNING360_CLIENT_ID` and
//! `LEARNING360_CLIENT_SECRET` (an API v2 client with the scopes `users:read` and `users:write`),
//! read by `Learning360Client::from_env`.
//!
//! Each argument is a user id (24 hex digits) or an e-mail address (resolved through a
//! [`Directory`]: every user is listed once, then a `mail[eq]` query for a miss). Output: the
//! argument, a TAB, then `anonymized`, `not_found`, `rejected`, `failed` or `invalid` and details.
//! Exit status 0 when every argument got an outcome; 1 (message on stderr) when the run itself
//! failed: refused credentials, an unreachable server; 2 for bad usage or settings (a missing
//! variable, a bad URL). The contract is `anonymize_examples::cli`'s, shared by every vendor
//! example. Secrets are never printed.

use std::io::Write;
use std::process::ExitCode;

use anonymize_examples::cli::{self, Env};
use learning360_client::{Directory, Learning360Client};

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
    // E-mail arguments are resolved through a directory: one listing for all of them.
    let build = || {
        Learning360Client::from_env_with(env)?
            .directory(Directory::default())
            .build()
    };
    cli::run_vendor("learning360", "USER_ID_OR_EMAIL...", args, build, out, err).await
}
