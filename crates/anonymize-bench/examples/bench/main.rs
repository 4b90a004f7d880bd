//! The SDK's cost, measured side by side with plain reqwest against a minimal server on loopback.
//!
//! ```text
//! cargo run --release -p anonymize-bench --example bench            # everything, about 2 minutes
//! cargo run --release -p anonymize-bench --example bench -- --rounds 15    # more rounds
//! cargo run --release -p anonymize-bench --example bench -- --no-360       # without 360Learning
//! cargo run --release -p anonymize-bench --example bench -- --no-pin       # threads not pinned
//! cargo run --release -p anonymize-bench --example bench -- --profile alfabet-sdk-100 10
//! cargo run --release -p anonymize-bench --features metrics --example bench  # `metrics` on
//! ```
//!
//! `--profile NAME[,NAME…] SECONDS` runs the variants named in turn, over and over (a fresh
//! client each run), for a profiler such as `perf record -g` to watch; `--help` lists the names
//! (`sequential-plain`, `bulk-sdk-32`, `alfabet-sdk-100`…).
//!
//! One process: a hyper 1 HTTP/1.1 server on 127.0.0.1 (its own thread and single-threaded
//! runtime, keep-alive on) plays just enough of Guardhouse, Alfabet and 360Learning for the SDK's
//! real clients, built with their public builders; the client side runs on a single-threaded tokio
//! runtime on the main thread. Plain reqwest sends the same requests (same paths, headers, the
//! SDK's `User-Agent` among them, and bodies, one `reqwest::Client` per round, the token fetched
//! once) and reads the same answers.
//! With two CPUs or more, the client thread is pinned to CPU 0 and the server thread to CPU 1
//! (with util-linux's `taskset`, when it is there): left to itself, the scheduler sometimes runs
//! both on one core and sometimes not, which changes the time of a request several-fold from one
//! run to the next.
//!
//! Every round (default 15, after one warm-up round) builds fresh clients for every variant and
//! runs them all, the order rotated from round to round. The sequential Guardhouse variants take
//! turns slice by slice (20 slices of 100 ids, the order rotated every slice), so that the
//! machine's slow moments, which swamp a few microseconds a request, hit them alike; a variant's
//! time for the round is the sum of its slices. The bulk and Alfabet variants run whole (one
//! `anonymize` call for the whole list: the memory of 10,000 outcomes is part of a batch's cost),
//! 5 times a round, taking turns run by run; their time for the round is the mean of its runs,
//! and the server's counts are those of the first run.
//! Each round prints its ratios SDK ÷ plain reqwest:
//!
//! 1. Guardhouse, 2,000 ids one after the other: plain reqwest PUTs vs the SDK with one id per
//!    `Anonymizer::anonymize` call, and vs the SDK's batch path at concurrency 1 (one `anonymize`
//!    call per slice of 100 ids): time ratios, lower is better;
//! 2. 10,000 Guardhouse users in bulk: plain reqwest with 32 requests in flight vs the SDK at
//!    `concurrency(32)` and at its default: throughput ratios, higher is better;
//! 3. Alfabet, 10,000 refs in batches of 100 and of 1,000: the SDK vs plain reqwest sending the
//!    same batches one after the other (time ratios), with the server's request count;
//! 4. 1,000 concurrent first calls through clones of one fresh Guardhouse client: the token
//!    requests the server saw.
//!
//! Then the peak RSS growth of whole 10,000-user bulk runs, SDK vs plain, each in a fresh child
//! process of this same program (so that no earlier run's freed heap hides what a run needs):
//! `VmHWM` reset through `/proc/self/clear_refs` before the run, read after it, minus `VmRSS`
//! before it. And (unless `--no-360`) 360Learning: a fresh client with its default limits erases
//! 40 users (80 writes) against a server that answers 429 to any write beyond 10 in any second of
//! arrival time, with 0, 20 and 50 ms of delay before each answer, three rounds each: writes per
//! second (accepted erasure writes ÷ time from the first one's arrival to the last one's) and the
//! 429s.
//!
//! It ends with a markdown table for docs/benchmarks.md. Absolute times depend on the machine and
//! its load; the ratios are what the docs compare.
#![allow(clippy::print_stdout)]

mod server;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alfabet_client::AlfabetClient;
use anonymize_core::reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use anonymize_core::reqwest::{self, StatusCode};
use anonymize_core::secrecy::SecretString;
use anonymize_core::url::Url;
use anonymize_core::{Anonymizer, HttpConfig, Outcome, UserOutcome};
use futures_util::{StreamExt, stream};
use guardhouse_client::GuardhouseClient;
use learning360_client::Learning360Client;

use crate::server::{Counts, State};

const SEQUENTIAL_USERS: usize = 2_000;
const SEQUENTIAL_SLICE: usize = 100;
const BULK_USERS: usize = 10_000;
const BULK_IN_FLIGHT: usize = 32;
/// The command's options, with the variants `--profile` can name.
fn usage() -> String {
    let names: Vec<String> = Variant::all().into_iter().map(Variant::name).collect();
    format!(
        "usage: cargo run --release -p anonymize-bench --example bench -- [--rounds N] [--no-360] [--no-pin] \
         [--profile NAME[,NAME…] SECONDS]
  --rounds N        rounds of the ratios (default {DEFAULT_ROUNDS})
  --no-360          skip the 360Learning rate-limit part
  --no-pin          let the scheduler place the client and server threads
  --profile …       run the named variants in a loop for a profiler; names: {}",
        names.join(", ")
    )
}

