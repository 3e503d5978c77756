//! The clinic's work list and enrolment.
//!
//! The board is the store's `list_board` (open escalations first, then level, then the longest
//! without a check-in), for the signed-in clinician's clinic only: the clinic comes from her
//! session, never from the request. Enrolling a patient makes the two secrets she signs in
//! with: a 256-bit link token (her personal link, `public_url/p/{token}`, also printed as a QR
//! code drawn here as SVG) and a short code to type (`aftercare_app::secrets::new_enrolment_code`).

use super::auth::{Clinician, StaffUser};
use crate::api::views::PatientSummary;
use crate::audit;
use crate::error::{AppError, Problem};
use crate::extract::ValidJson;
use crate::extract::ValidQuery;
use crate::state::AppState;
use aftercare_app::text::Name;
use aftercare_core::{Content, Lang, Level, Texts};
use aftercare_store::{BoardCursor, BoardFilter, Patient};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The longest display name.
pub use aftercare_app::enrolment::NAME_LIMIT;
/// The levels the board filters on (`none`: no check-in yet).
pub const LEVELS: &[&str] = &["emergency", "urgent", "soon", "self_care", "none"];

pub use aftercare_app::enrolment::procedures;

/// A code as it is printed and read aloud, in two halves: `ABCD-EFGH` (the start form ignores
/// the dash).
pub fn format_code(code: &str) -> String {
    if code.len() >= 6 && code.is_ascii() {
        let half = code.len() / 2;
        format!("{}-{}", &code[..half], &code[half..])
    } else {
        code.to_string()
    }
}

/// What the enrolment form and the API take.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolBody {
    /// How the clinic calls her (pseudonymous is fine).
    pub display_name: String,
    /// A `procedure` value of the content, e.g. `labour_epidural`.
    pub procedure: String,
    /// YYYY-MM-DD.
    #[schema(value_type = String, format = Date)]
    pub procedure_date: NaiveDate,
    /// YYYY-MM-DD, when she has given birth.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub delivery_date: Option<NaiveDate>,
    /// A language of the content (`en`, `es`).
    pub language: String,
    /// Her telephone number, to call her back.
    #[serde(default)]
    pub phone: Option<String>,
    /// Her email address for diary reminders and "your clinic has replied"; requires
    /// `email_consent`.
    #[serde(default)]
    pub email: Option<String>,
    /// She has agreed to those emails.
    #[serde(default)]
    pub email_consent: bool,
    /// The hour (0-23, her clinic's time zone) of her daily diary reminder; none: replies only.
    #[serde(default)]
    pub reminder_hour: Option<i32>,
}

/// Enrols a patient for the staff member's clinic and audits it: the one path of the API and
/// the page.
pub async fn enrol(
    state: &AppState,
    user: &StaffUser,
    body: EnrolBody,
) -> Result<Patient, AppError> {
    let who = aftercare_app::enrolment::Enrol {
        display_name: Name::new("display_name", &body.display_name)?,
        procedure: body.procedure,
        procedure_date: body.procedure_date,
        delivery_date: body.delivery_date,
        language: body.language,
        phone: body.phone,
        email: body
            .email
            .map(|email| aftercare_app::patient_email::EmailSettings {
                email,
                reminder_hour: body.reminder_hour,
                consent: body.email_consent,
            }),
    };
    Ok(state
        .app
        .enrolment()
        .enrol(&user.actor, user.clinic_id(), who)
        .await?)
}

/// Her personal link.
pub fn personal_link(state: &AppState, patient: &Patient) -> String {
    format!(
        "{}/p/{}",
        state.settings.public_url.trim_end_matches('/'),
        patient.link_token.expose()
    )
}

/// The QR code of a text, as an SVG document.
pub fn qr_svg(text: &str) -> Result<String, AppError> {
    use qrcode::render::svg;
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| AppError::Internal(format!("QR code: {e}")))?;
    Ok(code
        .render::<svg::Color>()
        .min_dimensions(240, 240)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build())
}

