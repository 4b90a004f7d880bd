//! The `learning360` example's logic, run against the simulator (the example file is compiled in
//! here as a module, so what is tested is what `cargo run --example learning360` runs).
#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/learning360.rs"]
mod example;

use std::collections::HashMap;

use anonymize_core::secrecy::ExposeSecret;
use anonymize_core::testkit::Simulated;
use learning360_client::testkit::{CLIENT_ID, Simulator};

async fn run(args: &[&str], env: &HashMap<&str, String>) -> (u8, String, String) {
    anonymize_examples::cli::capture(example::run, args, env).await
}

fn credentials_env(sim: &Simulator) -> HashMap<&'static str, String> {
    HashMap::from([
        ("LEARNING360_URL", sim.url().to_string()),
        ("LEARNING360_CLIENT_ID", CLIENT_ID.to_owned()),
        (
            "LEARNING360_CLIENT_SECRET",
            sim.client_secret().expose_secret().to_owned(),
        ),
    ])
}

const ERASED: &str = "anonymized deleted and pseudonymized (external ids deleted)";

#[tokio::test]
async fn one_line_per_arg_and_exit_0() {
    let sim = Simulator::start().await;
    let jane = sim.add_user("jane@example.com");
    let john = sim.add_user("john@example.com");
    let owner = sim.add_owner("owner@example.com");
    let (jane_s, owner_s) = (jane.to_string(), owner.to_string());
    let args = [
        jane_s.as_str(),
        "JOHN@example.com",
        "nobody@example.com",
        "ffffffffffffffffffffffff",
        owner_s.as_str(),
        "not-an-id",
        "not@valid@address",
    ];
    let (code, out, err) = run(&args, &credentials_env(&sim)).await;
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), args.len(), "{out}");
    assert_eq!(lines[0], format!("{jane}\t{ERASED}"));
    assert_eq!(lines[1], format!("JOHN@example.com\t{ERASED}"));
    assert_eq!(lines[2], "nobody@example.com\tnot_found");
    assert_eq!(lines[3], "ffffffffffffffffffffffff\tnot_found");
    assert_eq!(
        lines[4],
        format!("{owner}\trejected userIsCompanyOwner: The company owner cannot be deleted.")
    );
    assert!(lines[5].starts_with("not-an-id\tinvalid "), "{}", lines[5]);
    assert!(
        lines[6].starts_with("not@valid@address\tinvalid "),
        "{}",
        lines[6]
    );
    assert!(sim.user(&jane).unwrap().is_deleted());
    assert!(sim.user(&john).unwrap().is_deleted());
    assert!(!sim.user(&owner).unwrap().is_deleted());
    // The e-mails were resolved through the directory: one listing of every user, then one
    // `mail[eq]` query for the address it does not know.
    let lists: Vec<Option<String>> = sim
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path == "/api/v2/users")
        .map(|r| r.query)
        .collect();
    assert_eq!(lists.len(), 2, "{lists:?}");
    assert_eq!(lists[0], None);
    assert!(
        lists[1]
            .as_deref()
            .is_some_and(|q| q.starts_with("mail%5Beq%5D="))
    );
}

#[tokio::test]
async fn refused_credentials_fail_the_run_without_printing_the_secret() {
    let sim = Simulator::start().await;
    let jane = sim.add_user("jane@example.com");
    let mut env = credentials_env(&sim);
    env.insert("LEARNING360_CLIENT_SECRET", "wrong-secret-Kx2".into());
    for args in [vec![jane.to_string()], vec!["jane@example.com".to_string()]] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out, err) = run(&args, &env).await;
        assert_eq!(code, 1, "{out} {err}");
        assert!(err.contains("unauthenticated"), "{err}");
        assert!(err.contains("invalid_client"), "{err}");
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(!out.contains("wrong-secret") && !err.contains("wrong-secret"));
    }
    assert!(!sim.user(&jane).unwrap().is_deleted());
}

#[tokio::test]
async fn configuration_errors_exit_2() {
    let sim = Simulator::start().await;
    let full = credentials_env(&sim);
    let without = |name: &str| {
        let mut env = full.clone();
        env.remove(name);
        env
    };
    let with = |name: &'static str, value: &str| {
        let mut env = full.clone();
        env.insert(name, value.to_owned());
        env
    };
    let cases: Vec<(HashMap<&str, String>, &str)> = vec![
        (HashMap::new(), "LEARNING360_URL is not set"),
        (
            without("LEARNING360_CLIENT_ID"),
            "LEARNING360_CLIENT_ID is not set",
        ),
        (
            without("LEARNING360_CLIENT_SECRET"),
            "LEARNING360_CLIENT_SECRET is not set",
        ),
        (
            with("LEARNING360_CLIENT_SECRET", "  "),
            "LEARNING360_CLIENT_SECRET is not set",
        ),
        (
            with("LEARNING360_URL", "not a url"),
            "LEARNING360_URL is not a URL",
        ),
        (
            with("LEARNING360_URL", "http://app.360learning.com"),
            "http://",
        ),
    ];
    for (env, expected) in cases {
        let (code, out, err) = run(&["507f1f77bcf86cd799439011"], &env).await;
        assert_eq!(code, 2, "{err}");
        assert!(out.is_empty());
        assert!(err.contains(expected), "{err}");
        assert!(!err.contains(sim.client_secret().expose_secret()), "{err}");
    }
    let (code, _, err) = run(&[], &full).await;
    assert_eq!(code, 2);
    assert!(err.starts_with("usage"));
    assert_eq!(sim.requests_received(), 0);
}
