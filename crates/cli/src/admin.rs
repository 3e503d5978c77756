//! `aftercare admin ...`: setting up clinics, staff accounts and patients from the command line
//! (for operators, scripts and the browser tests). Each command prints what it made as one JSON
//! object.
//!
//! `create-user` makes a staff account (the first admin of a clinic, typically). The password
//! never comes from a flag (flags end up in shell history and in `ps`): it is read from the
//! environment variable `AFTERCARE_ADMIN_PASSWORD` or, without it, from the first line of
//! standard input. Every command goes through the application layer, as the clinic workspace
//! does: the same checks, the same hashing, and an audit row (actor `system`) in the same commit.

use crate::serve::{runtime, DbArgs};
use aftercare_app::text::Name;
use aftercare_app::Actor;
use aftercare_core::content::FactKind;
use aftercare_core::Content;
use aftercare_store::Channel;
use anyhow::{anyhow, bail, Context};
use chrono::NaiveDate;
use clap::Args;
use serde_json::json;
use std::io::BufRead;
use std::sync::Arc;

#[derive(Debug, clap::Subcommand)]
pub enum AdminCommand {
    /// Create a clinic.
    CreateClinic {
        #[command(flatten)]
        db: DbArgs,
        /// Short name used in links (`?clinic=slug`): lowercase letters, digits and dashes.
        #[arg(long)]
        slug: String,
        /// The clinic's name as patients see it.
        #[arg(long)]
        name: String,
    },
    /// Enrol a patient with a clinic; prints her personal link token and enrolment code.
    EnrolPatient {
        #[command(flatten)]
        db: DbArgs,
        /// The clinic's slug.
        #[arg(long)]
        clinic: String,
        /// A name or pseudonym the clinic knows her by.
        #[arg(long)]
        name: String,
        /// The procedure (a value of the content's `procedure` fact, e.g. labour_epidural).
        #[arg(long)]
        procedure: String,
        /// YYYY-MM-DD.
        #[arg(long)]
        procedure_date: String,
        /// YYYY-MM-DD, when she has given birth.
        #[arg(long)]
        delivery_date: Option<String>,
        /// The language of her texts (en, es).
        #[arg(long, default_value = "en")]
        language: String,
    },
    /// Create a staff account (password from AFTERCARE_ADMIN_PASSWORD or standard input).
    CreateUser(CreateUserArgs),
    /// Set a clinic's numbers, time zone, hours and alert targets (a flag left out keeps its
    /// value; an empty value removes it).
    Configure(ConfigureArgs),
    /// Remove a staff member's second factor (a lost phone, and no other admin to do it): she
    /// sets up a new one at her next sign-in; her sessions end.
    ResetSecondFactor {
        #[command(flatten)]
        db: DbArgs,
        /// Her login email.
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Args)]
pub struct ConfigureArgs {
    #[command(flatten)]
    db: DbArgs,
    /// The clinic's slug.
    #[arg(long)]
    clinic: String,
    /// The number to call in opening hours.
    #[arg(long)]
    phone: Option<String>,
    /// The number to call at other times.
    #[arg(long)]
    out_of_hours_phone: Option<String>,
    /// The clinic's emergency number (empty: the server's AFTERCARE_EMERGENCY_NUMBER).
    #[arg(long)]
    emergency_number: Option<String>,
    /// A crisis line for thoughts of self-harm.
    #[arg(long)]
    crisis_line: Option<String>,
    /// The clinic's IANA time zone, such as Europe/Madrid.
    #[arg(long)]
    time_zone: Option<String>,
    /// The hour the daytime number starts answering (local time), such as 08:00.
    #[arg(long)]
    open_from: Option<String>,
    /// The hour it stops answering, such as 18:00.
    #[arg(long)]
    open_until: Option<String>,
    /// The days it answers, comma-separated: mon,tue,wed,thu,fri.
    #[arg(long, value_delimiter = ',')]
    open_days: Option<Vec<String>>,
    /// Minutes before an unacknowledged emergency is alerted again.
    #[arg(long)]
    realert_emergency_minutes: Option<String>,
    /// Minutes before an unacknowledged urgent escalation is alerted again.
    #[arg(long)]
    realert_urgent_minutes: Option<String>,
    /// An email address for alerts (repeat the flag for several); added to those set.
    #[arg(long)]
    alert_email: Vec<String>,
    /// A webhook URL for alerts (repeat for several); its signing secret is printed once.
    #[arg(long)]
    alert_webhook: Vec<String>,
    /// The lowest level the added alert targets are alerted for.
    #[arg(long, default_value = "soon")]
    alert_level: String,
    /// The tier of the added alert targets: 1 first contact, 2 for re-alerts, ...
    #[arg(long, default_value_t = 1)]
    alert_tier: i32,
}

