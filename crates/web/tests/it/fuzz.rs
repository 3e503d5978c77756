//! Property tests of bad input against the real server: generated JSON bodies (keys drawn from
//! the vocabulary's fact ids and from junk, values of every JSON type, huge numbers, unicode,
//! nesting) for `POST /api/v1/triage`, check-in rounds and diary writes. Whatever comes in:
//! no 5xx, every 4xx is an RFC 9457 problem body, and a 422 about a case names a field that is
//! in the request (or a required field the request left out).
//!
//! The server is started once per target (starting one per case would dominate the run); the
//! case count is modest so the file runs in seconds. `PROPTEST_CASES` raises it for a longer
//! hunt.

use crate::support;

use aftercare_core::content::FactKind;
use aftercare_core::Content;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use support::TestApp;

/// Cases per target unless `PROPTEST_CASES` says otherwise.
const CASES: u32 = 64;

/// A placeholder the generators put where a JSON number too large for any float or integer
/// type must go; it is swapped for the literal in the request text (a `Value` cannot hold it).
const HUGE: &str = "\u{1}huge-number\u{1}";
const HUGE_LITERALS: &[&str] = &[
    "1e400",
    "-1e400",
    "123456789012345678901234567890123456789",
    "0.00000000000000000000000000000000000000000000000000000000000000001e-400",
];

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CASES);
    Config {
        cases,
        // Shrinking restarts requests; a handful of steps finds a small example.
        max_shrink_iters: 256,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Strings that have broken parsers before: empty, control characters, right-to-left marks,
/// combining characters, emoji, lone surrogate escapes written out, very long.
fn junk_string() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("\u{0}".to_string()),
        Just("\u{202e}evil\u{202c}".to_string()),
        Just("e\u{301}\u{301}\u{301}".to_string()),
        Just("🩺💉🧑‍⚕️".to_string()),
        Just("<script>alert(1)</script>".to_string()),
        Just("'; DROP TABLE patients; --".to_string()),
        Just("__proto__".to_string()),
        Just("x".repeat(5_000)),
        "\\PC{0,40}",
        any::<String>(),
    ]
}

fn any_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        Just(json!(-0.0)),
        Just(json!(f64::MAX)),
        Just(json!(f64::MIN_POSITIVE)),
        Just(json!(i64::MIN)),
        Just(json!(u64::MAX)),
        (-20i64..200).prop_map(Value::from),
        (-20.0f64..200.0).prop_map(Value::from),
        Just(Value::String(HUGE.into())),
    ]
}