/// A patient of the signed-in clinician's clinic; 404 for any other (another clinic's patient
/// and no patient look alike).
pub async fn clinic_patient(
    state: &AppState,
    clinic_id: &str,
    patient_id: &str,
) -> Result<Patient, AppError> {
    Ok(state
        .app
        .patients()
        .of_clinic(clinic_id, patient_id)
        .await?)
}

/// The longest name search (a name is at most 100 characters).
pub const NAME_SEARCH_LIMIT: usize = aftercare_app::limits::NAME;

/// Board filters and paging.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BoardQuery {
    /// `emergency`, `urgent`, `soon`, `self_care` or `none` (no check-in yet).
    pub level: Option<String>,
    /// A procedure value.
    pub procedure: Option<String>,
    /// Part of her name (any case).
    pub name: Option<String>,
    /// At most this many (default 50, at most 200).
    pub limit: Option<i64>,
    pub offset: Option<i64>,
    /// Start after this place on the board: the cursor of the previous page's `Link:
    /// rel="next"` (faster than `offset` deep into a long board).
    pub after: Option<String>,
}

impl BoardQuery {
    /// The store filter; empty values mean "all".
    pub fn filter(&self, content: &Content) -> Result<BoardFilter, AppError> {
        let level = self.level.clone().filter(|l| !l.is_empty());
        if level.as_deref().is_some_and(|l| !LEVELS.contains(&l)) {
            return Err(AppError::bad_field("level", "level: not a level"));
        }
        let procedure = self.procedure.clone().filter(|p| !p.is_empty());
        if procedure
            .as_deref()
            .is_some_and(|p| !procedures(content).iter().any(|(v, _)| v == p))
        {
            return Err(AppError::bad_field(
                "procedure",
                "procedure: not a procedure",
            ));
        }
        let name = self
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string);
        if name
            .as_ref()
            .is_some_and(|n| n.chars().count() > NAME_SEARCH_LIMIT)
        {
            return Err(AppError::bad_field(
                "name",
                format!("name: at most {NAME_SEARCH_LIMIT} characters"),
            ));
        }
        let urgency = level.as_deref().map(|l| {
            aftercare_core::Level::parse(l).map_or(aftercare_store::NO_LEVEL, |level| {
                aftercare_app::escalations::urgency(level)
            })
        });
        Ok(BoardFilter {
            urgency,
            procedure,
            name,
            limit: self.limit.unwrap_or(50).clamp(1, 200),
            offset: self.offset.unwrap_or(0).clamp(0, 1_000_000),
            after: match self.after.as_deref().filter(|a| !a.is_empty()) {
                None => None,
                Some(a) => Some(
                    a.parse::<BoardCursor>()
                        .map_err(|()| AppError::bad_field("after", "after: not a board cursor"))?,
                ),
            },
        })
    }

    /// The query of the page after one that ended with `last`, as a query string.
    pub fn next_page(&self, filter: &BoardFilter, last: &Patient) -> String {
        format!(
            "level={}&procedure={}&name={}&limit={}&after={}",
            self.level.as_deref().unwrap_or_default(),
            filter.procedure.as_deref().unwrap_or_default(),
            crate::pages::layout::url_component(filter.name.as_deref().unwrap_or_default()),
            filter.limit,
            BoardCursor::after(last)
        )
    }
}

/// Reads the board and audits the read; the filter it used comes back for the next-page link.
pub async fn read_board(
    state: &AppState,
    user: &super::auth::StaffUser,
    query: &BoardQuery,
) -> Result<(Vec<Patient>, BoardFilter), AppError> {
    let filter = query.filter(&state.content)?;
    let rows = state
        .app
        .patients()
        .board(user.clinic_id(), filter.clone())
        .await?;
    audit::record(
        state,
        &user.actor,
        crate::audit::Action::BoardRead,
        None,
        Some(user.clinic_id()),
        Some(format!("{} patients", rows.len())),
    )
    .await?;
    Ok((rows, filter))
}

