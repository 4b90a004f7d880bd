//! The command-line contract shared by the vendor examples: one line per argument, stable
//! labels, meaningful exit codes. It lives here, beside the examples, so that no library user
//! compiles it.
//!
//! [`erase_args`] takes the arguments as given (vendor ids, or e-mail addresses, recognised by
//! their `@`), resolves the addresses through the vendor, anonymizes, and writes exactly one line
//! per argument, in order: the argument, a TAB, then the [`Outcome`]'s `Display` (`anonymized`,
//! `not_found`, `rejected`, `invalid` or `failed`, then a space and details). An argument the run
//! never reached (it stopped on refused credentials) is `failed not attempted: …`.
//!
//! Nothing but the vendor's own messages and this crate's errors is written: never a secret.
//!
//! A vendor example is [`main`] over a `run` function that calls [`run_vendor`] with the
//! vendor's `from_env_with`; its tests call that same `run` through [`capture`].

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;

use anonymize_core::{Anonymizer, Email, Error, Outcome, Subject};

/// Every argument got an outcome.
pub const EXIT_OK: u8 = 0;
/// The run itself failed: refused credentials or permission, or no answer from the server at all.
pub const EXIT_RUN_FAILED: u8 = 1;
/// Bad usage or configuration (no argument, a missing environment variable…); nothing was sent.
pub const EXIT_USAGE: u8 = 2;

/// Reads a setting by name (`std::env::var` in [`main`]; a map in tests).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// A vendor example's whole program: with no argument, print `usage: {vendor} {usage}` and exit
/// [`EXIT_USAGE`]; build the client with `build` (a configuration error exits [`EXIT_USAGE`],
/// naming what is wrong); then [`erase_args`].
pub async fn run_vendor<A: Anonymizer>(
    vendor: &str,
    usage: &str,
    args: &[String],
    build: impl FnOnce() -> anonymize_core::Result<A>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    if args.is_empty() {
        let _ = writeln!(err, "usage: {vendor} {usage}");
        return EXIT_USAGE;
    }
    match build() {
        Ok(client) => erase_args(&client, args, out, err).await,
        Err(reason) => {
            let _ = writeln!(err, "{vendor}: {reason}");
            EXIT_USAGE
        }
    }
}

/// Run an example's `run` on the process's arguments and environment, stdout and stderr.
pub async fn main(
    run: impl AsyncFnOnce(&[String], Env<'_>, &mut dyn Write, &mut dyn Write) -> u8,
) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let env = |name: &str| std::env::var(name).ok();
    let code = run(&args, &env, &mut std::io::stdout(), &mut std::io::stderr()).await;
    ExitCode::from(code)
}