/// Any JSON value, nested a few levels.
fn any_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any_number(),
        junk_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(junk_string(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A value that fits the fact (so generated cases also get past validation and into the
/// engine), or, a third of the time, any value at all.
fn value_for(kind: &FactKind) -> BoxedStrategy<Value> {
    let fitting: BoxedStrategy<Value> = match kind {
        FactKind::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        FactKind::Enum { values, .. } => prop::sample::select(values.clone())
            .prop_map(Value::String)
            .boxed(),
        FactKind::Number { min, max, .. } => {
            let lo = min.unwrap_or(-10.0);
            let hi = max.unwrap_or(lo + 1_000.0).max(lo + 1.0);
            prop_oneof![
                ((lo as i64)..=(hi as i64)).prop_map(Value::from),
                (lo..hi).prop_map(Value::from),
            ]
            .boxed()
        }
    };
    prop_oneof![5 => fitting, 1 => any_value()].boxed()
}

/// An object whose keys are mostly fact ids (with values that may or may not fit) and
/// sometimes junk.
fn facts_object(content: &Content) -> BoxedStrategy<Map<String, Value>> {
    let facts: Vec<(String, FactKind)> = content
        .facts
        .iter()
        .map(|f| (f.id.clone(), f.kind.clone()))
        .collect();
    let entry = prop_oneof![
        10 => prop::sample::select(facts).prop_flat_map(|(id, kind)| (Just(id), value_for(&kind))),
        1 => (junk_string(), any_value()),
    ];
    prop::collection::vec(entry, 0..6)
        .prop_map(|entries| entries.into_iter().collect())
        .boxed()
}

/// A triage body: usually an object of facts, sometimes not an object at all.
fn triage_body(content: &Content) -> BoxedStrategy<Value> {
    prop_oneof![
        8 => facts_object(content).prop_map(Value::Object),
        1 => any_value(),
    ]
    .boxed()
}

/// A check-in round body: `{"answers": {...}}`, sometimes with `answers` of the wrong type,
/// missing, or next to junk keys.
fn answers_body(content: &Content) -> BoxedStrategy<Value> {
    prop_oneof![
        6 => facts_object(content).prop_map(|a| json!({ "answers": a })),
        1 => any_value().prop_map(|a| json!({ "answers": a })),
        1 => (facts_object(content), junk_string(), any_value()).prop_map(|(a, k, v)| {
            let mut m = Map::new();
            m.insert("answers".into(), Value::Object(a));
            m.insert(k, v);
            Value::Object(m)
        }),
        1 => any_value(),
    ]
    .boxed()
}

/// A diary body: `pain`, `facts` and `note`, each present or not, fitting or not.
fn diary_body(content: &Content) -> BoxedStrategy<Value> {
    let pain = prop_oneof![
        3 => (0i64..=10).prop_map(Value::from),
        1 => any_number(),
        1 => any_value(),
    ];
    let note = prop_oneof![
        5 => "\\PC{0,200}".prop_map(Value::String),
        1 => junk_string().prop_map(Value::String),
        1 => Just("n".repeat(2_001)).prop_map(Value::String),
        1 => any_value(),
    ];
    let junk = prop::option::weighted(0.1, (junk_string(), any_value()));
    (
        prop::option::weighted(0.9, pain),
        prop::option::weighted(0.8, facts_object(content).prop_map(Value::Object)),
        prop::option::of(note),
        junk,
    )
        .prop_map(|(pain, facts, note, junk)| {
            let mut m = Map::new();
            if let Some(p) = pain {
                m.insert("pain".into(), p);
            }
            if let Some(f) = facts {
                m.insert("facts".into(), f);
            }
            if let Some(n) = note {
                m.insert("note".into(), n);
            }
            if let Some((k, v)) = junk {
                m.insert(k, v);
            }
            Value::Object(m)
        })
        .boxed()
}

/// The request text: the body with every [`HUGE`] placeholder replaced by a number literal
/// no float or integer can hold.
fn request_text(body: &Value) -> String {
    let mut text = body.to_string();
    let placeholder = serde_json::to_string(HUGE).unwrap_or_default();
    let mut i = 0;
    while let Some(at) = text.find(&placeholder) {
        let literal = HUGE_LITERALS[i % HUGE_LITERALS.len()];
        text.replace_range(at..at + placeholder.len(), literal);
        i += 1;
    }
    text
}

/// Whether `field` is something the request carried: a key anywhere in the body, a path into
/// it as serde_path_to_error writes them (`answers.pain_score`, `facts.x[2].y`; keys may be
/// empty or hold dots, so the path is matched against the body's actual keys), or one of
/// `also` (path parameters, and required fields left out).
fn named_in_request(field: &str, body: &Value, also: &[&str]) -> bool {
    fn has_key(v: &Value, key: &str) -> bool {
        match v {
            Value::Object(m) => m.iter().any(|(k, v)| k == key || has_key(v, key)),
            Value::Array(a) => a.iter().any(|v| has_key(v, key)),
            _ => false,
        }
    }
    /// After a segment: the end, `.next`, or `[index]...`.
    fn then(child: &Value, after: &str) -> bool {
        match after.as_bytes().first() {
            None => true,
            Some(b'.') => walk(child, &after[1..]),
            Some(b'[') => walk(child, after),
            _ => false,
        }
    }
    fn walk(v: &Value, rest: &str) -> bool {
        match v {
            Value::Object(m) => m
                .iter()
                .any(|(k, child)| rest.starts_with(k.as_str()) && then(child, &rest[k.len()..])),
            Value::Array(a) => {
                let Some(inner) = rest.strip_prefix('[') else {
                    return false;
                };
                let Some((n, after)) = inner.split_once(']') else {
                    return false;
                };
                n.parse::<usize>()
                    .ok()
                    .and_then(|i| a.get(i))
                    .is_some_and(|child| then(child, after))
            }
            _ => false,
        }
    }
    also.contains(&field) || has_key(body, field) || walk(body, field)
}

/// What one response must satisfy.
struct Sent<'a> {
    what: &'a str,
    body: &'a Value,
    /// Fields a 422 may name that are not keys of the body.
    also: &'a [&'a str],
    /// A 422 must name a field (false when the body is not even an object).
    must_name: bool,
}

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: &Value,
) -> (u16, String, String) {
    let mut req = app
        .client
        .request(method, app.url(path))
        .header("content-type", "application/json")
        .body(request_text(body));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("the server answers");
    let status = res.status().as_u16();
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, content_type, res.text().await.expect("a body"))
}

/// Answers seen per status, printed at the end (`--nocapture`) to see that the generators reach
/// the engine and the store, not only the validators.
static SEEN: std::sync::Mutex<std::collections::BTreeMap<u16, u32>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

fn check(sent: &Sent, status: u16, content_type: &str, text: &str) -> Result<(), TestCaseError> {
    let what = sent.what;
    *SEEN
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(status)
        .or_default() += 1;
    prop_assert!(status < 500, "{what}: {status} {text}");
    if status < 400 {
        return Ok(());
    }
    prop_assert_eq!(
        content_type,
        "application/problem+json",
        "{}: {} {}",
        what,
        status,
        text
    );
    let problem: Value = serde_json::from_str(text)
        .map_err(|e| TestCaseError::fail(format!("{what}: problem body is not JSON: {e}")))?;
    prop_assert_eq!(
        problem["status"].as_u64(),
        Some(u64::from(status)),
        "{}",
        what
    );
    for member in ["type", "title", "detail"] {
        prop_assert!(
            problem[member].is_string(),
            "{what}: no {member}: {problem}"
        );
    }
    if status == 422 {
        match problem["field"].as_str() {
            Some(field) => prop_assert!(
                named_in_request(field, sent.body, sent.also),
                "{what}: 422 names {field:?}, which the request did not carry: {problem}\nbody: {}",
                request_text(sent.body)
            ),
            None => prop_assert!(
                !sent.must_name,
                "{what}: 422 without a field: {problem}\nbody: {}",
                request_text(sent.body)
            ),
        }
    }
    Ok(())
}