/// One patient on the board, as the API shows her: what the work list needs, and neither her
/// link nor her enrolment code (each a way into her record; they are shown only on her handout
/// page, one patient at a time, and audited there).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BoardEntry {
    pub id: String,
    pub display_name: String,
    /// A value of the content's `procedure` fact.
    pub procedure: String,
    pub procedure_date: chrono::NaiveDate,
    pub delivery_date: Option<chrono::NaiveDate>,
    pub language: String,
    /// The level of her latest check-in; absent before the first.
    pub last_level: Option<String>,
    pub last_checkin_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Escalations not yet acknowledged.
    pub open_escalations: i32,
    /// Her messages not yet read by staff.
    pub unread_messages: i32,
    /// Her last message has no answer from the clinic yet (reading it is not answering it).
    pub awaiting_reply: bool,
    /// The level the board ranks her at: the higher of her latest decision's and that of her
    /// escalations not yet closed (an acknowledged emergency keeps her there until a clinician
    /// closes the episode).
    pub level: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// The level the board shows for her: the higher of her latest decision and her open episode.
pub fn board_level(p: &Patient) -> Option<aftercare_core::Level> {
    let parse = |l: &Option<String>| l.as_deref().and_then(aftercare_core::Level::parse);
    parse(&p.last_level).max(parse(&p.episode_level))
}

impl From<&Patient> for BoardEntry {
    fn from(p: &Patient) -> BoardEntry {
        BoardEntry {
            id: p.id.to_string(),
            display_name: p.display_name.clone(),
            procedure: p.procedure.clone(),
            procedure_date: p.procedure_date,
            delivery_date: p.delivery_date,
            language: p.language.clone(),
            last_level: p.last_level.clone(),
            last_checkin_at: p.last_checkin_at,
            open_escalations: p.open_escalations,
            unread_messages: p.unread_messages,
            awaiting_reply: p.awaiting_reply,
            level: board_level(p).map(|l| l.as_str().to_string()),
            created_at: p.created_at,
        }
    }
}

/// The clinic's patients, most urgent first.
#[utoipa::path(get, path = "/api/v1/clinic/patients", tag = "clinic", params(BoardQuery),
    security(("staff_session" = [])),
    responses(
        (status = 200, description = "Patients: open escalations first, then level, then the longest without a check-in", body = Vec<BoardEntry>,
            headers(("Link" = String, description = "When the page is full: `<...?after=...>; rel=\"next\"`, the next page"))),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a clinician", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn api_board(
    State(state): State<AppState>,
    Clinician(user): Clinician,
    ValidQuery(q): ValidQuery<BoardQuery>,
) -> Result<Response, AppError> {
    let (rows, filter) = read_board(&state, &user, &q).await?;
    // A full page may have a next one: say where it starts (RFC 8288).
    let next = rows
        .last()
        .filter(|_| rows.len() as i64 == filter.limit)
        .map(|last| q.next_page(&filter, last));
    let entries: Vec<BoardEntry> = rows.iter().map(BoardEntry::from).collect();
    let mut response = Json(entries).into_response();
    if let Some(next) = next {
        if let Ok(link) =
            HeaderValue::from_str(&format!("</api/v1/clinic/patients?{next}>; rel=\"next\""))
        {
            response.headers_mut().insert(header::LINK, link);
        }
    }
    Ok(response)
}

/// A new patient and how she signs in.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Enrolled {
    pub patient: PatientSummary,
    /// Her personal link (a secret: give it to her only).
    pub link: String,
    /// Her enrolment code, to type at `/start`.
    pub code: String,
    /// The personal link as a QR code to print (SVG).
    pub qr_svg: String,
}

