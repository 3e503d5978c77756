//! The audit log: append-only (the database refuses updates and deletes), one row for each
//! read and write of patient data, committed with the write it records.

use async_trait::async_trait;

use crate::records::{AuditEntry, AuditQuery, NewAuditEntry};
use crate::sql::{Conn, Statement};
use crate::{Engine, Result};

/// Writes, inside a unit of work.
#[async_trait]
pub trait AuditTx: Send {
    async fn append_audit(&mut self, entry: NewAuditEntry) -> Result<AuditEntry>;
}

/// Reads.
#[async_trait]
pub trait AuditRead: Send + Sync {
    /// The clinic's events, newest first.
    async fn list_audit(&self, clinic_id: &str, query: AuditQuery) -> Result<Vec<AuditEntry>>;
}

/// Binds an audit row to the next eight parameters of a statement.
pub(crate) fn bind_audit(statement: Statement, a: &NewAuditEntry) -> Statement {
    statement
        .bind(a.at)
        .bind(a.actor_kind)
        .bind(&a.actor_id)
        .bind(a.action)
        .bind(&a.patient_id)
        .bind(&a.clinic_id)
        .bind(&a.address)
        .bind(&a.detail)
}

/// Appends one audit row in a write in progress.
pub(crate) async fn insert_audit<C: Conn>(c: &mut C, entry: NewAuditEntry) -> Result<AuditEntry> {
    let insert = Statement::new(
        "INSERT INTO audit_log (at, actor_kind, actor_id, action, patient_id, clinic_id, \
         address, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
    );
    c.fetch_one(bind_audit(insert, &entry)).await
}

#[async_trait]
impl<C: Conn> AuditTx for C {
    async fn append_audit(&mut self, entry: NewAuditEntry) -> Result<AuditEntry> {
        insert_audit(self, entry).await
    }
}

#[async_trait]
impl<E: Engine> AuditRead for E {
    async fn list_audit(&self, clinic_id: &str, q: AuditQuery) -> Result<Vec<AuditEntry>> {
        let select = Statement::new(
            "SELECT * FROM audit_log WHERE clinic_id = $1 \
             AND ($2 IS NULL OR patient_id = $2) AND ($3 IS NULL OR at >= $3) \
             AND ($4 IS NULL OR at < $4) ORDER BY at DESC, id DESC LIMIT $5 OFFSET $6",
        )
        .bind(clinic_id)
        .bind(q.patient_id)
        .bind(q.from)
        .bind(q.to)
        .bind(q.limit)
        .bind(q.offset);
        self.reader().await?.fetch_all(select).await
    }
}
