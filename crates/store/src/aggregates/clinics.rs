//! Clinics: created by an operator, their settings changed by an admin.

use async_trait::async_trait;

use crate::records::{Clinic, ClinicSettings, NewClinic, Time};
use crate::sql::{new_id, Conn, Statement};
use crate::{Engine, Result};

/// Writes, inside a unit of work.
#[async_trait]
pub trait ClinicTx: Send {
    async fn create_clinic(&mut self, new: NewClinic, now: Time) -> Result<Clinic>;
    async fn update_clinic_settings(
        &mut self,
        id: String,
        settings: ClinicSettings,
    ) -> Result<Clinic>;
}

/// Reads.
#[async_trait]
pub trait ClinicRead: Send + Sync {
    async fn get_clinic(&self, id: &str) -> Result<Option<Clinic>>;
    async fn get_clinic_by_slug(&self, slug: &str) -> Result<Option<Clinic>>;
    /// By name.
    async fn list_clinics(&self) -> Result<Vec<Clinic>>;
}

#[async_trait]
impl<C: Conn> ClinicTx for C {
    async fn create_clinic(&mut self, new: NewClinic, now: Time) -> Result<Clinic> {
        let insert = Statement::new(
            "INSERT INTO clinics (id, slug, name, opening_hours, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING *",
        )
        .bind(new_id())
        .bind(new.slug)
        .bind(new.name)
        .bind(new.opening_hours)
        .bind(now);
        self.fetch_one(insert).await
    }

    async fn update_clinic_settings(
        &mut self,
        id: String,
        settings: ClinicSettings,
    ) -> Result<Clinic> {
        let update = Statement::new(
            "UPDATE clinics SET name = $2, opening_hours = $3, phone = $4, \
             out_of_hours_phone = $5, crisis_line = $6, emergency_number = $7, \
             time_zone = $8, open_from = $9, open_until = $10, open_weekdays = $11, \
             realert_emergency_minutes = $12, realert_urgent_minutes = $13, \
             alert_names = $14, clinician_second_factor = $15 WHERE id = $1 RETURNING *",
        )
        .bind(id)
        .bind(settings.name)
        .bind(settings.opening_hours)
        .bind(settings.phone)
        .bind(settings.out_of_hours_phone)
        .bind(settings.crisis_line)
        .bind(settings.emergency_number)
        .bind(settings.time_zone)
        .bind(settings.open_from)
        .bind(settings.open_until)
        .bind(settings.open_weekdays)
        .bind(settings.realert_emergency_minutes)
        .bind(settings.realert_urgent_minutes)
        .bind(settings.alert_names)
        .bind(settings.clinician_second_factor);
        self.fetch_one(update).await
    }
}

#[async_trait]
impl<E: Engine> ClinicRead for E {
    async fn get_clinic(&self, id: &str) -> Result<Option<Clinic>> {
        let select = Statement::new("SELECT * FROM clinics WHERE id = $1").bind(id);
        self.reader().await?.fetch_optional(select).await
    }

    async fn get_clinic_by_slug(&self, slug: &str) -> Result<Option<Clinic>> {
        let select = Statement::new("SELECT * FROM clinics WHERE slug = $1").bind(slug);
        self.reader().await?.fetch_optional(select).await
    }

    async fn list_clinics(&self) -> Result<Vec<Clinic>> {
        let select = Statement::new("SELECT * FROM clinics ORDER BY name, id");
        self.reader().await?.fetch_all(select).await
    }
}
