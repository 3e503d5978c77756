//! A 2xx to a write means the write is durable: a burst of diary writes, the server killed with
//! SIGKILL in the middle of it, a restart, and every acknowledged write is still there. Runs on
//! SQLite always and on PostgreSQL when `AFTERCARE_TEST_PG` is set.

use crate::common;

use chrono::{Duration, Utc};
use common::{seed, start, DAYS, PATIENTS};
use serde_json::json;
use std::sync::{Arc, Mutex};

async fn kill_mid_burst_and_find_every_acknowledged_write(database_url: Option<String>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite:{}", dir.path().join("aftercare.db").display()));
    let tokens = seed(&url).await;
    let mut server = start(dir.path(), database_url.as_deref());
    let client = reqwest::Client::new();
    let acked: Arc<Mutex<Vec<(String, String, i64)>>> = Arc::default();
    let today = Utc::now().date_naive();

    let mut writers = Vec::new();
    for (w, token) in tokens.iter().enumerate() {
        let (client, base, token, acked) = (
            client.clone(),
            server.base.clone(),
            token.clone(),
            acked.clone(),
        );
        writers.push(tokio::spawn(async move {
            for d in 0..DAYS {
                let day = today - Duration::days(d);
                let pain = ((w as i64 + d) % 10) + 1;
                let res = client
                    .put(format!("{base}/api/v1/diary/{day}"))
                    .bearer_auth(&token)
                    .json(&json!({"pain": pain, "facts": {"pain_course": "improving"}}))
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status().is_success() => {
                        acked
                            .lock()
                            .expect("lock")
                            .push((token.clone(), day.to_string(), pain))
                    }
                    _ => return,
                }
            }
        }));
    }
    // Kill once a good part of the burst is acknowledged, while the rest is in flight.
    let target = PATIENTS * DAYS as usize / 3;
    for _ in 0..600 {
        if acked.lock().expect("lock").len() >= target {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    server.child.kill().expect("SIGKILL");
    server.child.wait().expect("reaped");
    for w in writers {
        let _ = w.await;
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(
        acked.len() >= target,
        "the burst was too slow to test anything: {}",
        acked.len()
    );
    assert!(
        acked.len() < PATIENTS * DAYS as usize,
        "the kill came after the burst ended"
    );

    let mut server = start(dir.path(), database_url.as_deref());
    for (token, day, pain) in &acked {
        let res = client
            .get(format!("{}/api/v1/diary/{day}", server.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        assert_eq!(
            res.status().as_u16(),
            200,
            "acknowledged write for {day} is lost"
        );
        let body: serde_json::Value = res.json().await.expect("json");
        assert_eq!(
            body["entry"]["pain"], *pain,
            "acknowledged write for {day} changed"
        );
    }
    server.child.kill().expect("stop");
    let _ = server.child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_mid_burst_loses_no_acknowledged_diary_write_on_sqlite() {
    kill_mid_burst_and_find_every_acknowledged_write(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_mid_burst_loses_no_acknowledged_diary_write_on_postgres() {
    let Some(url) = common::fresh_pg_database("aftercare_kill").await else {
        return;
    };
    kill_mid_burst_and_find_every_acknowledged_write(Some(url)).await;
}