/// Run an example's `run` on `args` and the variables `env`: its exit code, stdout and stderr.
pub async fn capture(
    run: impl AsyncFnOnce(&[String], Env<'_>, &mut dyn Write, &mut dyn Write) -> u8,
    args: &[&str],
    env: &HashMap<&str, String>,
) -> (u8, String, String) {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let lookup = |name: &str| env.get(name).cloned();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = run(&args, &lookup, &mut out, &mut err).await;
    (
        code,
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    )
}

/// What one argument comes to before the batch is sent.
enum Step {
    Erase(String),
    Email(Email),
    Decided(Outcome),
}

/// Erase the users named by `args` at `vendor`; see the [module docs](self). Returns the exit
/// code: [`EXIT_OK`], or [`EXIT_RUN_FAILED`] with the reason written to `err`.
pub async fn erase_args(
    vendor: &dyn Anonymizer,
    args: &[String],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let name = vendor.vendor();
    let mut steps: Vec<Step> = args
        .iter()
        .map(|arg| match Subject::parse(arg) {
            Ok(Subject::Id(id)) => Step::Erase(id),
            Ok(Subject::Email(email)) => Step::Email(email),
            Err(e) => Step::Decided(Outcome::from_error(e)),
        })
        .collect();

    // Resolve every address at once (a vendor may list its users once for all of them).
    let mut stopped: Option<Error> = None;
    let emails: Vec<Email> = steps
        .iter()
        .filter_map(|s| match s {
            Step::Email(e) => Some(e.clone()),
            _ => None,
        })
        .collect();
    if !emails.is_empty() {
        let email_steps = steps.iter_mut().filter(|s| matches!(s, Step::Email(_)));
        match vendor.resolve_emails(&emails).await {
            Ok(ids) => {
                for (step, id) in email_steps.zip(ids) {
                    *step = match id {
                        Some(id) => Step::Erase(id),
                        None => Step::Decided(Outcome::NotFound),
                    };
                }
            }
            // Left as `Email`: printed as not attempted below.
            Err(e) if e.aborts_batch() => stopped = Some(e),
            // E.g. a vendor without a look-up by e-mail: `invalid`, saying what it needs.
            Err(e) => {
                for step in email_steps {
                    *step = Step::Decided(Outcome::from_error(e.clone()));
                }
            }
        }
    }

    let mut outcomes: HashMap<String, Outcome> = HashMap::new();
    if stopped.is_none() {
        let ids: Vec<String> = steps
            .iter()
            .filter_map(|s| match s {
                Step::Erase(id) => Some(id.clone()),
                _ => None,
            })
            .collect();
        let done = match vendor.anonymize(&ids).await {
            Ok(done) => done,
            Err(batch) => {
                stopped = Some(batch.error);
                batch.completed
            }
        };
        outcomes.extend(done.into_iter().map(|o| (o.id, o.outcome)));
    }

    let (mut attempted, mut unreachable) = (0, 0);
    for (arg, step) in args.iter().zip(&steps) {
        let outcome = match step {
            Step::Decided(outcome) => Some(outcome),
            Step::Erase(id) => outcomes.get(id),
            Step::Email(_) => None,
        };
        let _ = match outcome {
            Some(outcome) => {
                if !matches!(outcome, Outcome::Invalid { .. }) {
                    attempted += 1;
                }
                if matches!(
                    outcome,
                    Outcome::Failed(Error::Transport { .. } | Error::Timeout { .. })
                ) {
                    unreachable += 1;
                }
                writeln!(out, "{arg}\t{outcome}")
            }
            None => writeln!(out, "{arg}\tfailed not attempted: the run stopped"),
        };
    }

    if let Some(error) = stopped {
        let _ = writeln!(err, "{name}: the run stopped: {error}");
        return EXIT_RUN_FAILED;
    }
    if attempted > 0 && unreachable == attempted {
        let _ = writeln!(err, "{name}: the server could not be reached");
        return EXIT_RUN_FAILED;
    }
    EXIT_OK
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use anonymize_core::MemoryAnonymizer;
    use anonymize_core::vendor::VendorReply;

    async fn run(vendor: &MemoryAnonymizer, args: &[&str]) -> (u8, String, String) {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = erase_args(vendor, &args, &mut out, &mut err).await;
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[tokio::test]
    async fn one_line_per_argument_in_order() {
        let vendor = MemoryAnonymizer::new("mem")
            .with_user("1", "jane@example.com")
            .with_user("2", "john@example.com")
            .with_rejected("3", "the owner");
        let (code, out, err) = run(
            &vendor,
            &[
                "1",
                "JOHN@example.com",
                "3",
                "9",
                "bad@",
                "nobody@example.com",
                "1",
                "",
            ],
        )
        .await;
        assert_eq!(code, EXIT_OK, "{err}");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines,
            [
                "1\tanonymized anonymized in memory",
                "JOHN@example.com\tanonymized anonymized in memory",
                "3\trejected the owner",
                "9\tnot_found",
                "bad@\tinvalid not a valid e-mail address",
                "nobody@example.com\tnot_found",
                "1\tanonymized anonymized in memory",
                "\tinvalid the id is empty",
            ]
        );
    }

    #[tokio::test]
    async fn refused_credentials_stop_the_run_with_a_line_per_argument() {
        let vendor = MemoryAnonymizer::new("mem").with_user("1", "jane@example.com");
        vendor.fail_with(Error::Unauthenticated(VendorReply::new(
            "mem",
            "anonymize",
            anonymize_core::reqwest::StatusCode::UNAUTHORIZED,
            Some("invalid_token".into()),
            None,
        )));
        let (code, out, err) = run(&vendor, &["1", "jane@example.com"]).await;
        assert_eq!(code, EXIT_RUN_FAILED);
        assert_eq!(out.lines().count(), 2, "{out}");
        assert!(
            out.lines()
                .all(|l| l.ends_with("\tfailed not attempted: the run stopped")),
            "{out}"
        );
        assert!(
            err.starts_with("mem: the run stopped: unauthenticated"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn an_unreachable_server_fails_the_run() {
        let vendor = MemoryAnonymizer::new("mem").with_user("1", "jane@example.com");
        vendor.fail_with(Error::Transport {
            vendor: "mem",
            operation: "anonymize",
            source: std::sync::Arc::new(std::io::Error::other("refused")),
            tries: None,
        });
        let (code, out, err) = run(&vendor, &["1", "2"]).await;
        assert_eq!(code, EXIT_RUN_FAILED);
        assert_eq!(out.lines().count(), 2);
        assert!(err.contains("could not be reached"), "{err}");
    }
}
