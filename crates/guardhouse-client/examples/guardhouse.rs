//! Anonymize Guardhouse users given by id or e-mail address. **Irreversible.**
//!
//! ```text
//! GUARDHOUSE_URL=https://your-tenant.guardhouse.cloud \
//! GUARDHOUSE_CLIENT_ID=… GUARDHOUSE_CLIENT_SECRET=… \
//!   cargo run --example guardhouse -- 101 jane@example.com
//! ```
//!
//! Environment: `GUARDHOUSE_URL` (the tenant / issuer URL; `http://` only for loopback), and
//! either `GUARDHOUSE_CLIENT_ID` + `GUARDHOUSE_CLIENT_SECRET` (client credentials, scope
//! `system_api`) or `GUARDHOUSE_TOKEN` (a pre-issued access token). Optional:
//! `GUARDHOUSE_API_URL` (when the API base differs from the issuer), `GUARDHOUSE_AUDIENCE`.
//!
//! Each ARG is a user id, or an e-mail address (contains `@`) that is first resolved to the one
//! user with exactly that address. Output: one line per ARG, `ARG<TAB>outcome [details]`, where
//! outcome is `anonymized`, `not_found`, `rejected`, `failed` or `invalid` (never sent).
//! Exit status 0 when every ARG got an outcome; 1 when the run failed (refused credentials,
//! unreachable server), with the reason on stderr; 2 for a usage or configuration error.
//! Secrets are never printed.
#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;

use anonymize_core::{Anonymizer, Email, Error, Outcome};
use guardhouse_client::GuardhouseClient;
use secrecy::SecretString;
use url::Url;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = run(
        &args,
        |name| std::env::var(name).ok().filter(|v| !v.is_empty()),
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    )
    .await;
    ExitCode::from(code)
}

/// The whole program: `env` reads a variable, `out` gets the outcome lines, `err` the reason a
/// run failed. Returns the exit status.
pub(crate) async fn run(
    args: &[String],
    env: impl Fn(&str) -> Option<String>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    if args.is_empty() {
        let _ = writeln!(err, "usage: guardhouse USER_ID_OR_EMAIL...");
        return 2;
    }
    let client = match client_from_env(&env) {
        Ok(client) => client,
        Err(reason) => {
            let _ = writeln!(err, "guardhouse: {reason}");
            return 2;
        }
    };

    // Resolve e-mail addresses first: every ARG becomes a user id or an outcome.
    let mut plan: Vec<Result<String, Outcome>> = Vec::with_capacity(args.len());
    for arg in args {
        if !Email::looks_like(arg) {
            plan.push(Ok(arg.clone()));
            continue;
        }
        let email = match Email::parse(arg) {
            Ok(email) => email,
            Err(e) => {
                plan.push(Err(Outcome::from_error(e)));
                continue;
            }
        };
        match client.resolve_email(&email).await {
            Ok(Some(id)) => plan.push(Ok(id)),
            Ok(None) => plan.push(Err(Outcome::NotFound)),
            Err(e) if e.aborts_batch() => {
                let _ = writeln!(err, "guardhouse: stopped before anonymizing anyone: {e}");
                return 1;
            }
            Err(e) => plan.push(Err(Outcome::Failed(e))),
        }
    }

    let ids: Vec<String> = plan
        .iter()
        .filter_map(|p| p.as_ref().ok().cloned())
        .collect();
    let (outcomes, stopped) = match client.anonymize(&ids).await {
        Ok(outcomes) => (outcomes, None),
        Err(batch) => (batch.completed, Some((batch.error, batch.not_attempted))),
    };
    let by_id: HashMap<String, Outcome> = outcomes.into_iter().map(|o| (o.id, o.outcome)).collect();

    let mut unreachable = 0;
    let mut attempted = 0;
    for (arg, step) in args.iter().zip(&plan) {
        let outcome = match step {
            Ok(id) => match by_id.get(id) {
                Some(outcome) => outcome,
                None => continue, // not attempted: the batch stopped
            },
            Err(outcome) => outcome,
        };
        if !matches!(outcome, Outcome::Invalid { .. }) {
            attempted += 1;
        }
        if let Outcome::Failed(Error::Transport { .. } | Error::Timeout { .. }) = outcome {
            unreachable += 1;
        }
        let _ = writeln!(out, "{arg}\t{outcome}");
    }

    if let Some((error, not_attempted)) = stopped {
        let _ = writeln!(
            err,
            "guardhouse: stopped: {error}; {} user(s) not attempted",
            not_attempted.len()
        );
        return 1;
    }
    if attempted > 0 && unreachable == attempted {
        let _ = writeln!(err, "guardhouse: the server could not be reached");
        return 1;
    }
    0
}

fn client_from_env(env: &impl Fn(&str) -> Option<String>) -> Result<GuardhouseClient, String> {
    let parse_url = |name: &str| -> Result<Option<Url>, String> {
        env(name)
            .map(|raw| Url::parse(raw.trim()).map_err(|e| format!("{name} is not a URL: {e}")))
            .transpose()
    };
    let issuer = parse_url("GUARDHOUSE_URL")?.ok_or("GUARDHOUSE_URL is not set")?;
    let mut builder = GuardhouseClient::builder(issuer);
    if let Some(api) = parse_url("GUARDHOUSE_API_URL")? {
        builder = builder.api_base(api);
    }
    if let Some(audience) = env("GUARDHOUSE_AUDIENCE") {
        builder = builder.audience(audience);
    }
    builder = match (
        env("GUARDHOUSE_CLIENT_ID"),
        env("GUARDHOUSE_CLIENT_SECRET"),
        env("GUARDHOUSE_TOKEN"),
    ) {
        (Some(id), Some(secret), _) => builder.client_credentials(id, SecretString::from(secret)),
        (None, None, Some(token)) => builder.bearer_token(SecretString::from(token)),
        (Some(_), None, _) => return Err("GUARDHOUSE_CLIENT_SECRET is not set".into()),
        (None, Some(_), _) => return Err("GUARDHOUSE_CLIENT_ID is not set".into()),
        (None, None, None) => {
            return Err(
                "set GUARDHOUSE_CLIENT_ID and GUARDHOUSE_CLIENT_SECRET, or GUARDHOUSE_TOKEN".into(),
            );
        }
    };
    builder.build().map_err(|e| e.to_string())
}
