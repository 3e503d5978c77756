//! The server's edges against slow clients: a connection that trickles its request headers
//! (slowloris), or opens and sends nothing, is closed within 30 seconds instead of being held
//! open, while ordinary requests on other connections are still answered.

use crate::common;

use common::start;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Reads until the server closes the connection; how long that took.
fn closed_after(mut stream: TcpStream) -> Duration {
    let started = Instant::now();
    stream
        .set_read_timeout(Some(Duration::from_secs(40)))
        .expect("timeout");
    let mut buf = [0u8; 512];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return started.elapsed(),
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return started.elapsed(),
            Err(e) => panic!(
                "the connection was still open after {:?}: {e}",
                started.elapsed()
            ),
        }
    }
}

#[test]
fn a_slow_header_or_silent_connection_is_closed_within_thirty_seconds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(dir.path(), None);
    let addr = server.base.trim_start_matches("http://").to_string();

    let mut trickle = TcpStream::connect(&addr).expect("connect");
    trickle
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .expect("write");
    let silent = TcpStream::connect(&addr).expect("connect");

    let a = std::thread::spawn(move || closed_after(trickle));
    let b = std::thread::spawn(move || closed_after(silent));

    // Meanwhile the server answers others.
    let mut ok = TcpStream::connect(&addr).expect("connect");
    ok.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut answer = String::new();
    ok.read_to_string(&mut answer).expect("read");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    for (what, waited) in [("trickling", a), ("silent", b)] {
        let waited = waited.join().expect("reader");
        assert!(
            waited < Duration::from_secs(30),
            "the {what} connection was held {waited:?}"
        );
    }
}
