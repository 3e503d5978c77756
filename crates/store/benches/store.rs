//! The store's two hot paths on SQLite: group-committed diary writes (256 writers at once, each
//! a unit of work of its own, as the server sends them) and a page of the board over 100,000
//! patients of one clinic.
//!
//! `cargo bench -p aftercare-store --bench store -- --warm-up-time 1 --measurement-time 10`

use aftercare_store::{Autocommit, BoardFilter, NewClinic, NewDiaryEntry, NewPatient, Store};
use chrono::{Duration, NaiveDate, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::json;
use std::sync::Arc;

const WRITERS: usize = 256;
const PER_WRITER: usize = 80;
const PATIENTS: usize = 1000;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

async fn store_with_clinic(dir: &tempfile::TempDir) -> (Arc<dyn Store>, String) {
    let url = format!("sqlite:{}", dir.path().join("bench.db").display());
    let store = aftercare_store::connect(&url).await.expect("store");
    store.migrate().await.expect("migrations");
    let clinic = store
        .create_clinic(
            NewClinic {
                slug: "north".into(),
                name: "North".into(),
                opening_hours: json!({}),
            },
            Utc::now(),
        )
        .await
        .expect("clinic");
    (store, clinic.id)
}

fn procedure_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 3, 1).expect("date")
}

fn diary_writes(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("dir");
    let (store, patients) = rt.block_on(async {
        let (store, clinic_id) = store_with_clinic(&dir).await;
        let mut patients = Vec::new();
        for i in 0..PATIENTS {
            let new = NewPatient {
                clinic_id: clinic_id.clone(),
                display_name: format!("Patient {i}"),
                enrolment_code: format!("code{i}"),
                link_token: format!("link{i}").into(),
                procedure: "labour_epidural".into(),
                procedure_date: procedure_day(),
                delivery_date: None,
                language: "en".into(),
            };
            patients.push(
                store
                    .create_patient(new, Utc::now())
                    .await
                    .expect("patient")
                    .id,
            );
        }
        (store, Arc::new(patients))
    });
    let mut group = c.benchmark_group("sqlite");
    group.sample_size(10);
    group.throughput(Throughput::Elements((WRITERS * PER_WRITER) as u64));
    group.bench_function("diary writes from 256 writers", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut tasks = tokio::task::JoinSet::new();
                for w in 0..WRITERS {
                    let (store, patients) = (store.clone(), patients.clone());
                    tasks.spawn(async move {
                        for i in 0..PER_WRITER {
                            let n = w * PER_WRITER + i;
                            let entry = NewDiaryEntry {
                                patient_id: patients[n % patients.len()].clone(),
                                day: procedure_day() + Duration::days((n / patients.len()) as i64),
                                pain: 3,
                                facts: json!({"walked": true}),
                                note: Some("pain 3".into()),
                                audit: None,
                                escalation: None,
                            };
                            store
                                .upsert_diary_entry(entry, Utc::now())
                                .await
                                .expect("diary write");
                        }
                    });
                }
                while let Some(done) = tasks.join_next().await {
                    done.expect("writer");
                }
            })
        })
    });
    group.finish();
}

fn board_page(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("dir");
    let (store, clinic_id) = rt.block_on(async {
        let (store, clinic_id) = store_with_clinic(&dir).await;
        // 100,000 patients in one statement, on a connection of its own.
        let url = format!("sqlite:{}", dir.path().join("bench.db").display());
        let mut raw = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
            .await
            .expect("connection");
        let levels = "CASE i % 5 WHEN 0 THEN 'emergency' WHEN 1 THEN 'urgent' WHEN 2 THEN 'soon' \
                      WHEN 3 THEN 'self_care' ELSE NULL END";
        let sql = format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) \
             INSERT INTO patients (id, clinic_id, display_name, enrolment_code, link_token, procedure, \
             procedure_date, language, last_level, last_checkin_at, open_escalations, unread_messages, created_at) \
             SELECT 'p' || i, '{clinic_id}', 'P' || i, 'code' || i, 'link' || i, 'labour_epidural', '2025-03-01', 'en', \
             {levels}, CASE WHEN i % 5 = 4 THEN NULL ELSE '2025-03-03T' || printf('%02d', i % 24) || ':00:00+00:00' END, \
             CASE WHEN i % 97 = 0 THEN 1 ELSE 0 END, i % 3, '2025-03-01T00:00:00+00:00' FROM n"
        );
        sqlx::query(&sql).execute(&mut raw).await.expect("patients");
        (store, clinic_id)
    });
    let mut group = c.benchmark_group("sqlite");
    group.bench_function("board page 20 of 100,000 patients", |b| {
        b.iter(|| {
            rt.block_on(async {
                let filter = BoardFilter {
                    offset: 19 * 50,
                    ..BoardFilter::default()
                };
                let rows = store.list_board(&clinic_id, filter).await.expect("board");
                assert_eq!(rows.len(), 50);
            })
        })
    });
    group.bench_function("board filtered by level over 100,000 patients", |b| {
        b.iter(|| {
            rt.block_on(async {
                let filter = BoardFilter {
                    urgency: Some(0), // self_care
                    ..BoardFilter::default()
                };
                let rows = store.list_board(&clinic_id, filter).await.expect("board");
                assert_eq!(rows.len(), 50);
            })
        })
    });
    group.finish();
}

criterion_group!(benches, diary_writes, board_page);
criterion_main!(benches);
