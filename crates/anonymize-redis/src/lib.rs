//! A vendor's rate-limit budget shared by every process through Redis (or Valkey), with the
//! guarantee of the in-process limiter: **the vendor never sees more than the limit in any
//! window**, however many replicas, workers and machines send to it.
//!
//! [`RedisLimits`] is a [`SharedLimits`]: give it to a vendor builder's `shared_limits` method,
//! in every process that sends to that vendor account, under the same name.
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use anonymize_redis::RedisLimits;
//! use learning360_client::Learning360Client;
//! # async fn run(secret: anonymize_core::secrecy::SecretString) -> anonymize_core::Result<()> {
//! // One name per vendor account (here: one 360Learning company), the same in every replica.
//! let limits = RedisLimits::connect("redis://127.0.0.1:6379/", "anonymize:learning360:acme").await?;
//! let client = Learning360Client::builder("https://app.360learning.com".parse().unwrap())
//!     .client_credentials("client-id", secret)
//!     .shared_limits(Arc::new(limits))
//!     .build()?;
//! # Ok(()) }
//! ```
//!
//! # How
//!
//! A lease-based counting semaphore, timed by the Redis server's clock (`TIME`), so that the
//! replicas' clocks do not matter:
//!
//! - each budget is a sorted set `{<name>:<class>}:leases` (member: a random id per attempt;
//!   score: the microsecond its slot is free again) beside a hash `{<name>:<class>}:epoch` (the
//!   server's `run_id` and a `not_before`); the hash tag keeps both in one cluster slot;
//! - **acquire** is one atomic script (`EVALSHA`, loaded once, reloaded by hash after a restart):
//!   drop the expired leases, grant when fewer than `max` remain, with the lease ending at
//!   `now + request timeout + window`, or else answer how long until the earliest frees;
//! - **release** is one atomic script, sent when the answer has been read (or the call given up),
//!   off the caller's path: `ZADD XX LT` to `now + window`, one window after the answer; it can
//!   only shorten a lease, never revive one;
//! - the HTTP client starts its deadline (`start + request timeout`) *before* sending the acquire,
//!   and sends the vendor request only before it, with a timeout that ends by it: a holder that
//!   dies (a crash, `kill -9`, a partition) has its request over before its lease ends, so its
//!   slot returns **at most request timeout + window after its acquire**, never sooner;
//! - a server that is not the one that granted the leases (a restart, a fail-over, a flush: its
//!   `run_id` differs from the epoch's, or the epoch is gone) grants nothing for one full lease
//!   (request timeout + window), since leases may have been lost;
//! - keys expire by themselves: the leases with their last lease, the epoch after
//!   [`EPOCH_TTL`] unused (the first acquire after that waits one lease, as after a restart).
//!
//! When Redis cannot be reached, an acquire waits up to
//! [`unavailable_wait`](RedisLimitsBuilder::unavailable_wait) and then fails the call with
//! [`Error::LimiterUnavailable`]: nothing is sent, and there is never a fall-back to per-process
//! limits (the other replicas may still be using the whole budget). The run goes on once Redis is
//! back. Redis must run with `maxmemory-policy noeviction` (an evicted lease is a slot lent
//! twice). See `docs/shared-limits.md` in the repository for the proof, the figures and the
//! tested versions.
//!
//! A Redis URL may hold a password: it never appears in `Debug`, errors or logs.

#![cfg_attr(docsrs, feature(doc_cfg))]

use std::fmt;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use anonymize_core::vendor::RatePermit;
use anonymize_core::{Error, Limiter, RateLimit, Result, SharedLimits};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, RedisResult, Script};
use tokio::time::Instant;

/// How long an acquire waits for an unreachable Redis before it fails the call, by default.
pub const DEFAULT_UNAVAILABLE_WAIT: Duration = Duration::from_secs(5);