/// Print what is wrong and the usage, and exit 2.
fn usage_error(what: &str) -> ! {
    eprintln!("bench: {what}\n\n{}", usage());
    std::process::exit(2);
}
const ALFABET_REFS: usize = 10_000;
const ALFABET_BATCHES: [usize; 2] = [100, 1_000];
const FIRST_CALLS: usize = 1_000;
const RSS_ROUNDS: usize = 5;
const RSS_WARM_UP_USERS: usize = 100;
const L360_USERS: usize = 40;
const L360_DELAYS_MS: [u64; 3] = [0, 20, 50];
const L360_ROUNDS: usize = 3;
const DEFAULT_ROUNDS: usize = 15;

/// Guardhouse's body with the client's default options, as the SDK serializes them.
const GUARDHOUSE_BODY: &[u8] = br#"{"triggerWebhook":false,"notifyUserViaEmail":false}"#;
const SECRET: &str = "bench-secret";

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Variant {
    SequentialPlain,
    SequentialSdkEach,
    SequentialSdkBatch,
    BulkPlain,
    BulkSdk32,
    BulkSdkDefault,
    AlfabetPlain(usize),
    AlfabetSdk(usize),
}

impl Variant {
    fn label(self) -> String {
        match self {
            Variant::SequentialPlain => "guardhouse sequential, plain".into(),
            Variant::SequentialSdkEach => "guardhouse sequential, SDK one id per call".into(),
            Variant::SequentialSdkBatch => "guardhouse sequential, SDK batch".into(),
            Variant::BulkPlain => format!("bulk, plain {BULK_IN_FLIGHT} in flight"),
            Variant::BulkSdk32 => format!("bulk, SDK concurrency({BULK_IN_FLIGHT})"),
            Variant::BulkSdkDefault => "bulk, SDK default concurrency".into(),
            Variant::AlfabetPlain(b) => format!("alfabet batch {b}, plain"),
            Variant::AlfabetSdk(b) => format!("alfabet batch {b}, SDK"),
        }
    }

    /// Every variant, group by group.
    fn all() -> Vec<Variant> {
        Group::ALL.into_iter().flat_map(Group::variants).collect()
    }

    /// The name `--profile` and `--rss-child` take, e.g. `bulk-sdk-32`, `alfabet-plain-100`.
    fn name(self) -> String {
        match self {
            Variant::SequentialPlain => "sequential-plain".into(),
            Variant::SequentialSdkEach => "sequential-sdk-each".into(),
            Variant::SequentialSdkBatch => "sequential-sdk-batch".into(),
            Variant::BulkPlain => "bulk-plain".into(),
            Variant::BulkSdk32 => format!("bulk-sdk-{BULK_IN_FLIGHT}"),
            Variant::BulkSdkDefault => "bulk-sdk-default".into(),
            Variant::AlfabetPlain(b) => format!("alfabet-plain-{b}"),
            Variant::AlfabetSdk(b) => format!("alfabet-sdk-{b}"),
        }
    }

    /// The variant called `name`.
    fn from_name(name: &str) -> Option<Self> {
        Variant::all().into_iter().find(|v| v.name() == name)
    }

    /// The group it takes turns in.
    fn group(self) -> Group {
        Group::ALL
            .into_iter()
            .find(|g| g.variants().contains(&self))
            .expect("every variant is in a group")
    }
}

/// A group of variants that take turns slice by slice over the same ids.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Group {
    Sequential,
    Bulk,
    Alfabet,
    FirstCalls,
}

impl Group {
    const ALL: [Group; 4] = [
        Group::Sequential,
        Group::Bulk,
        Group::Alfabet,
        Group::FirstCalls,
    ];

    fn variants(self) -> Vec<Variant> {
        match self {
            Group::Sequential => vec![
                Variant::SequentialPlain,
                Variant::SequentialSdkEach,
                Variant::SequentialSdkBatch,
            ],
            Group::Bulk => vec![
                Variant::BulkPlain,
                Variant::BulkSdk32,
                Variant::BulkSdkDefault,
            ],
            Group::Alfabet => ALFABET_BATCHES
                .into_iter()
                .flat_map(|b| [Variant::AlfabetPlain(b), Variant::AlfabetSdk(b)])
                .collect(),
            Group::FirstCalls => Vec::new(),
        }
    }

    /// How many times each variant runs the whole list in a round, taking turns run by run: a
    /// run of 10 ms (Alfabet) or 150 ms (bulk) is short enough for one slow moment of the machine
    /// to decide a round's ratio; the round's figure is the mean of its runs. Only the first run
    /// of a round's fresh client pays for its connections and its token, which weighs against
    /// the SDK (the costs both sides share count less).
    fn repeats(self) -> u32 {
        match self {
            Group::Sequential | Group::FirstCalls => 1,
            Group::Bulk => 5,
            Group::Alfabet => 5,
        }
    }
}

/// A variant's client for one round.
enum Client {
    /// A `reqwest::Client` and, once fetched, the `Authorization` value.
    Plain(reqwest::Client, Option<HeaderValue>),
    Guardhouse(GuardhouseClient),
    Alfabet(AlfabetClient),
}

/// One variant's round: its time (the sum of its slices) and what the server saw.
#[derive(Clone, Copy, Debug, Default)]
struct Run {
    elapsed: Duration,
    counts: Counts,
}

/// One round of the concurrent first calls.
#[derive(Clone, Copy, Debug)]
struct FirstCallsRun {
    elapsed: Duration,
    tokens: u64,
}

struct Bench {
    base: Url,
    state: Arc<State>,
    sequential_ids: Vec<String>,
    bulk_ids: Vec<String>,
    refs: Vec<String>,
    runs: HashMap<Variant, Vec<Run>>,
    first_calls: Vec<FirstCallsRun>,
}

