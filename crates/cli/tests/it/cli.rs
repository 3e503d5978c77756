//! The `aftercare` command as a person or a script uses it: exit codes, what goes to standard
//! output and error, the content check and one-case triage.

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn vignette(name: &str) -> PathBuf {
    root().join("tests/vignettes").join(name)
}

/// Runs the built binary with `args`, feeding `stdin` when given.
fn aftercare(args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aftercare"));
    cmd.args(args)
        .env_remove("AFTERCARE_CONTENT")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the aftercare binary runs");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(input.as_bytes())
            .expect("stdin accepts the case");
    }
    child.wait_with_output().expect("the command finishes")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn code(o: &Output) -> Option<i32> {
    o.status.code()
}

/// The JSON decision printed by `triage --json`, after checking the command succeeded.
fn decision(o: &Output) -> Value {
    assert_eq!(code(o), Some(0), "stderr: {}", stderr(o));
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

fn v17() -> Value {
    let text = std::fs::read_to_string(vignette("V17.json")).expect("V17 is readable");
    serde_json::from_str(&text).expect("V17 is JSON")
}

fn rules(d: &Value) -> Vec<&str> {
    d["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .map(|r| r["rule"].as_str().expect("rule id"))
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

#[test]
fn the_built_in_content_passes_the_check() {
    let o = aftercare(&["content", "check"], None);
    assert_eq!(
        code(&o),
        Some(0),
        "stdout: {}\nstderr: {}",
        stdout(&o),
        stderr(&o)
    );
    assert!(stdout(&o).contains("content ok"), "{}", stdout(&o));
}

#[test]
fn a_broken_rule_fails_the_check_with_its_file_line_and_id() {
    let dir = tempfile::tempdir().expect("temp dir");
    let content = dir.path().join("content");
    copy_dir(&root().join("content"), &content);
    let rules_file = content.join("rules.toml");
    let text = std::fs::read_to_string(&rules_file).expect("rules.toml");
    let from = r#"when = { fact = "stroke_signs" }"#;
    assert!(text.contains(from), "rules.toml changed: update this test");
    let text = text.replacen(from, r#"when = { fact = "stroke_sign" }"#, 1);
    std::fs::write(&rules_file, &text).expect("write rules.toml");
    let line = text
        .lines()
        .position(|l| l.contains(r#"id = "EM-STROKE""#))
        .expect("the rule")
        + 1;

    let o = aftercare(
        &["content", "check", content.to_str().expect("utf-8 path")],
        None,
    );
    assert_eq!(
        code(&o),
        Some(1),
        "stdout: {}\nstderr: {}",
        stdout(&o),
        stderr(&o)
    );
    let out = stdout(&o);
    assert!(out.contains(&format!("rules.toml:{line}")), "{out}");
    assert!(out.contains("EM-STROKE"), "{out}");
    assert!(out.contains("stroke_sign"), "{out}");
}

#[test]
fn a_vignette_with_weak_legs_is_an_emergency_with_its_reason_and_source() {
    let path = vignette("V17.json");
    let d = decision(&aftercare(
        &["triage", path.to_str().expect("utf-8"), "--json"],
        None,
    ));
    assert_eq!(d["level"], "emergency");
    assert_eq!(d["status"], "final");
    let reason = d["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .find(|r| r["rule"] == "EM-LEGS-WEAK")
        .unwrap_or_else(|| panic!("EM-LEGS-WEAK is not among {:?}", rules(&d)));
    assert!(
        !reason["source"].as_str().expect("source").trim().is_empty(),
        "{reason}"
    );
}

#[test]
fn a_case_without_its_leg_answers_is_incomplete_and_asks_for_them() {
    let mut case = v17()["case"].clone();
    let object = case.as_object_mut().expect("a case object");
    object.remove("leg_weakness");
    object.remove("leg_numbness");
    let d = decision(&aftercare(
        &["triage", "-", "--json"],
        Some(&case.to_string()),
    ));
    assert_eq!(d["status"], "incomplete", "{d}");
    let ask: Vec<&str> = d["ask"]
        .as_array()
        .expect("ask")
        .iter()
        .map(|f| f.as_str().expect("fact id"))
        .collect();
    assert!(ask.contains(&"leg_weakness"), "{ask:?}");
    assert!(ask.contains(&"leg_numbness"), "{ask:?}");
}

#[test]
fn an_out_of_range_answer_is_bad_input_naming_the_field() {
    let case = r#"{"back_pain": true, "pain_score": 11}"#;
    let o = aftercare(&["triage", "-", "--json"], Some(case));
    assert_eq!(
        code(&o),
        Some(2),
        "stdout: {}\nstderr: {}",
        stdout(&o),
        stderr(&o)
    );
    assert!(stderr(&o).contains("pain_score"), "{}", stderr(&o));
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));
}

#[test]
fn the_texts_come_in_spanish_when_asked() {
    let path = vignette("V17.json");
    let path = path.to_str().expect("utf-8");
    let en = decision(&aftercare(&["triage", path, "--json"], None));
    let es = decision(&aftercare(
        &["triage", path, "--json", "--lang", "es"],
        None,
    ));
    assert_eq!(es["language"], "es");
    assert_eq!(es["headline"], "Busque ayuda urgente ahora");
    assert_eq!(es["level"], en["level"]);
    assert_eq!(rules(&es), rules(&en));
    assert_ne!(
        es["reasons"][0]["explanation"],
        en["reasons"][0]["explanation"]
    );
    let o = aftercare(&["triage", path, "--lang", "es"], None);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("BUSQUE AYUDA URGENTE AHORA"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn a_vignette_and_its_bare_case_get_the_same_decision() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bare = dir.path().join("case.json");
    std::fs::write(&bare, v17()["case"].to_string()).expect("write the case");
    let from_vignette = decision(&aftercare(
        &[
            "triage",
            vignette("V17.json").to_str().expect("utf-8"),
            "--json",
        ],
        None,
    ));
    let from_case = decision(&aftercare(
        &["triage", bare.to_str().expect("utf-8"), "--json"],
        None,
    ));
    assert_eq!(from_case, from_vignette);
}

#[test]
fn a_case_can_come_from_standard_input() {
    let text = std::fs::read_to_string(vignette("V17.json")).expect("V17");
    let dash = decision(&aftercare(&["triage", "-", "--json"], Some(&text)));
    let default = decision(&aftercare(&["triage", "--json"], Some(&text)));
    assert_eq!(dash["level"], "emergency");
    assert_eq!(dash, default);
}

/// How many audit rows of `action` (with `detail`, when given) the system wrote in the SQLite
/// file `db`, read on its own connection as an auditor would.
fn system_audit_rows(db: &Path, action: &str, detail: Option<&str>) -> i64 {
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(async {
            let url = format!("sqlite:{}?mode=ro", db.display());
            let pool = sqlx::SqlitePool::connect(&url).await.expect("open");
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM audit_log WHERE action = ? AND actor_kind = 'system' \
                 AND (? IS NULL OR detail = ?)",
            )
            .bind(action)
            .bind(detail)
            .bind(detail)
            .fetch_one(&pool)
            .await
            .expect("count")
        })
}

/// `admin create-clinic` for a clinic `north` in `data`, which must succeed.
fn create_clinic_north(data: &str) {
    let made = aftercare(
        &[
            "admin",
            "create-clinic",
            "--slug",
            "north",
            "--name",
            "North",
            "--data-dir",
            data,
        ],
        None,
    );
    assert_eq!(code(&made), Some(0), "{}", stderr(&made));
}

#[test]
fn the_first_admin_is_made_from_the_shell_with_the_password_on_standard_input_never_a_flag() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().to_str().expect("utf-8 path");
    create_clinic_north(data);
    let args = [
        "admin",
        "create-user",
        "--clinic",
        "north",
        "--email",
        "Ada@North.example",
        "--name",
        "Ada",
        "--role",
        "admin",
        "--data-dir",
        data,
    ];
    let user = aftercare(&args, Some("a long enough passphrase\n"));
    assert_eq!(code(&user), Some(0), "{}", stderr(&user));
    let out: Value = serde_json::from_str(&stdout(&user)).expect("json");
    assert_eq!(out["email"], "ada@north.example");
    assert_eq!(out["role"], "admin");
    // Too short a password, an unknown clinic, and a password flag are all refused.
    assert_ne!(code(&aftercare(&args, Some("short\n"))), Some(0));
    let mut unknown = args;
    unknown[3] = "south";
    assert_ne!(
        code(&aftercare(&unknown, Some("a long enough passphrase\n"))),
        Some(0)
    );
    let mut flagged = args.to_vec();
    flagged.extend(["--password", "a long enough passphrase"]);
    assert_eq!(code(&aftercare(&flagged, None)), Some(2));
}

/// A setting that cannot be read stops the start with its name, before anything listens.
#[test]
fn serve_refuses_settings_it_cannot_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().to_string_lossy().into_owned();
    for (flag, value, named) in [
        (
            "--trusted-proxies",
            "10.0.0.0/8,proxy.example",
            "AFTERCARE_TRUSTED_PROXIES",
        ),
        (
            "--trusted-proxies",
            "10.0.0.0/40",
            "AFTERCARE_TRUSTED_PROXIES",
        ),
        (
            "--emergency-number",
            "call us",
            "AFTERCARE_EMERGENCY_NUMBER",
        ),
    ] {
        let o = aftercare(
            &[
                "serve",
                "--data-dir",
                &data,
                "--listen",
                "127.0.0.1:0",
                flag,
                value,
            ],
            None,
        );
        assert_eq!(code(&o), Some(1), "{flag} {value}: {}", stderr(&o));
        assert!(stderr(&o).contains(named), "{flag} {value}: {}", stderr(&o));
    }
}

#[test]
fn the_data_directory_database_and_backups_are_for_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    // An existing directory left open to everyone, as an older version made it.
    std::fs::create_dir(&data).expect("dir");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let data_arg = data.to_str().expect("utf-8");
    let migrated = aftercare(&["migrate", "--data-dir", data_arg], None);
    assert_eq!(code(&migrated), Some(0), "{}", stderr(&migrated));
    let backup = dir.path().join("backup.db");
    let backed = aftercare(
        &[
            "backup",
            backup.to_str().expect("utf-8"),
            "--data-dir",
            data_arg,
        ],
        None,
    );
    assert_eq!(code(&backed), Some(0), "{}", stderr(&backed));
    let mode = |p: &Path| std::fs::metadata(p).expect("exists").permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700, "the data directory");
    assert_eq!(mode(&data.join("aftercare.db")), 0o600, "the database");
    for side in ["aftercare.db-wal", "aftercare.db-shm"] {
        if data.join(side).exists() {
            assert_eq!(mode(&data.join(side)), 0o600, "{side}");
        }
    }
    assert_eq!(mode(&backup), 0o600, "the backup");
    // A copy of every patient's records is itself in the audit log, written before the copy,
    // so the copy holds its own row too.
    for db in [data.join("aftercare.db"), backup.clone()] {
        let rows = system_audit_rows(&db, "database.backup", Some(&backup.display().to_string()));
        assert_eq!(rows, 1, "{}", db.display());
    }
}

#[test]
fn admin_configure_sets_the_clinic_numbers_and_refuses_a_wrong_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().to_str().expect("utf-8");
    create_clinic_north(data);
    let set = aftercare(
        &[
            "admin",
            "configure",
            "--clinic",
            "north",
            "--phone",
            "+34 912 345 678",
            "--crisis-line",
            "024",
            "--data-dir",
            data,
        ],
        None,
    );
    assert_eq!(code(&set), Some(0), "{}", stderr(&set));
    let out: Value = serde_json::from_str(&stdout(&set)).expect("JSON");
    assert_eq!(out["phone"], "+34 912 345 678");
    assert_eq!(out["crisis_line"], "024");
    assert_eq!(out["out_of_hours_phone"], Value::Null);
    // A flag left out keeps its number; a wrong one is refused, naming the flag.
    let wrong = aftercare(
        &[
            "admin",
            "configure",
            "--clinic",
            "north",
            "--out-of-hours-phone",
            "call us",
            "--data-dir",
            data,
        ],
        None,
    );
    assert_ne!(code(&wrong), Some(0));
    assert!(
        stderr(&wrong).contains("--out-of-hours-phone"),
        "{}",
        stderr(&wrong)
    );
    let kept = aftercare(
        &[
            "admin",
            "configure",
            "--clinic",
            "north",
            "--data-dir",
            data,
        ],
        None,
    );
    let out: Value = serde_json::from_str(&stdout(&kept)).expect("JSON");
    assert_eq!(out["phone"], "+34 912 345 678");
}

