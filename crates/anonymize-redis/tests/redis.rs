//! The shared budget against a real `redis-server` that each test starts (and stops) itself, and
//! a loopback vendor that answers 429 beyond its limit in any one-second window of arrival time.
//! Without `redis-server` installed these tests print `SKIPPED: …` and pass, unless
//! `ANONYMIZE_TEST_REDIS=required`.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use anonymize_core::{Error, RateLimit, SharedLimits};
use anonymize_redis::RedisLimits;
use common::{Listen, Vendor, http_client, redis_server, write};
use tokio::time::Instant;

const WINDOW: Duration = Duration::from_secs(1);

/// Four replicas (separate connections, limiters and HTTP clients) over one budget of 10 per
/// second, four requests in flight each: the vendor never sees more than 10 in any second and
/// answers no 429, at 0, 20 and 50 ms of server delay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_replicas_share_one_budget_without_a_429() {
    let Some(redis) = redis_server("four_replicas_share_one_budget_without_a_429", Listen::Tcp)
    else {
        return;
    };
    let vendor = Vendor::start(10).await;
    let request_timeout = Duration::from_secs(1);
    let mut replicas = Vec::new();
    for _ in 0..4 {
        let limits = RedisLimits::connect(redis.url(), "test:four-replicas")
            .await
            .unwrap();
        let limiter = limits.limiter("writes", RateLimit::per_second(10)).unwrap();
        replicas.push((limiter, http_client(&vendor, request_timeout)));
    }
    let mut sent = 0;
    for delay_ms in [0u64, 20, 50] {
        vendor.set_delay(Duration::from_millis(delay_ms));
        let mut tasks = Vec::new();
        for (limiter, http) in &replicas {
            for _ in 0..4 {
                let (limiter, http) = (limiter.clone(), http.clone());
                tasks.push(tokio::spawn(async move {
                    for _ in 0..3 {
                        http.execute(write(&http).rate_limited(&*limiter))
                            .await
                            .unwrap();
                    }
                }));
            }
        }
        for task in tasks {
            task.await.unwrap();
        }
        sent += 48;
        assert_eq!(vendor.arrivals(), sent, "{delay_ms} ms");
        assert_eq!(vendor.rejected(), 0, "{delay_ms} ms: 429s");
    }
    assert!(vendor.most_in_any_second() <= 10);
}

/// The bound on a dead holder: a holder that took slots and vanished without a release (a
/// crash: its permits never dropped, its connection closed) keeps them until its lease ends,
/// request timeout + window after its acquire, never sooner; then they return. A holder whose
/// call is cancelled (its future dropped) frees its slot one window after, not at the lease's end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_holders_slot_returns_after_the_lease_and_never_sooner() {
    let Some(redis) = redis_server(
        "a_dead_holders_slot_returns_after_the_lease_and_never_sooner",
        Listen::Unix,
    ) else {
        return;
    };
    let limit = RateLimit::new(2, WINDOW);
    let max_attempt = Duration::from_millis(1500);
    let lease = max_attempt + WINDOW;

    // Any first acquire of a budget waits one lease (the epoch: leases may have been lost).
    let survivor = RedisLimits::connect(redis.url(), "test:dead-holder")
        .await
        .unwrap();
    let survivor = survivor.limiter("writes", limit).unwrap();
    drop(survivor.acquire(max_attempt).await.unwrap());
    tokio::time::sleep(WINDOW).await;

    // The holder takes both slots, and dies with them.
    let crashed = RedisLimits::connect(redis.url(), "test:dead-holder")
        .await
        .unwrap();
    let taken_at = Instant::now();
    {
        let crashed = crashed.limiter("writes", limit).unwrap();
        for _ in 0..2 {
            std::mem::forget(crashed.acquire(max_attempt).await.unwrap());
        }
    }
    drop(crashed);

    let permit = survivor.acquire(max_attempt).await.unwrap();
    let waited = taken_at.elapsed();
    assert!(
        waited >= lease,
        "a dead holder's slot was lent after {waited:?}"
    );
    assert!(
        waited < lease + Duration::from_secs(2),
        "a dead holder's slot came back only after {waited:?}"
    );

    // A cancelled call: its future is dropped mid-request, the permit with it; the slot is free
    // one window later.
    let vendor = Vendor::start(100).await;
    vendor.set_delay(Duration::from_secs(30));
    let http = http_client(&vendor, max_attempt);
    let call = {
        let (http, survivor) = (http.clone(), survivor.clone());
        tokio::spawn(async move {
            let _ = http.execute(write(&http).rate_limited(&*survivor)).await;
        })
    };
    while vendor.arrivals() == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    call.abort();
    let _ = call.await;
    let dropped_at = Instant::now();
    drop(permit);
    let _again = survivor.acquire(max_attempt).await.unwrap();
    let waited = dropped_at.elapsed();
    assert!(
        waited >= WINDOW - Duration::from_millis(50),
        "a cancelled call's slot came back {waited:?} after it ended"
    );
    assert!(
        waited < lease,
        "a cancelled call's slot was held to the end of its lease ({waited:?})"
    );
}