/// Enrol a patient.
#[utoipa::path(post, path = "/api/v1/clinic/patients", tag = "clinic",
    request_body = EnrolBody,
    security(("staff_session" = [])),
    params(("x-csrf-token" = String, Header, description = "The session's CSRF token")),
    responses(
        (status = 201, description = "Enrolled", body = Enrolled),
        (status = 403, description = "Not a clinician, or no CSRF token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An invalid field; `field` names it", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn api_enrol(
    State(state): State<AppState>,
    Clinician(user): Clinician,
    headers: HeaderMap,
    ValidJson(body): ValidJson<EnrolBody>,
) -> Result<(StatusCode, Json<Enrolled>), AppError> {
    user.check_csrf(&headers)?;
    let patient = enrol(&state, &user, body).await?;
    let link = personal_link(&state, &patient);
    Ok((
        StatusCode::CREATED,
        Json(Enrolled {
            code: format_code(&patient.enrolment_code),
            qr_svg: format!("/clinic/patients/{}/qr.svg", patient.id),
            link,
            patient: patient.into(),
        }),
    ))
}

/// `GET /clinic/patients/{patient}/qr.svg`: her personal link as a QR code.
pub async fn qr(
    State(state): State<AppState>,
    Clinician(user): Clinician,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let patient = clinic_patient(&state, user.clinic_id(), &id).await?;
    audit::record(
        &state,
        &user.actor,
        crate::audit::Action::PatientLinkRead,
        Some(&patient.id),
        Some(&patient.clinic_id),
        Some("qr".into()),
    )
    .await?;
    let svg = qr_svg(&personal_link(&state, &patient))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        svg,
    )
        .into_response())
}

// --- pages -------------------------------------------------------------------------------------

use super::view::{see_other, StaffPage};
use crate::pages::form::Form;
use serde_json::{json, Value};

/// A level's short label in the workspace's language (`None`: no check-in yet).
pub fn level_label(texts: &Texts, level: Option<&str>) -> String {
    let key = match level.and_then(Level::parse) {
        Some(l) => format!("level_{}", l.as_str()),
        None if level.is_some() => return level.unwrap_or_default().to_string(),
        None => "level_none".to_string(),
    };
    texts.ws(&key).to_string()
}

/// A procedure's label in `lang`.
pub fn procedure_label(content: &Content, lang: Lang, procedure: &str) -> String {
    aftercare_app::enrolment::procedures_in(content, lang)
        .into_iter()
        .find(|(v, _)| v == procedure)
        .map(|(_, l)| l)
        .unwrap_or_else(|| procedure.to_string())
}

/// How long ago, in words a glance can take.
pub fn ago(texts: &Texts, now: DateTime<Utc>, then: Option<DateTime<Utc>>) -> String {
    let Some(then) = then else {
        return texts.ws("ago_never").to_string();
    };
    let minutes = (now - then).num_minutes().max(0);
    let (key, count) = match minutes {
        0..=1 => ("ago_now", 0),
        2..=59 => ("ago_minutes", minutes),
        60..=2879 => ("ago_hours", minutes / 60),
        _ => ("ago_days", minutes / 1440),
    };
    texts.ws(key).replace("{count}", &count.to_string())
}

/// `GET /clinic`: the board for clinicians; admins go to their pages.
pub async fn board_page(
    page: StaffPage,
    ValidQuery(q): ValidQuery<BoardQuery>,
) -> Result<Response, AppError> {
    let user = page.user.clone().ok_or(AppError::Unauthorized)?;
    if user.role == super::auth::Role::Admin {
        return Ok(see_other("/clinic/staff"));
    }
    let state = &page.state;
    let texts = page.texts();
    let (rows, filter) = read_board(state, &user, &q).await?;
    let now = state.now();
    let today = now.date_naive();
    let more = rows
        .last()
        .filter(|_| rows.len() as i64 == filter.limit)
        .map(|last| format!("/clinic?{}", q.next_page(&filter, last)));
    // Patients whose escalation was alerted again because nobody acknowledged it in time.
    let overdue = state
        .app
        .alerts()
        .overdue_patients(user.clinic_id())
        .await?;
    let patients: Vec<Value> = rows
        .iter()
        .map(|p| {
            json!({
                "id": p.id,
                "name": p.display_name,
                "level": board_level(p).map_or("none", |l| l.as_str()),
                "level_label": level_label(texts, board_level(p).map(|l| l.as_str())),
                "awaiting_reply": p.awaiting_reply,
                "open_escalations": p.open_escalations,
                "overdue": overdue.contains(&p.id),
                "unread": p.unread_messages,
                "last_checkin": ago(texts, now, p.last_checkin_at),
                "procedure": procedure_label(&state.content, page.lang, &p.procedure),
                "days": (today - p.procedure_date).num_days(),
            })
        })
        .collect();
    page.render(
        "staff/board.html",
        json!({
            "patients": patients,
            "levels": LEVELS.iter().map(|l| json!({"value": l, "label": level_label(texts, (*l != "none").then_some(*l))})).collect::<Vec<_>>(),
            "procedures": procedure_options(&state.content, page.lang),
            "filter": {"level": q.level.as_deref().filter(|l| !l.is_empty()), "procedure": filter.procedure, "name": filter.name},
            "more": more,
        }),
    )
    .await
}

