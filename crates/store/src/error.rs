//! The one error type of the store.
//!
//! The HTTP layer maps it without knowing SQL: `NotFound` → 404,
//! `Conflict` → 409, `Unavailable` and `Contention` → 503 (retry later), `Other` → 500.
//! Driver errors are classified here, once, so both backends agree.

use sqlx::error::ErrorKind;

/// Why a store operation failed.
///
/// Payloads are plain strings so the error is `Clone`: the SQLite group
/// commit answers every job of a failed batch with the same error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The row asked for (or a row it refers to) does not exist.
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken or the change is no longer allowed;
    /// the payload is a stable, human-readable reason (see [`UNIQUE_RULES`]).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database could not be reached (pool exhausted, connection lost,
    /// database locked, writer stopped). Safe to retry later.
    #[error("database unavailable")]
    Unavailable,
    /// The database gave this transaction up for another's sake (PostgreSQL: a deadlock,
    /// 40P01, or a serialization failure, 40001). Nothing of it was committed and running it
    /// again is safe: [`PgStore`](crate::PgStore) does, a few times, before answering this.
    #[error("the database gave way to a concurrent transaction")]
    Contention,
    /// Anything else: a bug, a refused change, a corrupt row.
    #[error("store error: {0}")]
    Other(String),
}

/// Unique constraints and the conflict reason each one maps to:
/// `(PostgreSQL constraint name, SQLite "table.column" text, reason)`.
///
/// PostgreSQL reports the constraint name; SQLite reports the columns in its
/// message (`UNIQUE constraint failed: clinics.slug`). Keeping both in one
/// table means a new unique index needs one line here, not new code.
pub const UNIQUE_RULES: &[(&str, &str, &str)] = &[
    (
        "clinics_slug_key",
        "clinics.slug",
        "clinic slug already in use",
    ),
    (
        "staff_email_key",
        "staff.email",
        "staff email already in use",
    ),
    (
        "patients_enrolment_code_key",
        "patients.enrolment_code",
        "enrolment code already in use",
    ),
    (
        "patients_link_token_key",
        "patients.link_token",
        "link token already in use",
    ),
    (
        "staff_sessions_pkey",
        "staff_sessions.token_hash",
        "session token already in use",
    ),
    ("jwt_replay_pkey", "jwt_replay.jti", "token already used"),
];

/// Finds the conflict reason for a unique violation, from the constraint
/// name (PostgreSQL) or the error message (SQLite).
fn unique_reason(constraint: Option<&str>, message: &str) -> String {
    UNIQUE_RULES
        .iter()
        .find(|(pg, sqlite, _)| constraint == Some(*pg) || message.contains(sqlite))
        .map(|(_, _, reason)| (*reason).to_string())
        .unwrap_or_else(|| format!("duplicate value ({})", constraint.unwrap_or(message)))
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable,
            sqlx::Error::Database(db) => {
                let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
                // SQLite's codes are numbers, and so are many SQLSTATEs: read each by its own
                // database's rules (SQLSTATE 22021, a NUL in text, is not SQLite's BUSY).
                let postgres = db
                    .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                    .is_some();
                match db.kind() {
                    ErrorKind::UniqueViolation => {
                        StoreError::Conflict(unique_reason(db.constraint(), db.message()))
                    }
                    // A missing parent row: the thing referred to is not there.
                    ErrorKind::ForeignKeyViolation => StoreError::NotFound,
                    // SQLite BUSY/LOCKED (5, 6, extended 261, 262, 517);
                    // PostgreSQL connection exceptions (08xxx), shutdown
                    // (57P01-57P03) and insufficient resources (53xxx).
                    // SQLite by primary code (the low byte of an extended one): busy, locked,
                    // read-only, I/O error, corrupt, full, cannot open. PostgreSQL by class:
                    // connection (08), operator intervention (57P), insufficient resources
                    // (53, a full disk among them), and a read-only transaction (25006).
                    _ if (!postgres
                        && code
                            .parse::<i64>()
                            .is_ok_and(|n| matches!(n & 0xff, 5 | 6 | 8 | 10 | 11 | 13 | 14)))
                        || (postgres
                            && (code.starts_with("08")
                                || code.starts_with("57P")
                                || code.starts_with("53")
                                || code == "25006")) =>
                    {
                        StoreError::Unavailable
                    }
                    _ if code == "40001" || code == "40P01" => StoreError::Contention,
                    _ => StoreError::Other(db.message().to_string()),
                }
            }
            other => StoreError::Other(other.to_string()),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        match err {
            sqlx::migrate::MigrateError::Execute(e) => match StoreError::from(e) {
                StoreError::Unavailable => StoreError::Unavailable,
                other => StoreError::Other(format!("migration failed: {other}")),
            },
            other => StoreError::Other(format!("migration failed: {other}")),
        }
    }
}

/// Shorthand used throughout the crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
