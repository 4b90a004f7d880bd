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
//! failed: a missing variable, a bad URL, refused credentials, an unreachable server.
//!
//! **Irreversible**: each user found is deleted and pseudonymized.
#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::process::ExitCode;

use anonymize_core::secrecy::SecretString;
use anonymize_core::{Anonymizer, Email, Outcome};
use learning360_client::{Directory, Learning360Client};
use url::Url;

fn env(name: &str) -> Result<String, String> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| format!("{name} is not set"))
}

/// What an argument is, before anything is sent.
enum Arg {
    /// Sent as is (the client validates it: a malformed id is `invalid`, never sent).
    Id(String),
    /// An e-mail to resolve first.
    Email(Email),
    /// Decided already.
    Done(Outcome),
}

async fn run(args: &[String]) -> Result<(), String> {
    let url = env("LEARNING360_URL")?;
    let url = Url::parse(&url).map_err(|e| format!("LEARNING360_URL is not a URL: {e}"))?;
    let client = Learning360Client::builder(url)
        .client_credentials(
            env("LEARNING360_CLIENT_ID")?,
            SecretString::from(env("LEARNING360_CLIENT_SECRET")?),
        )
        .directory(Directory::default())
        .build()
        .map_err(|e| e.to_string())?;

    let mut parsed: Vec<Arg> = args
        .iter()
        .map(|a| {
            if Email::looks_like(a) {
                match Email::parse(a) {
                    Ok(e) => Arg::Email(e),
                    Err(e) => Arg::Done(Outcome::from_error(e)),
                }
            } else {
                Arg::Id(a.clone())
            }
        })
        .collect();

    // Resolve every e-mail at once (one directory refresh, one query for the misses).
    let emails: Vec<Email> = parsed
        .iter()
        .filter_map(|a| match a {
            Arg::Email(e) => Some(e.clone()),
            _ => None,
        })
        .collect();
    if !emails.is_empty() {
        let ids = client
            .user_ids_for_emails(&emails)
            .await
            .map_err(|e| format!("cannot resolve e-mail addresses: {e}"))?;
        let mut ids = ids.into_iter();
        for a in &mut parsed {
            if matches!(a, Arg::Email(_)) {
                *a = match ids.next().flatten() {
                    Some(id) => Arg::Id(id.to_string()),
                    None => Arg::Done(Outcome::NotFound),
                };
            }
        }
    }

    let to_erase: Vec<String> = parsed
        .iter()
        .filter_map(|a| match a {
            Arg::Id(id) => Some(id.clone()),
            _ => None,
        })
        .collect();
    let (outcomes, failure) = match client.anonymize(&to_erase).await {
        Ok(outcomes) => (outcomes, None),
        Err(batch) => (batch.completed, Some(batch.error)),
    };
    let by_id: HashMap<String, Outcome> = outcomes.into_iter().map(|o| (o.id, o.outcome)).collect();
    for (arg, parsed) in args.iter().zip(&parsed) {
        let outcome = match parsed {
            Arg::Done(o) => Some(o),
            Arg::Id(id) => by_id.get(id),
            Arg::Email(_) => None,
        };
        if let Some(outcome) = outcome {
            println!("{arg}\t{outcome}");
        }
    }
    match failure {
        Some(e) => Err(format!("the run stopped: {e}")),
        None => Ok(()),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        eprintln!("usage: learning360 USER_ID_OR_EMAIL...");
        return ExitCode::from(2);
    }
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("learning360: {message}");
            ExitCode::FAILURE
        }
    }
}
