//! Anonymize Alfabet users by REFSTR against a real Alfabet API server. **Irreversible.**
//!
//! ```text
//! ALFABET_URL=https://host/AlfabetAPIServer \
//! ALFABET_USERNAME=api-user ALFABET_PASSWORD=… \
//!     cargo run --example alfabet -- 421-5-0 421-9-0
//! ```
//!
//! Environment: `ALFABET_URL` (the API server; `http://` only for loopback), and either
//! `ALFABET_USERNAME` + `ALFABET_PASSWORD` (password grant) or `ALFABET_TOKEN` (a pre-issued
//! token, sent as `bearer <token>`). Optional: `ALFABET_BATCH_SIZE` (refs per request, default
//! 100).
//!
//! Prints one line per argument: the argument, a TAB, and `anonymized`, `not_found`,
//! `rejected`, `failed` or `invalid` (malformed, never sent), followed by details. Exits 0 when
//! every argument got an outcome, 1 when the run itself failed (credentials refused, server
//! unreachable; every argument still gets its line), 2 on bad usage or settings.
use std::io::Write;
use std::process::ExitCode;

use alfabet_client::AlfabetClient;
use anonymize_core::cli::{EXIT_USAGE, erase_args};
use anonymize_core::secrecy::SecretString;
use anonymize_core::url::Url;

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn client() -> Result<AlfabetClient, String> {
    let url = var("ALFABET_URL").ok_or("ALFABET_URL is not set")?;
    let url = Url::parse(&url).map_err(|e| format!("ALFABET_URL is not a URL: {e}"))?;
    let mut builder = AlfabetClient::builder(url);
    builder = match (
        var("ALFABET_TOKEN"),
        var("ALFABET_USERNAME"),
        var("ALFABET_PASSWORD"),
    ) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err("set either ALFABET_TOKEN or ALFABET_USERNAME + ALFABET_PASSWORD".into());
        }
        (Some(token), None, None) => builder.token(SecretString::from(token)),
        (None, Some(user), Some(password)) => builder.password(user, SecretString::from(password)),
        _ => return Err("set ALFABET_USERNAME and ALFABET_PASSWORD, or ALFABET_TOKEN".into()),
    };
    if let Some(size) = var("ALFABET_BATCH_SIZE") {
        let size = size
            .parse()
            .map_err(|_| "ALFABET_BATCH_SIZE is not a number")?;
        builder = builder.batch_size(size);
    }
    builder.build().map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    if args.is_empty() {
        let _ = writeln!(
            err,
            "usage: cargo run --example alfabet -- <REFSTR>...   (see the example's docs)"
        );
        return ExitCode::from(EXIT_USAGE);
    }
    let client = match client() {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(err, "alfabet: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    // One line per argument, the exit code: the contract every vendor example shares.
    ExitCode::from(erase_args(&client, &args, &mut out, &mut err).await)
}
