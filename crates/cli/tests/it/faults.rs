//! Faults at the edges: a data directory that cannot be written gives a clear error and a
//! non-zero exit (not a crash loop), and PostgreSQL going away gives 503s with a clear message,
//! then recovers without a restart. These tests need root (mounts, a private PostgreSQL cluster
//! run as the `postgres` user); elsewhere they say they were skipped and why.

use crate::common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn run(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", cmd])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `aftercare serve` on a data directory and expects it to stop by itself with an error.
fn serve_fails_clearly(data_dir: &Path) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_aftercare"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(!status.success(), "the server should refuse to run");
            assert_eq!(status.code(), Some(1));
            break;
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("the server neither started nor failed within 20 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut err = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("read");
    err
}

struct Mount(std::path::PathBuf);

impl Mount {
    fn tmpfs(options: &str) -> Option<(tempfile::TempDir, Mount)> {
        let dir = tempfile::tempdir().ok()?;
        let target = dir.path().join("data");
        std::fs::create_dir_all(&target).ok()?;
        let ok = run(&format!(
            "mount -t tmpfs -o {options} tmpfs '{}'",
            target.display()
        ));
        ok.then(|| (dir, Mount(target)))
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        run(&format!("umount '{}'", self.0.display()));
    }
}

#[test]
fn a_read_only_data_directory_is_a_clear_error() {
    let Some((_dir, mount)) = Mount::tmpfs("size=1m,ro") else {
        eprintln!("skipped: mounting a read-only tmpfs needs root");
        return;
    };
    let err = serve_fails_clearly(&mount.0);
    assert!(err.contains("aftercare:"), "{err}");
    assert!(
        err.to_lowercase().contains("database") || err.contains("data directory"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_full_disk_at_start_is_a_clear_error() {
    let Some((_dir, mount)) = Mount::tmpfs("size=8k") else {
        eprintln!("skipped: mounting a small tmpfs needs root");
        return;
    };
    // Fill what little space there is.
    let _ = std::fs::write(mount.0.join("filler"), vec![0u8; 64 * 1024]);
    let err = serve_fails_clearly(&mount.0);
    assert!(err.contains("aftercare:"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// A private PostgreSQL cluster on its own port and socket, so stopping it disturbs no other test.
struct PrivatePg {
    dir: tempfile::TempDir,
    bin: String,
    port: u16,
}

impl PrivatePg {
    fn start() -> Option<PrivatePg> {
        let version = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .max_by_key(|v| v.parse::<u32>().unwrap_or(0))?;
        let bin = format!("/usr/lib/postgresql/{version}/bin");
        let dir = tempfile::Builder::new()
            .prefix("aftercare-pg")
            .tempdir_in("/tmp")
            .ok()?;
        let port = 20000 + (std::process::id() % 20000) as u16;
        let d = dir.path().display();
        let ok = run(&format!("chown postgres '{d}' && chmod 700 '{d}'"))
            && run(&format!(
                "su postgres -c \"{bin}/initdb -A trust -U postgres -D '{d}/data'\""
            ));
        if !ok {
            return None;
        }
        let pg = PrivatePg { dir, bin, port };
        pg.ctl("start").then_some(pg)
    }

    fn ctl(&self, action: &str) -> bool {
        let d = self.dir.path().display();
        let opts = format!("-p {} -k {d} -c listen_addresses=''", self.port);
        let mode = if action == "stop" { "-m immediate" } else { "" };
        run(&format!(
            "su postgres -c \"{}/pg_ctl -w -D '{d}/data' -l '{d}/log' -o \\\"{opts}\\\" {mode} {action}\"",
            self.bin
        ))
    }

    fn url(&self, db: &str) -> String {
        format!(
            "postgres:///{db}?host={}&port={}&user=postgres",
            self.dir.path().display(),
            self.port
        )
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        self.ctl("stop");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_going_away_gives_503_and_recovers_without_a_restart() {
    let Some(pg) = PrivatePg::start() else {
        eprintln!("skipped: a private PostgreSQL cluster needs root, the postgres user and initdb");
        return;
    };
    let url = pg.url("postgres");
    let tokens = common::seed(&url).await;
    let data = tempfile::tempdir().expect("temp dir");
    let mut server = common::start(data.path(), Some(&url));
    let client = reqwest::Client::new();
    let today = chrono::Utc::now().date_naive();
    let write = |pain: i64| {
        client
            .put(format!("{}/api/v1/diary/{today}", server.base))
            .bearer_auth(&tokens[0])
            .json(&serde_json::json!({ "pain": pain }))
            .timeout(Duration::from_secs(20))
            .send()
    };
    assert_eq!(write(3).await.expect("write").status().as_u16(), 200);

    assert!(pg.ctl("stop"), "stopping PostgreSQL");
    let res = write(4)
        .await
        .expect("an answer while the database is down");
    assert_eq!(res.status().as_u16(), 503);
    assert!(res.headers().contains_key("retry-after"));
    let body: serde_json::Value = res.json().await.expect("problem json");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("unavailable"),
        "{body}"
    );
    let ready = client
        .get(format!("{}/readyz", server.base))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status().as_u16(), 503);
    // The anonymous check-in needs no database for its advice: its first page, and an
    // emergency decided from answers carried in the URL, still answer.
    let first = client
        .get(format!("{}/checkin", server.base))
        .send()
        .await
        .expect("the check-in");
    assert_eq!(first.status().as_u16(), 200);
    let trail = serde_json::json!({
        "a": { "procedure": "labour_epidural", "hours_since_procedure": "10", "leg_weakness": "both_legs" },
        "s": [["?concern"], ["procedure", "hours_since_procedure"], ["leg_weakness"]],
        "c": "legs",
    });
    let encoded = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        trail.to_string(),
    );
    let decided = client
        .get(format!("{}/checkin?s={encoded}", server.base))
        .send()
        .await
        .expect("the decision");
    assert_eq!(decided.status().as_u16(), 200);
    let page = decided.text().await.expect("a page");
    assert!(page.contains("level-emergency"), "{page}");

    assert!(pg.ctl("start"), "starting PostgreSQL again");
    let started = Instant::now();
    loop {
        let status = write(5).await.map(|r| r.status().as_u16()).unwrap_or(0);
        if status == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no recovery within 30 s (last {status})"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    server.child.kill().expect("stop");
    let _ = server.child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disk_that_fills_up_fails_readiness_with_retry_after_and_recovers() {
    let Some((_dir, mount)) = Mount::tmpfs("size=4m") else {
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    };
    let server = common::start(&mount.0, None);
    let client = reqwest::Client::new();
    let ready = || client.get(format!("{}/readyz", server.base)).send();
    assert_eq!(ready().await.expect("readyz").status(), 200);
    // Fill the disk: the next writes cannot go anywhere.
    let filler = mount.0.join("filler");
    let _ = std::fs::write(&filler, vec![0u8; 8 * 1024 * 1024]);
    let mut last = None;
    for _ in 0..100 {
        let r = ready().await.expect("readyz");
        if r.status() == 503 {
            last = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = last.expect("readyz fails once nothing can be written");
    assert!(
        r.headers().contains_key("retry-after"),
        "503 says when to try again"
    );
    let problem: serde_json::Value = r.json().await.expect("a problem body");
    assert!(problem["title"].is_string(), "{problem}");
    // Space again: ready again, without a restart.
    std::fs::remove_file(&filler).expect("remove the filler");
    let mut back = 0;
    for _ in 0..100 {
        back = ready().await.expect("readyz").status().as_u16();
        if back == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(back, 200, "ready again once it can write");
}
