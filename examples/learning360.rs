//! Erase users at a real 360Learning platform (or the simulator): one line per argument.
//!
//! ```text
//! LEARNING360_URL=https://app.360learning.com \
//! LEARNING360_CLIENT_ID=… LEARNING360_CLIENT_SECRET=… \
//!   cargo run -p learning360-client --example learning360 -- 507f1f77bcf86cd799439011 jane@example.com
//! ```
//!
//! Each argument is a user id (24 hex digits) or an e-mail address (resolved through a
//! [`Directory`]: every user is listed once, then a `mail[eq]` query for a miss). Output: the
//! argument, a TAB, then `anonymized`, `not_found`, `rejected`, `failed` or `invalid` and details.
//! Exit status 0 when every argument got an outcome; 1 (message on stderr) when the run itself
//! failed: refused credentials, an unreachable server; 2 for bad usage or settings (a missing
//! variable, a bad URL). The contract is `anonymize_core::cli`'s, shared by every vendor example.
//!
//! **Irreversible**: each user found is deleted and pseudonymized.
use std::io::Write;
use std::process::ExitCode;

use anonymize_core::cli::{EXIT_USAGE, erase_args};
use anonymize_core::secrecy::SecretString;
use learning360_client::{Directory, Learning360Client};
use url::Url;

fn env(name: &str) -> Result<String, String> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| format!("{name} is not set"))
}

fn client() -> Result<Learning360Client, String> {
    let url = env("LEARNING360_URL")?;
    let url = Url::parse(&url).map_err(|e| format!("LEARNING360_URL is not a URL: {e}"))?;
    Learning360Client::builder(url)
        .client_credentials(
            env("LEARNING360_CLIENT_ID")?,
            SecretString::from(env("LEARNING360_CLIENT_SECRET")?),
        )
        // E-mail arguments are resolved through a directory: one listing for all of them.
        .directory(Directory::default())
        .build()
        .map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    if args.is_empty() {
        let _ = writeln!(err, "usage: learning360 USER_ID_OR_EMAIL...");
        return ExitCode::from(EXIT_USAGE);
    }
    let client = match client() {
        Ok(client) => client,
        Err(reason) => {
            let _ = writeln!(err, "learning360: {reason}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    ExitCode::from(erase_args(&client, &args, &mut out, &mut err).await)
}