/// Redis stopped mid-run: calls wait, then fail with the limiter's error, and nothing reaches
/// the vendor. Redis back (a new server, nothing in memory): after one lease the run goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_nothing_is_sent_and_the_run_goes_on_when_it_is_back() {
    let Some(mut redis) = redis_server(
        "without_redis_nothing_is_sent_and_the_run_goes_on_when_it_is_back",
        Listen::Unix,
    ) else {
        return;
    };
    let vendor = Vendor::start(10).await;
    let http = http_client(&vendor, Duration::from_millis(500));
    let limits = RedisLimits::builder(redis.url(), "test:outage")
        .unavailable_wait(Duration::from_millis(500))
        .connect()
        .await
        .unwrap();
    let limiter = limits.limiter("writes", RateLimit::per_second(10)).unwrap();
    for _ in 0..3 {
        http.execute(write(&http).rate_limited(&*limiter))
            .await
            .unwrap();
    }
    assert_eq!(vendor.arrivals(), 3);

    redis.stop();
    for _ in 0..3 {
        let err = http
            .execute(write(&http).rate_limited(&*limiter))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::LimiterUnavailable { .. }), "{err:?}");
        assert!(err.to_string().contains("test:outage:writes"), "{err}");
        assert!(!err.to_string().contains("redis.sock"), "{err}");
    }
    assert_eq!(vendor.arrivals(), 3, "a call was sent without a slot");

    redis.start();
    let restarted = Instant::now();
    let mut sent = false;
    while restarted.elapsed() < Duration::from_secs(15) {
        match http.execute(write(&http).rate_limited(&*limiter)).await {
            Ok(_) => {
                sent = true;
                break;
            }
            Err(Error::LimiterUnavailable { .. }) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert!(sent, "the run did not go on once Redis was back");
    // A new server lends nothing for one lease (request timeout + window): slots granted by the
    // old one may still be in use.
    assert!(restarted.elapsed() >= Duration::from_millis(1400));
    for _ in 0..5 {
        http.execute(write(&http).rate_limited(&*limiter))
            .await
            .unwrap();
    }
    assert_eq!(vendor.rejected(), 0);
}

/// A Redis URL may hold a password: never in `Debug`, errors or logs. Names that would break the
/// key layout are refused. (No server needed: nothing listens on the port.)
#[tokio::test]
async fn the_url_never_shows_and_bad_names_are_refused() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://:s3cret-Pw@127.0.0.1:{port}/");
    let builder =
        RedisLimits::builder(url.clone(), "test:url").unavailable_wait(Duration::from_millis(200));
    assert!(!format!("{builder:?}").contains("s3cret-Pw"));
    let err = builder.connect().await.unwrap_err();
    assert!(matches!(err, Error::LimiterUnavailable { .. }), "{err:?}");
    let shown = format!("{err} {err:?} {}", err.record().text);
    assert!(!shown.contains("s3cret-Pw"), "{shown}");
    assert!(shown.contains("test:url"), "{shown}");

    let err = RedisLimits::connect("not a url s3cret-Pw", "test:url")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Configuration { .. }), "{err:?}");
    assert!(!err.to_string().contains("s3cret-Pw"), "{err}");

    for name in ["", "a{b}", "with space", "tab\t"] {
        let err = RedisLimits::connect(url.clone(), name).await.unwrap_err();
        assert!(
            matches!(err, Error::Configuration { .. }),
            "{name:?}: {err:?}"
        );
    }
}

