//! The `anonymize` binary against the three simulators (in this process, on loopback): killed
//! mid-run (SIGKILL, then SIGINT) and run again, every person has exactly one final receipt per
//! vendor, no vendor erased a person twice after a receipt said done, the receipts agree with
//! the simulators, and nothing the binary writes holds an address, a name or a secret.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use alfabet_client::RefStr;
use alfabet_client::testkit::Simulator as Alfabet;
use anonymize_core::secrecy::{ExposeSecret, SecretString};
use anonymize_core::testkit::Simulated;
use anonymize_core::{Email, IntentRecord, PersonRef, Receipt, ReceiptKey};
use guardhouse_client::testkit::Simulator as Guardhouse;
use guardhouse_client::{UserId as GuardhouseId, UserStatus};
use learning360_client::UserId as Learning360Id;
use learning360_client::testkit::{NewUser, Simulator as Learning360};
use tokio::process::Command;

const KEY_HEX: &str = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5f";
const FIRST: &str = "Hedwig";
const LAST: &str = "Quarrington";

/// One seeded person and where the simulators hold them.
struct Seeded {
    email: String,
    guardhouse: Option<GuardhouseId>,
    alfabet: RefStr,
    learning360: Option<Learning360Id>,
}

/// The three simulators, the persons, and a directory for the files.
struct World {
    guardhouse: Guardhouse,
    alfabet: Alfabet,
    learning360: Learning360,
    persons: Vec<Seeded>,
    dir: PathBuf,
}

impl World {
    /// `n` persons: every one at Alfabet (by REFSTR in the input), all but every tenth at
    /// Guardhouse (found by address), every 24th at 360Learning (found by address). 360Learning
    /// holds few on purpose: its client keeps to the vendor's 10 writes per second (two per
    /// user), and the test should take seconds.
    async fn new(name: &str, n: usize) -> Self {
        let guardhouse = Guardhouse::start().await;
        let alfabet = Alfabet::start().await;
        let learning360 = Learning360::start().await;
        // The client keeps to the vendor's limits by itself; the simulator's own 429s would be
        // logged as requests without erasing anyone and blur the count of erasures per user
        // (the first run's writes still count in its sliding second when the rerun starts).
        learning360.set_rate_limits(None, None);
        let persons = (0..n)
            .map(|i| {
                let email = format!(
                    "{}.{}{i}@example.com",
                    FIRST.to_lowercase(),
                    LAST.to_lowercase()
                );
                let first = format!("{FIRST}{i}");
                let last = format!("{LAST}{i}");
                Seeded {
                    guardhouse: (i % 10 != 0)
                        .then(|| guardhouse.add_user(&email, &first, &last, UserStatus::Active)),
                    alfabet: alfabet.add_user(format!("{first} {last}"), &email),
                    learning360: (i % 24 == 0)
                        .then(|| learning360.add(NewUser::new(&email).names(&first, &last))),
                    email,
                }
            })
            .collect();
        let dir = std::env::temp_dir().join(format!("anonymize-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let world = Self {
            guardhouse,
            alfabet,
            learning360,
            persons,
            dir,
        };
        let mut csv = String::from("email,alfabet_ref\n");
        for p in &world.persons {
            csv.push_str(&format!("{},{}\n", p.email.to_uppercase(), p.alfabet));
        }
        std::fs::write(world.input(), csv).unwrap();
        world
    }

    fn input(&self) -> PathBuf {
        self.dir.join("people.csv")
    }

    fn receipts(&self) -> PathBuf {
        self.dir.join("receipts.jsonl")
    }

    fn secrets(&self) -> Vec<String> {
        vec![
            KEY_HEX.to_owned(),
            self.guardhouse.client_secret().expose_secret().to_owned(),
            alfabet_client::testkit::PASSWORD.to_owned(),
            self.learning360.client_secret().expose_secret().to_owned(),
        ]
    }

    /// The binary with this world's vendors in its environment, and nothing else of ours.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_anonymize"));
        cmd.args(args);
        self.environment(cmd)
    }

    /// The binary as [`command`](Self::command) runs it, started by `sh -c script` (which ends
    /// with `exec "$0" "$@"`), e.g. to set a limit first.
    fn command_after(&self, script: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(script)
            .arg(env!("CARGO_BIN_EXE_anonymize"))
            .args(args);
        self.environment(cmd)
    }