fn main() {
    let mut rounds = DEFAULT_ROUNDS;
    let mut with_360 = true;
    let mut pin = true;
    let mut rss_child = None;
    let mut profile = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => {
                rounds = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| *n >= 1)
                    .expect("--rounds takes a number of at least 1");
            }
            "--no-360" => with_360 = false,
            "--no-pin" => pin = false,
            "--rss-child" => rss_child = Some(args.next().expect("--rss-child takes a variant")),
            "--profile" => {
                let names = args
                    .next()
                    .unwrap_or_else(|| usage_error("--profile takes variants and seconds"));
                let variants: Vec<Variant> = names
                    .split(',')
                    .map(|name| {
                        Variant::from_name(name).unwrap_or_else(|| {
                            usage_error(&format!("no variant is called {name:?}"))
                        })
                    })
                    .collect();
                let seconds = args
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or_else(|| usage_error("--profile takes variants and seconds"));
                profile = Some((variants, Duration::from_secs(seconds)));
            }
            "--help" | "-h" => {
                println!("{}", usage());
                return;
            }
            other => usage_error(&format!("unknown argument {other:?}")),
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("the client's runtime");
    // The client on CPU 0, the server on CPU 1: every request crosses from one core to the other,
    // as it would to a server elsewhere, and the scheduler cannot switch between that and running
    // both on one core (which changes the time of a request several-fold) from one run to the next.
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let pin = pin && cpus >= 2;
    let client_pinned = pin && pin_this_thread(0);
    let (addr, state, server_pinned) = server::start(pin.then_some(1));
    let pinned = client_pinned && server_pinned;
    let bench = Bench {
        base: Url::parse(&format!("http://{addr}/")).expect("the server's URL"),
        state,
        sequential_ids: (1..=SEQUENTIAL_USERS).map(|i| i.to_string()).collect(),
        bulk_ids: (1..=BULK_USERS)
            .map(|i| (100_000 + i).to_string())
            .collect(),
        refs: (1..=ALFABET_REFS).map(|i| format!("421-{i}-0")).collect(),
        runs: HashMap::new(),
        first_calls: Vec::new(),
    };
    if let Some(name) = rss_child {
        runtime.block_on(bench.rss_child(&name));
        return;
    }
    if let Some((variants, seconds)) = profile {
        runtime.block_on(bench.profile(&variants, seconds));
        return;
    }

    if cfg!(debug_assertions) {
        println!("WARNING: a debug build; the figures mean little. Use --release.\n");
    }
    let machine = Machine::read(cpus, pinned);
    machine.print();
    let started = Instant::now();
    runtime.block_on(async move {
        let mut bench = bench;
        bench.ratio_rounds(rounds).await;
        let rss = rss_rounds();
        let l360 = if with_360 {
            Some(bench.learning360_rounds().await)
        } else {
            None
        };
        let load_after = load_average();
        println!(
            "\nload average at the end: {load_after}; total time {:.0} s",
            started.elapsed().as_secs_f64()
        );
        bench.print_table(&machine, &load_after, rounds, &rss, l360.as_ref());
    });
}

// ---------------------------------------------------------------------------------------------
// The machine

struct Machine {
    cpus: usize,
    model: String,
    arch: &'static str,
    kernel: String,
    rustc: String,
    load_before: String,
    pinned: bool,
}

impl Machine {
    fn read(cpus: usize, pinned: bool) -> Self {
        let model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, m)| m.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        let rustc = std::process::Command::new(std::env::var("RUSTC").unwrap_or("rustc".into()))
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_else(|| "rustc: unknown".into());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|k| format!("Linux {}", k.trim()))
            .unwrap_or_else(|_| std::env::consts::OS.into());
        Machine {
            cpus,
            model,
            arch: std::env::consts::ARCH,
            kernel,
            rustc,
            load_before: load_average(),
            pinned,
        }
    }

    fn print(&self) {
        println!(
            "machine: {} CPUs ({}), {} {}",
            self.cpus, self.model, self.arch, self.kernel
        );
        println!("toolchain: {}", self.rustc);
        println!("load average at the start: {}", self.load_before);
        println!("threads: {}", self.threads());
        if let Some(limit) = open_files_limit()
            && limit < 2 * FIRST_CALLS as u64 + 100
        {
            println!(
                "WARNING: the open-file limit is {limit}; the {FIRST_CALLS} concurrent first \
                 calls open about {} sockets (raise it with `ulimit -n 4096`)",
                2 * FIRST_CALLS
            );
        }
    }
}

impl Machine {
    fn threads(&self) -> &'static str {
        if self.pinned {
            "client on CPU 0, server on CPU 1 (pinned with taskset)"
        } else {
            "client and server threads not pinned (the scheduler places them)"
        }
    }
}

