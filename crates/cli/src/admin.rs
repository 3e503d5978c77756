//! `aftercare admin ...`: setting a server up from its shell, before anyone can sign in.
//!
//! `create-user` makes a staff account (the first admin of a clinic, typically). The password
//! never comes from a flag (flags end up in shell history and in `ps`): it is read from the
//! environment variable `AFTERCARE_ADMIN_PASSWORD` or, without it, from the first line of
//! standard input. The checks and the hashing are the web crate's, as for accounts made in
//! the clinic workspace.

use crate::serve::{runtime, DbArgs};
use anyhow::{anyhow, bail, Context};
use std::io::BufRead;

#[derive(Debug, clap::Subcommand)]
pub enum AdminCommand {
    /// Create a staff account (password from AFTERCARE_ADMIN_PASSWORD or standard input).
    CreateUser(CreateUserArgs),
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

pub fn run(command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::CreateUser(args) => create_user(args),
    }
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

fn create_user(args: CreateUserArgs) -> anyhow::Result<()> {
    let password = read_password()?;
    runtime()?.block_on(async move {
        let store = args.db.open().await?;
        let clinic = store
            .get_clinic_by_slug(&args.clinic)
            .await?
            .ok_or_else(|| anyhow!("no clinic with the slug {:?}", args.clinic))?;
        let staff = aftercare_web::staff::settings::create_staff(
            store.as_ref(),
            &clinic.id,
            &args.email,
            &args.name,
            &args.role,
            &password,
            chrono::Utc::now(),
        )
        .await
        .map_err(|e| anyhow!("{e}"))?;
        println!(
            "created {} {} ({}) in clinic {}",
            staff.role, staff.email, staff.id, clinic.slug
        );
        Ok(())
    })
}
