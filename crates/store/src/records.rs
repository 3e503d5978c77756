//! Rows as the rest of Aftercare sees them, and the inputs that create them.
//!
//! Records derive `sqlx::FromRow` so one definition decodes rows from both
//! databases, and `Serialize` so the web crate can answer with them.
//! Inputs (`New*`) carry no id and no time: the store makes ids (UUID v4)
//! and the caller passes `now`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::kinds::{Action, ActorKind, CheckinStatus, EscalationSource, Role, Side};

/// Time as stored: UTC.
pub type Time = DateTime<Utc>;

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Clinic {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub opening_hours: Value,
    pub created_at: Time,
    /// The number to call in opening hours.
    pub phone: Option<String>,
    /// The number to call at other times (a ward, a triage line).
    pub out_of_hours_phone: Option<String>,
    /// A crisis line for thoughts of self-harm.
    pub crisis_line: Option<String>,
    /// The clinic's own emergency number; `None`: the server's (`AFTERCARE_EMERGENCY_NUMBER`).
    pub emergency_number: Option<String>,
    /// An IANA time zone (`Europe/Madrid`); `None`: UTC.
    pub time_zone: Option<String>,
    /// Opening hours as the "which number now" choice reads them: from this hour (0-23) to
    /// that one (1-24), local time, on the weekdays of `open_weekdays` (bit 0 Monday ... bit 6
    /// Sunday). `None`: no hours set, the daytime number is offered at any time.
    pub open_from: Option<i32>,
    pub open_until: Option<i32>,
    pub open_weekdays: i32,
    /// Minutes an emergency (urgent) escalation may stay unacknowledged before a re-alert.
    pub realert_emergency_minutes: i32,
    pub realert_urgent_minutes: i32,
    /// Whether alerts may carry the patient's name (off: minimum necessary).
    pub alert_names: bool,
    /// Whether its clinicians, too, must sign in with a second factor (admins always must).
    pub clinician_second_factor: bool,
}

#[derive(Debug, Clone)]
pub struct NewClinic {
    pub slug: String,
    pub name: String,
    pub opening_hours: Value,
}

/// What a clinic admin may change.
#[derive(Debug, Clone)]
pub struct ClinicSettings {
    pub name: String,
    pub opening_hours: Value,
    pub phone: Option<String>,
    pub out_of_hours_phone: Option<String>,
    pub crisis_line: Option<String>,
    pub emergency_number: Option<String>,
    pub time_zone: Option<String>,
    pub open_from: Option<i32>,
    pub open_until: Option<i32>,
    pub open_weekdays: i32,
    pub realert_emergency_minutes: i32,
    pub realert_urgent_minutes: i32,
    pub alert_names: bool,
    pub clinician_second_factor: bool,
}

