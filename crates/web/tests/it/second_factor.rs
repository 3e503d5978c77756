//! The second factor as a member of staff meets it: set up from her account with the key her
//! app reads, a first code, recovery codes shown once; then sign-ins that need the code, take
//! it once, and take a recovery code once; an admin removes it for a colleague who lost her
//! phone.

use crate::support;
use aftercare_app::second_factor::{code_at, RECOVERY_CODES};
use aftercare_store::TotpSecret;
use serde_json::json;
use support::staff::PASSWORD;
use support::TestApp;

/// The texts between `start` and the next `end`, in order.
fn between<'a>(text: &'a str, start: &str, end: &str) -> Vec<&'a str> {
    text.split(start)
        .skip(1)
        .filter_map(|rest| rest.split(end).next())
        .collect()
}

async fn api_login(app: &TestApp, body: serde_json::Value) -> u16 {
    app.client
        .post(app.url("/api/v1/clinic/session"))
        .json(&body)
        .send()
        .await
        .expect("sent")
        .status()
        .as_u16()
}

on_both!(
    an_admin_with_a_second_factor_cannot_sign_in_without_its_code,
    |app: TestApp| async move {
        let admin = app.staff_without_second_factor("north", "admin").await;
        let b = app.signed_in(&admin).await;

        // She sets it up: the page shows the key (and its QR code); a wrong code is refused.
        let page = b.get("/clinic/account/second-factor").await;
        assert_eq!(page.status, 200, "{}", page.text);
        assert!(page.text.contains("<svg"), "a QR code");
        let key = between(&page.text, "<code id=\"secret\">", "</code>");
        assert_eq!(key.len(), 1, "{}", page.text);
        let secret = TotpSecret::new(key[0].replace(' ', ""));
        let again = b.get("/clinic/account/second-factor").await;
        assert!(
            again.text.contains(key[0]),
            "a reload keeps the key she scanned"
        );
        let now = chrono::Utc::now();
        let wrong = if code_at(&secret, now).expect("code") == "000000" {
            "111111"
        } else {
            "000000"
        };
        let refused = b
            .post_form("/clinic/account/second-factor", &[("code", wrong)])
            .await;
        assert_eq!(refused.status, 422);
        let first = code_at(&secret, now).expect("code");
        let done = b
            .post_form("/clinic/account/second-factor", &[("code", first.as_str())])
            .await;
        assert_eq!(done.status, 200, "{}", done.text);
        let codes: Vec<String> = between(&done.text, "<li><code>", "</code>")
            .into_iter()
            .map(str::to_string)
            .collect();
        assert_eq!(codes.len(), RECOVERY_CODES, "{}", done.text);
        let shown = b.get("/clinic/account/second-factor").await;
        assert!(
            !shown.text.contains(&codes[0]),
            "recovery codes are shown once"
        );
        assert!(shown
            .text
            .contains(&format!("{RECOVERY_CODES} of {RECOVERY_CODES}")));

        // The password alone no longer signs her in, nor does a wrong code.
        let c = app.browser();
        let bare = c.login(&admin.email, PASSWORD).await;
        assert_eq!(bare.status, 401);
        assert!(bare.text.contains("autofocus"), "the code field is offered");
        let with = |code: String| {
            let c = app.browser();
            let email = admin.email.clone();
            async move {
                c.post_form(
                    "/clinic/login",
                    &[
                        ("email", email.as_str()),
                        ("password", PASSWORD),
                        ("code", code.as_str()),
                    ],
                )
                .await
                .status
            }
        };
        assert_eq!(with(wrong.to_string()).await, 401);
        // The setup used this step's code: the next one (a phone a little ahead) signs in,
        // once.
        let next =
            code_at(&secret, chrono::Utc::now() + chrono::Duration::seconds(30)).expect("code");
        assert_eq!(with(next.clone()).await, 303);
        assert_eq!(with(next).await, 401, "a code is good once");
        // A recovery code, typed in lower case, signs her in once.
        assert_eq!(with(codes[0].to_lowercase()).await, 303);
        assert_eq!(
            with(codes[0].clone()).await,
            401,
            "a recovery code is good once"
        );
        // The API asks for the same.
        let body = json!({"email": admin.email, "password": PASSWORD});
        assert_eq!(api_login(&app, body).await, 401);
        let body = json!({"email": admin.email, "password": PASSWORD, "code": codes[1]});
        assert_eq!(api_login(&app, body).await, 200);

        let actions: Vec<String> = app
            .store
            .list_audit(&admin.clinic_id, aftercare_store::AuditQuery::default())
            .await
            .expect("audit")
            .into_iter()
            .map(|r| r.action)
            .collect();
        for action in [
            "staff.second_factor.on",
            "staff.second_factor.failed",
            "staff.second_factor.recovery_code_used",
        ] {
            assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
        }

        // She lost her phone: another admin removes the second factor, which ends her
        // sessions; her password alone signs her in again, to set up a new one.
        let colleague = app.staff("north", "admin").await;
        let other = app.signed_in(&colleague).await;
        let reset = other
            .post_form(&format!("/clinic/staff/{}/second-factor", admin.id), &[])
            .await;
        assert_eq!(reset.status, 303, "{}", reset.text);
        assert_eq!(b.get("/clinic/account/second-factor").await.status, 303);
        let again = app.browser();
        assert_eq!(again.login(&admin.email, PASSWORD).await.status, 303);
        assert_eq!(
            again.get("/clinic").await.location(),
            Some("/clinic/account/second-factor"),
            "and is sent to set up a new one"
        );
        // Another clinic's admin cannot.
        let south = app.staff("south", "admin").await;
        let stranger = app.signed_in(&south).await;
        let refused = stranger
            .post_form(&format!("/clinic/staff/{}/second-factor", admin.id), &[])
            .await;
        assert_eq!(refused.status, 404);
    }
);

