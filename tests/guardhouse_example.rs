//! The `guardhouse` example's logic, run against the simulator (the example file is compiled in
//! here as a module, so what is tested is what `cargo run --example guardhouse` runs).
#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/guardhouse.rs"]
mod example;

use std::collections::HashMap;

use anonymize_core::secrecy::ExposeSecret;
use anonymize_core::testkit::Simulated;
use guardhouse_client::UserStatus;
use guardhouse_client::testkit::Simulator;

async fn run(args: &[&str], env: &HashMap<&str, String>) -> (u8, String, String) {
    anonymize_examples::cli::capture(example::run, args, env).await
}

fn credentials_env(sim: &Simulator) -> HashMap<&'static str, String> {
    HashMap::from([
        ("GUARDHOUSE_URL", sim.url().to_string()),
        ("GUARDHOUSE_CLIENT_ID", sim.client_id().to_owned()),
        (
            "GUARDHOUSE_CLIENT_SECRET",
            sim.client_secret().expose_secret().to_owned(),
        ),
    ])
}

#[tokio::test]
async fn one_line_per_arg_and_exit_0() {
    let sim = Simulator::start().await;
    let jane = sim.add_user("jane@example.com", "Jane", "Doe", UserStatus::Active);
    let john = sim.add_user("john@example.com", "John", "Roe", UserStatus::Active);
    let owner = sim.add_unanonymizable_user("o@example.com", "O", "W", UserStatus::Active);
    let (jane_s, owner_s) = (jane.to_string(), owner.to_string());
    let args = [
        jane_s.as_str(),
        "JOHN@example.com",
        "nobody@example.com",
        "999",
        owner_s.as_str(),
        "0",
        "not@valid@address",
    ];
    let (code, out, err) = run(&args, &credentials_env(&sim)).await;
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), args.len(), "{out}");
    assert_eq!(lines[0], format!("{jane}\tanonymized HTTP 204"));
    assert_eq!(lines[1], "JOHN@example.com\tanonymized HTTP 204");
    assert_eq!(lines[2], "nobody@example.com\tnot_found");
    assert_eq!(lines[3], "999\tnot_found");
    assert_eq!(
        lines[4],
        format!("{owner}\trejected Failed to anonymize user data.")
    );
    assert!(lines[5].starts_with("0\tinvalid "), "{}", lines[5]);
    assert!(
        lines[6].starts_with("not@valid@address\tinvalid "),
        "{}",
        lines[6]
    );
    assert_eq!(sim.user(john).unwrap().status, UserStatus::Archived);
}

#[tokio::test]
async fn a_pre_issued_token_works_too() {
    let sim = Simulator::start().await;
    let jane = sim.add_user("jane@example.com", "Jane", "Doe", UserStatus::Active);
    let env = HashMap::from([
        ("GUARDHOUSE_URL", sim.url().to_string()),
        (
            "GUARDHOUSE_TOKEN",
            sim.issue_token("system_api").expose_secret().to_owned(),
        ),
    ]);
    let (code, out, _) = run(&[&jane.to_string()], &env).await;
    assert_eq!(code, 0);
    assert_eq!(out, format!("{jane}\tanonymized HTTP 204\n"));
}

#[tokio::test]
async fn bad_credentials_fail_the_run_without_printing_the_secret() {
    let sim = Simulator::start().await;
    let jane = sim.add_user("jane@example.com", "Jane", "Doe", UserStatus::Active);
    let mut env = credentials_env(&sim);
    env.insert("GUARDHOUSE_CLIENT_SECRET", "wrong-secret-Kx2".into());
    for args in [vec![jane.to_string()], vec!["jane@example.com".to_string()]] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out, err) = run(&args, &env).await;
        assert_eq!(code, 1);
        assert!(err.contains("unauthenticated"), "{err}");
        assert!(!out.contains("wrong-secret") && !err.contains("wrong-secret"));
    }
    assert_eq!(sim.user(jane).unwrap().status, UserStatus::Active);
}

#[tokio::test]
async fn configuration_errors_exit_2() {
    let sim = Simulator::start().await;
    let cases: Vec<(HashMap<&str, String>, &str)> = vec![
        (HashMap::new(), "GUARDHOUSE_URL is not set"),
        (
            HashMap::from([("GUARDHOUSE_URL", "not a url".to_string())]),
            "GUARDHOUSE_URL is not a URL",
        ),
        (
            HashMap::from([("GUARDHOUSE_URL", sim.url().to_string())]),
            "GUARDHOUSE_TOKEN",
        ),
        (
            HashMap::from([
                (
                    "GUARDHOUSE_URL",
                    "http://tenant.guardhouse.cloud".to_string(),
                ),
                ("GUARDHOUSE_TOKEN", "tok-Secret-77".to_string()),
            ]),
            "http://",
        ),
    ];
    for (env, expected) in cases {
        let (code, out, err) = run(&["1"], &env).await;
        assert_eq!(code, 2, "{err}");
        assert!(out.is_empty());
        assert!(err.contains(expected), "{err}");
        assert!(!err.contains("tok-Secret-77"));
    }
    let (code, _, err) = run(&[], &credentials_env(&sim)).await;
    assert_eq!(code, 2);
    assert!(err.starts_with("usage"));
    assert_eq!(sim.requests_received(), 0);
}

#[tokio::test]
async fn an_unreachable_server_fails_the_run() {
    let env = HashMap::from([
        ("GUARDHOUSE_URL", "http://127.0.0.1:9".to_string()),
        ("GUARDHOUSE_TOKEN", "tok".to_string()),
    ]);
    let (code, out, err) = run(&["1", "2"], &env).await;
    assert_eq!(code, 1, "{out} {err}");
    assert!(err.contains("could not be reached"), "{err}");
}
