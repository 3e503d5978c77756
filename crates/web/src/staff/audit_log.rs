//! The audit log as the clinic's admin sees it: who read or wrote which patient's data, when,
//! from which address; filtered by patient and time, and exported as CSV for the data
//! protection officer. The table is append-only (the database refuses changes); reading it is
//! itself recorded.

use super::auth::{Admin, StaffUser};
use crate::api::views::{self, AuditRow};
use crate::audit;
use crate::error::{AppError, Problem};
use crate::extract::ValidQuery;
use crate::state::AppState;
use aftercare_store::{AuditEntry, AuditQuery};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

/// Rows per page on screen and per store call in the export.
pub const PAGE: i64 = 200;
/// The most rows one export holds.
pub const EXPORT_LIMIT: i64 = 100_000;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    /// Only this patient's rows.
    pub patient: Option<String>,
    /// From this time (inclusive; RFC 3339, or `YYYY-MM-DDTHH:MM` in the clinic's time zone).
    pub from: Option<String>,
    /// Until this time (exclusive).
    pub to: Option<String>,
    pub offset: Option<i64>,
}

impl AuditFilter {
    pub fn query(&self, limit: i64, zone: Option<&str>) -> Result<AuditQuery, AppError> {
        let parse = |field, v: &Option<String>| {
            v.as_deref()
                .map(|s| super::announcements::parse_time(field, s, zone))
                .transpose()
                .map(Option::flatten)
        };
        Ok(AuditQuery {
            patient_id: self
                .patient
                .clone()
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .map(Into::into),
            from: parse("from", &self.from)?,
            to: parse("to", &self.to)?,
            limit,
            offset: self.offset.unwrap_or(0).max(0),
        })
    }
}

async fn clinic_zone(state: &AppState, user: &StaffUser) -> Result<Option<String>, AppError> {
    Ok(state.app.clinics().zone_of(user.clinic_id()).await?)
}

/// One page of the clinic's audit log, newest first (the read is recorded first).
pub async fn page(
    state: &AppState,
    user: &StaffUser,
    filter: &AuditFilter,
) -> Result<Vec<AuditEntry>, AppError> {
    let zone = clinic_zone(state, user).await?;
    let query = filter.query(PAGE, zone.as_deref())?;
    audit::record(
        state,
        &user.actor,
        crate::audit::Action::AuditRead,
        None,
        Some(user.clinic_id()),
        query.patient_id.clone().map(String::from),
    )
    .await?;
    Ok(state.app.audit().list(user.clinic_id(), query).await?)
}

