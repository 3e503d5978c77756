//! The command-line definition and dispatch.

use crate::{admin, serve, triage};
use aftercare_core::Content;
use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "aftercare",
    version,
    about = "Triage and recovery support after an epidural"
)]
pub struct Cli {
    /// A content folder to use instead of the content built into the binary.
    #[arg(long, global = true, env = "AFTERCARE_CONTENT", value_name = "DIR")]
    pub content: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decide one case: a JSON case object, or a vignette file with a `case` key.
    Triage(triage::Args),
    /// Work with the clinical content.
    #[command(subcommand)]
    Content(ContentCommand),
    /// Run the server (embedded SQLite by default; PostgreSQL with DATABASE_URL).
    Serve(serve::ServeArgs),
    /// Apply the database migrations and exit.
    Migrate(serve::DbArgs),
    /// Print a patient's record as a FHIR R4 Bundle (JSON) on standard output.
    Export {
        #[command(flatten)]
        db: serve::DbArgs,
        /// The patient's id.
        #[arg(long)]
        patient: String,
        /// The base URL of the server, for the canonical URLs in the Bundle.
        #[arg(
            long,
            env = "AFTERCARE_PUBLIC_URL",
            default_value = "http://127.0.0.1:8080"
        )]
        public_url: String,
    },
    /// Write a consistent copy of the SQLite database, also while the server runs.
    Backup {
        #[command(flatten)]
        db: serve::DbArgs,
        /// The file to write.
        file: PathBuf,
    },
    /// Set up clinics, staff accounts and patients from the shell.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
}

#[derive(Debug, Subcommand)]
pub enum ContentCommand {
    /// Validate a content folder (default: the built-in content) and print every problem.
    Check {
        /// The folder to check.
        dir: Option<PathBuf>,
    },
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Content(ContentCommand::Check { dir }) => {
            let dir = dir.or(cli.content);
            let loaded = match &dir {
                Some(d) => Content::load_dir(d),
                None => Content::bundled(),
            };
            match loaded {
                Ok(content) => {
                    println!(
                        "content ok: {} facts, {} rules, {} plan items, languages {}; version {}",
                        content.facts.len(),
                        content.rules.len(),
                        content.plan_items.len(),
                        content
                            .languages()
                            .map(|(c, _)| c)
                            .collect::<Vec<_>>()
                            .join(", "),
                        content.version
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(errors) => {
                    println!("{errors}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Triage(args) => {
            let content = load_content(cli.content.as_deref())?;
            triage::run(&content, args)
        }
        Command::Serve(args) => {
            init_tracing();
            let content = load_content(cli.content.as_deref())?;
            serve::serve(content, args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate(db) => {
            serve::migrate(load_content(cli.content.as_deref())?, db)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Admin(command) => {
            let content = load_content(cli.content.as_deref())?;
            admin::run(content, command)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Export {
            db,
            patient,
            public_url,
        } => {
            let content = load_content(cli.content.as_deref())?;
            serve::export(content, db, &patient, &public_url)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup { db, file } => {
            serve::backup(load_content(cli.content.as_deref())?, db, &file)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Logs to standard error; `RUST_LOG` filters, `AFTERCARE_LOG_FORMAT=json` for JSON lines.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("AFTERCARE_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Loads the content for a command; content problems stop the command with the full list.
pub fn load_content(dir: Option<&std::path::Path>) -> anyhow::Result<Content> {
    let loaded = match dir {
        Some(d) => Content::load_dir(d).with_context(|| format!("content folder {}", d.display())),
        None => Content::bundled().context("built-in content"),
    };
    match loaded {
        Ok(c) => Ok(c),
        Err(e) => bail!("{e:#}"),
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