/// How long a budget's epoch (the server's `run_id`) is kept unused. The first acquire after it
/// is gone waits one full lease (request timeout + window), as after a restart: the limiter
/// cannot tell an expired epoch from a flushed one.
pub const EPOCH_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// The longest name (or class) accepted: keys stay short.
const MAX_NAME_BYTES: usize = 200;

/// How long an acquire sleeps between tries while Redis does not answer.
const UNAVAILABLE_PAUSE: Duration = Duration::from_millis(100);

/// Grant a slot, or say how long to wait. KEYS: leases, epoch. ARGV: max, lease (µs), id, epoch
/// TTL (ms). Answers `{1, 0}` (granted) or `{0, µs to wait}`.
const ACQUIRE_LUA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local max = tonumber(ARGV[1])
local lease = tonumber(ARGV[2])
local id = ARGV[3]
-- Leases live only in this server's memory: a server that did not grant them (a restart, a
-- fail-over, a flush) must not lend their slots again until every one of them could have ended.
local run_id = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
local epoch = redis.call('HMGET', KEYS[2], 'run_id', 'not_before')
local not_before
if epoch[1] == run_id then
  not_before = tonumber(epoch[2])
else
  not_before = now + lease
  redis.call('HSET', KEYS[2], 'run_id', run_id, 'not_before', not_before)
end
redis.call('PEXPIRE', KEYS[2], ARGV[4])
if now < not_before then
  return {0, not_before - now}
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
-- The same id again (an answer lost on the way) renews its own lease: never a second slot.
if redis.call('ZSCORE', KEYS[1], id) or redis.call('ZCARD', KEYS[1]) < max then
  redis.call('ZADD', KEYS[1], now + lease, id)
  local lease_ms = math.ceil(lease / 1000)
  if redis.call('PTTL', KEYS[1]) < lease_ms then
    redis.call('PEXPIRE', KEYS[1], lease_ms)
  end
  return {1, 0}
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, tonumber(first[2]) - now}
";

/// Start a slot's cool-down: free one window from now, only ever sooner than its lease (`LT`),
/// only if it is still there (`XX`). KEYS: leases. ARGV: window (µs), id.
const RELEASE_LUA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
return redis.call('ZADD', KEYS[1], 'XX', 'LT', now + tonumber(ARGV[1]), ARGV[2])
";

static ACQUIRE: LazyLock<Script> = LazyLock::new(|| Script::new(ACQUIRE_LUA));
static RELEASE: LazyLock<Script> = LazyLock::new(|| Script::new(RELEASE_LUA));

/// Builds [`RedisLimits`]; start with [`RedisLimits::builder`].
#[must_use = "a builder does nothing until .connect()"]
pub struct RedisLimitsBuilder {
    url: String,
    name: String,
    unavailable_wait: Duration,
}

impl fmt::Debug for RedisLimitsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLimitsBuilder")
            .field("url", &"<redacted>")
            .field("name", &self.name)
            .field("unavailable_wait", &self.unavailable_wait)
            .finish()
    }
}

impl RedisLimitsBuilder {
    /// How long an acquire waits for an unreachable Redis (connection refused, lost, or no
    /// answer) before it fails the call with [`Error::LimiterUnavailable`]; default
    /// [`DEFAULT_UNAVAILABLE_WAIT`]. Each Redis command also times out after at most one second
    /// (or this, if shorter).
    pub fn unavailable_wait(mut self, wait: Duration) -> Self {
        self.unavailable_wait = wait;
        self
    }

