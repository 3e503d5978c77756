//! What the aggregates' SQL runs on: a [`Statement`] (text and its values) and a [`Conn`], the
//! small trait each database implements.
//!
//! The two schemas are one design in two dialects, and the statements use only syntax both
//! accept (`$n` parameters, `RETURNING`, `ON CONFLICT`), so each aggregate writes its SQL once,
//! as plain functions over any `Conn`. What really differs between the databases is on the
//! trait: how a patient's rows are locked, how live chat is notified, how a worker takes rows
//! another server holds, and whether two statements can go in one call. Rows are decoded by
//! column name (`sqlx::FromRow`), so `SELECT *` reads a record whatever the column order.

use std::borrow::Cow;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Database, Encode, FromRow, Type};

use crate::Result;

/// One SQL statement with the values of its `$n` parameters, in order.
#[derive(Debug, Clone)]
pub struct Statement {
    pub(crate) sql: Cow<'static, str>,
    pub(crate) args: Vec<Arg>,
}

impl Statement {
    pub fn new(sql: impl Into<Cow<'static, str>>) -> Statement {
        Statement {
            sql: sql.into(),
            args: Vec::new(),
        }
    }

    /// The next parameter's value.
    pub fn bind(mut self, value: impl Into<Arg>) -> Statement {
        self.args.push(value.into());
        self
    }
}

/// A parameter's value: the column types Aftercare's schemas use, each with its NULL. Each
/// binds with the same SQL type on both databases, so a statement means the same on both.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Text(Option<String>),
    Int(Option<i64>),
    Int4(Option<i32>),
    Int2(Option<i16>),
    Bool(Option<bool>),
    Time(Option<DateTime<Utc>>),
    Date(Option<NaiveDate>),
    Json(Option<Value>),
}

/// `From` for a type and its `Option`, into one variant of [`Arg`].
macro_rules! arg_from {
    ($($ty:ty => $variant:ident),+ $(,)?) => {$(
        impl From<$ty> for Arg {
            fn from(v: $ty) -> Arg {
                Arg::$variant(Some(v.into()))
            }
        }
        impl From<Option<$ty>> for Arg {
            fn from(v: Option<$ty>) -> Arg {
                Arg::$variant(v.map(Into::into))
            }
        }
    )+};
}

arg_from! {
    String => Text,
    &str => Text,
    &String => Text,
    i64 => Int,
    i32 => Int4,
    i16 => Int2,
    bool => Bool,
    DateTime<Utc> => Time,
    NaiveDate => Date,
    Value => Json,
}

impl From<&Value> for Arg {
    fn from(v: &Value) -> Arg {
        Arg::Json(Some(v.clone()))
    }
}

impl From<crate::PatientId> for Arg {
    fn from(id: crate::PatientId) -> Arg {
        Arg::Text(Some(id.into()))
    }
}

impl From<&crate::PatientId> for Arg {
    fn from(id: &crate::PatientId) -> Arg {
        Arg::Text(Some(id.to_string()))
    }
}

impl From<Option<crate::PatientId>> for Arg {
    fn from(id: Option<crate::PatientId>) -> Arg {
        Arg::Text(id.map(Into::into))
    }
}

impl From<&Option<crate::PatientId>> for Arg {
    fn from(id: &Option<crate::PatientId>) -> Arg {
        Arg::Text(id.as_ref().map(|id| id.to_string()))
    }
}

impl From<&Option<String>> for Arg {
    fn from(v: &Option<String>) -> Arg {
        Arg::Text(v.clone())
    }
}

/// A row type both databases can decode (every `#[derive(sqlx::FromRow)]` record, and tuples).
pub trait Record:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}

impl<T> Record for T where
    T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}

/// A connection of one of the two databases, with or without an open transaction: the reads
/// and writes of every aggregate are written once against this.
#[async_trait]
pub trait Conn: Send {
    /// Runs a statement; how many rows it changed.
    async fn execute(&mut self, statement: Statement) -> Result<u64>;
    /// Every row a statement returns.
    async fn fetch_all<T: Record>(&mut self, statement: Statement) -> Result<Vec<T>>;
    /// The first row, if any.
    async fn fetch_optional<T: Record>(&mut self, statement: Statement) -> Result<Option<T>>;

