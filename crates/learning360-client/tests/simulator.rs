//! The client against the stateful simulator: the erasure flow and its recovery, scopes, token
//! expiry, pagination, the directory, and the published rate limits. The conformance suite runs
//! in `tests/conformance.rs`.
#![cfg(feature = "testkit")]
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::time::Duration;

use anonymize_core::testkit::{Simulated, fast_http_config};
use anonymize_core::{Anonymizer, AnonymizerExt, Email, Error, Outcome, RateLimit, Subject};
use futures_util::TryStreamExt;
use learning360_client::testkit::{CLIENT_ID, ErrorShape, NewUser, SCOPE_READ, Simulator};
use learning360_client::{
    Directory, DirectoryOptions, Learning360Client, UserFilter, UserId, UserStatus,
};

#[tokio::test]
async fn erasure_deletes_then_pseudonymizes_and_drops_external_ids() {
    let sim = Simulator::start().await;
    let id = sim.add(
        NewUser::new("jane@example.com")
            .names("Jane", "Doe")
            .phone("+33123456789")
            .external_id("okta-42"),
    );
    let client = sim.client();
    let out = client.anonymize(&[id.to_string()]).await.unwrap();
    let Outcome::Anonymized(evidence) = &out[0].outcome else {
        panic!("{:?}", out[0].outcome)
    };
    assert_eq!(sim.count("DELETE", "/api/v2/users/"), 1);
    assert_eq!(sim.count("PUT", "/api/v2/users/"), 1);
    let put = sim
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT")
        .unwrap();
    assert_eq!(put.query.as_deref(), Some("deleteExternalIds=true"));
    // The DELETE came before the PUT.
    let order: Vec<String> = sim
        .requests()
        .into_iter()
        .filter(|r| r.method != "POST")
        .map(|r| r.method)
        .collect();
    assert_eq!(order, vec!["DELETE", "PUT"]);

    let stored = sim.user(&id).unwrap();
    assert!(stored.is_deleted());
    assert_eq!(stored.deleted_at.len(), 1);
    assert!(!stored.mail.as_deref().unwrap().contains("jane"));
    assert_ne!(stored.first_name.as_deref(), Some("Jane"));
    assert!(sim.external_ids(&id).is_empty());

    let record = evidence.record.as_ref().unwrap();
    assert_eq!(record["_id"], id.to_string());
    assert_eq!(record["status"], "deleted");
    assert!(!record.to_string().contains("jane"));
    // The phone the vendor keeps is named in a warning, never copied into the evidence.
    assert!(record.get("phone").is_none());
    assert!(!format!("{:?}", out[0].outcome).contains("+33"));
    assert_eq!(stored.phone.as_deref(), Some("+33123456789"));
    // The vendor leaves the phone number: the evidence says so.
    assert!(
        evidence.warnings.iter().any(|w| w.contains("phone")),
        "{evidence:?}"
    );
    assert!(!out[0].outcome.to_string().contains("+33"));
}

#[tokio::test]
async fn external_ids_can_be_kept_with_a_warning() {
    let sim = Simulator::start().await;
    let id = sim.add(NewUser::new("jane@example.com").external_id("okta-42"));
    let client = sim
        .client_builder()
        .delete_external_ids(false)
        .build()
        .unwrap();
    let out = client.anonymize(&[id.to_string()]).await.unwrap();
    let Outcome::Anonymized(evidence) = &out[0].outcome else {
        panic!()
    };
    assert_eq!(sim.external_ids(&id), vec!["okta-42"]);
    assert!(evidence.warnings.iter().any(|w| w.contains("reactivate")));
    let put = sim
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT")
        .unwrap();
    assert_eq!(put.query.as_deref(), Some("deleteExternalIds=false"));
}

#[tokio::test]
async fn a_user_known_deleted_is_not_deleted_again_and_user_not_deleted_recovers() {
    let sim = Simulator::start().await;
    let gone = sim.add(NewUser::new("gone@example.com").status(UserStatus::Deleted));
    let back = sim.add(NewUser::new("back@example.com").status(UserStatus::Deleted));
    let client = sim
        .client_builder()
        .directory(Directory::default())
        .build()
        .unwrap();
    client.refresh_directory().await.unwrap();

    // Known deleted: no DELETE at all.
    let out = client.anonymize(&[gone.to_string()]).await.unwrap();
    assert_eq!(out[0].outcome.label(), "anonymized");
    assert_eq!(sim.count("DELETE", "/"), 0);
    assert_eq!(sim.count("PUT", "/"), 1);

    // Reactivated since the refresh: the vendor says userNotDeleted, the client deletes once
    // and retries once.
    sim.reactivate(&back);
    let out = client.anonymize(&[back.to_string()]).await.unwrap();
    assert_eq!(out[0].outcome.label(), "anonymized", "{}", out[0].outcome);
    assert_eq!(sim.count("DELETE", "/"), 1);
    assert_eq!(sim.count("PUT", "/"), 3);
    assert!(sim.user(&back).unwrap().is_deleted());
}