impl ClinicSettings {
    /// The settings a clinic has now, to change some of them.
    pub fn of(c: &Clinic) -> ClinicSettings {
        ClinicSettings {
            name: c.name.clone(),
            opening_hours: c.opening_hours.clone(),
            phone: c.phone.clone(),
            out_of_hours_phone: c.out_of_hours_phone.clone(),
            crisis_line: c.crisis_line.clone(),
            emergency_number: c.emergency_number.clone(),
            time_zone: c.time_zone.clone(),
            open_from: c.open_from,
            open_until: c.open_until,
            open_weekdays: c.open_weekdays,
            realert_emergency_minutes: c.realert_emergency_minutes,
            realert_urgent_minutes: c.realert_urgent_minutes,
            alert_names: c.alert_names,
            clinician_second_factor: c.clinician_second_factor,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Staff {
    pub id: String,
    pub clinic_id: String,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// Never sent to a client.
    #[serde(skip_serializing)]
    pub password_hash: String,
    pub failed_logins: i32,
    pub locked_until: Option<Time>,
    pub created_at: Time,
    /// When an admin deactivated the account: it cannot sign in until reactivated.
    pub deactivated_at: Option<Time>,
    /// The workspace language she chose (a content language code); `None` follows her
    /// browser.
    pub language: Option<String>,
    /// Her confirmed second factor (a TOTP secret); `None` until she has set one up.
    #[serde(skip_serializing)]
    pub totp_secret: Option<TotpSecret>,
    /// A secret being set up, until its first code confirms it.
    #[serde(skip_serializing)]
    pub totp_pending: Option<TotpSecret>,
    /// The time step of the last code accepted: a code is never accepted twice.
    #[serde(skip_serializing)]
    pub totp_last_step: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewStaff {
    pub clinic_id: String,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub password_hash: String,
}

/// A server-side staff session; the cookie holds the token, the store only
/// its hash.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct StaffSession {
    #[serde(skip_serializing)]
    pub token_hash: String,
    pub staff_id: String,
    #[serde(skip_serializing)]
    pub csrf_token: String,
    pub created_at: Time,
    pub expires_at: Time,
}

#[derive(Debug, Clone)]
pub struct NewSession {
    pub token_hash: String,
    pub staff_id: String,
    pub csrf_token: String,
    pub expires_at: Time,
}

/// A member of staff's TOTP secret (RFC 4648 base32, as authenticator apps take it). Its
/// `Debug` never shows it; [`TotpSecret::expose`] is the one way to read it.
#[derive(Clone, PartialEq, Eq, sqlx::Type)]
#[sqlx(transparent)]
pub struct TotpSecret(String);

impl TotpSecret {
    pub fn new(base32: String) -> TotpSecret {
        TotpSecret(base32)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

/// The secret of a patient's personal link: whoever holds it reads her records. Its `Debug`
/// never shows it, so a record logged with `?patient` leaks nothing; [`LinkToken::expose`] is
/// the one way to read it (for her link, her cookie, the CLI's answer).
#[derive(Clone, PartialEq, Eq, sqlx::Type)]
#[sqlx(transparent)]
pub struct LinkToken(String);

impl LinkToken {
    pub fn new(secret: String) -> LinkToken {
        LinkToken(secret)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for LinkToken {
    fn from(secret: String) -> Self {
        LinkToken(secret)
    }
}

impl From<&str> for LinkToken {
    fn from(secret: &str) -> Self {
        LinkToken(secret.to_string())
    }
}

impl std::fmt::Debug for LinkToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkToken(<redacted>)")
    }
}

/// A patient's id: a type of its own, so that a clinic's, a check-in's or a member of staff's
/// id cannot be passed where hers is meant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, sqlx::Type)]
#[sqlx(transparent)]
#[serde(transparent)]
pub struct PatientId(String);

impl PatientId {
    /// A new random id, for a patient about to be enrolled.
    pub fn random() -> PatientId {
        PatientId(crate::new_id())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for PatientId {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PatientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for PatientId {
    fn from(id: String) -> Self {
        PatientId(id)
    }
}

impl From<&str> for PatientId {
    fn from(id: &str) -> Self {
        PatientId(id.to_string())
    }
}

impl From<PatientId> for String {
    fn from(id: PatientId) -> Self {
        id.0
    }
}

impl PartialEq<str> for PatientId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for PatientId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<PatientId> for String {
    fn eq(&self, other: &PatientId) -> bool {
        *self == other.0
    }
}

impl PartialEq<PatientId> for &str {
    fn eq(&self, other: &PatientId) -> bool {
        *self == other.0
    }
}

impl std::borrow::Borrow<str> for PatientId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<String> for PatientId {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

/// A pseudonymous patient, with the denormalised board counters.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Patient {
    pub id: PatientId,
    pub clinic_id: String,
    pub display_name: String,
    pub enrolment_code: String,
    #[serde(skip_serializing)]
    pub link_token: LinkToken,
    pub procedure: String,
    pub procedure_date: NaiveDate,
    pub delivery_date: Option<NaiveDate>,
    pub language: String,
    /// Level of the latest check-in, `None` before the first.
    pub last_level: Option<String>,
    pub last_checkin_at: Option<Time>,
    /// Escalations not yet acknowledged.
    pub open_escalations: i32,
    /// Messages from the patient not yet read by staff.
    pub unread_messages: i32,
    pub created_at: Time,
    /// The board's first sort key, computed by the database from the open escalations and the
    /// urgencies (the tens: escalated or not; minus the higher urgency, -1 for none).
    #[serde(skip_serializing)]
    pub board_rank: i32,
    /// The highest level of her escalations not yet closed (acknowledged ones included).
    pub episode_level: Option<String>,
    /// Her last message has no answer from the clinic yet.
    pub awaiting_reply: bool,
    /// Her telephone number, to call her back.
    pub phone: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewPatient {
    pub clinic_id: String,
    pub display_name: String,
    pub enrolment_code: String,
    pub link_token: LinkToken,
    pub procedure: String,
    pub procedure_date: NaiveDate,
    pub delivery_date: Option<NaiveDate>,
    pub language: String,
}

/// A level's urgency as the triage engine ranks it (`Level::index`: 0 for the least urgent,
/// higher is more urgent). Stored beside the level's name, so the database orders by numbers
/// and knows nothing of what the levels mean.
pub type Urgency = i16;

/// The urgency the board shows for a patient with neither a check-in nor an open episode.
pub const NO_LEVEL: Urgency = -1;

/// Board filters and paging.
#[derive(Debug, Clone)]
pub struct BoardFilter {
    /// The urgency the board shows (the higher of her latest decision's and her open
    /// episode's), or [`NO_LEVEL`] for no check-in and no episode.
    pub urgency: Option<Urgency>,
    pub procedure: Option<String>,
    /// Part of her name, any case.
    pub name: Option<String>,
    pub limit: i64,
    pub offset: i64,
    /// Start after this patient (keyset paging: as fast on the thousandth page as on the
    /// first, and stable while patients move up and down the board).
    pub after: Option<BoardCursor>,
}

impl Default for BoardFilter {
    fn default() -> Self {
        BoardFilter {
            urgency: None,
            procedure: None,
            name: None,
            limit: 50,
            offset: 0,
            after: None,
        }
    }
}

/// A place on the board: the sort key of one patient. As text (for links):
/// `<rank>.<last check-in in nanoseconds since 1970, or n>.<patient id>`.
#[derive(Debug, Clone, PartialEq)]
pub struct BoardCursor {
    pub rank: i32,
    pub last_checkin_at: Option<Time>,
    pub id: PatientId,
}

impl BoardCursor {
    /// The cursor of a page that ends with `p`.
    pub fn after(p: &Patient) -> BoardCursor {
        BoardCursor {
            rank: p.board_rank,
            last_checkin_at: p.last_checkin_at,
            id: p.id.clone(),
        }
    }
}

impl std::fmt::Display for BoardCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.last_checkin_at.and_then(|t| t.timestamp_nanos_opt()) {
            Some(ns) => write!(f, "{}.{ns}.{}", self.rank, self.id),
            None => write!(f, "{}.n.{}", self.rank, self.id),
        }
    }
}

impl std::str::FromStr for BoardCursor {
    type Err = ();

    fn from_str(s: &str) -> std::result::Result<BoardCursor, ()> {
        let mut parts = s.splitn(3, '.');
        let rank = parts.next().and_then(|r| r.parse().ok()).ok_or(())?;
        let last_checkin_at = match parts.next().ok_or(())? {
            "n" => None,
            ns => Some(DateTime::from_timestamp_nanos(ns.parse().map_err(|_| ())?)),
        };
        let id = parts.next().filter(|id| !id.is_empty()).ok_or(())?;
        Ok(BoardCursor {
            rank,
            last_checkin_at,
            id: id.into(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct CheckinSession {
    pub id: String,
    pub patient_id: Option<PatientId>,
    pub answers: Value,
    pub created_at: Time,
    pub updated_at: Time,
    pub completed_checkin_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Checkin {
    pub id: String,
    pub patient_id: PatientId,
    pub answers: Value,
    pub decision: Value,
    pub level: String,
    pub status: CheckinStatus,
    pub content_version: String,
    pub created_at: Time,
}

#[derive(Debug, Clone)]
pub struct NewCheckin {
    /// Chosen by the caller ([`crate::new_id`]) so the audit rows and the escalation below can
    /// name the check-in they belong to.
    pub id: String,
    pub patient_id: PatientId,
    pub session: SessionLink,
    pub answers: Value,
    pub decision: Value,
    pub level: String,
    /// The level's [`Urgency`].
    pub urgency: Urgency,
    pub status: CheckinStatus,
    pub content_version: String,
    /// The audit rows of this write, committed in the same transaction.
    pub audit: Vec<NewAuditEntry>,
    /// The escalation the decision calls for, raised in the same transaction (unless the same
    /// reason is still open): a stored check-in that should alert the clinic is never without
    /// its alert, whatever happens to the server between two statements.
    pub escalation: Option<NewEscalation>,
}

/// Which questionnaire session a check-in completes.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionLink {
    /// None (a diary day's decision).
    None,
    /// This session, kept in the store between rounds (the API).
    Complete(String),
    /// A new session holding the check-in's answers, opened and completed in the same commit
    /// (the pages carry the answers in the form until the end).
    Open,
}

/// What storing a check-in wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckinWrite {
    pub checkin: Checkin,
    /// The session it completed, when it has one.
    pub session_id: Option<String>,
    /// The escalation raised, when one was asked for and the same reason was not already open.
    pub escalation: Option<Escalation>,
}

/// One version of a patient's diary entry for a day.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct DiaryEntry {
    pub patient_id: PatientId,
    pub day: NaiveDate,
    pub version: i32,
    pub pain: i16,
    pub facts: Value,
    pub note: Option<String>,
    pub recorded_at: Time,
}

#[derive(Debug, Clone)]
pub struct NewDiaryEntry {
    pub patient_id: PatientId,
    pub day: NaiveDate,
    /// 0 to 10.
    pub pain: i16,
    pub facts: Value,
    pub note: Option<String>,
    /// The audit row of this write, committed in the same transaction: the entry and the record
    /// of who wrote it are durable together (and cost one commit, not two).
    pub audit: Option<NewAuditEntry>,
    /// The escalation this day calls for, if any: raised in the same transaction (unless the
    /// same reason is already open), so an entry that should alert the clinic is never stored
    /// without its alert, even if the server dies right after.
    pub escalation: Option<NewEscalation>,
}

/// What writing a diary day stored.
#[derive(Debug, Clone, PartialEq)]
pub struct DiaryWrite {
    pub entry: DiaryEntry,
    /// The escalation raised, when one was asked for and the same reason was not already open.
    pub escalation: Option<Escalation>,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Escalation {
    pub id: String,
    pub patient_id: PatientId,
    pub level: String,
    /// A reason code, e.g. `fever_with_back_pain`.
    pub reason: String,
    pub source: EscalationSource,
    /// The check-in id or diary day that raised it.
    pub source_ref: String,
    pub raised_at: Time,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<Time>,
    pub ack_note: Option<String>,
    /// Alerts sent so far (1 after the first, 2 after the first re-alert, ...).
    pub alert_round: i32,
    /// When the clinic is next due an alert about it; `None`: no more (acknowledged, or a
    /// level without re-alerts).
    pub next_alert_at: Option<Time>,
    /// When a clinician closed the episode (after acknowledging it); until then the board
    /// ranks her at its level.
    pub closed_at: Option<Time>,
    pub closed_by: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewEscalation {
    pub patient_id: PatientId,
    pub level: String,
    /// The level's [`Urgency`].
    pub urgency: Urgency,
    pub reason: String,
    pub source: EscalationSource,
    pub source_ref: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Message {
    /// Monotonic within a thread: poll with `after_id`.
    pub id: i64,
    pub patient_id: PatientId,
    pub sender: Side,
    pub staff_id: Option<String>,
    pub body: String,
    pub created_at: Time,
    /// When the other side read it.
    pub read_at: Option<Time>,
}

#[derive(Debug, Clone)]
pub struct NewMessage {
    pub patient_id: PatientId,
    pub sender: Side,
    /// Required when the sender is staff.
    pub staff_id: Option<String>,
    pub body: String,
}

/// What is waiting for a clinic's clinicians, for the menu's counts; a change in any of it
/// is what refreshes an open board.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Workload {
    pub patients: i64,
    /// Escalations not yet acknowledged.
    pub open_escalations: i64,
    /// Patients whose last message has no answer yet.
    pub awaiting_reply: i64,
    /// Messages from patients not yet read by staff.
    pub unread_messages: i64,
    /// Contact requests not yet handled.
    pub open_contacts: i64,
    /// Appointment requests the clinic has not answered yet.
    pub open_appointments: i64,
    /// The newest check-in's time, as text (it only has to change when one arrives).
    pub latest_checkin: Option<String>,
}

/// Unread messages in one thread, for each reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct UnreadCounts {
    /// From the patient, not yet read by staff.
    pub for_staff: i64,
    /// From staff, not yet read by the patient.
    pub for_patient: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ContactRequest {
    pub id: String,
    pub clinic_id: String,
    pub name: String,
    pub contact: String,
    pub message: String,
    pub consent: bool,
    pub created_at: Time,
    pub handled_by: Option<String>,
    pub handled_at: Option<Time>,
    pub reply_note: Option<String>,
    /// The patient who sent it while signed in: it belongs to her record.
    pub patient_id: Option<PatientId>,
}

#[derive(Debug, Clone)]
pub struct NewContactRequest {
    pub clinic_id: String,
    /// Set when she was signed in.
    pub patient_id: Option<PatientId>,
    pub name: String,
    pub contact: String,
    pub message: String,
    pub consent: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Announcement {
    pub id: String,
    pub clinic_id: String,
    pub text_en: String,
    pub text_es: String,
    pub starts_at: Time,
    /// `None`: until replaced.
    pub ends_at: Option<Time>,
    pub created_by: String,
    pub created_at: Time,
}

#[derive(Debug, Clone)]
pub struct NewAnnouncement {
    pub clinic_id: String,
    pub text_en: String,
    pub text_es: String,
    pub starts_at: Time,
    pub ends_at: Option<Time>,
    pub created_by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: i64,
    pub at: Time,
    pub actor_kind: ActorKind,
    pub actor_id: Option<String>,
    /// E.g. `diary.read`. Text, not an [`Action`]: the log is append-only history, and an event
    /// the code no longer writes must stay readable.
    pub action: String,
    pub patient_id: Option<PatientId>,
    pub clinic_id: Option<String>,
    /// Client IP address.
    pub address: Option<String>,
    pub detail: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    pub at: Time,
    pub actor_kind: ActorKind,
    pub actor_id: Option<String>,
    pub action: Action,
    pub patient_id: Option<PatientId>,
    pub clinic_id: Option<String>,
    pub address: Option<String>,
    pub detail: Option<String>,
}

/// Audit listing filters and paging.
#[derive(Debug, Clone)]
pub struct AuditQuery {
    pub patient_id: Option<PatientId>,
    /// Inclusive.
    pub from: Option<Time>,
    /// Exclusive.
    pub to: Option<Time>,
    pub limit: i64,
    pub offset: i64,
}

impl Default for AuditQuery {
    fn default() -> Self {
        AuditQuery {
            patient_id: None,
            from: None,
            to: None,
            limit: 100,
            offset: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct CdsFeedback {
    pub id: String,
    pub service_id: String,
    pub card_id: String,
    /// `accepted` or `overridden`.
    pub outcome: String,
    pub override_reason: Option<Value>,
    pub at: Time,
    /// When the clinician acted on the card, as the EHR says (`outcomeTimestamp`).
    pub outcome_at: Option<Time>,
}

#[derive(Debug, Clone)]
pub struct NewCdsFeedback {
    pub service_id: String,
    pub card_id: String,
    pub outcome: String,
    pub override_reason: Option<Value>,
    pub outcome_at: Option<Time>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record logged with `?patient` must not carry her link's secret into the log.
    #[test]
    fn a_link_token_never_shows_in_debug_output() {
        let token = LinkToken::from("s3cret-link-token");
        assert_eq!(token.expose(), "s3cret-link-token");
        assert!(!format!("{token:?}").contains("s3cret"));
        let new = NewPatient {
            clinic_id: "c".into(),
            display_name: "P".into(),
            enrolment_code: "ABCD2345".into(),
            link_token: token,
            procedure: "labour_epidural".into(),
            procedure_date: NaiveDate::from_ymd_opt(2025, 3, 1).expect("date"),
            delivery_date: None,
            language: "en".into(),
        };
        assert!(!format!("{new:?}").contains("s3cret"));
    }
}
