//! `anonymize demo`: plan, run, summarize and find against the three vendors' simulators, on
//! loopback, with a demo key: no account, no setup.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use alfabet_client::testkit::Simulator as Alfabet;
use anonymize_core::{Anonymizer, ReceiptKey};
use guardhouse_client::UserStatus;
use guardhouse_client::testkit::Simulator as Guardhouse;
use learning360_client::testkit::Simulator as Learning360;

use crate::vendors::Vendors;
use crate::{Context, EXIT_OK, EXIT_USAGE, Tuning, plan, run, say, summary, warn};

/// The demo's key: public, so never use it for real receipts.
const DEMO_KEY: &[u8; 32] = b"anonymize demo key, not a secret";

pub(crate) async fn demo() -> u8 {
    let guardhouse = Guardhouse::start().await;
    let alfabet = Alfabet::start().await;
    let learning360 = Learning360::start().await;

    // Five persons, as an HR export would list them: one everywhere, one who is 360Learning's
    // company owner, one excluded from anonymization at Alfabet, one nowhere, and one known
    // only by ids.
    guardhouse.add_user("ada@example.com", "Ada", "Lovelace", UserStatus::Active);
    let ada_ref = alfabet.add_user("Ada Lovelace", "ada@example.com");
    learning360.add_user("ada@example.com");
    guardhouse.add_user("grace@example.com", "Grace", "Hopper", UserStatus::Active);
    learning360.add_owner("grace@example.com");
    guardhouse.add_user("alan@example.com", "Alan", "Turing", UserStatus::Active);
    let alan_ref = alfabet.add_excluded_user("Alan Turing", "alan@example.com");
    let margaret = guardhouse.add_user(
        "margaret@example.com",
        "Margaret",
        "Hamilton",
        UserStatus::Active,
    );
    let margaret_ref = alfabet.add_user("Margaret Hamilton", "margaret@example.com");
    let csv = format!(
        "email,guardhouse_id,alfabet_ref,learning360_id\n\
         ada@example.com,,{ada_ref},\n\
         grace@example.com,,,\n\
         alan@example.com,,{alan_ref},\n\
         linus@example.com,,,\n\
         ,{margaret},{margaret_ref},\n"
    );

    let dir = std::env::temp_dir().join(format!("anonymize-demo-{}", std::process::id()));
    let code = in_dir(&dir, &csv, &guardhouse, &alfabet, &learning360).await;
    let _ = std::fs::remove_dir_all(&dir);
    code
}

async fn in_dir(
    dir: &PathBuf,
    csv: &str,
    guardhouse: &Guardhouse,
    alfabet: &Alfabet,
    learning360: &Learning360,
) -> u8 {
    if let Err(e) =
        std::fs::create_dir_all(dir).and_then(|()| std::fs::write(dir.join("people.csv"), csv))
    {
        warn!("cannot write the demo's files in {}: {e}", dir.display());
        return EXIT_USAGE;
    }
    let key = match ReceiptKey::new(DEMO_KEY) {
        Ok(k) => k,
        Err(e) => {
            warn!("{e}");
            return EXIT_USAGE;
        }
    };
    let context = || Context {
        vendors: Vendors {
            active: vec![
                Arc::new(guardhouse.client()) as Arc<dyn Anonymizer>,
                Arc::new(alfabet.client()),
                Arc::new(learning360.client()),
            ],
            skipped: Vec::new(),
        },
        key: Some(key.clone()),
    };
    let tuning = Tuning {
        concurrency: anonymize_core::DEFAULT_CONCURRENCY,
        batch_size: anonymize_core::DEFAULT_BATCH_SIZE,
        progress_every: 10.0,
    };
    let input = dir.join("people.csv");
    let receipts = dir.join("receipts.jsonl");
    say!("The demo erases 5 persons at three simulated vendors (loopback), with a demo key.");
    say!("\n$ anonymize plan --input people.csv");
    plan::plan(&context(), &input, tuning).await;
    say!("\n$ anonymize run --verify --input people.csv --receipts receipts.jsonl");
    run::run(
        context(),
        run::Options {
            input: input.clone(),
            receipts: receipts.clone(),
            skip_invalid: false,
            grace: Duration::from_secs(30),
            verify: true,
            tuning,
        },
    )
    .await;
    say!("\n$ anonymize receipts summarize receipts.jsonl");
    summary::summarize(std::slice::from_ref(&receipts), None);
    say!("\n$ anonymize receipts verify receipts.jsonl");
    summary::verify(Some(&key), &receipts);
    say!("\n$ anonymize receipts find --email <the first person's address> receipts.jsonl");
    summary::find(Some(&key), "ada@example.com", &receipts);
    say!(
        "\nWhat is left: the company owner cannot be deleted at 360Learning and a user excluded \
         from anonymization is refused by Alfabet (resolve them at the vendor), and Alfabet needs \
         a REFSTR for a person it cannot look up by address (fix the input). Running `run` again \
         with the same receipts file retries only those. See docs/erasure.md."
    );
    EXIT_OK
}
