//! `aftercare export --patient ID`: a patient's record as a FHIR Bundle on standard output, read
//! from the same database `serve` uses.

use aftercare_store::Autocommit as _;
use aftercare_store::{NewClinic, NewPatient};
use chrono::{NaiveDate, Utc};
use serde_json::{json, Value};
use std::process::Command;

/// A data directory with one patient; returns her id.
fn data_dir_with_patient(dir: &std::path::Path) -> String {
    let url = format!("sqlite:{}", dir.join("aftercare.db").display());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let store = aftercare_store::connect(&url).await.expect("store");
        store.migrate().await.expect("migrations");
        let now = Utc::now();
        let clinic = store
            .create_clinic(
                NewClinic {
                    slug: "east".into(),
                    name: "East".into(),
                    opening_hours: json!({}),
                },
                now,
            )
            .await
            .expect("clinic");
        let day = NaiveDate::from_ymd_opt(2025, 3, 1).expect("date");
        let patient = NewPatient {
            clinic_id: clinic.id,
            display_name: "Lucia".into(),
            enrolment_code: "LUC-1".into(),
            link_token: "link-lucia-0123456789".into(),
            procedure: "spinal".into(),
            procedure_date: day,
            delivery_date: Some(day),
            language: "es".into(),
        };
        store
            .create_patient(patient, now)
            .await
            .expect("patient")
            .id
            .into()
    })
}

fn export(dir: &std::path::Path, patient: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_aftercare"))
        .args([
            "export",
            "--patient",
            patient,
            "--public-url",
            "https://aftercare.test",
        ])
        .env("AFTERCARE_DATA_DIR", dir)
        .env_remove("DATABASE_URL")
        .env_remove("AFTERCARE_CONTENT")
        .output()
        .expect("the command runs")
}

#[test]
fn export_prints_the_patients_bundle() {
    let dir = tempfile::tempdir().expect("temp dir");
    let id = data_dir_with_patient(dir.path());
    let out = export(dir.path(), &id);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bundle: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["entry"][0]["resource"]["id"], id.as_str());
    assert_eq!(
        bundle["entry"][1]["resource"]["code"]["coding"][0]["code"],
        "231249005"
    );
}

#[test]
fn export_of_an_unknown_patient_fails_with_a_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    data_dir_with_patient(dir.path());
    let out = export(dir.path(), "nobody");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no patient with id nobody"));
    assert!(out.stdout.is_empty());
}