/// A CSV cell: quoted when needed, and a leading formula character defused (a spreadsheet
/// must not run what a field holds).
fn cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The rows as CSV with a header line.
pub fn to_csv(rows: &[AuditEntry]) -> String {
    let mut out =
        String::from("id,at,actor_kind,actor_id,action,patient_id,clinic_id,address,detail\n");
    for r in rows {
        let fields = [
            r.id.to_string(),
            r.at.to_rfc3339(),
            r.actor_kind.to_string(),
            r.actor_id.clone().unwrap_or_default(),
            r.action.clone(),
            r.patient_id.as_deref().unwrap_or_default().to_string(),
            r.clinic_id.clone().unwrap_or_default(),
            r.address.clone().unwrap_or_default(),
            r.detail.clone().unwrap_or_default(),
        ];
        let line: Vec<String> = fields.iter().map(|f| cell(f)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

/// `GET /clinic/audit.csv`: every row matching the filter, as a CSV download.
pub async fn export_csv(
    State(state): State<AppState>,
    Admin(user): Admin,
    ValidQuery(filter): ValidQuery<AuditFilter>,
) -> Result<Response, AppError> {
    let zone = clinic_zone(&state, &user).await?;
    let mut query = filter.query(1000, zone.as_deref())?;
    audit::record(
        &state,
        &user.actor,
        crate::audit::Action::AuditExport,
        None,
        Some(user.clinic_id()),
        query.patient_id.clone().map(String::from),
    )
    .await?;
    let mut rows = Vec::new();
    loop {
        let batch = state
            .app
            .audit()
            .list(user.clinic_id(), query.clone())
            .await?;
        let n = batch.len() as i64;
        rows.extend(batch);
        if n < query.limit || rows.len() as i64 >= EXPORT_LIMIT {
            break;
        }
        query.offset += n;
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"aftercare-audit.csv\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        to_csv(&rows),
    )
        .into_response())
}

/// The clinic's audit log, newest first.
#[utoipa::path(get, path = "/api/v1/clinic/audit", tag = "clinic", params(AuditFilter),
    security(("staff_session" = [])),
    responses(
        (status = 200, description = "Audit rows, newest first", body = Vec<AuditRow>),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn api_list(
    State(state): State<AppState>,
    Admin(user): Admin,
    ValidQuery(filter): ValidQuery<AuditFilter>,
) -> Result<Json<Vec<AuditRow>>, AppError> {
    Ok(Json(views::all(page(&state, &user, &filter).await?)))
}

// --- pages -------------------------------------------------------------------------------------

use super::view::StaffPage;
use crate::pages::layout::url_component;
use serde_json::json;

/// The filter as a query string (for the CSV link and the next page).
fn query_string(filter: &AuditFilter, offset: Option<i64>) -> String {
    let mut parts = Vec::new();
    for (k, v) in [
        ("patient", &filter.patient),
        ("from", &filter.from),
        ("to", &filter.to),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            parts.push(format!("{k}={}", url_component(v)));
        }
    }
    if let Some(o) = offset {
        parts.push(format!("offset={o}"));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// The names behind the ids of a page of rows: the clinic's staff, and those of its patients
/// the rows mention (a patient of another clinic is never named).
async fn names_for(
    state: &AppState,
    user: &StaffUser,
    rows: &[AuditEntry],
) -> Result<super::audit_words::Names, AppError> {
    let app = &state.app;
    let staff = app
        .staff()
        .list(user.clinic_id())
        .await?
        .into_iter()
        .map(|s| (s.id, s.display_name))
        .collect();
    let mut ids: Vec<&str> = rows
        .iter()
        .flat_map(|r| {
            let actor = (r.actor_kind == aftercare_store::ActorKind::Patient)
                .then_some(r.actor_id.as_deref())
                .flatten();
            [r.patient_id.as_deref(), actor]
        })
        .flatten()
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut patients = std::collections::HashMap::new();
    for id in ids {
        if let Some(p) = app.patients().get(id).await? {
            if p.clinic_id == user.clinic_id() {
                patients.insert(p.id.into(), p.display_name);
            }
        }
    }
    Ok(super::audit_words::Names { staff, patients })
}

/// `GET /clinic/audit`.
pub async fn audit_page(
    page: StaffPage,
    Admin(user): Admin,
    ValidQuery(filter): ValidQuery<AuditFilter>,
) -> Result<Response, AppError> {
    let rows = self::page(&page.state, &user, &filter).await?;
    let next = (rows.len() as i64 == PAGE).then(|| {
        format!(
            "/clinic/audit{}",
            query_string(&filter, Some(filter.offset.unwrap_or(0) + PAGE))
        )
    });
    let zone = page.zone().await?;
    let names = names_for(&page.state, &user, &rows).await?;
    let rows: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            json!({
                "at": aftercare_app::clinics::local_time(zone.as_deref(), r.at),
                "who": names.actor(page.texts(), r),
                "what": super::audit_words::describe(page.texts(), &r.action),
                "code": r.action,
                "patient": names.patient(r.patient_id.as_deref()),
                "patient_href": r.patient_id.as_ref().map(|p| format!("/clinic/audit?patient={}", url_component(p))),
                "address": r.address,
                "detail": r.detail,
            })
        })
        .collect();
    page.render(
        "staff/audit.html",
        json!({
            "rows": rows,
            "filter": {"patient": filter.patient, "from": filter.from, "to": filter.to},
            "query": query_string(&filter, None),
            "next": next,
        }),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("=SUM(A1)"), "'=SUM(A1)");
    }
}
