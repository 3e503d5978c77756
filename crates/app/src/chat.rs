//! The chat: one thread per patient, between her and her clinic. A message and its audit row
//! are one commit; so are a read and the marks it leaves.

use aftercare_store::{Message, NewMessage, Patient, Side};

use crate::audit::{entry, Action, Actor, Subject};
use crate::text::MessageBody;
use crate::{App, Result};

/// The longest message, in characters.
pub const BODY_LIMIT: usize = MessageBody::MAX;

pub struct Chat<'a>(pub(crate) &'a App);

impl Chat<'_> {
    /// Posts to her thread, from her (`Side::Patient`) or from the clinic; audited in the same
    /// commit.
    pub async fn post(
        &self,
        actor: &Actor,
        patient: &Patient,
        sender: Side,
        body: MessageBody,
    ) -> Result<Message> {
        let now = self.0.now();
        let new = NewMessage {
            patient_id: patient.id.clone(),
            sender,
            staff_id: (sender == Side::Staff).then(|| actor.id.clone()).flatten(),
            body: body.into_string(),
        };
        let (actor, patient_id, clinic_id) =
            (actor.clone(), patient.id.clone(), patient.clinic_id.clone());
        let (patient, content) = (patient.clone(), self.0.content.clone());
        let reach = match sender {
            Side::Staff => Some(self.0.clinics().reach_now(&patient.clinic_id).await?),
            Side::Patient => None,
        };
        self.0
            .write_audited(
                move |tx| {
                    let (new, patient, content) = (new.clone(), patient.clone(), content.clone());
                    let reach = reach.clone();
                    Box::pin(async move {
                        // A reply tells her by email, if she asked for emails, unless an
                        // earlier reply she has not read yet already did; read in the commit
                        // that stores the reply, so what decides is what is stored.
                        let reply = match sender {
                            Side::Staff => tx.reply_address(patient.id.clone()).await?,
                            Side::Patient => None,
                        };
                        let message = tx.post_message(new, now).await?;
                        if let (Some(email), Some(reach)) = (reply, reach) {
                            let reply = crate::patient_email::reply_message(
                                &content, &patient, &email, &reach,
                            );
                            tx.enqueue(reply, now).await?;
                        }
                        Ok(message)
                    })
                },
                move |message: &Message| {
                    let subject = Subject {
                        patient_id: Some(&patient_id),
                        clinic_id: Some(&clinic_id),
                        detail: Some(message.id.to_string()),
                    };
                    entry(&actor, Action::MessageWrite, subject, now)
                },
            )
            .await
    }

    /// Messages of her thread after `after`, oldest first, at most `limit`; not audited (the
    /// callers audit the read they serve).
    pub async fn page(&self, patient: &Patient, after: i64, limit: i64) -> Result<Vec<Message>> {
        Ok(self
            .0
            .store
            .list_messages(&patient.id, after.max(0), limit)
            .await?)
    }

    /// Marks the other side's messages among `messages` as seen by `reader`.
    pub async fn mark_seen(
        &self,
        patient: &Patient,
        reader: Side,
        messages: &[Message],
    ) -> Result<()> {
        let other = reader.other();
        let last = messages
            .iter()
            .filter(|m| m.sender == other)
            .map(|m| m.id)
            .max();
        self.mark_seen_up_to(patient, reader, last).await
    }

    /// Marks the other side's messages up to `last` (their newest shown) as seen by `reader`.
    pub async fn mark_seen_up_to(
        &self,
        patient: &Patient,
        reader: Side,
        last: Option<i64>,
    ) -> Result<()> {
        let Some(last) = last else {
            return Ok(());
        };
        let (id, now) = (patient.id.clone(), self.0.now());
        self.0
            .store
            .transaction(move |tx| tx.mark_read(id.clone(), reader, last, now))
            .await?;
        Ok(())
    }

    /// Her unread counts (for her, for the clinic).
    pub async fn unread(&self, patient: &Patient) -> Result<aftercare_store::UnreadCounts> {
        Ok(self.0.store.unread_counts(&patient.id).await?)
    }
}
