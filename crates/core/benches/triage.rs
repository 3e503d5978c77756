//! Triage throughput: every vignette of `tests/vignettes`, decided with its care plan, counted in
//! decisions. The cases are parsed once, outside the measured loop.
//!
//! `cargo bench -p aftercare-core --bench triage -- --warm-up-time 1 --measurement-time 5`

use aftercare_core::{triage, Case, Content, DecisionView};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use std::path::Path;

fn vignette_cases(content: &Content) -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vignettes");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/vignettes exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).expect("readable vignette");
            let json: serde_json::Value = serde_json::from_str(&text).expect("vignette is JSON");
            Case::from_json(content, &json["case"])
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        })
        .collect()
}

fn bench_triage(c: &mut Criterion) {
    let content = Content::bundled().expect("the bundled content is valid");
    let cases = vignette_cases(&content);
    assert!(!cases.is_empty(), "no vignettes found");

    let mut group = c.benchmark_group("triage");
    group.throughput(Throughput::Elements(cases.len() as u64));
    group.bench_function("all_vignettes", |b| {
        b.iter(|| {
            for case in &cases {
                black_box(triage(&content, black_box(case)));
            }
        })
    });
    group.bench_function("all_vignettes_rendered", |b| {
        let lang = content.default_lang();
        b.iter(|| {
            for case in &cases {
                let decision = triage(&content, black_box(case));
                black_box(DecisionView::new(&content, &decision, lang));
            }
        })
    });
    group.finish();

    // The work of one `POST /api/v1/triage` without the HTTP around it: the body parsed,
    // decided, rendered and written as JSON. V20 is the case the HTTP benchmark sends.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vignettes/V20.json");
    let vignette: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("V20 exists")).expect("JSON");
    // As clients send it, facts in vocabulary order (a `serde_json::Map` would sort them).
    let case = &vignette["case"];
    let members: Vec<String> = content
        .facts
        .iter()
        .filter(|f| !case[&f.id].is_null())
        .map(|f| format!("{:?}:{}", f.id, case[&f.id]))
        .collect();
    let body = format!("{{{}}}", members.join(",")).into_bytes();
    let lang = content.default_lang();
    c.bench_function("triage/v20_body_to_json", |b| {
        b.iter(|| {
            let case = Case::from_json_slice(&content, black_box(&body)).expect("V20 is valid");
            let decision = triage(&content, &case);
            let mut out = Vec::with_capacity(8 * 1024);
            serde_json::to_writer(&mut out, &DecisionView::new(&content, &decision, lang))
                .expect("a decision serialises");
            black_box(out)
        })
    });
    c.bench_function("triage/v20_parse", |b| {
        b.iter(|| Case::from_json_slice(&content, black_box(&body)).expect("V20 is valid"))
    });
    let case = Case::from_json_slice(&content, &body).expect("V20 is valid");
    let decision = triage(&content, &case);
    c.bench_function("triage/v20_serialize", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(8 * 1024);
            serde_json::to_writer(
                &mut out,
                &DecisionView::new(&content, black_box(&decision), lang),
            )
            .expect("a decision serialises");
            black_box(out)
        })
    });
}

criterion_group!(benches, bench_triage);
criterion_main!(benches);
