//! `aftercare triage`: one case in, one decision out, for a person or as JSON.

use aftercare_core::{triage, Case, Content, DecisionView, Status};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The case file, or `-` (the default) for standard input.
    #[arg(default_value = "-")]
    file: PathBuf,
    /// Print the decision as JSON.
    #[arg(long)]
    json: bool,
    /// The language of the texts (en, es).
    #[arg(long, default_value = "en")]
    lang: String,
}

pub fn run(content: &Content, args: Args) -> anyhow::Result<ExitCode> {
    let Some(lang) = content.lang(&args.lang) else {
        return Ok(bad_input(&format!(
            "--lang: {} is not one of {}",
            args.lang,
            content
                .languages()
                .map(|(c, _)| c)
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    let text = match read_input(&args.file) {
        Ok(t) => t,
        Err(e) => return Ok(bad_input(&format!("{}: {e}", args.file.display()))),
    };
    let json: serde_json::Value = match serde_json::from_str(&text) {
        Ok(j) => j,
        Err(e) => return Ok(bad_input(&format!("input is not valid JSON: {e}"))),
    };
    // A vignette file holds the case under `case`; a bare case is the object itself.
    let case_json = json.get("case").unwrap_or(&json);
    let case = match Case::from_json(content, case_json) {
        Ok(c) => c,
        Err(e) => return Ok(bad_input(&e.to_string())),
    };
    let decision = triage(content, &case);
    let view = DecisionView::new(content, &decision, lang);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&view)?);
    } else {
        print!("{}", render(content, lang, &view));
    }
    Ok(ExitCode::SUCCESS)
}

fn read_input(file: &PathBuf) -> std::io::Result<String> {
    if file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        Ok(s)
    } else {
        std::fs::read_to_string(file)
    }
}

fn bad_input(message: &str) -> ExitCode {
    eprintln!("aftercare: {message}");
    ExitCode::from(2)
}

/// The decision for a person: the level and what to do now first, then why, then the plan.
fn render(content: &Content, lang: aftercare_core::Lang, v: &DecisionView) -> String {
    let ui = |k| content.text(lang).ui(k);
    let mut out = String::new();
    // An incomplete decision's level is only a floor: the tag says so, never the level alone.
    let tag = match v.status {
        Status::Final => v.level.to_string(),
        Status::Incomplete => format!(
            "{}, {} {}",
            ui("tag_incomplete"),
            ui("tag_at_least"),
            v.level
        ),
    };
    out += &format!("{} [{tag}]\n{}\n", v.headline.to_uppercase(), v.now);
    if v.status == Status::Incomplete {
        out += &format!("\n{}\n{}:\n", ui("incomplete"), ui("still_to_answer"));
        for f in &v.ask {
            let idx = content.fact_index(f).map(usize::from).unwrap_or_default();
            out += &format!("  - {} ({f})\n", content.text(lang).facts[idx].question);
        }
    }
    if !v.reasons.is_empty() {
        out += &format!("\n{}:\n", ui("why"));
        for r in &v.reasons {
            out += &format!(
                "  - {} [{}, {}]\n    {}: {}\n    {}: {}\n",
                r.explanation,
                r.rule,
                r.level,
                ui("for_clinicians"),
                r.clinician,
                ui("source"),
                r.source
            );
        }
    }
    if !v.plan.is_empty() {
        out += &format!("\n{}:\n", ui("your_plan"));
        for p in &v.plan {
            let mut when = String::new();
            if let Some(end) = p.ends_in_days {
                when = if end <= 0 {
                    ui("ends_today").to_string()
                } else {
                    ui("ends_in_days").replace("{days}", &(end + 1).to_string())
                };
            }
            if let Some(start) = p.starts_in_days.filter(|s| *s > 0) {
                when = ui("starts_in_days").replace("{days}", &start.to_string());
            }
            out += &format!("  - {}", p.title);
            if !when.is_empty() {
                out += &format!(" ({when})");
            }
            out += &format!(": {}\n", p.text);
            if let Some(then) = &p.then {
                out += &format!(
                    "    {} ({})\n",
                    then.title,
                    ui("starts_in_days").replace("{days}", &then.starts_in_days.to_string())
                );
            }
        }
    }
    if !v.watch_for.is_empty() {
        out += &format!("\n{}:\n", ui("watch_for"));
        for w in &v.watch_for {
            out += &format!("  - {w}\n");
        }
    }
    if let Some(h) = v.check_in_again_hours {
        out += &format!(
            "\n{}\n",
            ui("check_in_again").replace("{hours}", &h.to_string())
        );
    }
    out += &format!("\n{}: {}\n", ui("content_version"), v.content_version);
    out
}
