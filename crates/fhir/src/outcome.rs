//! OperationOutcome: how FHIR says why a request failed. Every FHIR route's errors are rendered
//! through [`operation_outcome`], so they look alike whatever went wrong.

use serde_json::{json, Map, Value as Json};

/// The `issue.code` values we use (FHIR's issue-type value set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueCode {
    /// The content is not valid (wrong type, wrong code, out of range).
    Invalid,
    /// A value is not allowed here.
    Value,
    /// Something required is missing.
    Required,
    /// The structure (resource type, nesting) is wrong.
    Structure,
    /// Authentication or authorisation failed.
    Security,
    NotFound,
    NotSupported,
    Conflict,
    Throttled,
    Transient,
    Exception,
}

impl IssueCode {
    pub fn as_str(self) -> &'static str {
        match self {
            IssueCode::Invalid => "invalid",
            IssueCode::Value => "value",
            IssueCode::Required => "required",
            IssueCode::Structure => "structure",
            IssueCode::Security => "security",
            IssueCode::NotFound => "not-found",
            IssueCode::NotSupported => "not-supported",
            IssueCode::Conflict => "conflict",
            IssueCode::Throttled => "throttled",
            IssueCode::Transient => "transient",
            IssueCode::Exception => "exception",
        }
    }
}

/// An OperationOutcome with one error issue. `expression` is a FHIRPath to the element at fault,
/// e.g. `QuestionnaireResponse.item[1].item[0].answer[0]`.
pub fn operation_outcome(code: IssueCode, diagnostics: &str, expression: Option<&str>) -> Json {
    let mut issue = Map::new();
    issue.insert("severity".into(), json!("error"));
    issue.insert("code".into(), json!(code.as_str()));
    if !diagnostics.is_empty() {
        issue.insert("diagnostics".into(), json!(diagnostics));
    }
    if let Some(e) = expression.filter(|e| !e.is_empty()) {
        issue.insert("expression".into(), json!([e]));
    }
    json!({ "resourceType": "OperationOutcome", "issue": [issue] })
}
