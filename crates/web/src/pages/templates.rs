//! The template environment: every template is embedded in the binary and added once at
//! start-up; `.html` and `.svg` templates are auto-escaped, so a patient's note or a clinic's
//! announcement can never become markup. Render errors go to the log, never to the client.

use crate::error::AppError;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../templates/", $name)))),*]
    };
}

/// Every template, by name.
pub const TEMPLATES: &[(&str, &str)] = templates!(
    "base.html",
    "macros.html",
    "home.html",
    "start.html",
    "link_open.html",
    "me.html",
    "checkin.html",
    "review.html",
    "decision.html",
    "diary.html",
    "chart.svg",
    "learn_index.html",
    "learn.html",
    "contact.html",
    "contact_sent.html",
    "error.html",
    "unsubscribe.html",
    "appointments.html",
);

pub struct Templates {
    env: Environment<'static>,
    /// Problems found while adding the templates (none in a tested build).
    problems: Vec<String>,
}

impl Templates {
    pub fn new() -> Templates {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") || name.ends_with(".svg") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        let mut problems = Vec::new();
        for (name, source) in TEMPLATES.iter().chain(crate::staff::view::TEMPLATES) {
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "template does not compile");
                problems.push(format!("{name}: {e}"));
            }
        }
        Templates { env, problems }
    }

    /// Template problems found at start-up (a test asserts there are none).
    pub fn problems(&self) -> &[String] {
        &self.problems
    }

    /// Renders a template with a serialisable context.
    pub fn render<S: serde::Serialize>(&self, name: &str, ctx: S) -> Result<String, AppError> {
        let tmpl = self
            .env
            .get_template(name)
            .map_err(|e| AppError::Internal(format!("template {name}: {e}")))?;
        tmpl.render(ctx).map_err(|e| {
            let mut detail = format!("rendering {name}: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                detail.push_str(&format!(": {s}"));
                source = s.source();
            }
            AppError::Internal(detail)
        })
    }
}

impl Default for Templates {
    fn default() -> Self {
        Templates::new()
    }
}
