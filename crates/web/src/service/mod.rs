//! What the JSON API and the patient pages both do with a patient's data: decide a check-in,
//! store a final one, write a diary day. One implementation, so the two front doors cannot drift
//! apart in what they store, audit or escalate.

pub mod checkin;
pub mod diary;
