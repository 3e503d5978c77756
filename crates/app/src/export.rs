//! Export: a patient's whole record as a FHIR R4 Bundle, for her (`$everything`) or for the
//! shell (`aftercare export`). The export is audited before it is handed out.

use aftercare_fhir::bundle::{
    self, AppointmentInfo, CheckinInfo, DiaryInfo, MessageInfo, PatientInfo, PatientRecord,
};
use aftercare_fhir::Canonical;
use aftercare_store::Patient;
use serde_json::Value;

use crate::audit::{Action, Actor, Subject};
use crate::{App, Result};

/// Messages read per round trip.
const PAGE: i64 = 500;

pub struct Export<'a>(pub(crate) &'a App);

impl Export<'_> {
    /// Her record as a Bundle; the export's audit row is written before the Bundle is handed
    /// out.
    pub async fn patient_bundle(
        &self,
        actor: &Actor,
        canonical: &Canonical,
        patient: &Patient,
        detail: Option<String>,
    ) -> Result<Value> {
        let store = &self.0.store;
        let now = self.0.now();
        let checkins = store.list_checkins(&patient.id).await?;
        let diary = store
            .list_diary(&patient.id, patient.procedure_date, now.date_naive())
            .await?;
        let mut messages = Vec::new();
        let mut after = 0;
        loop {
            let page = store.list_messages(&patient.id, after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            let full = page.len() as i64 == PAGE;
            messages.extend(page);
            if !full {
                break;
            }
        }
        let appointments = store.list_patient_appointments(&patient.id).await?;
        let content = self.0.content();
        let texts = content.text(
            content
                .lang(&patient.language)
                .unwrap_or_else(|| content.default_lang()),
        );
        let record = PatientRecord {
            patient: PatientInfo {
                id: patient.id.to_string(),
                display_name: patient.display_name.clone(),
                language: patient.language.clone(),
                procedure: patient.procedure.clone(),
                procedure_date: patient.procedure_date,
                delivery_date: patient.delivery_date,
            },
            checkins: checkins
                .into_iter()
                .map(|c| CheckinInfo {
                    id: c.id,
                    answers: c.answers.as_object().cloned().unwrap_or_default(),
                    decision: c.decision,
                    created_at: c.created_at,
                })
                .collect(),
            diary: diary
                .into_iter()
                .map(|d| DiaryInfo {
                    day: d.day,
                    pain: d.pain,
                    recorded_at: d.recorded_at,
                })
                .collect(),
            messages: messages
                .into_iter()
                .map(|m| MessageInfo {
                    id: m.id,
                    from_patient: m.sender == aftercare_store::Side::Patient,
                    body: m.body,
                    sent: m.created_at,
                    read_at: m.read_at,
                })
                .collect(),
            appointments: appointments
                .into_iter()
                .map(|a| AppointmentInfo {
                    who: crate::appointments::who(content, texts, &a.kind),
                    id: a.id,
                    kind: a.kind,
                    preferred: a.preferred,
                    status: a.status.as_str().to_string(),
                    starts_at: a.starts_at,
                    minutes: a.minutes,
                    note: a.clinic_note,
                    created_at: a.created_at,
                })
                .collect(),
        };
        let subject = Subject {
            detail,
            ..Subject::patient(patient)
        };
        self.0
            .audit()
            .record(actor, Action::FhirExport, subject)
            .await?;
        Ok(bundle::patient_bundle(
            self.0.content(),
            canonical,
            &record,
            now,
        ))
    }
}
