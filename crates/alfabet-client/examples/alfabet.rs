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
//! every argument got an outcome, 1 when the run itself failed (e.g. credentials refused; the
//! lines of the refs already done are still printed), 2 on bad usage or settings.
#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::process::ExitCode;

use alfabet_client::AlfabetClient;
use anonymize_core::secrecy::SecretString;
use anonymize_core::url::Url;
use anonymize_core::{Anonymizer, Outcome};

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
    if args.is_empty() {
        eprintln!("usage: cargo run --example alfabet -- <REFSTR>...   (see the example's docs)");
        return ExitCode::from(2);
    }
    let client = match client() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("alfabet: {e}");
            return ExitCode::from(2);
        }
    };
    let (outcomes, stopped) = match client.anonymize(&args).await {
        Ok(outcomes) => (outcomes, None),
        Err(batch) => (batch.completed, Some((batch.error, batch.not_attempted))),
    };
    let by_id: HashMap<String, Outcome> = outcomes.into_iter().map(|o| (o.id, o.outcome)).collect();
    for arg in &args {
        if let Some(outcome) = by_id.get(arg) {
            println!("{arg}\t{outcome}");
        }
    }
    match stopped {
        None => ExitCode::SUCCESS,
        Some((error, not_attempted)) => {
            eprintln!(
                "alfabet: stopped: {error}; {} ref(s) not attempted",
                not_attempted.len()
            );
            ExitCode::FAILURE
        }
    }
}