/// Every limiter of one name and class shares its slots (wherever it was made); another class is
/// another budget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limiters_of_one_name_and_class_share_their_slots() {
    let Some(redis) = redis_server(
        "limiters_of_one_name_and_class_share_their_slots",
        Listen::Unix,
    ) else {
        return;
    };
    let limits = Arc::new(
        RedisLimits::connect(redis.url(), "test:builders")
            .await
            .unwrap(),
    );
    let a = limits.limiter("writes", RateLimit::per_second(1)).unwrap();
    let b = limits.limiter("writes", RateLimit::per_second(1)).unwrap();
    let reads = limits.limiter("reads", RateLimit::per_second(1)).unwrap();
    let max_attempt = Duration::from_millis(200);
    // The epoch's first wait, once.
    drop(reads.acquire(max_attempt).await.unwrap());
    let held = a.acquire(max_attempt).await.unwrap();
    // Another class is another budget: not blocked by `held`.
    let other = tokio::time::timeout(Duration::from_secs(2), reads.acquire(max_attempt)).await;
    assert!(other.is_ok(), "the reads budget waited for a write slot");
    // The same class shares the slot: `b` waits while `a` holds it.
    let blocked = tokio::time::timeout(Duration::from_millis(300), b.acquire(max_attempt)).await;
    assert!(
        blocked.is_err(),
        "two limiters of one budget lent one slot twice"
    );
    drop(held);
    assert!(format!("{a:?}").contains("test:builders:writes"));
}

/// Through a vendor builder, token requests included: four 360Learning clients (four
/// connections), each erasing its own users, share the company's write budget, and the vendor's
/// simulator, which enforces 10 writes in any second of arrival, answers no 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_learning360_clients_share_the_companys_budget() {
    use anonymize_core::Anonymizer;
    use learning360_client::testkit::Simulator;

    let Some(redis) = redis_server(
        "four_learning360_clients_share_the_companys_budget",
        Listen::Unix,
    ) else {
        return;
    };
    let sim = Simulator::start().await;
    let ids: Vec<String> = sim
        .add_many(0, 16)
        .iter()
        .map(|id| id.to_string())
        .collect();
    // A short request timeout: a budget's first acquire waits one lease (timeout + window).
    let config =
        anonymize_core::testkit::fast_http_config().with_request_timeout(Duration::from_secs(1));
    let mut runs = Vec::new();
    for chunk in ids.chunks(4) {
        let limits = RedisLimits::connect(redis.url(), "test:learning360:company")
            .await
            .unwrap();
        let client = sim
            .client_builder()
            .http_config(config.clone())
            .shared_limits(Arc::new(limits))
            .build()
            .unwrap();
        let chunk = chunk.to_vec();
        runs.push(tokio::spawn(async move {
            client.anonymize(&chunk).await.unwrap()
        }));
    }
    for run in runs {
        for outcome in run.await.unwrap() {
            assert_eq!(outcome.outcome.label(), "anonymized", "{outcome:?}");
        }
    }
    assert_eq!(sim.count("POST", "/api/v2/oauth2/token"), 4);
    assert_eq!(
        sim.rate_limited_count(),
        0,
        "the simulator had to send 429s"
    );
}