pub fn run(content: Content, command: AdminCommand) -> anyhow::Result<()> {
    let content = Arc::new(content);
    match command {
        AdminCommand::CreateUser(args) => create_user(content, args),
        AdminCommand::Configure(args) => configure(content, args),
        AdminCommand::ResetSecondFactor { db, email } => runtime()?.block_on(async move {
            let app = db.app(content).await?;
            let staff = app
                .staff()
                .by_email(&email)
                .await?
                .ok_or_else(|| anyhow!("--email: no staff account with this email"))?;
            app.second_factor()
                .reset(&Actor::system(), &staff.clinic_id, &staff.id)
                .await?;
            println!(
                "{}",
                json!({ "id": staff.id, "email": staff.email, "second_factor": false })
            );
            Ok(())
        }),
        AdminCommand::CreateClinic { db, slug, name } => {
            let valid = !slug.is_empty()
                && slug.len() <= 64
                && slug
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !valid {
                bail!("--slug: use lowercase letters, digits and dashes (at most 64)");
            }
            if name.trim().is_empty() {
                bail!("--name: must not be empty");
            }
            runtime()?.block_on(async move {
                let app = db.app(content).await?;
                let clinic = app
                    .clinics()
                    .create(&Actor::system(), &slug, &name)
                    .await
                    .map_err(|e| anyhow!("cannot create the clinic: {e}"))?;
                println!(
                    "{}",
                    json!({ "id": clinic.id, "slug": clinic.slug, "name": clinic.name })
                );
                Ok(())
            })
        }
        AdminCommand::EnrolPatient {
            db,
            clinic,
            name,
            procedure,
            procedure_date,
            delivery_date,
            language,
        } => {
            let procedures = match content.fact("procedure").map(|f| &f.kind) {
                Some(FactKind::Enum { values, .. }) => values.clone(),
                _ => Vec::new(),
            };
            if !procedures.contains(&procedure) {
                bail!("--procedure: expected one of {}", procedures.join(", "));
            }
            let date = |flag: &str, s: &str| {
                NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .with_context(|| format!("{flag}: {s:?} is not a date (YYYY-MM-DD)"))
            };
            let procedure_date = date("--procedure-date", &procedure_date)?;
            let delivery_date = delivery_date
                .map(|d| date("--delivery-date", &d))
                .transpose()?;
            if content.lang(&language).is_none() {
                bail!(
                    "--language: expected one of {}",
                    content
                        .languages()
                        .map(|(c, _)| c)
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            if name.trim().is_empty() {
                bail!("--name: must not be empty");
            }
            runtime()?.block_on(async move {
                let app = db.app(content).await?;
                let Some(clinic) = app.clinics().by_slug(&clinic).await? else {
                    bail!("--clinic: no clinic with slug {clinic:?}");
                };
                let who = aftercare_app::enrolment::Enrol {
                    display_name: Name::new("--name", &name)?,
                    procedure,
                    procedure_date,
                    delivery_date,
                    language,
                    phone: None,
                    email: None,
                };
                let p = app
                    .enrolment()
                    .enrol(&Actor::system(), &clinic.id, who)
                    .await
                    .map_err(|e| anyhow!("cannot enrol the patient: {e}"))?;
                println!(
                    "{}",
                    json!({
                        "id": p.id,
                        "clinic": clinic.slug,
                        "enrolment_code": p.enrolment_code,
                        "link_token": p.link_token.expose(),
                        "link_path": format!("/p/{}", p.link_token.expose()),
                    })
                );
                Ok(())
            })
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct CreateUserArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// The clinic's slug.
    #[arg(long)]
    pub clinic: String,
    /// The login email.
    #[arg(long)]
    pub email: String,
    /// The name colleagues see.
    #[arg(long)]
    pub name: String,
    /// `admin` (staff, announcements, settings, audit log) or `clinician` (patients, chat,
    /// contact requests).
    #[arg(long, value_parser = ["admin", "clinician"])]
    pub role: String,
}

/// The password: the environment variable, or the first line of standard input.
fn read_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("AFTERCARE_ADMIN_PASSWORD") {
        return Ok(p);
    }
    eprintln!("password (one line on standard input):");
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        bail!("no password: set AFTERCARE_ADMIN_PASSWORD or write it on standard input");
    }
    Ok(password)
}

fn create_user(content: Arc<Content>, args: CreateUserArgs) -> anyhow::Result<()> {
    let password = read_password()?;
    runtime()?.block_on(async move {
        let app = args.db.app(content).await?;
        let clinic = app
            .clinics()
            .by_slug(&args.clinic)
            .await?
            .ok_or_else(|| anyhow!("--clinic: no clinic with slug {:?}", args.clinic))?;
        let account = aftercare_app::staff::NewAccount {
            clinic_id: &clinic.id,
            email: &args.email,
            display_name: Name::new("--name", &args.name)?,
            role: &args.role,
            password: &password,
        };
        let staff = app
            .staff()
            .create(&Actor::system(), account)
            .await
            .map_err(|e| anyhow!("{e}"))?;
        println!(
            "{}",
            json!({ "id": staff.id, "clinic": clinic.slug, "email": staff.email, "role": staff.role })
        );
        Ok(())
    })
}

/// `admin configure`: the clinic's settings, checked as the settings page checks them, with an
/// audit row like the page's, and alert targets added as on the alerts page. Values not given
/// are kept.
fn configure(content: Arc<Content>, args: ConfigureArgs) -> anyhow::Result<()> {
    let changes = aftercare_app::clinics::Changes {
        phone: args.phone,
        out_of_hours_phone: args.out_of_hours_phone,
        crisis_line: args.crisis_line,
        emergency_number: args.emergency_number,
        time_zone: args.time_zone,
        open_from: args.open_from,
        open_until: args.open_until,
        open_days: args.open_days,
        realert_emergency_minutes: args.realert_emergency_minutes,
        realert_urgent_minutes: args.realert_urgent_minutes,
        ..Default::default()
    };
    let level = aftercare_core::Level::parse(&args.alert_level)
        .ok_or_else(|| anyhow!("--alert-level: emergency, urgent, soon or self_care"))?;
    let slug = args.clinic;
    let flag_error = |e: aftercare_app::Error| match e {
        // A bad value is named by its flag.
        aftercare_app::Error::Invalid { detail, .. } => match detail.split_once(':') {
            Some((field, why)) => anyhow!("--{}:{why}", field.replace('_', "-")),
            None => anyhow!("{detail}"),
        },
        other => anyhow!("cannot configure the clinic: {other}"),
    };
    let db = args.db;
    runtime()?.block_on(async move {
        let app = db.app(content).await?;
        let clinic = app
            .clinics()
            .by_slug(&slug)
            .await?
            .ok_or_else(|| anyhow!("--clinic: no clinic {slug:?}"))?;
        let actor = Actor::system();
        let updated = app
            .clinics()
            .change(&actor, &clinic, changes, Some("admin configure"))
            .await
            .map_err(flag_error)?;
        let mut added = Vec::new();
        let targets = args
            .alert_email
            .iter()
            .map(|a| (Channel::Email, a, "--alert-email"))
            .chain(
                args.alert_webhook
                    .iter()
                    .map(|a| (Channel::Webhook, a, "--alert-webhook")),
            );
        for (channel, address, flag) in targets {
            let target = aftercare_app::alerts::NewTarget {
                channel,
                address: address.clone(),
                min_level: level,
                tier: args.alert_tier,
            };
            let t = app
                .alerts()
                .add_target(&actor, &clinic.id, target)
                .await
                .map_err(|e| match e {
                    aftercare_app::Error::Conflict(_) => {
                        anyhow!("{flag}: {address} is already set")
                    }
                    other => anyhow!("{flag}: {other}"),
                })?;
            added.push(json!({
                "channel": t.channel, "address": t.address, "min_level": t.min_level,
                "tier": t.tier, "secret": t.secret,
            }));
        }
        println!(
            "{}",
            json!({
                "slug": updated.slug,
                "phone": updated.phone,
                "out_of_hours_phone": updated.out_of_hours_phone,
                "emergency_number": updated.emergency_number,
                "crisis_line": updated.crisis_line,
                "time_zone": updated.time_zone,
                "open_from": updated.open_from,
                "open_until": updated.open_until,
                "realert_emergency_minutes": updated.realert_emergency_minutes,
                "realert_urgent_minutes": updated.realert_urgent_minutes,
                "alert_targets_added": added,
            })
        );
        Ok(())
    })
}