    /// Check the name, connect (one multiplexed connection, re-established by itself when lost)
    /// and load the two scripts. An unreachable Redis is [`Error::LimiterUnavailable`]; a URL
    /// that does not parse or a bad name is [`Error::Configuration`] (neither quotes the URL).
    pub async fn connect(self) -> Result<RedisLimits> {
        check_name("name", &self.name)?;
        let client = redis::Client::open(self.url.as_str()).map_err(|e| {
            Error::configuration(format!(
                "shared limits {}: the Redis URL is not usable ({:?}); expected redis://, \
                 rediss:// or unix://",
                self.name,
                e.kind()
            ))
        })?;
        let timeout = self.unavailable_wait.min(Duration::from_secs(1));
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            // The acquire loop waits and tries again itself, up to `unavailable_wait`: a
            // reconnection must not hold a caller longer than that.
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(200));
        let name: Arc<str> = self.name.into();
        let unavailable =
            |e: RedisError| unavailable(&format!("redis {name}"), "cannot connect to Redis", e);
        let mut conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(unavailable)?;
        // Loaded once, here; each call then sends only the hash (EVALSHA), and a server that
        // lost them (a restart) gets them again from `invoke_async` on NOSCRIPT.
        ACQUIRE.load_async(&mut conn).await.map_err(unavailable)?;
        RELEASE.load_async(&mut conn).await.map_err(unavailable)?;
        Ok(RedisLimits {
            conn,
            name,
            unavailable_wait: self.unavailable_wait,
        })
    }
}

/// Budgets shared through one Redis connection, under a name: a [`SharedLimits`] for a vendor
/// builder's `shared_limits` method. Cheap to clone (clones share the connection).
///
/// The name identifies the vendor account whose budget this is, e.g.
/// `anonymize:learning360:<company>`: every process that sends to that account must use the same
/// name (and Redis), and two accounts must never share one. Keys are
/// `{<name>:<class>}:leases` and `{<name>:<class>}:epoch`; nothing else is touched.
#[derive(Clone)]
pub struct RedisLimits {
    conn: ConnectionManager,
    name: Arc<str>,
    unavailable_wait: Duration,
}

impl fmt::Debug for RedisLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLimits")
            .field("name", &self.name)
            .field("unavailable_wait", &self.unavailable_wait)
            .finish_non_exhaustive()
    }
}

impl RedisLimits {
    /// A builder for budgets named `name` at the Redis of `url` (`redis://[:password@]host:port/db`,
    /// `rediss://…` for TLS with the default feature `rustls`, or `unix:///path/to/redis.sock`).
    /// The name may not be empty, nor hold `{`, `}`, white space or control characters.
    pub fn builder(url: impl Into<String>, name: impl Into<String>) -> RedisLimitsBuilder {
        RedisLimitsBuilder {
            url: url.into(),
            name: name.into(),
            unavailable_wait: DEFAULT_UNAVAILABLE_WAIT,
        }
    }

    /// [`builder`](Self::builder) with the defaults, connected.
    pub async fn connect(url: impl Into<String>, name: impl Into<String>) -> Result<Self> {
        Self::builder(url, name).connect().await
    }

    /// The name the budgets are kept under.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The budgets named `name`, over this connection: one connection serves several vendor
    /// accounts (each its own name). A bad name is [`Error::Configuration`].
    pub fn with_name(&self, name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        check_name("name", &name)?;
        Ok(Self {
            conn: self.conn.clone(),
            name: name.into(),
            unavailable_wait: self.unavailable_wait,
        })
    }
}

impl SharedLimits for RedisLimits {
    /// The budget `{<name>:<class>}` with `limit`. Every process must give one budget the same
    /// limit: each enforces its own `max` against the leases all of them hold.
    fn limiter(&self, class: &str, limit: RateLimit) -> Result<Arc<dyn Limiter>> {
        check_name("class", class)?;
        let tag = format!("{{{}:{class}}}", self.name);
        Ok(Arc::new(RedisLimiter {
            conn: self.conn.clone(),
            label: format!("redis {}:{class}", self.name).into(),
            leases: format!("{tag}:leases").into(),
            epoch: format!("{tag}:epoch").into(),
            limit,
            unavailable_wait: self.unavailable_wait,
        }))
    }
}