/// Pin the calling thread to `cpu` with util-linux's `taskset` (by its thread id, read from
/// `/proc/thread-self`); `false` when that is not possible here.
fn pin_this_thread(cpu: usize) -> bool {
    let Ok(link) = std::fs::read_link("/proc/thread-self") else {
        return false;
    };
    let Some(tid) = link.file_name().and_then(|t| t.to_str()).map(str::to_owned) else {
        return false;
    };
    std::process::Command::new("taskset")
        .args(["-p", "-c", &cpu.to_string(), &tid])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// A `kB` figure of /proc/self/status, in bytes.
fn status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn all_anonymized(outcomes: &[UserOutcome], expected: usize) -> bool {
    outcomes.len() == expected
        && outcomes
            .iter()
            .all(|o| matches!(o.outcome, Outcome::Anonymized(_)))
}

// ---------------------------------------------------------------------------------------------
// Plain reqwest: what a hand-written client sends (same paths, headers and bodies)

/// A token with a form-encoded grant; returns the `Authorization` value (`{token_type} {token}`).
async fn plain_token(client: &reqwest::Client, url: String, form: &'static str) -> HeaderValue {
    let response = client
        .post(url)
        .header(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        )
        .body(form)
        .send()
        .await
        .expect("plain token request");
    assert_eq!(response.status(), StatusCode::OK, "plain token request");
    let body = response.bytes().await.expect("plain token answer");
    let answer: serde_json::Value = serde_json::from_slice(&body).expect("a JSON token answer");
    let token = answer["access_token"].as_str().expect("an access_token");
    let scheme = answer["token_type"].as_str().unwrap_or("Bearer");
    HeaderValue::from_str(&format!("{scheme} {token}")).expect("a header value")
}

async fn plain_guardhouse_token(client: &reqwest::Client, base: &str) -> HeaderValue {
    plain_token(
        client,
        format!("{base}connect/token"),
        "grant_type=client_credentials&client_id=bench&client_secret=bench-secret&scope=system_api",
    )
    .await
}

/// Plain reqwest's client: its defaults, with the `User-Agent` the SDK sends, so that both send
/// the same headers.
fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(HttpConfig::DEFAULT_USER_AGENT)
        .build()
        .expect("a reqwest client")
}

/// `PUT /api/v1/users/{id}/personal-data`, 204 expected, body read.
async fn plain_guardhouse_put(client: &reqwest::Client, base: &str, auth: &HeaderValue, id: &str) {
    let response = client
        .put(format!("{base}api/v1/users/{id}/personal-data"))
        .header(AUTHORIZATION, auth.clone())
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .body(GUARDHOUSE_BODY)
        .send()
        .await
        .expect("plain PUT");
    assert_eq!(response.status(), StatusCode::NO_CONTENT, "plain PUT");
    response.bytes().await.expect("plain PUT's answer");
}

/// 32 Guardhouse PUTs in flight over `ids`.
async fn plain_guardhouse_bulk(
    client: &reqwest::Client,
    base: &str,
    auth: &HeaderValue,
    ids: &[String],
) {
    let done = stream::iter(ids)
        .map(|id| plain_guardhouse_put(client, base, auth, id))
        .buffer_unordered(BULK_IN_FLIGHT)
        .count()
        .await;
    assert_eq!(done, ids.len());
}

#[derive(serde::Serialize)]
struct AlfabetRequest<'a> {
    #[serde(rename = "Refs")]
    refs: &'a [String],
}

#[derive(serde::Deserialize)]
struct AlfabetAnswer {
    #[serde(rename = "Count")]
    count: u64,
    #[serde(rename = "RejectedObjects")]
    rejected: Vec<serde_json::Value>,
}

/// `PUT /api/v2/anonymizeuser` with these refs; the answer read and checked.
async fn plain_alfabet_batch(
    client: &reqwest::Client,
    base: &str,
    auth: &HeaderValue,
    refs: &[String],
) {
    let body = serde_json::to_vec(&AlfabetRequest { refs }).expect("a JSON body");
    let response = client
        .put(format!("{base}api/v2/anonymizeuser"))
        .header(AUTHORIZATION, auth.clone())
        .header(
            CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        )
        .body(body)
        .send()
        .await
        .expect("plain anonymizeuser");
    assert_eq!(response.status(), StatusCode::OK, "plain anonymizeuser");
    let body = response.bytes().await.expect("the answer");
    let answer: AlfabetAnswer = serde_json::from_slice(&body).expect("an anonymizeuser answer");
    assert!(answer.count == refs.len() as u64 && answer.rejected.is_empty());
}

// ---------------------------------------------------------------------------------------------
// The runs

impl Bench {
    fn guardhouse(&self, concurrency: Option<usize>) -> GuardhouseClient {
        let builder = GuardhouseClient::builder(self.base.clone())
            .client_credentials("bench", SecretString::from(SECRET));
        match concurrency {
            Some(n) => builder.concurrency(n),
            None => builder,
        }
        .build()
        .expect("a Guardhouse client")
    }

    fn alfabet(&self, batch_size: usize) -> AlfabetClient {
        AlfabetClient::builder(self.base.clone())
            .password("bench", SecretString::from(SECRET))
            .batch_size(batch_size)
            .build()
            .expect("an Alfabet client")
    }

    /// A fresh client for `variant` (built before the clock starts; its first request, with the
    /// token, is timed).
    fn client(&self, variant: Variant) -> Client {
        match variant {
            Variant::SequentialPlain | Variant::BulkPlain | Variant::AlfabetPlain(_) => {
                Client::Plain(plain_client(), None)
            }
            Variant::SequentialSdkEach | Variant::BulkSdkDefault => {
                Client::Guardhouse(self.guardhouse(None))
            }
            Variant::SequentialSdkBatch => Client::Guardhouse(self.guardhouse(Some(1))),
            Variant::BulkSdk32 => Client::Guardhouse(self.guardhouse(Some(BULK_IN_FLIGHT))),
            Variant::AlfabetSdk(batch) => Client::Alfabet(self.alfabet(batch)),
        }
    }