fn procedure_options(content: &Content, lang: Lang) -> Vec<Value> {
    aftercare_app::enrolment::procedures_in(content, lang)
        .into_iter()
        .map(|(value, label)| json!({"value": value, "label": label}))
        .collect()
}

fn enrol_context(page: &StaffPage, form: Value, error: Option<String>) -> Value {
    let state = &page.state;
    json!({
        "procedures": procedure_options(&state.content, page.lang),
        "languages": state.content.languages().map(|(code, name)| json!({"code": code, "name": name})).collect::<Vec<_>>(),
        "today": state.now().date_naive().to_string(),
        "hours": (5..=22).map(|h| json!({"value": h, "label": format!("{h:02}:00")})).collect::<Vec<_>>(),
        "form": form,
        "error": error,
    })
}

/// `GET /clinic/patients/new`.
pub async fn enrol_form(page: StaffPage, Clinician(_): Clinician) -> Result<Response, AppError> {
    let form = json!({
        "display_name": "", "procedure": "labour_epidural",
        "procedure_date": page.state.now().date_naive().to_string(), "delivery_date": "",
        "language": "en", "phone": "", "email": "", "email_consent": false, "reminder_hour": null,
    });
    let ctx = enrol_context(&page, form, None);
    page.render("staff/enrol.html", ctx).await
}

/// `POST /clinic/patients`: enrols, then shows her link and code.
pub async fn enrol_submit(
    page: StaffPage,
    Clinician(user): Clinician,
    form: Form,
) -> Result<Response, AppError> {
    let date = |field: &str| -> Result<Option<NaiveDate>, AppError> {
        let v = form.text(field);
        if v.is_empty() {
            return Ok(None);
        }
        NaiveDate::parse_from_str(&v, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| AppError::bad_field(field, format!("{field}: not a date")))
    };
    let body = (|| -> Result<EnrolBody, AppError> {
        Ok(EnrolBody {
            display_name: form.text("display_name"),
            procedure: form.text("procedure"),
            procedure_date: date("procedure_date")?
                .ok_or_else(|| AppError::bad_field("procedure_date", "procedure_date: required"))?,
            delivery_date: date("delivery_date")?,
            language: form.text("language"),
            phone: Some(form.text("phone")).filter(|p| !p.is_empty()),
            email: Some(form.text("email")).filter(|e| !e.trim().is_empty()),
            email_consent: form.get("email_consent") == Some("yes"),
            reminder_hour: form.text("reminder_hour").parse().ok(),
        })
    })();
    let state = &page.state;
    let result = match body {
        Ok(body) => enrol(state, &user, body).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(patient) => Ok(see_other(&format!("/clinic/patients/{}/link", patient.id))),
        Err(AppError::BadRequest { field, detail }) => {
            let detail = page.form_error(field.as_deref(), detail);
            let values = json!({
                "display_name": form.text("display_name"),
                "procedure": form.text("procedure"),
                "procedure_date": form.text("procedure_date"),
                "delivery_date": form.text("delivery_date"),
                "language": form.text("language"),
                "phone": form.text("phone"),
                "email": form.text("email"),
                "email_consent": form.get("email_consent") == Some("yes"),
                "reminder_hour": form.text("reminder_hour").parse::<i32>().ok(),
            });
            let ctx = enrol_context(&page, values, Some(detail));
            page.render_status(StatusCode::UNPROCESSABLE_ENTITY, "staff/enrol.html", ctx)
                .await
        }
        Err(e) => Err(e),
    }
}

