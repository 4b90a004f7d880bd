//! `anonymize`: erase persons at every configured vendor from a CSV or JSON-lines file.
//!
//! ```text
//! anonymize plan --input people.csv                       look up only; says what run would do
//! anonymize run --input people.csv --receipts r.jsonl     erase, with progress, receipts, resume
//! anonymize receipts summarize r.jsonl [more.jsonl…]     counts per vendor and outcome
//! anonymize receipts verify r.jsonl                       checks the MAC chain (needs the key)
//! echo jane@example.com | anonymize receipts find --email - r.jsonl   needs the receipt key
//! anonymize demo                                          all of it against the simulators
//! ```
//!
//! Vendors are configured from the environment, the same variables as the examples and each
//! client's `from_env()`; the receipt key is `ANONYMIZE_RECEIPT_KEY` (64 or more hex digits).
//! `--json` on `plan`, `run` and `receipts …` prints one JSON document on stdout instead of the
//! text. `docs/erasure.md` has the whole story.

mod demo;
mod input;
mod output;
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
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

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
    /// Log what the clients do on stderr: -v for each call's retries and 429s, -vv for every
    /// call, attempt, batch and person (by a prefix of their receipt name, never an address).
    /// `RUST_LOG` (e.g. `anonymize_core=debug`) overrides it.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// How log lines are written: `text`, or `json` (one object per line).
    #[arg(long, value_name = "FORMAT", default_value = "text", global = true)]
    log_format: LogFormat,
}

/// How log lines are written on stderr.
#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// The crates whose spans and events `-v` and `-vv` turn on: ours, never a dependency's (some
/// log URLs, headers or bodies at DEBUG).
const LOG_TARGETS: [&str; 5] = [
    "anonymize",
    "anonymize_core",
    "guardhouse_client",
    "alfabet_client",
    "learning360_client",
];

/// Install the subscriber for the clients' spans and events: warnings only by default, our
/// crates at INFO with `-v` and DEBUG with `-vv`, or what `RUST_LOG` says; on stderr.
fn init_logging(verbose: u8, format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => EnvFilter::new(spec),
        _ => {
            let level = match verbose {
                0 => "warn",
                1 => "info",
                _ => "debug",
            };
            let mut spec = String::from("warn");
            for target in LOG_TARGETS {
                spec.push_str(&format!(",{target}={level}"));
            }
            EnvFilter::new(spec)
        }
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .try_init(),
        LogFormat::Json => builder
            .json()
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .try_init(),
    };
    if let Err(e) = installed {
        warn!("cannot log: {e}");
    }
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
        #[command(flatten)]
        format: Format,
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
        /// Check each erasure at the vendor after it answered, where the vendor allows it
        /// (Guardhouse reads the user back; 360Learning checks the pseudonymized user against the
        /// user read before; Alfabet cannot be checked): the receipts say how and when, and a
        /// failed check is a warning. Costs the vendor's reads.
        #[arg(long)]
        verify: bool,
        /// Share every vendor's rate limits with the other workers through this Redis
        /// (`redis://HOST:PORT/`, `rediss://…`), or ANONYMIZE_SHARED_LIMITS (better for a URL
        /// with a password: a command line is visible to other users). See docs/shared-limits.md.
        #[arg(long, value_name = "URL")]
        shared_limits: Option<String>,
        #[command(flatten)]
        tuning: Tuning,
        #[command(flatten)]
        format: Format,
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
    /// erased everywhere. Several files (one per worker of a sharded run) count each person once.
    Summarize {
        /// The receipts files (written with one key).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        #[command(flatten)]
        format: Format,
    },
    /// Check every line's MAC (needs the receipt key): says `ok` with the counts, or names the
    /// first line that was edited, or after which lines were removed, inserted or moved.
    Verify {
        /// The receipts file.
        file: PathBuf,
        #[command(flatten)]
        format: Format,
    },
    /// Every receipt about one e-mail address: needs the key the receipts were written with.
    Find {
        /// The address to look for; `-` reads it from standard input, so that it appears
        /// neither in the shell's history nor in `ps`.
        #[arg(long, value_name = "ADDRESS")]
        email: String,
        /// The receipts file.
        file: PathBuf,
        #[command(flatten)]
        format: Format,
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
struct Format {
    /// Print one JSON document on stdout instead of the text (with `"exit"`, the exit status;
    /// progress and warnings stay on stderr).
    #[arg(long)]
    json: bool,
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

/// Print a line of the command's result to stdout (nothing with `--json`: see `output`).
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::output::say(format_args!($($arg)*))
    };
}

/// Print a line to stderr: progress, a warning, an error.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => {
        $crate::output::warn(format_args!($($arg)*))
    };
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

/// The first line of standard input, without its line end: an address given with `--email -`.
fn read_address() -> std::io::Result<String> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