/// One budget in Redis; see the [crate docs](crate). Made by [`RedisLimits`] (as a
/// [`SharedLimits`]).
pub struct RedisLimiter {
    conn: ConnectionManager,
    /// `redis <name>:<class>`: names the limiter in errors and logs (never the URL).
    label: Arc<str>,
    leases: Arc<str>,
    epoch: Arc<str>,
    limit: RateLimit,
    unavailable_wait: Duration,
}

impl fmt::Debug for RedisLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label)?;
        write!(f, " ({:?})", self.limit)
    }
}

#[async_trait::async_trait]
impl Limiter for RedisLimiter {
    fn limit(&self) -> RateLimit {
        self.limit
    }

    async fn acquire(&self, max_attempt: Duration) -> Result<RatePermit> {
        let id = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        let window = self.limit.window();
        let lease_us = micros(max_attempt + window);
        let mut conn = self.conn.clone();
        let mut failing_since: Option<Instant> = None;
        loop {
            // Before the acquire is sent: the grant comes later on Redis's clock, so the request,
            // sent and ended by `start + max_attempt`, is over before its lease ends.
            let start = Instant::now();
            let answer: RedisResult<(i64, i64)> = ACQUIRE
                .key(&*self.leases)
                .key(&*self.epoch)
                .arg(self.limit.max())
                .arg(lease_us)
                .arg(&id)
                .arg(EPOCH_TTL.as_millis() as u64)
                .invoke_async(&mut conn)
                .await;
            match answer {
                Ok((1, _)) => {
                    let release = self.releaser(id, micros(window));
                    return Ok(RatePermit::new(Some(start + max_attempt), release));
                }
                Ok((_, wait_us)) => {
                    failing_since = None;
                    // The earliest lease's end, but polled at least four times a window: a slot
                    // still in flight may be released (and free one window later) meanwhile.
                    let wait = Duration::from_micros(wait_us.max(1_000).unsigned_abs())
                        .min(window / 4)
                        .max(Duration::from_millis(1));
                    tokio::time::sleep(wait).await;
                }
                Err(e) => {
                    let since = *failing_since.get_or_insert(start);
                    if e.is_unrecoverable_error() || since.elapsed() >= self.unavailable_wait {
                        tracing::warn!(limiter = %self.label, "Redis unavailable: call not sent");
                        return Err(unavailable(&self.label, "Redis did not answer in time", e));
                    }
                    tracing::debug!(limiter = %self.label, "Redis unavailable: waiting");
                    tokio::time::sleep(UNAVAILABLE_PAUSE).await;
                }
            }
        }
    }
}

impl RedisLimiter {
    /// What dropping the permit does: one release, spawned (a `Drop` cannot wait). Without a
    /// runtime, or if Redis does not answer, the lease ends by itself (request timeout + window).
    fn releaser(&self, id: String, window_us: u64) -> impl FnOnce() + Send + 'static {
        let mut conn = self.conn.clone();
        let leases = Arc::clone(&self.leases);
        let label = Arc::clone(&self.label);
        move || {
            let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                return;
            };
            runtime.spawn(async move {
                let released: RedisResult<redis::Value> = RELEASE
                    .key(&*leases)
                    .arg(window_us)
                    .arg(&id)
                    .invoke_async(&mut conn)
                    .await;
                if released.is_err() {
                    tracing::debug!(limiter = %label, "release failed: the lease ends by itself");
                }
            });
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn unavailable(label: &str, reason: &str, error: RedisError) -> Error {
    Error::limiter_unavailable(label, reason, Some(Box::new(error)))
}

/// A name or class: it goes into a key, inside a hash tag.
fn check_name(what: &str, name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > MAX_NAME_BYTES
        || name
            .chars()
            .any(|c| c == '{' || c == '}' || c.is_whitespace() || c.is_control())
    {
        return Err(Error::configuration(format!(
            "shared limits: the {what} must be 1 to {MAX_NAME_BYTES} bytes without braces, white \
             space or control characters"
        )));
    }
    Ok(())
}