    /// The one row a statement must return (`RETURNING` of an insert, an aggregate).
    async fn fetch_one<T: Record>(&mut self, statement: Statement) -> Result<T> {
        self.fetch_optional(statement)
            .await?
            .ok_or_else(|| sqlx::Error::RowNotFound.into())
    }

    /// Locks the patient's row for the rest of the transaction, so that concurrent writes for
    /// one patient (diary versions, message ids, counters, a check against an open
    /// escalation) are serialised; `NotFound` when there is no such patient where the
    /// database can tell.
    async fn lock_patient(&mut self, patient_id: &str) -> Result<()>;

    /// Tells other servers a chat message was stored (delivered on commit, if at all).
    async fn notify_chat(&mut self, patient_id: &str, message_id: i64) -> Result<()>;

    /// What ends a query that takes rows for this transaction, leaving out rows another
    /// transaction holds (`of`: the alias of the table whose rows are taken, in a join).
    fn skip_locked(&self, of: Option<&str>) -> String;

    /// Whether one call may carry two statements separated by `;` (saves a round trip).
    fn runs_scripts(&self) -> bool;
}

/// Binds a statement's values to a sqlx query of either database.
pub(crate) fn bind<'q, DB>(
    mut query: sqlx::query::Query<'q, DB, DB::Arguments<'q>>,
    args: Vec<Arg>,
) -> sqlx::query::Query<'q, DB, DB::Arguments<'q>>
where
    DB: Database,
    Option<String>: Encode<'q, DB> + Type<DB>,
    Option<i64>: Encode<'q, DB> + Type<DB>,
    Option<i32>: Encode<'q, DB> + Type<DB>,
    Option<i16>: Encode<'q, DB> + Type<DB>,
    Option<bool>: Encode<'q, DB> + Type<DB>,
    Option<DateTime<Utc>>: Encode<'q, DB> + Type<DB>,
    Option<NaiveDate>: Encode<'q, DB> + Type<DB>,
    Option<Value>: Encode<'q, DB> + Type<DB>,
{
    for arg in args {
        query = match arg {
            Arg::Text(v) => query.bind(v),
            Arg::Int(v) => query.bind(v),
            Arg::Int4(v) => query.bind(v),
            Arg::Int2(v) => query.bind(v),
            Arg::Bool(v) => query.bind(v),
            Arg::Time(v) => query.bind(v),
            Arg::Date(v) => query.bind(v),
            Arg::Json(v) => query.bind(v),
        };
    }
    query
}

/// Decodes the rows a query returned.
pub(crate) fn decode<R: sqlx::Row, T: for<'r> FromRow<'r, R>>(rows: &[R]) -> Result<Vec<T>> {
    rows.iter()
        .map(|row| T::from_row(row).map_err(Into::into))
        .collect()
}

/// After a change matched no row: `NotFound` when the row is missing, otherwise
/// `Conflict(reason)` (it exists, but may no longer change so).
pub(crate) async fn missing_or_conflict<C: Conn>(
    c: &mut C,
    table: &'static str,
    id: &str,
    reason: &str,
) -> crate::StoreError {
    let exists = Statement::new(format!("SELECT 1 FROM {table} WHERE id = $1")).bind(id);
    match c.fetch_optional::<(i32,)>(exists).await {
        Ok(Some(_)) => crate::StoreError::Conflict(reason.to_string()),
        Ok(None) => crate::StoreError::NotFound,
        Err(e) => e,
    }
}

/// `NotFound` when a change of one row by its id matched none.
pub(crate) fn one_row(changed: u64) -> Result<()> {
    match changed {
        0 => Err(crate::StoreError::NotFound),
        _ => Ok(()),
    }
}

/// A new random id. Public so that a caller can name a record before writing it, and put that
/// name in the audit row and the escalation committed with it.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