    fn environment(&self, mut cmd: Command) -> Command {
        cmd.env_clear()
            .env("GUARDHOUSE_URL", self.guardhouse.url().as_str())
            .env("GUARDHOUSE_CLIENT_ID", self.guardhouse.client_id())
            .env(
                "GUARDHOUSE_CLIENT_SECRET",
                self.guardhouse.client_secret().expose_secret(),
            )
            .env("ALFABET_URL", self.alfabet.url().as_str())
            .env("ALFABET_USERNAME", alfabet_client::testkit::USERNAME)
            .env("ALFABET_PASSWORD", alfabet_client::testkit::PASSWORD)
            .env("LEARNING360_URL", self.learning360.url().as_str())
            .env(
                "LEARNING360_CLIENT_ID",
                learning360_client::testkit::CLIENT_ID,
            )
            .env(
                "LEARNING360_CLIENT_SECRET",
                self.learning360.client_secret().expose_secret(),
            )
            .env("ANONYMIZE_RECEIPT_KEY", KEY_HEX)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    fn run_args(&self) -> Vec<String> {
        vec![
            "run".into(),
            "--input".into(),
            self.input().display().to_string(),
            "--receipts".into(),
            self.receipts().display().to_string(),
            "--batch-size".into(),
            "5".into(),
            "--concurrency".into(),
            "2".into(),
            "--progress-every".into(),
            "0.05".into(),
        ]
    }

    /// Writes (erasures) each simulator received so far.
    fn writes(&self) -> usize {
        let count = |log: Vec<anonymize_core::testkit::RecordedRequest>| {
            log.iter()
                .filter(|r| r.method != "GET" && !r.path.contains("token"))
                .count()
        };
        count(self.guardhouse.requests())
            + count(self.alfabet.requests())
            + count(self.learning360.requests())
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What a finished process said.
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

async fn finish(child: tokio::process::Child) -> Ran {
    let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("the binary finishes")
        .unwrap();
    Ran {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

async fn run(world: &World, args: &[&str]) -> Ran {
    finish(world.command(args).spawn().unwrap()).await
}

fn receipt_lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|t| t.lines().count().saturating_sub(1))
        .unwrap_or(0)
}

/// Start a run and stop it with `signal` once `at_least` receipts are in the file.
async fn interrupted_run(world: &World, signal: &str, at_least: usize) -> Ran {
    let args = world.run_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut child = world.command(&args).spawn().unwrap();
    let started = Instant::now();
    while receipt_lines(&world.receipts()) < at_least {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no receipt appeared"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let pid = child.id().expect("still running").to_string();
    let status = std::process::Command::new("kill")
        .args([signal, &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let _ = &mut child;
    finish(child).await
}

/// `text` (a command's output) says `expected`.
fn says(text: &str, expected: &str) {
    assert!(text.contains(expected), "expected {expected:?} in:\n{text}");
}

/// Every receipt in the file, in order (the intents left out).
fn read_receipts(path: &Path) -> Vec<Receipt> {
    read_lines(path)
        .into_iter()
        .filter_map(|l| match l {
            Entry::Receipt(r) => Some(r),
            Entry::Intent(_) => None,
        })
        .collect()
}

/// One line of a receipts file after its header.
#[derive(Debug)]
enum Entry {
    Receipt(Receipt),
    Intent(IntentRecord),
}

/// Every line of the file after the header, in order.
fn read_lines(path: &Path) -> Vec<Entry> {
    let text = std::fs::read_to_string(path).unwrap();
    // A last line cut short (the write that failed, or the kill) is no line: the reader drops it.
    let whole = match text.rfind('\n') {
        Some(end) => &text[..=end],
        None => "",
    };
    let mut lines = whole.lines();
    let header: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(header["format"], "anonymize-receipts");
    assert_eq!(header["version"], 2);
    lines
        .map(|l| match serde_json::from_str::<IntentRecord>(l) {
            Ok(intent) if l.contains("\"intent\":\"erase\"") => Entry::Intent(intent),
            _ => Entry::Receipt(serde_json::from_str(l).unwrap()),
        })
        .collect()
}

fn key() -> ReceiptKey {
    ReceiptKey::from_hex(&SecretString::from(KEY_HEX)).unwrap()
}

/// How many erasure requests each simulator received per user.
fn erasures(world: &World) -> HashMap<(&'static str, String), usize> {
    let mut counts = HashMap::new();
    for r in world.guardhouse.requests() {
        if r.method == "PUT" && r.path.ends_with("/personal-data") {
            let id = r.path.split('/').nth(4).unwrap().to_owned();
            *counts.entry(("guardhouse", id)).or_default() += 1;
        }
    }
    for refs in world.alfabet.anonymize_requests() {
        for r in refs {
            *counts.entry(("alfabet", r)).or_default() += 1;
        }
    }
    for r in world.learning360.requests() {
        if r.method == "PUT" && r.path.ends_with("/pseudonymize") {
            let id = r.path.split('/').nth(4).unwrap().to_owned();
            *counts.entry(("learning360", id)).or_default() += 1;
        }
    }
    counts
}

/// The checks after a run was stopped (its receipts are the file's first `first_run` lines)
/// and run again to the end.
fn check_after_resume(world: &World, first_run: usize, outputs: &[&Ran]) {
    let all = read_receipts(&world.receipts());
    let key = key();
    let by_person: HashMap<PersonRef, &Seeded> = world
        .persons
        .iter()
        .map(|p| (key.email_ref(&Email::parse(&p.email).unwrap()), p))
        .collect();
    let mut per: BTreeMap<(String, String), Vec<(usize, &Receipt)>> = BTreeMap::new();
    for (i, r) in all.iter().enumerate() {
        let seeded = by_person
            .get(&r.person)
            .expect("every receipt names a seeded person");
        per.entry((seeded.email.clone(), r.vendor.clone()))
            .or_default()
            .push((i, r));
    }
    let erasures = erasures(world);
    for p in &world.persons {
        for vendor in ["guardhouse", "alfabet", "learning360"] {
            let list = per
                .get(&(p.email.clone(), vendor.to_owned()))
                .unwrap_or_else(|| panic!("no receipt for a person at {vendor}"));
            // Exactly one final receipt: one done receipt, and it is the latest.
            let done: Vec<_> = list.iter().filter(|(_, r)| r.is_done()).collect();
            assert_eq!(done.len(), 1, "{vendor}: {list:?}");
            let (last_line, last) = list.last().unwrap();
            assert!(last.is_done(), "{vendor}: {last:?}");
            // No second erasure once a receipt said done (in the stopped run).
            let erased_id = match vendor {
                "guardhouse" => p.guardhouse.map(|id| id.to_string()),
                "alfabet" => Some(p.alfabet.to_string()),
                _ => p.learning360.map(|id| id.to_string()),
            };
            let sent = erased_id
                .as_ref()
                .and_then(|id| erasures.get(&(vendor, id.clone())))
                .copied()
                .unwrap_or(0);
            if *last_line < first_run && erased_id.is_some() {
                assert_eq!(
                    sent, 1,
                    "{vendor}: receipted done in the first run, erased {sent} times"
                );
            }
            // The receipts agree with the vendor's state.
            match vendor {
                "guardhouse" => match p.guardhouse {
                    Some(id) => {
                        let user = world.guardhouse.user(id).unwrap();
                        assert_eq!(user.status, UserStatus::Archived);
                        assert!(sent >= 1);
                        // Anonymized, never "not found": an erasure interrupted by the kill is
                        // settled at the id its intent recorded, not looked up again.
                        assert_eq!(last.status.label(), "anonymized", "{list:?}");
                        assert_eq!(last.vendor_id.as_deref(), Some(id.to_string().as_str()));
                    }
                    None => assert_eq!(last.status.label(), "not_found"),
                },
                "alfabet" => {
                    let user = world.alfabet.user(p.alfabet).unwrap();
                    assert!(user.anonymized);
                    assert!(sent >= 1);
                    assert_eq!(last.status.label(), "anonymized");
                    assert_eq!(
                        last.vendor_id.as_deref(),
                        Some(p.alfabet.to_string().as_str())
                    );
                }
                _ => match p.learning360 {
                    Some(id) => {
                        let user = world.learning360.user(&id).unwrap();
                        assert_ne!(user.mail.as_deref(), Some(p.email.as_str()));
                        assert!(sent >= 1);
                        assert_eq!(last.status.label(), "anonymized", "{list:?}");
                    }
                    None => assert_eq!(last.status.label(), "not_found"),
                },
            }
        }
    }
    assert_written_ahead(world);
    assert_no_personal_data(world, outputs);
}

/// Every erasure a simulator received has an intent in the receipts file for that vendor and
/// id, and every anonymized receipt follows an intent for its person there.
fn assert_written_ahead(world: &World) {
    let mut intended: HashMap<(String, String), usize> = HashMap::new();
    let mut open: std::collections::HashSet<(String, PersonRef)> = Default::default();
    for entry in read_lines(&world.receipts()) {
        match entry {
            Entry::Intent(i) => {
                *intended
                    .entry((i.vendor.clone(), i.vendor_id.clone()))
                    .or_default() += 1;
                open.insert((i.vendor, i.person));
            }
            Entry::Receipt(r) => {
                let had_intent = open.remove(&(r.vendor.clone(), r.person));
                if r.status.label() == "anonymized" {
                    assert!(had_intent, "an anonymized receipt without an intent: {r:?}");
                }
            }
        }
    }
    for ((vendor, id), sent) in erasures(world) {
        let recorded = intended
            .get(&(vendor.to_owned(), id.clone()))
            .copied()
            .unwrap_or(0);
        assert!(
            recorded >= 1,
            "{vendor} {id}: erased {sent} time(s) with no intent on file"
        );
    }
}

/// Nothing the binary wrote (receipts, stdout, stderr) holds an address, a name or a secret.
fn assert_no_personal_data(world: &World, outputs: &[&Ran]) {
    let receipts = std::fs::read_to_string(world.receipts()).unwrap_or_default();
    let mut texts = vec![receipts];
    for ran in outputs {
        texts.push(ran.stdout.clone());
        texts.push(ran.stderr.clone());
    }
    let mut forbidden = world.secrets();
    forbidden.extend([
        FIRST.to_owned(),
        LAST.to_owned(),
        FIRST.to_lowercase(),
        LAST.to_lowercase(),
    ]);
    forbidden.push("@example.com".to_owned());
    forbidden.push("EXAMPLE.COM".to_owned());
    for text in &texts {
        for f in &forbidden {
            assert!(!text.contains(f.as_str()), "output holds {f:?}:\n{text}");
        }
    }
}

/// Start a run of 240 persons, stop it with `signal` once receipts appear (`stopped` checks how
/// it ended, before anything else runs), run it again to the end, and check the receipts against
/// the simulators. Returns the two runs.
async fn stop_then_resume(
    name: &str,
    signal: &str,
    stopped: impl FnOnce(&World, &Ran),
) -> (Ran, Ran) {
    let world = World::new(name, 240).await;
    let first = interrupted_run(&world, signal, 40).await;
    stopped(&world, &first);
    let first_run = read_receipts(&world.receipts()).len();
    assert!(
        first_run < 3 * 240,
        "stopped mid-run ({first_run} receipts)"
    );
    let args = world.run_args();
    let again = run(&world, &args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert_eq!(again.code, Some(0), "{}\n{}", again.stdout, again.stderr);
    says(&again.stdout, "already done before this run");
    check_after_resume(&world, first_run, &[&first, &again]);
    (first, again)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_with_sigkill_then_run_again() {
    let (_, again) = stop_then_resume("sigkill", "-KILL", |_, killed| {
        assert_eq!(killed.code, None, "killed by a signal");
    })
    .await;
    // The progress lines say counts, nothing else (checked with every output above).
    says(&again.stderr, "progress: guardhouse");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_with_ctrl_c_then_run_again() {
    let (_, again) = stop_then_resume("sigint", "-INT", |world, stopped| {
        assert_eq!(
            stopped.code,
            Some(130),
            "{}\n{}",
            stopped.stdout,
            stopped.stderr
        );
        says(
            &stopped.stderr,
            "interrupted (SIGINT): starting nothing new",
        );
        // The requests in flight finished and their receipts are whole: no cut line.
        let text = std::fs::read_to_string(world.receipts()).unwrap();
        assert!(text.ends_with('\n'));
    })
    .await;
    assert!(!again.stderr.contains("cut short"), "{}", again.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_with_sigterm_or_sighup_like_ctrl_c_then_run_again() {
    for (signal, name, status) in [("-TERM", "SIGTERM", 143), ("-HUP", "SIGHUP", 129)] {
        let (_, again) = stop_then_resume(name, signal, |world, stopped| {
            assert_eq!(
                stopped.code,
                Some(status),
                "{}\n{}",
                stopped.stdout,
                stopped.stderr
            );
            says(
                &stopped.stderr,
                &format!("interrupted ({name}): starting nothing new"),
            );
            says(&stopped.stdout, "run the same command again to finish");
            let text = std::fs::read_to_string(world.receipts()).unwrap();
            assert!(text.ends_with('\n'));
        })
        .await;
        assert!(!again.stderr.contains("cut short"), "{}", again.stderr);
    }
}

/// A loopback TCP proxy in front of a simulator: it holds every answer `hold` (a slow vendor,
/// without the simulator's one thread waiting in between) and logs when each request's first
/// bytes arrive, which is when the client sent it.
struct SlowProxy {
    url: url::Url,
    log: std::sync::Arc<std::sync::Mutex<Vec<(Instant, String)>>>,
}

impl SlowProxy {
    async fn start(target: &url::Url, hold: Duration) -> Self {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        use tokio::net::{TcpListener, TcpStream};
        let upstream = format!("{}:{}", target.host_str().unwrap(), target.port().unwrap());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut url = target.clone();
        url.set_port(Some(listener.local_addr().unwrap().port()))
            .unwrap();
        let log: std::sync::Arc<std::sync::Mutex<Vec<(Instant, String)>>> = Default::default();
        let accept_log = log.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    continue;
                };
                let (mut client_rx, mut client_tx) = client.into_split();
                let (mut server_rx, mut server_tx) = server.into_split();
                let log = accept_log.clone();
                let pending = std::sync::Arc::new(tokio::sync::Notify::new());
                let asked = pending.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n) = client_rx.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        let text = String::from_utf8_lossy(&buf[..n.min(200)]);
                        let line = text.lines().next().unwrap_or_default();
                        if ["GET ", "PUT ", "POST ", "DELETE ", "PATCH "]
                            .iter()
                            .any(|m| line.starts_with(m))
                        {
                            log.lock().unwrap().push((Instant::now(), line.to_owned()));
                            asked.notify_one();
                        }
                        if server_tx.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        // Each answer is held from its request on.
                        pending.notified().await;
                        tokio::time::sleep(hold).await;
                        let Ok(n) = server_rx.read(&mut buf).await else {
                            break;
                        };
                        if n == 0 || client_tx.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                        // The rest of a long answer, without waiting again.
                        while let Ok(Ok(n)) =
                            tokio::time::timeout(Duration::from_millis(5), server_rx.read(&mut buf))
                                .await
                        {
                            if n == 0 || client_tx.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        Self { url, log }
    }

    /// The erasure requests (writes other than token requests) sent at or after `at`.
    fn writes_after(&self, at: Instant) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, line)| *t >= at && !line.starts_with("GET ") && !line.contains("token"))
            .map(|(_, line)| line.clone())
            .collect()
    }

    /// The 360Learning users whose delete was sent before `at`.
    fn deleted_before(&self, at: Instant) -> std::collections::HashSet<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, line)| *t < at && line.starts_with("DELETE "))
            .filter_map(|(_, line)| {
                line.split('/')
                    .nth(4)
                    .map(|u| u.split(' ').next().unwrap_or(u).to_owned())
            })
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_stops_at_the_request_against_slow_vendors() {
    for (signal, status) in [("-TERM", 143), ("-INT", 130)] {
        let world = World::new("slow", 120).await;
        // Everyone at 360Learning too: its erasures (two requests a user, at most 10 writes a
        // second) take seconds a batch, so that a batch is under way at the signal with users
        // not yet begun.
        for p in world.persons.iter().filter(|p| p.learning360.is_none()) {
            world.learning360.add(NewUser::new(&p.email));
        }
        // Every answer held 400 ms by each vendor.
        let hold = Duration::from_millis(400);
        let guardhouse = SlowProxy::start(&world.guardhouse.url(), hold).await;
        let alfabet = SlowProxy::start(&world.alfabet.url(), hold).await;
        let learning360 = SlowProxy::start(&world.learning360.url(), hold).await;
        // The default batches (20 persons, 4 at a time), so that a batch is under way at the
        // signal with users not yet begun.
        let (input, receipts) = (world.input(), world.receipts());
        let args = [
            "run",
            "--input",
            input.to_str().unwrap(),
            "--receipts",
            receipts.to_str().unwrap(),
        ];
        let mut cmd = world.command(&args);
        cmd.env("GUARDHOUSE_URL", guardhouse.url.as_str())
            .env("ALFABET_URL", alfabet.url.as_str())
            .env("LEARNING360_URL", learning360.url.as_str());
        let child = cmd.spawn().unwrap();
        let started = Instant::now();
        // Erasures under way at 360Learning: its first batches have begun.
        while learning360.writes_after(started).len() < 2 {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "no receipt appeared"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let pid = child.id().unwrap().to_string();
        let signalled = Instant::now();
        assert!(
            std::process::Command::new("kill")
                .args([signal, &pid])
                .status()
                .unwrap()
                .success()
        );
        let stopped = finish(child).await;
        let took = signalled.elapsed();
        assert_eq!(
            stopped.code,
            Some(status),
            "{}\n{}",
            stopped.stdout,
            stopped.stderr
        );
        assert!(
            took < Duration::from_secs(5),
            "{signal}: exited {took:?} after the signal"
        );

        // No erasure request started more than 1 s after the signal, but the second step
        // (pseudonymize) of a 360Learning user whose first (delete) had started.
        let late = signalled + Duration::from_secs(1);
        assert_eq!(
            guardhouse.writes_after(late),
            Vec::<String>::new(),
            "guardhouse"
        );
        assert_eq!(alfabet.writes_after(late), Vec::<String>::new(), "alfabet");
        let begun = learning360.deleted_before(late);
        for line in learning360.writes_after(late) {
            let user = line.split('/').nth(4).unwrap_or_default();
            assert!(
                line.contains("/pseudonymize") && begun.contains(user),
                "learning360: {} started late for a user not begun",
                line.split(' ').next().unwrap_or_default()
            );
        }
        assert_written_ahead(&world);
        eprintln!("{signal}: exited {took:?} after the signal");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_on_one_receipts_file_refuses_at_once_and_sends_nothing() {
    let world = World::new("two-runs", 120).await;
    let args = world.run_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let first = world.command(&args).spawn().unwrap();
    let started = Instant::now();
    while receipt_lines(&world.receipts()) < 10 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no receipt appeared"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let second = run(&world, &args).await;
    assert_eq!(second.code, Some(2), "{}\n{}", second.stdout, second.stderr);
    says(&second.stderr, "another run is using this receipts file");
    says(&second.stderr, &world.receipts().display().to_string());
    let first = finish(first).await;
    assert_eq!(first.code, Some(0), "{}\n{}", first.stdout, first.stderr);
    // Every user was erased once, by the first run, and every line of the file is whole.
    for ((vendor, id), n) in erasures(&world) {
        assert_eq!(n, 1, "{vendor} {id} erased {n} times");
    }
    check_after_resume(&world, 0, &[&first, &second]);

    // The lock died with the first run: a third run reads the file and has nothing to do.
    let third = run(&world, &args).await;
    assert_eq!(third.code, Some(0), "{}\n{}", third.stdout, third.stderr);
    says(&third.stdout, "already done before this run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_mid_run_sends_nothing_unrecorded_and_the_rerun_settles_what_is_in_doubt() {
    let world = World::new("full-disk", 240).await;
    let args = world.run_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // The file may not grow past 16 blocks (8 or 16 KiB): writes fail from then on (EFBIG, the
    // process ignores SIGXFSZ), as on a full disk.
    let full = world.command_after("trap '' XFSZ; ulimit -f 16; exec \"$0\" \"$@\"", &args);
    let stopped = finish({ full }.spawn().unwrap()).await;
    assert_eq!(
        stopped.code,
        Some(3),
        "{}\n{}",
        stopped.stdout,
        stopped.stderr
    );
    says(&stopped.stderr, "stopping, nothing more is sent");
    says(&stopped.stdout, "before the write failed");
    says(
        &stopped.stdout,
        "erasure(s) recorded as about to be sent, without an outcome",
    );
    let first_run = read_receipts(&world.receipts()).len();
    assert!(
        first_run < 3 * 240,
        "stopped mid-run ({first_run} receipts)"
    );
    // Every erasure the vendors received has its intent on file.
    assert_written_ahead(&world);

    let again = run(&world, &args).await;
    assert_eq!(again.code, Some(0), "{}\n{}", again.stdout, again.stderr);
    check_after_resume(&world, first_run, &[&stopped, &again]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intent_without_an_outcome_is_settled_at_its_id_never_looked_up_again() {
    use anonymize_core::Anonymizer;
    let world = World::new("in-doubt", 12).await;
    let person = &world.persons[3];
    let id = person.guardhouse.unwrap();
    // A run recorded its intent, the vendor erased the user, and the run died before the
    // receipt: the address now finds nobody at the vendor.
    let client = world.guardhouse.client();
    client.anonymize(&[id.to_string()]).await.unwrap();
    let key = key();
    let email = Email::parse(&person.email).unwrap();
    let header = serde_json::json!({
        "format": "anonymize-receipts", "version": 2, "key_id": key.id(), "library": "0.1.0"
    });
    let intent = IntentRecord::erase(
        std::time::SystemTime::now(),
        key.email_ref(&email),
        "guardhouse",
        &id.to_string(),
    );
    // Each line chained as docs/erasure.md says: its MAC over the bytes before `,"mac":"`.
    let mut previous: Option<[u8; 32]> = None;
    let mut file = String::new();
    for json in [header.to_string(), serde_json::to_string(&intent).unwrap()] {
        let body = json.strip_suffix('}').unwrap();
        let mac = key.chain_mac(previous.as_ref(), body.as_bytes());
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        file.push_str(&format!("{body},\"mac\":\"{hex}\"}}\n"));
        previous = Some(mac);
    }
    std::fs::write(world.receipts(), file).unwrap();

    let args = world.run_args();
    let ran = run(&world, &args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert_eq!(ran.code, Some(0), "{}\n{}", ran.stdout, ran.stderr);
    says(
        &ran.stdout,
        "1 of them settle(d) an erasure interrupted in an earlier run",
    );
    let settled: Vec<Receipt> = read_receipts(&world.receipts())
        .into_iter()
        .filter(|r| r.vendor == "guardhouse" && r.person == key.email_ref(&email))
        .collect();
    assert_eq!(settled.len(), 1, "{settled:?}");
    let receipt = &settled[0];
    assert_eq!(receipt.status.label(), "anonymized", "{receipt:?}");
    assert!(receipt.settles_interrupted);
    assert_eq!(receipt.lookup, anonymize_core::LookupKind::Given);
    assert_eq!(receipt.vendor_id.as_deref(), Some(id.to_string().as_str()));
    // The others were looked up and erased as usual, and their receipts settle nothing.
    let others = read_receipts(&world.receipts());
    assert_eq!(others.len(), 36);
    assert_eq!(others.iter().filter(|r| r.settles_interrupted).count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_reads_only_and_run_refuses_bad_input_or_no_key() {
    let world = World::new("plan", 30).await;
    let input = world.input().display().to_string();
    let plan = run(&world, &["plan", "--input", &input]).await;
    assert_eq!(plan.code, Some(0), "{}\n{}", plan.stdout, plan.stderr);
    assert_eq!(world.writes(), 0, "plan sent a write");
    // 27 of 30 at Guardhouse by address, all 30 at Alfabet by REFSTR, 2 at 360Learning.
    for expected in [
        "guardhouse: run would erase 27 (given or resolved); 3 not found there",
        "alfabet: run would erase 30 (given or resolved); 0 not found there",
        "learning360: run would erase 2 (given or resolved); 28 not found there",
    ] {
        assert!(
            plan.stdout.contains(expected),
            "{expected}\n{}",
            plan.stdout
        );
    }

    // A bad line: plan names it (line, column, reason, never the value); run refuses.
    let mut csv = std::fs::read_to_string(world.input()).unwrap();
    csv.push_str("not-an-address,421-1-0\nhedwig@example.com,9-9\n");
    std::fs::write(world.input(), &csv).unwrap();
    let plan = run(&world, &["plan", "--input", &input]).await;
    assert_eq!(plan.code, Some(2));
    says(
        &plan.stdout,
        "line 32, column email: not a valid e-mail address",
    );
    says(&plan.stdout, "line 33, column alfabet_ref: ");
    assert!(!plan.stdout.contains("not-an-address") && !plan.stdout.contains("hedwig@"));
    let receipts = world.receipts().display().to_string();
    let refused = run(&world, &["run", "--input", &input, "--receipts", &receipts]).await;
    assert_eq!(refused.code, Some(2));
    assert!(
        refused
            .stderr
            .contains("refusing to start: 2 bad input line(s)"),
        "{}",
        refused.stderr
    );
    assert_eq!(world.writes(), 0);
    assert!(!world.receipts().exists());

    // No key: run refuses with what to do, and sends nothing.
    let skipping = [
        "run",
        "--input",
        &input,
        "--receipts",
        &receipts,
        "--skip-invalid",
    ];
    let mut no_key = world.command(&skipping);
    no_key.env_remove("ANONYMIZE_RECEIPT_KEY");
    let ran = finish(no_key.spawn().unwrap()).await;
    assert_eq!(ran.code, Some(2));
    says(
        &ran.stderr,
        "run needs a receipt key: set ANONYMIZE_RECEIPT_KEY",
    );
    assert_eq!(world.writes(), 0);

    // --skip-invalid: the bad lines are left out, the rest is erased.
    let ran = run(&world, &skipping).await;
    assert_eq!(ran.code, Some(0), "{}\n{}", ran.stdout, ran.stderr);
    assert_eq!(read_receipts(&world.receipts()).len(), 90);

    // "Did we erase hedwig.quarrington7@…?": with the key, yes, per vendor; without, no answer.
    let address = world.persons[7].email.clone();
    let found = run(
        &world,
        &["receipts", "find", "--email", &address, &receipts],
    )
    .await;
    assert_eq!(found.code, Some(0), "{}\n{}", found.stdout, found.stderr);
    says(&found.stdout, "guardhouse   erased: anonymized");
    says(&found.stdout, "learning360  erased: not_found");
    let mut keyless = world.command(&["receipts", "find", "--email", &address, &receipts]);
    keyless.env_remove("ANONYMIZE_RECEIPT_KEY");
    let ran = finish(keyless.spawn().unwrap()).await;
    assert_eq!(ran.code, Some(2));
    says(&ran.stderr, "needs the receipt key");
    let mut other_key = world.command(&["receipts", "find", "--email", &address, &receipts]);
    other_key.env("ANONYMIZE_RECEIPT_KEY", format!("77{}", "78".repeat(31)));
    let ran = finish(other_key.spawn().unwrap()).await;
    assert_eq!(ran.code, Some(2));
    says(&ran.stderr, "written with another receipt key");

    let verified = run(&world, &["receipts", "verify", &receipts]).await;
    assert_eq!(
        verified.code,
        Some(0),
        "{}\n{}",
        verified.stdout,
        verified.stderr
    );
    says(&verified.stdout, "ok: ");
    says(&verified.stdout, "90 receipt(s)");
    // A rejection or a failure rewritten as done is caught by `verify`, `find` and `run`.
    let text = std::fs::read_to_string(world.receipts()).unwrap();
    let forged = text.replacen("\"outcome\":\"anonymized\"", "\"outcome\":\"not_found\"", 1);
    assert_ne!(forged, text);
    std::fs::write(world.receipts(), &forged).unwrap();
    let caught = run(&world, &["receipts", "verify", &receipts]).await;
    assert_eq!(caught.code, Some(1));
    says(&caught.stdout, "NOT ok: ");
    says(&caught.stdout, "its MAC does not match");
    let refused = run(
        &world,
        &["receipts", "find", "--email", &address, &receipts],
    )
    .await;
    assert_eq!(refused.code, Some(2));
    says(&refused.stderr, "its MAC does not match");
    let args = world.run_args();
    let refused = run(&world, &args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert_eq!(refused.code, Some(2));
    says(&refused.stderr, "its MAC does not match");
    let mut keyless = world.command(&["receipts", "summarize", &receipts]);
    keyless.env_remove("ANONYMIZE_RECEIPT_KEY");
    let unverified = finish(keyless.spawn().unwrap()).await;
    assert_eq!(unverified.code, Some(0));
    says(&unverified.stdout, "unverified: without the receipt key");
    std::fs::write(world.receipts(), &text).unwrap();

    let summary = run(&world, &["receipts", "summarize", &receipts]).await;
    assert_eq!(summary.code, Some(0));
    says(
        &summary.stdout,
        "erased everywhere (anonymized or not found at every vendor above): 30 of 30",
    );
    assert_no_personal_data(&world, &[&summary]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_from_standard_input_is_read_once_and_everyone_is_erased() {
    let world = World::new("stdin", 30).await;
    let receipts = world.receipts().display().to_string();
    let mut cmd = world.command(&["run", "--input", "-", "--receipts", &receipts]);
    cmd.stdin(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let pid = child.id().unwrap();
    let csv = std::fs::read(world.input()).unwrap();
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&csv).await.unwrap();
    }
    let ran = finish(child).await;
    assert_eq!(ran.code, Some(0), "{}\n{}", ran.stdout, ran.stderr);
    // Every person at every vendor, not "0/30 done".
    assert_eq!(read_receipts(&world.receipts()).len(), 90);
    check_after_resume(&world, 0, &[&ran]);
    // The private copy of the input (named by the run's pid) is gone.
    let copy = format!("anonymize-input-{pid}-");
    assert!(
        !std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().starts_with(&copy)),
        "the copy of the input was left behind"
    );
}

#[tokio::test]
async fn an_empty_input_does_nothing_and_says_so() {
    let world = World::new("empty", 0).await;
    std::fs::write(world.input(), "email,alfabet_ref\n").unwrap();
    let input = world.input().display().to_string();
    let receipts = world.receipts().display().to_string();
    let ran = run(&world, &["run", "--input", &input, "--receipts", &receipts]).await;
    assert_eq!(ran.code, Some(0));
    says(&ran.stdout, "the input holds no person: nothing to do");
    assert!(!world.receipts().exists());
    assert_eq!(
        world.guardhouse.requests_received() + world.alfabet.requests_received(),
        0
    );
}

#[tokio::test]
async fn the_demo_runs_without_setup() {
    let out = Command::new(env!("CARGO_BIN_EXE_anonymize"))
        .arg("demo")
        .env_clear()
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout
            .contains("erased everywhere (anonymized or not found at every vendor above): 1 of 5"),
        "{stdout}"
    );
    for name in ["Ada", "Lovelace", "grace@", "linus@"] {
        assert!(!stdout.contains(name), "{stdout}");
    }
}

/// The binary with only the receipt key in its environment, `stdin` on its standard input.
async fn anonymize(args: &[&str], stdin: &str) -> Ran {
    use tokio::io::AsyncWriteExt as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_anonymize"))
        .args(args)
        .env_clear()
        .env("ANONYMIZE_RECEIPT_KEY", KEY_HEX)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    finish(child).await
}

/// `--json`'s one document: stdout is exactly one line of JSON, with the exit status in it.
fn document(ran: &Ran) -> serde_json::Value {
    let lines: Vec<&str> = ran.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one document, one line:\n{}", ran.stdout);
    let doc: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(doc["exit"], ran.code.unwrap(), "{doc}");
    doc
}

/// A receipts file written by a service through the library (`ReceiptLog`), with `persons`
/// (address, outcome at `acme`).
fn library_receipts(path: &Path, persons: &[(&str, anonymize_core::Outcome)]) {
    use anonymize_core::{Lookup, Person, ReceiptLog, VendorReport, VendorStatus};
    let mut log = ReceiptLog::open(path, &key()).unwrap();
    for (i, (email, outcome)) in persons.iter().enumerate() {
        let person = Person::from_email(Email::parse(email).unwrap());
        let report = VendorReport::new(
            "acme",
            Lookup::Resolved(format!("{}", 40 + i)),
            VendorStatus::Finished(outcome.clone()),
            Duration::from_millis(5),
        );
        log.push_receipt(&Receipt::new(&key(), &person, &report))
            .unwrap();
    }
    log.commit().unwrap();
}

#[tokio::test]
async fn a_file_a_service_writes_with_the_library_is_read_by_the_command() {
    use anonymize_core::Outcome;
    let dir = std::env::temp_dir().join(format!("anonymize-cli-library-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let first = dir.join("worker-1.jsonl");
    let second = dir.join("worker-2.jsonl");
    let rejected = Outcome::Rejected {
        message: "userIsCompanyOwner".into(),
    };
    library_receipts(
        &first,
        &[
            ("jane@example.com", rejected),
            ("joe@example.com", Outcome::NotFound),
        ],
    );
    // Jane again in a second worker's file, later and erased: counted once, as erased.
    library_receipts(
        &second,
        &[
            (
                "jane@example.com",
                Outcome::Anonymized(anonymize_core::Evidence::new("HTTP 204")),
            ),
            ("ann@example.com", Outcome::NotFound),
        ],
    );
    let (first, second) = (first.display().to_string(), second.display().to_string());

    let verify = anonymize(&["receipts", "verify", "--json", &first], "").await;
    let doc = document(&verify);
    assert_eq!(
        (verify.code, &doc["ok"], &doc["receipts"]),
        (Some(0), &true.into(), &2.into())
    );

    let summary = anonymize(&["receipts", "summarize", "--json", &first, &second], "").await;
    assert_eq!(summary.code, Some(0), "{}", summary.stderr);
    let doc = document(&summary);
    assert_eq!(doc["receipts"], 4, "{doc}");
    assert_eq!(doc["persons"], 3, "each person once: {doc}");
    assert_eq!(doc["erased_everywhere"], 3, "{doc}");
    assert_eq!(doc["vendors"]["acme"]["anonymized"], 1, "{doc}");
    assert_eq!(doc["vendors"]["acme"]["rejected"], 0, "{doc}");
    assert_eq!(doc["verified"], true);
    // The human text says the same.
    let text = anonymize(&["receipts", "summarize", &first, &second], "").await;
    says(
        &text.stdout,
        "4 receipt(s) about 3 person(s) at 1 vendor(s)",
    );

    // The address from standard input: never on the command line.
    let found = anonymize(
        &["receipts", "find", "--json", "--email", "-", &first],
        "JANE@example.com\n",
    )
    .await;
    let doc = document(&found);
    assert_eq!(found.code, Some(1), "rejected in this file: {doc}");
    assert_eq!(doc["vendors"]["acme"]["erased"], false, "{doc}");
    assert_eq!(doc["vendors"]["acme"]["outcome"], "rejected", "{doc}");
    assert!(!found.stdout.contains("jane"), "{}", found.stdout);
    let found = anonymize(
        &["receipts", "find", "--email", "-", &second],
        "jane@example.com",
    )
    .await;
    assert_eq!(found.code, Some(0), "{}", found.stderr);
    says(&found.stdout, "acme         erased: anonymized");

    // A file others can read is said, with the fix.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&first, std::fs::Permissions::from_mode(0o644)).unwrap();
        let summary = anonymize(&["receipts", "summarize", &first], "").await;
        says(&summary.stderr, &format!("chmod 600 {first}"));
    }
    // A read-only command does not talk of adding to a file that is not receipts.
    std::fs::write(&second, "email\njane@example.com\n").unwrap();
    let summary = anonymize(&["receipts", "summarize", "--json", &second], "").await;
    let doc = document(&summary);
    assert_eq!(summary.code, Some(2));
    assert!(
        doc["error"]
            .as_str()
            .unwrap()
            .contains("line 1: not a receipts file"),
        "{doc}"
    );
    assert!(!summary.stderr.contains("add to it") && !summary.stderr.contains("jane"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Which receipt `summarize` counts for a person at a vendor: within one file the later line,
/// whatever its time says (as `run` reads its own file: a clock set back must not revive an older
/// outcome); across files the later time.
#[tokio::test]
async fn summarize_counts_the_later_line_within_a_file_and_the_later_time_across_files() {
    use anonymize_core::{Lookup, Outcome, Person, ReceiptLog, VendorReport, VendorStatus};
    use std::time::SystemTime;
    let dir = std::env::temp_dir().join(format!("anonymize-cli-latest-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let person = Person::from_email(Email::parse("jane@example.com").unwrap());
    let at = |secs: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs);
    let receipt = |secs: u64, outcome: Outcome| {
        let report = VendorReport::new(
            "acme",
            Lookup::Resolved("40".into()),
            VendorStatus::Finished(outcome),
            Duration::from_millis(5),
        );
        Receipt::at(at(secs), key().person_ref(&person), &report)
    };
    let write = |name: &str, receipts: &[Receipt]| {
        let path = dir.join(name);
        let mut log = ReceiptLog::open(&path, &key()).unwrap();
        for r in receipts {
            log.push_receipt(r).unwrap();
        }
        log.commit().unwrap();
        path.display().to_string()
    };
    let erased = || Outcome::Anonymized(anonymize_core::Evidence::new("HTTP 204"));
    let failed = || Outcome::Rejected {
        message: "userIsCompanyOwner".into(),
    };

    // One file: erased at t+100, then (the clock set back) rejected at t+50: the later line wins.
    let one = write(
        "one.jsonl",
        &[receipt(100, erased()), receipt(50, failed())],
    );
    let out = anonymize(&["receipts", "summarize", "--json", &one], "").await;
    let doc = document(&out);
    assert_eq!(doc["persons"], 1, "{doc}");
    assert_eq!(doc["vendors"]["acme"]["rejected"], 1, "{doc}");
    assert_eq!(doc["vendors"]["acme"]["anonymized"], 0, "{doc}");

    // Across files: the later time wins, whichever file is named first.
    let early = write("early.jsonl", &[receipt(10, failed())]);
    let late = write("late.jsonl", &[receipt(20, erased())]);
    for files in [[&early, &late], [&late, &early]] {
        let out = anonymize(&["receipts", "summarize", "--json", files[0], files[1]], "").await;
        let doc = document(&out);
        assert_eq!(doc["persons"], 1, "{doc}");
        assert_eq!(doc["vendors"]["acme"]["anonymized"], 1, "{files:?}: {doc}");
        assert_eq!(doc["vendors"]["acme"]["rejected"], 0, "{files:?}: {doc}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn each_subcommands_help_names_its_environment_and_exit_statuses() {
    for (args, statuses) in [
        (&["run", "--help"][..], &["0", "1", "2", "3", "128+n"][..]),
        (&["plan", "--help"], &["0", "1", "2"]),
        (&["receipts", "verify", "--help"], &["0", "1", "2"]),
        (&["receipts", "find", "--help"], &["0", "1", "2"]),
        (&["receipts", "summarize", "--help"], &["0", "2"]),
    ] {
        let help = anonymize(args, "").await;
        assert_eq!(help.code, Some(0), "{args:?}");
        for expected in ["Environment:", "ANONYMIZE_RECEIPT_KEY", "Exit status:"] {
            says(&help.stdout, expected);
        }
        if args[0] != "receipts" {
            for variable in [
                "GUARDHOUSE_CLIENT_SECRET",
                "ALFABET_PASSWORD",
                "LEARNING360_CLIENT_ID",
            ] {
                says(&help.stdout, variable);
            }
        }
        for status in statuses {
            says(&help.stdout, &format!("  {status}"));
        }
        says(&help.stdout, "--json");
        if args[0] == "run" {
            says(&help.stdout, "143 SIGTERM");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_documents_a_half_configured_vendor_and_a_file_others_can_read() {
    let world = World::new("json", 6).await;
    let input = world.input().display().to_string();
    let receipts = world.receipts().display().to_string();

    // With -vv, every call, attempt, batch and person is logged on stderr (JSON lines here):
    // the result on stdout is the same one document.
    let plan = run(
        &world,
        &[
            "plan",
            "--json",
            "-vv",
            "--log-format",
            "json",
            "--input",
            &input,
        ],
    )
    .await;
    let doc = document(&plan);
    let logged: Vec<serde_json::Value> = plan
        .stderr
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(
        logged.iter().any(|l| l["span"]["name"] == "vendor_call"),
        "{}",
        plan.stderr
    );
    assert_eq!(plan.code, Some(0), "{}", plan.stderr);
    assert_eq!(doc["input"]["persons"], 6, "{doc}");
    assert_eq!(doc["vendors"]["alfabet"]["given"], 6, "{doc}");
    assert_eq!(doc["vendors"]["guardhouse"]["resolved"], 5, "{doc}");
    assert_eq!(world.writes(), 0);

    let ran = run(
        &world,
        &[
            "run",
            "--json",
            "-vv",
            "--input",
            &input,
            "--receipts",
            &receipts,
        ],
    )
    .await;
    let doc = document(&ran);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    says(&ran.stderr, "eraser_batch");
    says(&ran.stderr, "outcome=\"anonymized\"");
    assert_eq!(
        doc["vendors"]["alfabet"]["outcomes"]["anonymized"], 6,
        "{doc}"
    );
    assert_eq!(
        doc["vendors"]["guardhouse"]["outcomes"]["anonymized"], 5,
        "{doc}"
    );
    assert_eq!(
        doc["vendors"]["guardhouse"]["outcomes"]["not_found"], 1,
        "{doc}"
    );
    assert_eq!(doc["receipts"]["written"], 18, "{doc}");
    assert_eq!(doc["interrupted"], serde_json::Value::Null);
    let head = doc["receipts"]["chain_head"].as_str().unwrap().to_owned();
    let verify = run(&world, &["receipts", "verify", "--json", &receipts]).await;
    assert_eq!(document(&verify)["chain_head"], head.as_str());

    // An error is a document too, and says what stderr says.
    let mut no_key = world.command(&["run", "--json", "--input", &input, "--receipts", &receipts]);
    no_key.env_remove("ANONYMIZE_RECEIPT_KEY");
    let failed = finish(no_key.spawn().unwrap()).await;
    let doc = document(&failed);
    assert_eq!(failed.code, Some(2));
    assert!(
        doc["error"]
            .as_str()
            .unwrap()
            .contains("ANONYMIZE_RECEIPT_KEY"),
        "{doc}"
    );

    // A half-configured vendor: its error is said once.
    let mut half = world.command(&["plan", "--input", &input]);
    half.env_remove("LEARNING360_CLIENT_ID");
    let half = finish(half.spawn().unwrap()).await;
    assert_eq!(half.code, Some(2));
    assert_eq!(
        half.stderr.matches("invalid configuration").count(),
        1,
        "{}",
        half.stderr
    );
    says(
        &half.stderr,
        "invalid configuration: learning360: LEARNING360_CLIENT_ID",
    );

    // A receipts file others can read: the run warns, naming the fix.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(world.receipts(), std::fs::Permissions::from_mode(0o640)).unwrap();
        let again = run(&world, &["run", "--input", &input, "--receipts", &receipts]).await;
        assert_eq!(again.code, Some(0), "{}", again.stderr);
        says(&again.stderr, &format!("chmod 600 {receipts}"));
    }
    assert_no_personal_data(&world, &[&plan, &ran, &failed, &half]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_verify_checks_each_erasure_where_the_vendor_allows_it() {
    let world = World::new("verify", 4).await;
    let input = world.input().display().to_string();
    let receipts = world.receipts().display().to_string();
    let ran = run(
        &world,
        &[
            "run",
            "--verify",
            "--json",
            "--input",
            &input,
            "--receipts",
            &receipts,
        ],
    )
    .await;
    let doc = document(&ran);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    // 3 of 4 at Guardhouse (read back), all 4 at Alfabet (no way to check), 1 at 360Learning.
    assert_eq!(
        doc["vendors"]["guardhouse"]["verified"]["passed"], 3,
        "{doc}"
    );
    assert_eq!(
        doc["vendors"]["alfabet"]["verified"]["unsupported"], 4,
        "{doc}"
    );
    assert_eq!(
        doc["vendors"]["learning360"]["verified"]["passed"], 1,
        "{doc}"
    );
    let verified: Vec<&str> = read_receipts(&world.receipts())
        .iter()
        .filter_map(|r| match &r.status {
            anonymize_core::VendorStatus::Finished(anonymize_core::Outcome::Anonymized(e)) => e
                .verified
                .as_deref()
                .map(anonymize_core::Verification::label),
            _ => None,
        })
        .collect();
    assert_eq!(
        verified.len(),
        8,
        "every anonymized receipt says how it was checked"
    );
    assert_eq!(verified.iter().filter(|l| **l == "passed").count(), 4);
    assert_no_personal_data(&world, &[&ran]);
}