/// `POST /clinic/patients/{patient}/link/replace`: a new personal link for her (the old one was
/// lost or shared); the old link and her signed-in browsers stop working. Then her new sheet.
pub async fn replace_link_submit(
    State(state): State<AppState>,
    Clinician(user): Clinician,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let patient = clinic_patient(&state, user.clinic_id(), &id).await?;
    state
        .app
        .enrolment()
        .replace_link(&user.actor, &patient)
        .await?;
    Ok(see_other(&format!(
        "/clinic/patients/{}/link?replaced=1",
        patient.id
    )))
}

/// `GET /clinic/patients/{patient}/link`: her link, QR code and code, to hand over or print.
pub async fn link_page(
    page: StaffPage,
    Clinician(user): Clinician,
    Path(id): Path<String>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Result<Response, AppError> {
    let replaced = query.as_deref() == Some("replaced=1");
    let state = &page.state;
    let patient = clinic_patient(state, user.clinic_id(), &id).await?;
    audit::record(
        state,
        &user.actor,
        crate::audit::Action::PatientLinkRead,
        Some(&patient.id),
        Some(&patient.clinic_id),
        None,
    )
    .await?;
    // The sheet she takes home: in her language, addressed to her, with her clinic's numbers.
    let content = &state.content;
    let lang = content
        .lang(&patient.language)
        .unwrap_or_else(|| content.default_lang());
    let t = content.text(lang);
    let clinic = state.app.clinics().get(&patient.clinic_id).await?;
    let reach = state.app.clinics().reach_now(&patient.clinic_id).await?;
    let dial = aftercare_app::clinics::dial;
    let start_url = format!("{}/start", state.settings.public_url.trim_end_matches('/'));
    let handout = json!({
        "lang": t.code,
        "title": t.ui("handout_title"),
        "greeting": t.ui("handout_greeting").replace("{name}", &patient.display_name),
        "intro": t.ui("handout_intro"),
        "link_h": t.ui("handout_link"),
        "qr_alt": t.ui("handout_qr_alt"),
        "code_h": t.ui("handout_code"),
        "start": t.ui("handout_start").replace("{url}", &start_url),
        "private": t.ui("handout_private"),
        "clinic_h": t.ui("handout_clinic").replace("{clinic}", clinic.as_ref().map_or("", |c| c.name.as_str())),
        "day_label": t.ui("handout_day_phone"),
        "night_label": t.ui("handout_night_phone"),
        "emergency": t.ui("handout_emergency").replace("{number}", &reach.emergency),
        "emergency_dial": dial(&reach.emergency),
        "phone": clinic.as_ref().and_then(|c| c.phone.clone()),
        "phone_dial": clinic.as_ref().and_then(|c| c.phone.as_deref().map(dial)),
        "night": clinic.as_ref().and_then(|c| c.out_of_hours_phone.clone()),
        "night_dial": clinic.as_ref().and_then(|c| c.out_of_hours_phone.as_deref().map(dial)),
    });
    page.render(
        "staff/link.html",
        json!({
            "id": patient.id,
            "name": patient.display_name,
            "link": personal_link(state, &patient),
            "code": format_code(&patient.enrolment_code),
            "start_url": start_url,
            "h": handout,
            "replaced": replaced,
        }),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_print_in_two_halves() {
        assert_eq!(format_code("ABCDEFGH"), "ABCD-EFGH");
        assert_eq!(format_code("ABC"), "ABC");
    }

    #[test]
    fn a_link_becomes_an_svg_qr_code() {
        let svg = qr_svg("https://clinic.example/p/0123456789abcdef").expect("qr");
        assert!(svg.contains("<svg"));
    }
}