on_both!(
    an_admin_without_a_second_factor_reaches_only_its_set_up_and_her_account,
    |app: TestApp| async move {
        let admin = app.staff_without_second_factor("north", "admin").await;
        let b = app.signed_in(&admin).await;
        // Pages send her to set it up; the API says why; her account pages still answer.
        for path in [
            "/clinic",
            "/clinic/staff",
            "/clinic/settings",
            "/clinic/audit",
        ] {
            let res = b.get(path).await;
            assert_eq!(res.status, 303, "{path}");
            assert_eq!(
                res.location(),
                Some("/clinic/account/second-factor"),
                "{path}"
            );
        }
        let api = b.get("/api/v1/clinic/settings").await;
        assert_eq!(api.status, 403, "{}", api.text);
        assert_eq!(api.json()["type"], "/problems/second-factor-required");
        let write = b
            .post_form(
                "/clinic/announcements",
                &[("title", "Closed"), ("body", "Today")],
            )
            .await;
        assert_eq!(write.status, 403, "a write is refused too");
        assert_eq!(b.get("/clinic/account/second-factor").await.status, 200);
        assert_eq!(b.get("/clinic/password").await.status, 200);
        assert_eq!(b.get("/api/v1/clinic/session").await.status, 200);

        // Once it is set up, the workspace opens.
        let admin = app.with_second_factor(&admin).await;
        let b = app.signed_in(&admin).await;
        assert_eq!(b.get("/clinic/staff").await.status, 200);
    }
);

on_both!(
    a_clinic_that_asks_it_of_clinicians_sends_them_to_set_it_up,
    |app: TestApp| async move {
        let nurse = app.staff("north", "clinician").await;
        let before = app.signed_in(&nurse).await;
        assert_eq!(before.get("/clinic").await.status, 200, "not asked yet");

        let admin = app.signed_in(&app.staff("north", "admin").await).await;
        let asked = admin
            .send_json(
                "PATCH",
                "/api/v1/clinic/settings",
                &json!({"clinician_second_factor": true}),
            )
            .await;
        assert_eq!(asked.status, 200, "{}", asked.text);

        // Her open session is held at the set-up page from its next request.
        let res = before.get("/clinic").await;
        assert_eq!(res.location(), Some("/clinic/account/second-factor"));
        let api = before.get("/api/v1/clinic/patients").await;
        assert_eq!(api.status, 403, "{}", api.text);

        let nurse = app.with_second_factor(&nurse).await;
        let after = app.signed_in(&nurse).await;
        assert_eq!(after.get("/clinic").await.status, 200);
    }
);
