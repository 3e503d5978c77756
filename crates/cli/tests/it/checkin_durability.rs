//! An urgent check-in that is acknowledged is never without its alert: a burst of urgent
//! check-ins, the server killed with SIGKILL in the middle of it, a restart, and then every
//! acknowledged check-in is stored with its audit row, and every patient with a stored urgent
//! check-in has the escalation it raised. Each unanswered check-in is sent again once the
//! server is back, as a patient's phone would, and must raise the alert if none was stored.
//! Runs on SQLite always and on PostgreSQL when `AFTERCARE_TEST_PG` is set.

use crate::common;

use aftercare_store::AuditQuery;
use common::{seed, start};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A complete case that is urgent and nothing more: a painful, swollen calf ten days after a
/// caesarean spinal (vignette X38), answered in one request so the check-in is final at once.
fn urgent_case() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/vignettes/X38.json"
    );
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("X38")).expect("JSON");
    assert_eq!(v["expect"]["level"], "urgent");
    v["case"].clone()
}

const PER_PATIENT: usize = 4;

async fn post_checkin(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    case: &Value,
) -> Option<Value> {
    let res = client
        .post(format!("{base}/api/v1/checkins"))
        .bearer_auth(token)
        .json(&serde_json::json!({ "answers": case }))
        .send()
        .await
        .ok()?;
    if !res.status().is_success() {
        return None;
    }
    res.json().await.ok()
}

async fn kill_mid_burst_of_urgent_checkins(database_url: Option<String>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite:{}", dir.path().join("aftercare.db").display()));
    let tokens = seed(&url).await;
    let case = urgent_case();
    let mut server = start(dir.path(), database_url.as_deref());
    let client = reqwest::Client::new();
    // Per patient token: the acknowledged check-in ids, and how many were not answered.
    let acked: Arc<Mutex<HashMap<String, Vec<String>>>> = Arc::default();
    let unanswered: Arc<Mutex<Vec<String>>> = Arc::default();

    let mut senders = Vec::new();
    for token in &tokens {
        let (client, base, token, case, acked, unanswered) = (
            client.clone(),
            server.base.clone(),
            token.clone(),
            case.clone(),
            acked.clone(),
            unanswered.clone(),
        );
        senders.push(tokio::spawn(async move {
            for _ in 0..PER_PATIENT {
                match post_checkin(&client, &base, &token, &case).await {
                    Some(round) => {
                        assert_eq!(round["status"], "final", "{round}");
                        assert_eq!(round["decision"]["level"], "urgent");
                        let id = round["checkin_id"]
                            .as_str()
                            .expect("checkin_id")
                            .to_string();
                        acked
                            .lock()
                            .expect("lock")
                            .entry(token.clone())
                            .or_default()
                            .push(id);
                    }
                    None => {
                        unanswered.lock().expect("lock").push(token.clone());
                        return;
                    }
                }
            }
        }));
    }
    let total = tokens.len() * PER_PATIENT;
    let target = total / 3;
    for _ in 0..1000 {
        let n: usize = acked.lock().expect("lock").values().map(Vec::len).sum();
        if n >= target {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    server.child.kill().expect("SIGKILL");
    server.child.wait().expect("reaped");
    for s in senders {
        s.await.expect("sender");
    }
    let acked = acked.lock().expect("lock").clone();
    let n: usize = acked.values().map(Vec::len).sum();
    assert!(n >= target, "the burst was too slow to test anything: {n}");
    assert!(n < total, "the kill came after the burst ended");

    // Back up: each patient whose check-in went unanswered sends it again.
    let server = start(dir.path(), database_url.as_deref());
    let unanswered = unanswered.lock().expect("lock").clone();
    let mut resent = HashMap::new();
    for token in &unanswered {
        let round = post_checkin(&client, &server.base, token, &case)
            .await
            .expect("the retry is answered");
        resent.insert(
            token.clone(),
            round["checkin_id"].as_str().expect("id").to_string(),
        );
    }
    drop(server);

    let store = aftercare_store::connect(&url).await.expect("store");
    let clinic = store
        .get_clinic_by_slug("durability")
        .await
        .expect("clinic")
        .expect("seeded");
    let mut checked = 0;
    for token in &tokens {
        let patient = store
            .get_patient_by_link_token(token)
            .await
            .expect("read")
            .expect("seeded patient");
        let stored = store.list_checkins(&patient.id).await.expect("check-ins");
        let audit = store
            .list_audit(
                &clinic.id,
                AuditQuery {
                    patient_id: Some(patient.id.clone()),
                    limit: 1000,
                    ..AuditQuery::default()
                },
            )
            .await
            .expect("audit");
        let mine: Vec<&String> = acked
            .get(token)
            .into_iter()
            .flatten()
            .chain(resent.get(token))
            .collect();
        for id in &mine {
            assert!(
                stored.iter().any(|c| &&c.id == id),
                "acknowledged check-in {id} is lost"
            );
            assert!(
                audit.iter().any(
                    |a| a.action == "checkin.final" && a.detail.as_deref() == Some(id.as_str())
                ),
                "acknowledged check-in {id} has no audit row"
            );
            checked += 1;
        }
        // Every stored check-in is urgent, so the first one stored must have raised the alert
        // (the later ones find it open). Stored includes any the kill cut off after the commit.
        if let Some(first) = stored.iter().min_by_key(|c| c.created_at) {
            let escalations = store
                .list_escalations(&patient.id, false)
                .await
                .expect("escalations");
            assert!(
                escalations.iter().any(|e| e.source_ref == first.id && e.level == "urgent"),
                "the urgent check-in {} of patient {} alerted nobody (escalations: {escalations:?})",
                first.id,
                patient.id
            );
        }
        for c in &stored {
            assert!(
                audit
                    .iter()
                    .any(|a| a.action == "checkin.final"
                        && a.detail.as_deref() == Some(c.id.as_str())),
                "stored check-in {} has no audit row",
                c.id
            );
        }
    }
    assert_eq!(checked, n + resent.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_mid_burst_leaves_no_urgent_checkin_without_its_alert_on_sqlite() {
    kill_mid_burst_of_urgent_checkins(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_mid_burst_leaves_no_urgent_checkin_without_its_alert_on_postgres() {
    let Some(url) = common::fresh_pg_database("aftercare_checkin_kill").await else {
        return;
    };
    kill_mid_burst_of_urgent_checkins(Some(url)).await;
}