/// Runs `strategy` through `TestRunner` on a runtime of its own, sending each body with `case`.
fn hunt<S, F, Fut>(strategy: S, case: F)
where
    S: Strategy<Value = Value>,
    F: Fn(Arc<TestApp>, Value) -> Fut,
    Fut: std::future::Future<Output = Result<(), TestCaseError>>,
{
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let app = Arc::new(rt.block_on(TestApp::sqlite()));
    let mut runner = TestRunner::new(config());
    let result = runner.run(&strategy, |body| rt.block_on(case(app.clone(), body)));
    eprintln!("statuses so far: {:?}", SEEN.lock().map(|s| s.clone()));
    if let Err(e) = result {
        panic!("{e}");
    }
}

fn content() -> Content {
    Content::bundled().expect("bundled content")
}

/// Top-level required members: a 422 may name them when the body left them out.
fn must_name(body: &Value) -> bool {
    body.is_object()
}

#[test]
fn triage_never_fails_on_any_body() {
    hunt(triage_body(&content()), |app, body| async move {
        let (status, ct, text) =
            send(&app, reqwest::Method::POST, "/api/v1/triage", None, &body).await;
        check(
            &Sent {
                what: "POST /api/v1/triage",
                must_name: must_name(&body),
                body: &body,
                also: &[],
            },
            status,
            &ct,
            &text,
        )
    });
}

#[test]
fn check_in_rounds_never_fail_on_any_body() {
    hunt(answers_body(&content()), |app, body| async move {
        let patient = app.patient().await;
        let token = patient.link_token.expose();
        let (status, ct, text) = send(
            &app,
            reqwest::Method::POST,
            "/api/v1/checkins",
            Some(token),
            &body,
        )
        .await;
        let sent = Sent {
            what: "POST /api/v1/checkins",
            // `answers` must be an object; when it is not there is still a field to name.
            must_name: must_name(&body),
            body: &body,
            also: &["answers"],
        };
        check(&sent, status, &ct, &text)?;

        // The same body as a later round of a session that started empty.
        let (status, _, text) = send(
            &app,
            reqwest::Method::POST,
            "/api/v1/checkins",
            Some(token),
            &json!({"answers": {}}),
        )
        .await;
        prop_assert_eq!(status, 201, "{}", text);
        let id = serde_json::from_str::<Value>(&text).expect("json")["session_id"]
            .as_str()
            .expect("a session id")
            .to_string();
        let (status, ct, text) = send(
            &app,
            reqwest::Method::PATCH,
            &format!("/api/v1/checkins/{id}"),
            Some(token),
            &body,
        )
        .await;
        check(
            &Sent {
                what: "PATCH /api/v1/checkins/{id}",
                ..sent
            },
            status,
            &ct,
            &text,
        )
    });
}

/// A day for the path: mostly recent valid days (the patient's procedure was 2 days ago), some
/// out of range, some not dates at all.
fn diary_day() -> impl Strategy<Value = String> {
    let today = chrono::Utc::now().date_naive();
    prop_oneof![
        4 => (0i64..=2).prop_map(move |d| (today - chrono::Duration::days(d)).to_string()),
        1 => (-400i64..400).prop_map(move |d| (today - chrono::Duration::days(d)).to_string()),
        1 => prop_oneof![
            Just("2024-02-30".to_string()),
            Just("0000-01-01".to_string()),
            Just("99999-01-01".to_string()),
            Just("today".to_string()),
            "[0-9-]{0,12}",
        ],
    ]
}

#[test]
fn diary_writes_never_fail_on_any_body() {
    let content = content();
    hunt(
        (diary_day(), diary_body(&content)).prop_map(|(day, body)| json!([day, body])),
        |app, pair| async move {
            let (day, body) = (pair[0].as_str().unwrap_or_default(), &pair[1]);
            let patient = app.patient().await;
            let path = format!("/api/v1/diary/{}", urlencode(day));
            let (status, ct, text) = send(
                &app,
                reqwest::Method::PUT,
                &path,
                Some(patient.link_token.expose()),
                body,
            )
            .await;
            check(
                &Sent {
                    what: "PUT /api/v1/diary/{day}",
                    must_name: must_name(body),
                    body,
                    also: &["day", "pain"],
                },
                status,
                &ct,
                &text,
            )
        },
    );
}

/// Percent-encodes everything but unreserved characters.
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