    /// Run `variant` over `ids` with `client`; returns the time it took (outcomes checked after
    /// the clock stops).
    async fn slice(&self, variant: Variant, client: &mut Client, ids: &[String]) -> Duration {
        let base = self.base.as_str();
        let started = Instant::now();
        let outcomes = match (variant, client) {
            (Variant::SequentialPlain, Client::Plain(c, auth)) => {
                if auth.is_none() {
                    *auth = Some(plain_guardhouse_token(c, base).await);
                }
                let auth = auth.as_ref().expect("a token");
                for id in ids {
                    plain_guardhouse_put(c, base, auth, id).await;
                }
                None
            }
            (Variant::BulkPlain, Client::Plain(c, auth)) => {
                if auth.is_none() {
                    *auth = Some(plain_guardhouse_token(c, base).await);
                }
                plain_guardhouse_bulk(c, base, auth.as_ref().expect("a token"), ids).await;
                None
            }
            (Variant::AlfabetPlain(batch), Client::Plain(c, auth)) => {
                if auth.is_none() {
                    let form = "grant_type=password&username=bench&password=bench-secret";
                    *auth = Some(plain_token(c, format!("{base}api/token"), form).await);
                }
                let auth = auth.as_ref().expect("a token");
                for refs in ids.chunks(batch) {
                    plain_alfabet_batch(c, base, auth, refs).await;
                }
                None
            }
            (Variant::SequentialSdkEach, Client::Guardhouse(c)) => {
                for id in ids {
                    let outcomes = c
                        .anonymize(std::slice::from_ref(id))
                        .await
                        .expect("no batch error");
                    assert!(all_anonymized(&outcomes, 1), "{outcomes:?}");
                }
                None
            }
            (
                Variant::SequentialSdkBatch | Variant::BulkSdk32 | Variant::BulkSdkDefault,
                Client::Guardhouse(c),
            ) => Some(c.anonymize(ids).await),
            (Variant::AlfabetSdk(_), Client::Alfabet(c)) => Some(c.anonymize(ids).await),
            (variant, _) => unreachable!("{variant:?} with another variant's client"),
        };
        let elapsed = started.elapsed();
        if let Some(outcomes) = outcomes {
            let outcomes = outcomes.expect("no batch error");
            assert!(all_anonymized(&outcomes, ids.len()), "{}", variant.label());
        }
        elapsed
    }

    /// The ids `group`'s variants run over.
    fn ids(&self, group: Group) -> &[String] {
        match group {
            Group::Sequential => &self.sequential_ids,
            Group::Bulk | Group::FirstCalls => &self.bulk_ids,
            Group::Alfabet => &self.refs,
        }
    }

    /// One round of `group`: fresh clients, then slice by slice (one slice for bulk and Alfabet),
    /// every variant in turn, the order rotated every slice and every round.
    async fn group_round(&self, group: Group, round: usize) -> HashMap<Variant, Run> {
        let variants = group.variants();
        let ids = self.ids(group);
        let size = match group {
            Group::Sequential => SEQUENTIAL_SLICE,
            // One call for the whole list: a batch's memory (10,000 outcomes) is part of its cost.
            Group::Bulk | Group::Alfabet => ids.len(),
            Group::FirstCalls => return HashMap::new(),
        };
        let repeats = group.repeats();
        let mut clients: Vec<Client> = variants.iter().map(|v| self.client(*v)).collect();
        let mut runs: Vec<Run> = vec![Run::default(); variants.len()];
        let slices = (0..repeats).flat_map(|repeat| ids.chunks(size).map(move |s| (repeat, s)));
        for (k, (repeat, slice)) in slices.enumerate() {
            for turn in 0..variants.len() {
                let i = (turn + k + round) % variants.len();
                let before = self.state.counts();
                let elapsed = self.slice(variants[i], &mut clients[i], slice).await;
                let counts = self.state.counts() - before;
                assert_eq!(counts.unexpected, 0, "{}", variants[i].label());
                runs[i].elapsed += elapsed;
                // What the server saw for one whole run of a fresh client: the first.
                if repeat == 0 {
                    runs[i].counts += counts;
                }
            }
        }
        for run in &mut runs {
            run.elapsed /= repeats;
        }
        variants.into_iter().zip(runs).collect()
    }

    /// 1,000 tasks, each anonymizing one distinct id through a clone of one fresh client.
    async fn first_calls(&self) -> FirstCallsRun {
        let client = self.guardhouse(None);
        let before = self.state.counts();
        let started = Instant::now();
        let tasks: Vec<_> = self.bulk_ids[..FIRST_CALLS]
            .iter()
            .map(|id| {
                let client = client.clone();
                let ids = [id.clone()];
                tokio::spawn(async move { client.anonymize(&ids).await })
            })
            .collect();
        for task in tasks {
            let outcomes = task.await.expect("a task").expect("no batch error");
            assert!(all_anonymized(&outcomes, 1), "{outcomes:?}");
        }
        let elapsed = started.elapsed();
        let counts = self.state.counts() - before;
        assert_eq!(counts.guardhouse_put, FIRST_CALLS as u64);
        FirstCallsRun {
            elapsed,
            tokens: counts.guardhouse_token,
        }
    }