/// An admin who lost her phone, with no other admin to help: the operator removes her second
/// factor from the shell, audited; an unknown email is named.
#[test]
fn the_operator_removes_a_lost_second_factor_from_the_shell() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().to_str().expect("utf-8 path");
    create_clinic_north(data);
    let made = aftercare(
        &[
            "admin",
            "create-user",
            "--clinic",
            "north",
            "--email",
            "ada@north.example",
            "--name",
            "Ada",
            "--role",
            "admin",
            "--data-dir",
            data,
        ],
        Some("a long enough passphrase\n"),
    );
    assert_eq!(code(&made), Some(0), "{}", stderr(&made));
    let reset = |email: &str| {
        aftercare(
            &[
                "admin",
                "reset-second-factor",
                "--email",
                email,
                "--data-dir",
                data,
            ],
            None,
        )
    };
    let done = reset("Ada@North.example");
    assert_eq!(code(&done), Some(0), "{}", stderr(&done));
    let out: Value = serde_json::from_str(&stdout(&done)).expect("json");
    assert_eq!(out["second_factor"], false);
    let unknown = reset("nobody@north.example");
    assert_ne!(code(&unknown), Some(0));
    assert!(stderr(&unknown).contains("--email"), "{}", stderr(&unknown));

    let db = dir.path().join("aftercare.db");
    assert_eq!(system_audit_rows(&db, "staff.second_factor.reset", None), 1);
}