/// The command line, with each subcommand's `--help` ending in its environment variables and
/// exit statuses (the vendors' variables read from the one list the command uses).
fn parse() -> Cli {
    let exits = |codes: &[(&str, &str)]| {
        let mut text = String::from("Exit status:\n");
        for (code, meaning) in codes {
            text.push_str(&format!("  {code:<6} {meaning}\n"));
        }
        text
    };
    let mut vendors = String::new();
    for spec in &vendors::SPECS {
        vendors.push_str(&format!(
            "  {:<12} {}\n  {:<12} tuning: {}\n",
            spec.name,
            spec.variables.join(", "),
            "",
            spec.tuning.join(", ")
        ));
    }
    let environment = |key_use: &str| {
        format!(
            "Environment:\n  {KEY_VARIABLE}  the receipt key, 64 or more hex digits \
             (`openssl rand -hex 32`): {key_use}\n  Vendors (one none of whose variables is set is \
             skipped; see docs/erasure.md):\n{vendors}"
        )
    };
    let usage_exit = (
        "2",
        "bad usage, configuration or input, or an unreadable file: nothing was sent",
    );
    let helps = [
        (
            "plan",
            format!(
                "{}\n{}",
                environment("optional; names persons as the receipts do"),
                exits(&[
                    (
                        "0",
                        "every person was looked up at every vendor, and the input is clean"
                    ),
                    ("1", "some look-ups failed (see the first error per vendor)"),
                    usage_exit,
                ])
            ),
        ),
        (
            "run",
            format!(
                "{}\n{}",
                environment("required"),
                exits(&[
                    ("0", "every person is done at every vendor"),
                    (
                        "1",
                        "some persons are not done (the output says what to do)"
                    ),
                    (
                        "2",
                        "bad usage, configuration or input, or the receipts file is another \
                         run's, damaged or written with another key: nothing was sent",
                    ),
                    (
                        "3",
                        "a record could not be written (a full disk, an I/O error): the run \
                         stopped; every erasure sent has its intent on file",
                    ),
                    (
                        "128+n",
                        "stopped by signal n: 130 SIGINT, 143 SIGTERM, 129 SIGHUP; run again \
                         to finish",
                    ),
                ])
            ),
        ),
    ];
    let receipts_helps = [
        (
            "summarize",
            format!(
                "{}\n{}",
                environment("optional; with it every MAC is checked"),
                exits(&[("0", "the files were read"), usage_exit])
            ),
        ),
        (
            "verify",
            format!(
                "{}\n{}",
                environment("required"),
                exits(&[
                    ("0", "ok: every line's MAC matches"),
                    (
                        "1",
                        "NOT ok (the first bad line is named), or a version 1 file without MACs"
                    ),
                    usage_exit,
                ])
            ),
        ),
        (
            "find",
            format!(
                "{}\n{}",
                environment("required"),
                exits(&[
                    (
                        "0",
                        "erased at every vendor the receipts name for this address"
                    ),
                    (
                        "1",
                        "no receipt names the address, or it is not erased at some vendor"
                    ),
                    usage_exit,
                ])
            ),
        ),
    ];
    let mut command = Cli::command();
    for (name, help) in helps {
        command = command.mut_subcommand(name, |c| c.after_help(help));
    }
    command = command.mut_subcommand("receipts", |mut c| {
        for (name, help) in receipts_helps {
            c = c.mut_subcommand(name, |c| c.after_help(help));
        }
        c
    });
    let matches = command.get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

fn main() -> ExitCode {
    let cli = parse();
    init_logging(cli.verbose, cli.log_format);
    output::set_json(match &cli.command {
        Command::Plan { format, .. } | Command::Run { format, .. } => format.json,
        Command::Receipts(
            ReceiptsCommand::Summarize { format, .. }
            | ReceiptsCommand::Verify { format, .. }
            | ReceiptsCommand::Find { format, .. },
        ) => format.json,
        Command::Demo => false,
    });
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
    let exit = runtime.block_on(dispatch(cli.command));
    output::finish(exit);
    ExitCode::from(exit)
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
    if let Command::Receipts(ReceiptsCommand::Summarize { files, .. }) = command {
        return summary::summarize(&files, key.as_ref());
    }
    if let Command::Receipts(ReceiptsCommand::Verify { file, .. }) = command {
        return summary::verify(key.as_ref(), &file);
    }
    if let Command::Receipts(ReceiptsCommand::Find { email, file, .. }) = command {
        let email = if email == "-" {
            match read_address() {
                Ok(email) => email,
                Err(e) => {
                    warn!("--email -: cannot read the address from standard input: {e}");
                    return EXIT_USAGE;
                }
            }
        } else {
            email
        };
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
            verify,
            tuning,
            ..
        } => {
            let options = run::Options {
                input: source.path().to_owned(),
                receipts,
                skip_invalid,
                grace: Duration::from_secs(grace),
                verify,
                tuning,
            };
            run::run(ctx, options).await
        }
        Command::Demo | Command::Receipts(_) => unreachable!("handled above"),
    }
}
