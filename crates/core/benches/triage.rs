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
}

criterion_group!(benches, bench_triage);
criterion_main!(benches);
