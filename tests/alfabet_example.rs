//! The `alfabet` example's logic, run against the simulator (the example file is compiled in
//! here as a module, so what is tested is what `cargo run --example alfabet` runs).
#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/alfabet.rs"]
mod example;

use std::collections::HashMap;

use alfabet_client::testkit::{PASSWORD, Simulator, USERNAME};
use anonymize_core::secrecy::ExposeSecret;
use anonymize_core::testkit::Simulated;

async fn run(args: &[&str], env: &HashMap<&str, String>) -> (u8, String, String) {
    anonymize_examples::cli::capture(example::run, args, env).await
}

fn credentials_env(sim: &Simulator) -> HashMap<&'static str, String> {
    HashMap::from([
        ("ALFABET_URL", sim.url().to_string()),
        ("ALFABET_USERNAME", USERNAME.to_owned()),
        ("ALFABET_PASSWORD", PASSWORD.to_owned()),
    ])
}

#[tokio::test]
async fn one_line_per_arg_and_exit_0() {
    let sim = Simulator::start().await;
    let jane = sim.add_user("Jane Doe", "jane@example.com");
    let john = sim.add_user("John Roe", "john@example.com");
    let pat = sim.add_excluded_user("Pat Excluded", "pat@example.com");
    let (jane_s, john_s, pat_s) = (jane.to_string(), john.to_string(), pat.to_string());
    let args = [
        jane_s.as_str(),
        "421-999-0",
        pat_s.as_str(),
        jane_s.as_str(),
        "421-7",
        "jane@example.com",
        john_s.as_str(),
    ];
    let (code, out, err) = run(&args, &credentials_env(&sim)).await;
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), args.len(), "{out}");
    let done = "anonymized anonymizeuser batch 1 of 1: 4 sent, 2 rejected, Count 2";
    assert_eq!(lines[0], format!("{jane}\t{done}"));
    assert_eq!(lines[1], "421-999-0\tnot_found");
    assert_eq!(
        lines[2],
        format!("{pat}\trejected User is excluded from anonymization")
    );
    assert_eq!(lines[3], lines[0]);
    assert!(lines[4].starts_with("421-7\tinvalid "), "{}", lines[4]);
    // Alfabet cannot look up an e-mail: asking again never helps, so it is `invalid`, saying what
    // Alfabet needs (issue 8, defect 7).
    assert_eq!(
        lines[5],
        "jane@example.com\tinvalid alfabet does not support looking up a user by e-mail: \
         give the user's alfabet id instead"
    );
    assert_eq!(lines[6], format!("{john}\t{done}"));
    assert!(sim.user(jane).unwrap().anonymized);
    assert!(sim.user(john).unwrap().anonymized);
    assert!(!sim.user(pat).unwrap().anonymized);
    // One token request, one anonymizeuser request: the 4 distinct well-formed refs.
    assert_eq!(sim.anonymize_requests().len(), 1);
}

#[tokio::test]
async fn a_pre_issued_token_and_a_batch_size_work_too() {
    let sim = Simulator::start().await;
    let jane = sim.add_user("Jane Doe", "jane@example.com");
    let john = sim.add_user("John Roe", "john@example.com");
    let env = HashMap::from([
        ("ALFABET_URL", sim.url().to_string()),
        (
            "ALFABET_TOKEN",
            sim.issue_token().expose_secret().to_owned(),
        ),
        ("ALFABET_BATCH_SIZE", "1".to_owned()),
    ]);
    let (code, out, err) = run(&[&jane.to_string(), &john.to_string()], &env).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        format!(
            "{jane}\tanonymized anonymizeuser batch 1 of 2: 1 sent, 0 rejected, Count 1\n\
             {john}\tanonymized anonymizeuser batch 2 of 2: 1 sent, 0 rejected, Count 1\n"
        )
    );
    assert_eq!(sim.token_requests(), 0);
    assert_eq!(sim.anonymize_requests().len(), 2);
}

#[tokio::test]
async fn refused_credentials_fail_the_run_without_printing_them() {
    let sim = Simulator::start().await;
    let jane = sim.add_user("Jane Doe", "jane@example.com");
    let mut env = credentials_env(&sim);
    env.insert("ALFABET_PASSWORD", "wrong-secret-Kx2".into());
    let (code, out, err) = run(&[&jane.to_string(), "421-999-0"], &env).await;
    assert_eq!(code, 1, "{out} {err}");
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(err.contains("unauthenticated"), "{err}");
    assert!(err.contains("invalid_grant"), "{err}");
    for shown in [&out, &err] {
        assert!(!shown.contains("wrong-secret"), "{shown}");
        assert!(!shown.contains(USERNAME), "{shown}");
    }
    assert!(!sim.user(jane).unwrap().anonymized);
}

#[tokio::test]
async fn configuration_errors_exit_2() {
    let sim = Simulator::start().await;
    let url = || ("ALFABET_URL", sim.url().to_string());
    let cases: Vec<(HashMap<&str, String>, &str)> = vec![
        (HashMap::new(), "ALFABET_URL is not set"),
        (
            HashMap::from([("ALFABET_URL", "not a url".to_string())]),
            "ALFABET_URL is not a URL",
        ),
        (
            HashMap::from([url()]),
            "set ALFABET_USERNAME and ALFABET_PASSWORD, or ALFABET_TOKEN",
        ),
        (
            HashMap::from([url(), ("ALFABET_USERNAME", USERNAME.to_string())]),
            "ALFABET_PASSWORD is not set",
        ),
        (
            HashMap::from([
                url(),
                ("ALFABET_TOKEN", "tok-Secret-77".to_string()),
                ("ALFABET_PASSWORD", PASSWORD.to_string()),
            ]),
            "not both",
        ),
        (
            HashMap::from([
                url(),
                ("ALFABET_TOKEN", "tok-Secret-77".to_string()),
                ("ALFABET_BATCH_SIZE", "0".to_string()),
            ]),
            "batch size",
        ),
        (
            HashMap::from([
                (
                    "ALFABET_URL",
                    "http://alfabet.example.com/AlfabetAPIServer".to_string(),
                ),
                ("ALFABET_TOKEN", "tok-Secret-77".to_string()),
            ]),
            "http://",
        ),
    ];
    for (env, expected) in cases {
        let (code, out, err) = run(&["421-5-0"], &env).await;
        assert_eq!(code, 2, "{err}");
        assert!(out.is_empty());
        assert!(err.starts_with("alfabet: "), "{err}");
        assert!(err.contains(expected), "{err}");
        assert!(
            !err.contains("tok-Secret-77") && !err.contains(PASSWORD),
            "{err}"
        );
    }
    let (code, _, err) = run(&[], &credentials_env(&sim)).await;
    assert_eq!(code, 2);
    assert!(err.starts_with("usage"));
    assert_eq!(sim.requests_received(), 0);
}

#[tokio::test]
async fn an_unreachable_server_fails_the_run() {
    let env = HashMap::from([
        (
            "ALFABET_URL",
            "http://127.0.0.1:9/AlfabetAPIServer".to_string(),
        ),
        ("ALFABET_TOKEN", "tok".to_string()),
    ]);
    let (code, out, err) = run(&["421-5-0", "421-6-0"], &env).await;
    assert_eq!(code, 1, "{out} {err}");
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(err.contains("could not be reached"), "{err}");
}
