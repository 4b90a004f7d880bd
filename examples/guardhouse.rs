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

use std::io::Write;
use std::process::ExitCode;

use anonymize_core::cli::EXIT_USAGE;
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
        return EXIT_USAGE;
    }
    let client = match client_from_env(&env) {
        Ok(client) => client,
        Err(reason) => {
            let _ = writeln!(err, "guardhouse: {reason}");
            return EXIT_USAGE;
        }
    };

    // One line per ARG, the exit code: the contract every vendor example shares.
    anonymize_core::cli::erase_args(&client, args, out, err).await
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