    /// One warm-up round, then `rounds` rounds of every group, the groups' order rotated.
    async fn ratio_rounds(&mut self, rounds: usize) {
        println!(
            "\n{rounds} rounds after one warm-up round; ratios SDK ÷ plain reqwest. Time ratios: \
             lower is better; bulk: throughput ratios, higher is better."
        );
        for round in 0..=rounds {
            let mut this = HashMap::new();
            let mut first = None;
            for g in 0..Group::ALL.len() {
                let group = Group::ALL[(g + round) % Group::ALL.len()];
                if group == Group::FirstCalls {
                    first = Some(self.first_calls().await);
                } else {
                    this.extend(self.group_round(group, round).await);
                }
            }
            let first = first.expect("the first calls ran");
            if round == 0 {
                println!("warm-up done");
                continue;
            }
            let r = Ratios::of(&this);
            println!(
                "round {round}: sequential each {:.3} batch {:.3} | bulk@{BULK_IN_FLIGHT} {:.3} \
                 default {:.3} | alfabet b100 {:.3} b1000 {:.3} | first calls: {} token request(s)",
                r.sequential_each,
                r.sequential_batch,
                r.bulk_32,
                r.bulk_default,
                r.alfabet[0],
                r.alfabet[1],
                first.tokens,
            );
            for (variant, run) in this {
                self.runs.entry(variant).or_default().push(run);
            }
            self.first_calls.push(first);
        }
    }

    /// In a child process: one warm-up slice, then one whole 10,000-user bulk run of the variant
    /// named, with its peak RSS growth printed as `rss-growth <bytes>`.
    /// `--profile`: run `variants` in turn over their ids again and again, a fresh client each
    /// time, for `seconds`; print each one's mean time a run.
    async fn profile(&self, variants: &[Variant], seconds: Duration) {
        let started = Instant::now();
        let mut runs = 0u64;
        let mut busy = vec![Duration::ZERO; variants.len()];
        while started.elapsed() < seconds {
            for (variant, busy) in variants.iter().zip(&mut busy) {
                let mut client = self.client(*variant);
                *busy += self
                    .slice(*variant, &mut client, self.ids(variant.group()))
                    .await;
            }
            runs += 1;
        }
        for (variant, busy) in variants.iter().zip(busy) {
            println!(
                "{}: {runs} runs, {:.2} ms a run",
                variant.label(),
                busy.as_secs_f64() * 1e3 / runs as f64
            );
        }
    }

    async fn rss_child(&self, name: &str) {
        let variant = Variant::from_name(name)
            .filter(|v| v.group() == Group::Bulk)
            .expect("a bulk variant");
        let mut client = self.client(variant);
        self.slice(variant, &mut client, &self.bulk_ids[..RSS_WARM_UP_USERS])
            .await;
        let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
        let before = status_bytes("VmRSS");
        let base = self.base.as_str();
        let peak = match &client {
            Client::Plain(c, Some(auth)) => {
                plain_guardhouse_bulk(c, base, auth, &self.bulk_ids).await;
                status_bytes("VmHWM")
            }
            Client::Guardhouse(c) => {
                let outcomes = c.anonymize(&self.bulk_ids).await.expect("no batch error");
                // Read while the outcomes are still held.
                let peak = status_bytes("VmHWM");
                assert!(all_anonymized(&outcomes, BULK_USERS));
                peak
            }
            _ => unreachable!("a bulk client"),
        };
        match (reset, before, peak) {
            (true, Some(before), Some(peak)) => {
                println!("rss-growth {}", peak.saturating_sub(before));
            }
            _ => println!("rss-growth unavailable"),
        }
    }

    /// 360Learning: writes per second at each delay, `L360_ROUNDS` rounds, the delays' order
    /// rotated.
    async fn learning360_rounds(&self) -> HashMap<u64, Vec<L360Run>> {
        println!(
            "\n360Learning: {L360_USERS} users ({} writes) per run, a fresh client with its \
             default limits; the server allows 10 writes in any 1 s of arrival",
            2 * L360_USERS
        );
        let ids: Vec<String> = (0..L360_USERS)
            .map(|i| format!("{:024x}", 0x5f3a_0000_0000_0000_0000_0000_u128 + i as u128))
            .collect();
        let mut out: HashMap<u64, Vec<L360Run>> = HashMap::new();
        for round in 0..L360_ROUNDS {
            for k in 0..L360_DELAYS_MS.len() {
                let delay = L360_DELAYS_MS[(k + round) % L360_DELAYS_MS.len()];
                let run = self.learning360(&ids, Duration::from_millis(delay)).await;
                println!(
                    "round {}: delay {delay:>2} ms: {:.2} writes/s ({} writes in {:.3} s), \
                     {} × 429, {} token request(s), run {:.1} s",
                    round + 1,
                    run.writes_per_second(),
                    run.writes,
                    run.span.as_secs_f64(),
                    run.too_many,
                    run.tokens,
                    run.elapsed.as_secs_f64()
                );
                out.entry(delay).or_default().push(run);
            }
        }
        out
    }

    async fn learning360(&self, ids: &[String], delay: Duration) -> L360Run {
        self.state.reset_l360(delay);
        let before = self.state.counts();
        let client = Learning360Client::builder(self.base.clone())
            .client_credentials("bench", SecretString::from(SECRET))
            .build()
            .expect("a 360Learning client");
        let started = Instant::now();
        let outcomes = client.anonymize(ids).await.expect("no batch error");
        let elapsed = started.elapsed();
        assert!(all_anonymized(&outcomes, ids.len()), "{outcomes:?}");
        let counts = self.state.counts() - before;
        assert_eq!(counts.unexpected, 0);
        let log = self.state.l360_log();
        L360Run {
            writes: log.accepted,
            sent: counts.l360_delete + counts.l360_put,
            span: log.span,
            too_many: counts.l360_429,
            tokens: counts.l360_token,
            elapsed,
        }
    }
}

