//! `anonymize`: erase persons at every configured vendor from a CSV or JSON-lines file.
//!
//! ```text
//! anonymize plan --input people.csv                       look up only; says what run would do
//! anonymize run --input people.csv --receipts r.jsonl     erase, with progress, receipts, resume
//! anonymize receipts summarize r.jsonl                    counts per vendor and outcome
//! anonymize receipts verify r.jsonl                       checks the MAC chain (needs the key)
//! anonymize receipts find --email jane@example.com r.jsonl   needs the receipt key
//! anonymize demo                                          all of it against the simulators
//! ```
//!
//! Vendors are configured from the environment, the same variables as the examples and each
//! client's `from_env()`; the receipt key is `ANONYMIZE_RECEIPT_KEY` (64 or more hex digits).
//! `docs/erasure.md` has the whole story.

mod demo;
mod input;
mod plan;
mod progress;
mod receipts;
mod run;
mod scan;
mod signals;
mod summary;
mod vendors;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anonymize_core::ReceiptKey;
use anonymize_core::secrecy::SecretString;
use clap::{Args, Parser, Subcommand};

use crate::vendors::Vendors;

/// Every person was done at every vendor (or, for `plan`, the input is clean).
pub(crate) const EXIT_OK: u8 = 0;
/// The command ran, but some persons are not done (see its output), or `find` found nothing.
pub(crate) const EXIT_NOT_DONE: u8 = 1;
/// Bad usage, configuration or input, or the receipts file is another run's: nothing was sent.
pub(crate) const EXIT_USAGE: u8 = 2;
/// A record could not be written (a full disk, an I/O error): the run stopped, and sent nothing
/// whose intent is not on file (its output says which erasures are in doubt).
pub(crate) const EXIT_RECORD: u8 = 3;

/// The environment variable that holds the receipt key.
pub(crate) const KEY_VARIABLE: &str = "ANONYMIZE_RECEIPT_KEY";

/// Erase persons at every configured vendor (GDPR Art. 17), with a plan first, progress,
/// receipts that name nobody, and resume after a crash.
#[derive(Parser)]
#[command(name = "anonymize", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Look every person up at every configured vendor and say what `run` would erase. Sends
    /// only reads; reports every bad input line.
    Plan {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        tuning: Tuning,
    },
    /// Erase every person of the input at every configured vendor, appending a receipt per
    /// person and vendor; persons already done according to the receipts file are skipped.
    Run {
        #[command(flatten)]
        input: InputArgs,
        /// The receipts file (JSON lines), created or continued.
        #[arg(long, value_name = "FILE")]
        receipts: PathBuf,
        /// Leave out bad input lines instead of refusing to start.
        #[arg(long)]
        skip_invalid: bool,
        /// After Ctrl-C, how long to wait for the requests in flight before giving up on them
        /// (they are retried on the next run).
        #[arg(long, value_name = "SECONDS", default_value_t = 30)]
        grace: u64,
        /// Share every vendor's rate limits with the other workers through this Redis
        /// (`redis://HOST:PORT/`, `rediss://…`), or ANONYMIZE_SHARED_LIMITS (better for a URL
        /// with a password: a command line is visible to other users). See docs/shared-limits.md.
        #[arg(long, value_name = "URL")]
        shared_limits: Option<String>,
        #[command(flatten)]
        tuning: Tuning,
    },
    /// Read a receipts file.
    #[command(subcommand)]
    Receipts(ReceiptsCommand),
    /// Run plan, run and summarize against the built-in vendor simulators, with a demo key: no
    /// account, no setup.
    Demo,
}

#[derive(Subcommand)]
enum ReceiptsCommand {
    /// Counts per vendor and outcome (each person's latest receipt), and how many persons are
    /// erased everywhere.
    Summarize {
        /// The receipts file.
        file: PathBuf,
    },
    /// Check every line's MAC (needs the receipt key): says `ok` with the counts, or names the
    /// first line that was edited, or after which lines were removed, inserted or moved.
    Verify {
        /// The receipts file.
        file: PathBuf,
    },
    /// Every receipt about one e-mail address: needs the key the receipts were written with.
    Find {
        /// The address to look for.
        #[arg(long)]
        email: String,
        /// The receipts file.
        file: PathBuf,
    },
}

