//! A mail SES refuses, through watch and the bridge: the notifier releases its claim on the
//! mail (and counts a `MailFailures`), and the queue's redelivery sends it once SES accepts the
//! sender again. moto refuses mail from an unverified sender as SES does, so the test
//! un-verifies the sender every function mails from: it runs alone, in a step of its own in
//! `scripts/test.sh`, since any other test's mail would fail meanwhile.

use gigmarket_shared::call_log;
use gigmarket_tests::watch::{
    active_gig_in_functions_table, place_order, register_over_http, wait_for_mail,
};
use serde_json::Value;

/// Whether the call log, past its first `skip` bytes, has the notifier's DeleteItem: the
/// release of a mail claim.
fn claim_released(log: &str, skip: usize) -> bool {
    let text = std::fs::read_to_string(log).unwrap_or_else(|error| panic!("{log}: {error}"));
    text.get(skip..).unwrap_or_default().lines().any(|line| {
        let call: Value = serde_json::from_str(line).unwrap_or(Value::Null);
        call["function"] == "notifier" && call["action"] == "dynamodb:DeleteItem"
    })
}

#[tokio::test]
async fn a_refused_mail_releases_its_claim_and_the_redelivery_sends_it() {
    let log = std::env::var(call_log::ENV)
        .expect("the call log of the functions under watch (make test sets it)");
    let client = reqwest::Client::new();
    // Verified while SES still accepts the sender.
    let (_, client_token, _) = register_over_http(&client, "client").await;
    let (freelancer_id, _, freelancer_email) = register_over_http(&client, "freelancer").await;
    let (gig, sdk) = active_gig_in_functions_table(&freelancer_id).await;
    let sender = gigmarket_shared::config::Config::from_env()
        .expect("the functions' configuration")
        .sender_email;
    let ses = gigmarket_shared::aws::ses(&sdk);

    let logged_before = std::fs::metadata(&log).map(|meta| meta.len()).unwrap_or(0) as usize;
    ses.delete_identity()
        .identity(&sender)
        .send()
        .await
        .expect("sender un-verified");
    place_order(&client, &client_token, &gig).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut released = false;
    while !released && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        released = claim_released(&log, logged_before);
    }
    // Verified again before any assertion: every later test mails from it.
    ses.verify_email_identity()
        .email_address(&sender)
        .send()
        .await
        .expect("sender verified again");
    assert!(
        released,
        "the notifier never released a mail claim after a refused send"
    );

    let subjects = wait_for_mail(&freelancer_email, 1).await;
    assert!(
        !subjects.is_empty(),
        "the redelivered order event was never mailed"
    );
}