/// The peak RSS growth of whole bulk runs, each in a fresh child process; the variants' order
/// rotated every round.
fn rss_rounds() -> HashMap<Variant, Vec<u64>> {
    let variants = [
        Variant::BulkPlain,
        Variant::BulkSdk32,
        Variant::BulkSdkDefault,
    ];
    println!(
        "\npeak RSS growth of a whole {}-user bulk run, each in a fresh process \
         ({RSS_ROUNDS} rounds):",
        thousands(BULK_USERS as u64)
    );
    let exe = std::env::current_exe().expect("this program's path");
    let mut out: HashMap<Variant, Vec<u64>> = HashMap::new();
    for round in 0..RSS_ROUNDS {
        let mut line = format!("round {}:", round + 1);
        for k in 0..variants.len() {
            let variant = variants[(k + round) % variants.len()];
            let output = std::process::Command::new(&exe)
                .args(["--rss-child", &variant.name()])
                .output()
                .expect("the child process runs");
            assert!(output.status.success(), "the {variant:?} child failed");
            let text = String::from_utf8_lossy(&output.stdout);
            let growth = text
                .lines()
                .find_map(|l| l.strip_prefix("rss-growth "))
                .and_then(|n| n.trim().parse::<u64>().ok());
            match growth {
                Some(bytes) => {
                    line.push_str(&format!(" {} +{:.2} MiB;", variant.label(), mib(bytes)));
                    out.entry(variant).or_default().push(bytes);
                }
                None => line.push_str(&format!(" {} unavailable;", variant.label())),
            }
        }
        println!("{line}");
    }
    out
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

#[derive(Clone, Copy, Debug)]
struct L360Run {
    /// Accepted erasure writes.
    writes: u64,
    /// Erasure writes sent (accepted or not).
    sent: u64,
    span: Duration,
    too_many: u64,
    tokens: u64,
    elapsed: Duration,
}

impl L360Run {
    fn writes_per_second(&self) -> f64 {
        self.writes as f64 / self.span.as_secs_f64()
    }
}

/// One round's ratios.
struct Ratios {
    sequential_each: f64,
    sequential_batch: f64,
    bulk_32: f64,
    bulk_default: f64,
    alfabet: [f64; 2],
}

impl Ratios {
    fn of(runs: &HashMap<Variant, Run>) -> Self {
        let t = |v: Variant| runs[&v].elapsed.as_secs_f64();
        Ratios {
            sequential_each: t(Variant::SequentialSdkEach) / t(Variant::SequentialPlain),
            sequential_batch: t(Variant::SequentialSdkBatch) / t(Variant::SequentialPlain),
            // Throughput SDK ÷ plain = time plain ÷ time SDK.
            bulk_32: t(Variant::BulkPlain) / t(Variant::BulkSdk32),
            bulk_default: t(Variant::BulkPlain) / t(Variant::BulkSdkDefault),
            alfabet: ALFABET_BATCHES
                .map(|b| t(Variant::AlfabetSdk(b)) / t(Variant::AlfabetPlain(b))),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The summary

/// Median, min and max.
fn spread(values: impl IntoIterator<Item = f64>) -> (f64, f64, f64) {
    let mut v: Vec<f64> = values.into_iter().collect();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    (median, v[0], v[n - 1])
}

/// `median (min–max)`.
fn show(values: impl IntoIterator<Item = f64>, decimals: usize) -> String {
    let (median, min, max) = spread(values);
    format!("{median:.decimals$} ({min:.decimals$}–{max:.decimals$})")
}

/// `1,234`
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Bench {
    fn seconds(&self, v: Variant) -> impl Iterator<Item = f64> + '_ {
        self.runs[&v].iter().map(|r| r.elapsed.as_secs_f64())
    }

    /// Per round, `f(sdk seconds, plain seconds)`.
    fn paired(&self, sdk: Variant, plain: Variant, f: impl Fn(f64, f64) -> f64) -> Vec<f64> {
        self.seconds(sdk)
            .zip(self.seconds(plain))
            .map(|(s, p)| f(s, p))
            .collect()
    }

    fn ms(&self, v: Variant) -> String {
        format!("{:.1} ms", spread(self.seconds(v)).0 * 1e3)
    }

    fn users_per_second(&self, v: Variant, n: usize) -> String {
        format!(
            "{} users/s",
            thousands((n as f64 / spread(self.seconds(v)).0) as u64)
        )
    }

    /// The server's requests in a variant's first measured round.
    fn requests(&self, v: Variant) -> String {
        let c = self.runs[&v][0].counts;
        match v {
            Variant::AlfabetPlain(_) | Variant::AlfabetSdk(_) => format!(
                "{} PUT ({} refs) + {} token",
                c.alfabet_put,
                thousands(c.alfabet_refs),
                c.alfabet_token
            ),
            _ => format!(
                "{} PUT + {} token",
                thousands(c.guardhouse_put),
                c.guardhouse_token
            ),
        }
    }

    fn print_table(
        &self,
        machine: &Machine,
        load_after: &str,
        rounds: usize,
        rss: &HashMap<Variant, Vec<u64>>,
        l360: Option<&HashMap<u64, Vec<L360Run>>>,
    ) {
        use Variant::*;
        let time_ratio = |s: f64, p: f64| s / p;
        let throughput_ratio = |s: f64, p: f64| p / s;
        let extra_us = |n: usize| move |s: f64, p: f64| (s - p) / n as f64 * 1e6;
        let seq = thousands(SEQUENTIAL_USERS as u64);
        let bulk = thousands(BULK_USERS as u64);
        let refs = thousands(ALFABET_REFS as u64);

        println!("\n## Summary\n");
        println!(
            "{} CPUs ({}), {} {}, {}, release build; {}; load average {} before, {} after. \
             {rounds} rounds; median (min–max) over the rounds.\n",
            machine.cpus,
            machine.model,
            machine.arch,
            machine.kernel,
            machine.rustc,
            machine.threads(),
            machine.load_before,
            load_after
        );
        println!("| Measure | SDK ÷ plain reqwest | Plain reqwest | SDK | Target |");
        println!("|---|---|---|---|---|");
        println!(
            "| Guardhouse, {seq} ids one after the other, one id per `anonymize` call (time) | {} | {} ({}) | {} ({}); {} µs more a call | ≤ 1.05 |",
            show(
                self.paired(SequentialSdkEach, SequentialPlain, time_ratio),
                3
            ),
            self.ms(SequentialPlain),
            self.requests(SequentialPlain),
            self.ms(SequentialSdkEach),
            self.requests(SequentialSdkEach),
            show(
                self.paired(
                    SequentialSdkEach,
                    SequentialPlain,
                    extra_us(SEQUENTIAL_USERS)
                ),
                1
            ),
        );
        println!(
            "| same, the batch path at concurrency 1 (one `anonymize` call per {SEQUENTIAL_SLICE} ids) (time) | {} | {} | {}; {} µs more a call | |",
            show(
                self.paired(SequentialSdkBatch, SequentialPlain, time_ratio),
                3
            ),
            self.ms(SequentialPlain),
            self.ms(SequentialSdkBatch),
            show(
                self.paired(
                    SequentialSdkBatch,
                    SequentialPlain,
                    extra_us(SEQUENTIAL_USERS)
                ),
                1
            ),
        );
        println!(
            "| Bulk, {bulk} Guardhouse users: SDK `concurrency({BULK_IN_FLIGHT})` vs plain with {BULK_IN_FLIGHT} in flight (throughput) | {} | {} | {} | ≥ 0.95 |",
            show(self.paired(BulkSdk32, BulkPlain, throughput_ratio), 3),
            self.users_per_second(BulkPlain, BULK_USERS),
            self.users_per_second(BulkSdk32, BULK_USERS),
        );
        println!(
            "| same, SDK at its default concurrency ({}) (throughput) | {} | {} | {} | |",
            guardhouse_client::DEFAULT_CONCURRENCY,
            show(self.paired(BulkSdkDefault, BulkPlain, throughput_ratio), 3),
            self.users_per_second(BulkPlain, BULK_USERS),
            self.users_per_second(BulkSdkDefault, BULK_USERS),
        );
        for (i, batch) in ALFABET_BATCHES.into_iter().enumerate() {
            println!(
                "| Alfabet, {refs} refs in batches of {} (time; the server's requests) | {} | {}; {} | {}; {}; {} µs more a ref | {} |",
                thousands(batch as u64),
                show(
                    self.paired(AlfabetSdk(batch), AlfabetPlain(batch), time_ratio),
                    3
                ),
                self.ms(AlfabetPlain(batch)),
                self.requests(AlfabetPlain(batch)),
                self.ms(AlfabetSdk(batch)),
                self.requests(AlfabetSdk(batch)),
                show(
                    self.paired(
                        AlfabetSdk(batch),
                        AlfabetPlain(batch),
                        extra_us(ALFABET_REFS)
                    ),
                    2
                ),
                if i == 0 { "≤ 1.3" } else { "" },
            );
        }
        let growth = |v: Variant| match rss.get(&v) {
            Some(bytes) if !bytes.is_empty() => {
                format!("+{} MiB", show(bytes.iter().map(|b| mib(*b)), 2))
            }
            _ => "unavailable".to_owned(),
        };
        let per_user = |v: Variant| match rss.get(&v) {
            Some(bytes) if !bytes.is_empty() => format!(
                "{:.0} B a user",
                spread(bytes.iter().map(|b| *b as f64)).0 / BULK_USERS as f64
            ),
            _ => String::new(),
        };
        println!(
            "| Peak RSS growth of a whole {bulk}-user bulk run (fresh process each, {RSS_ROUNDS} rounds) | | {} ({}) | {} ({}) at {BULK_IN_FLIGHT}; {} ({}) at the default | |",
            growth(BulkPlain),
            per_user(BulkPlain),
            growth(BulkSdk32),
            per_user(BulkSdk32),
            growth(BulkSdkDefault),
            per_user(BulkSdkDefault),
        );
        let tokens: Vec<u64> = self.first_calls.iter().map(|r| r.tokens).collect();
        println!(
            "| {} concurrent first calls through clones of one fresh Guardhouse client: token requests at the server | | | {} in every round ({tokens:?}); {} ms for the {} calls | 1 |",
            thousands(FIRST_CALLS as u64),
            tokens.iter().max().unwrap_or(&0),
            show(
                self.first_calls
                    .iter()
                    .map(|r| r.elapsed.as_secs_f64() * 1e3),
                1
            ),
            thousands(FIRST_CALLS as u64),
        );
        if let Some(l360) = l360 {
            for delay in L360_DELAYS_MS {
                let runs = &l360[&delay];
                let target = match delay {
                    0 => "≥ 9.7 writes/s, 0 × 429",
                    50 => "≥ 9.4 writes/s, 0 × 429",
                    _ => "0 × 429",
                };
                println!(
                    "| 360Learning, {L360_USERS} users ({} writes), default limits, server delay {delay} ms | | | {} writes/s; {} × 429 in {} runs ({} erasure writes sent, {} token requests) | {target} |",
                    2 * L360_USERS,
                    show(runs.iter().map(L360Run::writes_per_second), 2),
                    runs.iter().map(|r| r.too_many).sum::<u64>(),
                    runs.len(),
                    runs.iter().map(|r| r.sent).sum::<u64>(),
                    runs.iter().map(|r| r.tokens).sum::<u64>(),
                );
            }
        }
    }
}