#[derive(Args)]
struct InputArgs {
    /// The persons: CSV with a header (`email`, `guardhouse_id`, `alfabet_ref`,
    /// `learning360_id`), or JSON lines with the same fields for a file named `*.jsonl`. `-`
    /// (standard input) or a pipe is read once, to a private temporary copy.
    #[arg(long, value_name = "FILE")]
    input: PathBuf,
}

#[derive(Args, Clone, Copy)]
pub(crate) struct Tuning {
    /// How many batches each vendor works on at once (each vendor's own limits apply within).
    #[arg(long, value_name = "N", default_value_t = anonymize_core::DEFAULT_CONCURRENCY)]
    pub(crate) concurrency: usize,
    /// How many persons one batch holds (one look-up and one erasure call per batch).
    #[arg(long, value_name = "N", default_value_t = anonymize_core::DEFAULT_BATCH_SIZE)]
    pub(crate) batch_size: usize,
    /// Seconds between two progress lines when stderr is not a terminal.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub(crate) progress_every: f64,
}

impl Tuning {
    pub(crate) fn progress_every(&self) -> Duration {
        Duration::try_from_secs_f64(self.progress_every).unwrap_or(Duration::from_secs(10))
    }
}

/// What a command works with: the vendors and, when set, the receipt key.
pub(crate) struct Context {
    pub(crate) vendors: Vendors,
    pub(crate) key: Option<ReceiptKey>,
}

/// Print to stdout (the command's result; progress and warnings go to stderr).
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// Print to stderr.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

/// The receipt key from the environment: `None` when unset; a malformed one is an error that
/// never repeats it.
fn key_from_env() -> Result<Option<ReceiptKey>, String> {
    match std::env::var(KEY_VARIABLE) {
        Ok(text) if !text.trim().is_empty() => ReceiptKey::from_hex(&SecretString::from(text))
            .map(Some)
            .map_err(|e| format!("{KEY_VARIABLE}: {e}")),
        _ => Ok(None),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            warn!("cannot start: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    ExitCode::from(runtime.block_on(dispatch(cli.command)))
}

async fn dispatch(command: Command) -> u8 {
    if let Command::Demo = command {
        return demo::demo().await;
    }
    let key = match key_from_env() {
        Ok(key) => key,
        Err(e) => {
            warn!("{e}");
            return EXIT_USAGE;
        }
    };
    if let Command::Receipts(ReceiptsCommand::Summarize { file }) = command {
        return summary::summarize(&file, key.as_ref());
    }
    if let Command::Receipts(ReceiptsCommand::Verify { file }) = command {
        return summary::verify(key.as_ref(), &file);
    }
    if let Command::Receipts(ReceiptsCommand::Find { email, file }) = command {
        return summary::find(key.as_ref(), &email, &file);
    }
    let shared_limits = match &command {
        Command::Run { shared_limits, .. } => shared_limits.clone(),
        _ => None,
    };
    let env = |name: &str| std::env::var(name).ok();
    let vendors = match Vendors::with_shared_limits(&env, shared_limits).await {
        Ok(v) => v,
        Err(e) => {
            warn!("{e}");
            return EXIT_USAGE;
        }
    };
    let ctx = Context { vendors, key };
    // The input is read more than once: a pipe or standard input is read once, to a copy.
    let source = match &command {
        Command::Plan { input, .. } | Command::Run { input, .. } => {
            match input::Source::new(&input.input) {
                Ok(source) => source,
                Err(e) => {
                    warn!("{e}");
                    return EXIT_USAGE;
                }
            }
        }
        Command::Demo | Command::Receipts(_) => unreachable!("handled above"),
    };
    match command {
        Command::Plan { tuning, .. } => plan::plan(&ctx, source.path(), tuning).await,
        Command::Run {
            receipts,
            skip_invalid,
            grace,
            tuning,
            ..
        } => {
            let options = run::Options {
                input: source.path().to_owned(),
                receipts,
                skip_invalid,
                grace: Duration::from_secs(grace),
                tuning,
            };
            run::run(ctx, options).await
        }
        Command::Demo | Command::Receipts(_) => unreachable!("handled above"),
    }
}