#[tokio::test]
async fn owner_is_rejected_with_the_vendors_message_and_missing_is_not_found() {
    let sim = Simulator::start().await;
    let owner = sim.add_owner("boss@example.com");
    let client = sim.client();
    let out = client
        .anonymize(&[owner.to_string(), "aaaaaaaaaaaaaaaaaaaaaaaa".into()])
        .await
        .unwrap();
    match &out[0].outcome {
        Outcome::Rejected { message } => {
            assert_eq!(
                message,
                "userIsCompanyOwner: The company owner cannot be deleted."
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(out[1].outcome.label(), "not_found");
    assert_eq!(sim.count("PUT", "/"), 0);
    let err = client.delete_user(&owner).await.unwrap_err();
    assert_eq!(err.code(), Some("userIsCompanyOwner"));
    assert!(!sim.user(&owner).unwrap().is_deleted());
}

#[tokio::test]
async fn a_missing_scope_stops_the_batch_in_both_shapes() {
    for shape in [ErrorShape::Nested, ErrorShape::Flat] {
        let sim = Simulator::start().await;
        sim.set_scope_error_shape(shape);
        let ids: Vec<String> = sim.add_many(0, 3).iter().map(UserId::to_string).collect();
        sim.set_scopes(CLIENT_ID, &[SCOPE_READ]);
        let client = sim.client_builder().concurrency(1).build().unwrap();
        let err = client.anonymize(&ids).await.unwrap_err();
        assert!(matches!(err.error, Error::PermissionDenied(_)), "{err:?}");
        assert_eq!(err.error.code(), Some("invalid_scope"));
        assert_eq!(err.completed.len(), 1);
        assert_eq!(err.not_attempted.len(), 2);
        // Reads still work with that token.
        client.get_user(&ids[0].parse().unwrap()).await.unwrap();
    }
}

#[tokio::test]
async fn expired_tokens_are_refreshed_once() {
    let sim = Simulator::start().await;
    sim.set_expires_in_as_string(true);
    let id = sim.add_user("a@example.com");
    let client = sim.client();
    client.get_user(&id).await.unwrap();
    assert_eq!(sim.token_requests(), 1);
    sim.expire_tokens();
    client.get_user(&id).await.unwrap();
    assert_eq!(sim.token_requests(), 2);
    assert_eq!(sim.count("GET", "/api/v2/users/"), 3);
}

#[tokio::test]
async fn bad_client_credentials_are_unauthenticated() {
    let sim = Simulator::start().await;
    let client = Learning360Client::builder(sim.url())
        .client_credentials(CLIENT_ID, "wrong-secret-value".to_string().into())
        .http_config(fast_http_config())
        .build()
        .unwrap();
    let err = client
        .anonymize(&["aaaaaaaaaaaaaaaaaaaaaaaa".into()])
        .await
        .unwrap_err();
    assert_eq!(err.error.code(), Some("invalid_client"));
    assert!(!format!("{err} {err:?}").contains("wrong-secret-value"));
}

#[tokio::test]
async fn pagination_across_pages_with_filters_and_relative_links() {
    let sim = Simulator::start().await;
    sim.set_page_size(3);
    let ids = sim.add_many(0, 10);
    let deleted: Vec<UserId> = (0..4)
        .map(|i| sim.add(NewUser::new(format!("d{i}@example.com")).status(UserStatus::Deleted)))
        .collect();
    let client = sim.client();
    let all: Vec<UserId> = client
        .list_users(&UserFilter::new())
        .map_ok(|u| u.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 14);
    assert_eq!(&all[..10], &ids[..]);
    assert_eq!(sim.count("GET", "/api/v2/users"), 5);

    sim.set_relative_links(true);
    let only_deleted: Vec<UserId> = client
        .list_users(&UserFilter::new().status(UserStatus::Deleted))
        .map_ok(|u| u.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(only_deleted, deleted);
    // Every page request kept the filter.
    let filtered = sim
        .requests()
        .into_iter()
        .filter(|r| r.query.as_deref().is_some_and(|q| q.contains("status")))
        .count();
    assert_eq!(filtered, 2);
}

#[tokio::test]
async fn directory_is_case_insensitive_and_knows_statuses() {
    let sim = Simulator::start().await;
    sim.set_page_size(2);
    let jane = sim.add_user("Jane.Doe@Example.com");
    let old = sim.add(NewUser::new("old@example.com").status(UserStatus::Deleted));
    sim.add_many(0, 5);
    let dir = Directory::default();
    let client = sim.client_builder().directory(dir.clone()).build().unwrap();
    assert_eq!(client.refresh_directory().await.unwrap(), 7);
    let lists = sim.count("GET", "/api/v2/users");
    assert_eq!(lists, 4);
    let e = dir
        .lookup(&Email::parse("jane.doe@EXAMPLE.com").unwrap())
        .unwrap();
    assert_eq!((e.id, e.status), (jane, UserStatus::Active));
    let e = dir
        .lookup(&Email::parse("OLD@example.com").unwrap())
        .unwrap();
    assert_eq!((e.id, e.status), (old, UserStatus::Deleted));
    // Fresh: look-ups send nothing.
    let before = sim.requests_received();
    let found = client
        .user_id_for_email(&Email::parse("JANE.DOE@example.com").unwrap())
        .await
        .unwrap();
    assert_eq!(found, Some(jane));
    assert_eq!(sim.requests_received(), before);
    assert!(
        !format!("{dir:?} {client:?}")
            .to_lowercase()
            .contains("jane")
    );
}

#[tokio::test]
async fn directory_refreshes_by_age() {
    let sim = Simulator::start().await;
    let a = sim.add_user("a@example.com");
    let dir = Directory::new(DirectoryOptions::default().with_max_age(Duration::from_millis(50)));
    let client = sim.client_builder().directory(dir.clone()).build().unwrap();
    let email = Email::parse("a@example.com").unwrap();
    assert_eq!(client.user_id_for_email(&email).await.unwrap(), Some(a));
    assert_eq!(sim.count("GET", "/api/v2/users"), 1);
    // Older than its max age: the next look-up lists the users again.
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert!(dir.is_stale());
    sim.set_mail(&a, "renamed@example.com");
    assert_eq!(client.user_id_for_email(&email).await.unwrap(), None);
    assert_eq!(
        sim.count("GET", "/api/v2/users"),
        3,
        "a refresh and one mail[eq] fallback"
    );
    let renamed = Email::parse("renamed@example.com").unwrap();
    assert_eq!(dir.lookup(&renamed).map(|e| e.id), Some(a));
}

#[tokio::test]
async fn directory_miss_falls_back_to_one_mail_eq_query() {
    let sim = Simulator::start().await;
    sim.add_user("a@example.com");
    let dir = Directory::default();
    let client = sim.client_builder().directory(dir.clone()).build().unwrap();
    client.refresh_directory().await.unwrap();
    let late = sim.add_user("late@example.com");
    let email = Email::parse("Late@Example.com").unwrap();
    let before = sim.count("GET", "/api/v2/users");
    assert_eq!(client.user_id_for_email(&email).await.unwrap(), Some(late));
    assert_eq!(sim.count("GET", "/api/v2/users"), before + 1);
    let q = sim.requests().last().unwrap().query.clone().unwrap();
    assert!(q.contains("mail%5Beq%5D="), "{q}");
    // Recorded: the next look-up is local.
    assert_eq!(client.user_id_for_email(&email).await.unwrap(), Some(late));
    assert_eq!(sim.count("GET", "/api/v2/users"), before + 1);

    // With the fallback off, a miss is a miss and costs nothing.
    let strict = Directory::new(DirectoryOptions::default().with_fallback_query(false));
    let client = sim.client_builder().directory(strict).build().unwrap();
    client.refresh_directory().await.unwrap();
    let later = sim.add_user("later@example.com");
    let n = sim.requests_received();
    let later_email = Email::parse("later@example.com").unwrap();
    assert_eq!(client.user_id_for_email(&later_email).await.unwrap(), None);
    assert_eq!(sim.requests_received(), n);
    client.refresh_directory().await.unwrap();
    assert_eq!(
        client.user_id_for_email(&later_email).await.unwrap(),
        Some(later)
    );
}

#[tokio::test]
async fn directory_resolves_many_at_once() {
    let sim = Simulator::start().await;
    let ids = sim.add_many(0, 5);
    let dir = Directory::default();
    let client = sim.client_builder().directory(dir).build().unwrap();
    client.refresh_directory().await.unwrap();
    let late1 = sim.add_user("late1@example.com");
    let late2 = sim.add_user("late2@example.com");
    let emails: Vec<Email> = [
        "USER3@example.com",
        "late1@example.com",
        "nobody@example.com",
        "user0@example.com",
        "Late2@example.com",
    ]
    .iter()
    .map(|e| Email::parse(e).unwrap())
    .collect();
    let before = sim.requests_received();
    let got = client.user_ids_for_emails(&emails).await.unwrap();
    assert_eq!(
        got,
        vec![Some(ids[3]), Some(late1), None, Some(ids[0]), Some(late2)]
    );
    // Three misses, one mail[in][] query.
    assert_eq!(sim.requests_received() - before, 1);
    let q = sim.requests().last().unwrap().query.clone().unwrap();
    assert_eq!(q.matches("mail%5Bin%5D%5B%5D=").count(), 3, "{q}");
}

#[tokio::test]
async fn directory_save_and_load_round_trip() {
    let sim = Simulator::start().await;
    let a = sim.add_user("A@example.com");
    let d = sim.add(NewUser::new("d@example.com").status(UserStatus::Deleted));
    let dir = Directory::default();
    let client = sim.client_builder().directory(dir.clone()).build().unwrap();
    client.refresh_directory().await.unwrap();

    let tmp = std::env::temp_dir().join(format!("l360-roundtrip-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let path = tmp.join("directory.jsonl");
    dir.save(&path).unwrap();
    dir.save(&path).unwrap(); // overwrite in place, atomically
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let leftovers: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary file is left behind");

    let loaded = Directory::load(&path, DirectoryOptions::default()).unwrap();
    assert_eq!(loaded.len(), 2);
    assert!(!loaded.is_stale());
    assert_eq!(
        loaded
            .refreshed_at()
            .map(|t| t.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()),
        dir.refreshed_at()
            .map(|t| t.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis())
    );
    let restarted = sim.client_builder().directory(loaded).build().unwrap();
    let n = sim.requests_received();
    let got = restarted
        .user_ids_for_emails(&[
            Email::parse("a@EXAMPLE.com").unwrap(),
            Email::parse("d@example.com").unwrap(),
        ])
        .await
        .unwrap();
    assert_eq!(got, vec![Some(a), Some(d)]);
    assert_eq!(
        sim.requests_received(),
        n,
        "a loaded fresh directory sends nothing"
    );
    assert!(restarted.directory().unwrap().knows_deleted(&d));

    // An old file refreshes before its first look-up.
    let aged = Directory::load(
        &path,
        DirectoryOptions::default().with_max_age(Duration::ZERO),
    )
    .unwrap();
    assert!(aged.is_stale());
    std::fs::remove_dir_all(&tmp).unwrap();
}

#[tokio::test]
async fn pseudonymize_by_email_is_the_v1_input_on_the_v2_flow() {
    let sim = Simulator::start().await;
    let id = sim.add(NewUser::new("jane@example.com").names("Jane", "Doe"));
    let client = sim
        .client_builder()
        .directory(Directory::default())
        .build()
        .unwrap();
    let user = client
        .pseudonymize_by_email(&Email::parse("JANE@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.id, id);
    assert!(user.is_deleted());
    assert_ne!(user.first_name.as_deref(), Some("Jane"));
    // The directory forgot the old address.
    assert!(
        client
            .directory()
            .unwrap()
            .lookup(&Email::parse("jane@example.com").unwrap())
            .is_none()
    );
    // An address no user has: no user, and no erasure request sent.
    let writes = sim.count("DELETE", "/") + sim.count("PUT", "/");
    let none = client
        .pseudonymize_by_email(&Email::parse("nobody@example.com").unwrap())
        .await
        .unwrap();
    assert!(none.is_none());
    assert_eq!(sim.count("DELETE", "/") + sim.count("PUT", "/"), writes);
    // And through the core conveniences.
    let other = sim.add_user("john@example.com");
    let outcome = client
        .anonymize_subject(&Subject::parse("john@example.com").unwrap())
        .await;
    assert_eq!(outcome.label(), "anonymized");
    assert!(sim.user(&other).unwrap().is_deleted());
}

/// The one slow test (a few seconds): a bulk run against a simulator that enforces the vendor's
/// limits gets no 429, because the client paces itself; without the client-side limit it does.
#[tokio::test]
async fn published_rate_limits_are_respected() {
    let sim = Simulator::start().await;
    // 15 users: 30 writes and a token request, more than three seconds of writes at 10/s.
    let ids: Vec<String> = sim.add_many(0, 15).iter().map(UserId::to_string).collect();
    let client = sim.client_builder().concurrency(8).build().unwrap();
    let clone = client.clone();
    let (first, second) = ids.split_at(7);
    let (a, b) = tokio::join!(client.anonymize(first), clone.anonymize(second));
    let outcomes: Vec<_> = a.unwrap().into_iter().chain(b.unwrap()).collect();
    assert!(outcomes.iter().all(|o| o.outcome.label() == "anonymized"));
    assert_eq!(sim.count("DELETE", "/"), 15);
    assert_eq!(sim.count("PUT", "/"), 15);
    assert_eq!(
        sim.rate_limited_count(),
        0,
        "the simulator had to send 429s"
    );

    // Reads: 60 pages of one user is more than a second of reads at 50/s.
    sim.set_page_size(1);
    sim.add_many(100, 45);
    let n = client
        .list_users(&UserFilter::new())
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .len();
    assert_eq!(n, 60);
    assert_eq!(sim.rate_limited_count(), 0);

    // The simulator does enforce the limit: a client that does not pace itself gets 429s.
    let unpaced = sim
        .client_builder()
        .write_limit(RateLimit::per_second(1000))
        .concurrency(16)
        .build()
        .unwrap();
    let more: Vec<String> = sim
        .add_many(200, 16)
        .iter()
        .map(UserId::to_string)
        .collect();
    let _ = unpaced.anonymize(&more).await;
    assert!(sim.rate_limited_count() > 0);
}

/// Any mix of existing, missing, malformed, rejected and repeated ids (in any case) gets exactly
/// one outcome per distinct input, in order, with the right label.
#[test]
fn every_input_gets_exactly_one_outcome() {
    use proptest::prelude::*;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (sim, client, pool) = rt.block_on(async {
        let sim = Simulator::start().await;
        // Not a rate-limit test: let it run fast.
        sim.set_rate_limits(None, None);
        let a = sim.add_user("a@example.com");
        let b = sim.add_user("b@example.com");
        let owner = sim.add_owner("owner@example.com");
        let client = sim
            .client_builder()
            .write_limit(RateLimit::per_second(10_000))
            .read_limit(RateLimit::per_second(10_000))
            .build()
            .unwrap();
        let pool: Vec<(String, &'static str)> = vec![
            (a.to_string(), "anonymized"),
            (b.to_string().to_uppercase(), "anonymized"),
            ("ffffffffffffffffffffffff".into(), "not_found"),
            ("xyz".into(), "invalid"),
            (String::new(), "invalid"),
            (owner.to_string(), "rejected"),
        ];
        (sim, client, pool)
    });
    proptest!(ProptestConfig::with_cases(24), |(picks in proptest::collection::vec(0..6usize, 0..10))| {
        let ids: Vec<String> = picks.iter().map(|&i| pool[i].0.clone()).collect();
        let out = rt.block_on(client.anonymize(&ids)).unwrap();
        let got: Vec<&str> = out.iter().map(|o| o.id.as_str()).collect();
        let mut seen = HashSet::new();
        let distinct: Vec<&str> = ids.iter().map(String::as_str).filter(|id| seen.insert(*id)).collect();
        prop_assert_eq!(got, distinct);
        for o in &out {
            let want = pool.iter().find(|(id, _)| *id == o.id).unwrap().1;
            prop_assert_eq!(o.outcome.label(), want);
        }
    });
    // Many cases, each sending the erasures for its existing ids.
    assert!(
        sim.count("PUT", "/api/v2/users/") > 5,
        "{}",
        sim.count("PUT", "/")
    );
}

#[tokio::test]
async fn concurrent_lookups_share_one_refresh_and_a_failed_refresh_keeps_the_entries() {
    let sim = Simulator::start().await;
    let ids = sim.add_many(0, 8);
    let dir = Directory::default();
    let client = sim.client_builder().directory(dir.clone()).build().unwrap();
    let lookups = (0..8).map(|i| {
        let client = client.clone();
        async move {
            client
                .user_id_for_email(&Email::parse(&format!("user{i}@example.com")).unwrap())
                .await
                .unwrap()
        }
    });
    let found = futures_util::future::join_all(lookups).await;
    assert_eq!(found, ids.iter().copied().map(Some).collect::<Vec<_>>());
    assert_eq!(
        sim.count("GET", "/api/v2/users"),
        1,
        "one refresh for eight look-ups"
    );

    // The vendor fails every retry of the next refresh: the old entries stay usable.
    sim.faults().fail_next(4, 500, r#"{"error":"internal"}"#);
    let err = client.refresh_directory().await.unwrap_err();
    assert!(matches!(err, Error::Server(_)), "{err:?}");
    assert_eq!(dir.len(), 8);
    assert!(
        dir.lookup(&Email::parse("user3@example.com").unwrap())
            .is_some()
    );
}

#[tokio::test]
async fn unknown_routes_answer_404() {
    let sim = Simulator::start().await;
    assert_eq!(reqwest_free_get(&sim, "/api/v3/whatever").await, 404);
    assert_eq!(reqwest_free_get(&sim, "/").await, 404);
}

/// A GET without any client logic, through core's HttpClient (no credential).
async fn reqwest_free_get(sim: &Simulator, path: &str) -> u16 {
    use anonymize_core::reqwest::Method;
    use anonymize_core::vendor::{Call, HttpClient};
    let http = HttpClient::new("learning360", sim.url(), fast_http_config()).unwrap();
    let url = sim.url().join(path).unwrap();
    match http.execute(Call::new("probe", Method::GET, url)).await {
        Ok(r) => r.status().as_u16(),
        Err(e) => e.status().map(|s| s.as_u16()).unwrap_or(0),
    }
}

#[tokio::test]
async fn simulator_debug_output_hides_tokens_and_personal_data() {
    use anonymize_core::secrecy::ExposeSecret;
    let sim = Simulator::start().await;
    let new = NewUser::new("jane@example.com")
        .names("Jane", "Doe")
        .phone("+3312");
    assert!(!format!("{new:?}").contains("jane"));
    let id = sim.add(new);
    sim.client().get_user(&id).await.unwrap();
    let requests = sim.requests();
    let bearer = requests[1].header("authorization").unwrap().to_owned();
    assert!(bearer.starts_with("Bearer "));
    let shown = format!("{requests:?} {sim:?}");
    assert!(!shown.contains(&bearer[7..]), "{shown}");
    assert!(!shown.contains(sim.client_secret().expose_secret()));
    assert!(!format!("{:?}", sim.user(&id).unwrap()).contains("Jane"));
}

#[tokio::test]
async fn verified_erasures_check_the_pseudonymized_answer_against_the_user_read_before() {
    let sim = Simulator::start().await;
    let id = sim.add(NewUser::new("vera@example.com").names("Vera", "Quill"));
    let out = sim
        .client()
        .anonymize_verified(&[id.to_string()])
        .await
        .unwrap();
    match &out[0].outcome {
        anonymize_core::Outcome::Anonymized(e) => {
            assert_eq!(
                e.verified
                    .as_deref()
                    .map(anonymize_core::Verification::label),
                Some("passed"),
                "{e:?}"
            );
            assert!(
                e.warnings.iter().all(|w| !w.contains("verification")),
                "{e:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        out[0]
            .outcome
            .to_string()
            .contains("verified at the vendor")
    );
    // A read first: one GET of the user before the DELETE and the PUT.
    let methods: Vec<String> = sim
        .requests()
        .into_iter()
        .filter(|r| r.path.contains(&id.to_string()))
        .map(|r| r.method)
        .collect();
    assert_eq!(methods, ["GET", "DELETE", "PUT"]);
    // The builder's switch (LEARNING360_VERIFY) makes `anonymize` check too.
    let id = sim.add(NewUser::new("walt@example.com").names("Walt", "Rees"));
    let client = sim.client_builder().verify(true).build().unwrap();
    assert!(client.verifies());
    let out = client.anonymize(&[id.to_string()]).await.unwrap();
    assert!(
        out[0]
            .outcome
            .to_string()
            .contains("verified at the vendor"),
        "{}",
        out[0].outcome
    );
}
