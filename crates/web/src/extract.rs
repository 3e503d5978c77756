//! Request extractors that refuse bad input with a problem body naming the field, instead of
//! axum's plain-text rejections.

use crate::error::AppError;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// A JSON body, deserialised with the path of the first bad field in the error.
pub struct ValidJson<T>(pub T);

impl<S, T> FromRequest<S> for ValidJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let JsonBytes(bytes) = JsonBytes::from_request(req, state).await?;
        parse_json(&bytes).map(ValidJson)
    }
}

/// The raw bytes of a JSON body (the content type checked, the size limit applied), for
/// handlers that parse it themselves.
pub struct JsonBytes(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBytes {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                let ct = ct.to_ascii_lowercase();
                ct.starts_with("application/json")
                    || (ct.starts_with("application/") && ct.contains("+json"))
            });
        if !json_type {
            return Err(AppError::UnsupportedMediaType(
                "send the body as application/json".into(),
            ));
        }
        axum::body::Bytes::from_request(req, state)
            .await
            .map(JsonBytes)
            .map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::PayloadTooLarge
                } else {
                    AppError::BadRequest {
                        detail: "the request body could not be read".into(),
                        field: None,
                    }
                }
            })
    }
}

/// The token of an `Authorization: Bearer <token>` header. The scheme is case-insensitive
/// (RFC 9110 11.1), so `bearer` and `BEARER` work as EHRs and clients send them.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Whether a text holds a control character other than tab, line feed and carriage return:
/// none has a use in anything a person types here, NUL is refused by PostgreSQL, and the
/// others can forge lines in logs and exports.
pub fn has_control_char(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// The path of the first string in a JSON value with a control character (`body`,
/// `answers.note`, `items[2]`), if any; `at` is `None` at the root, so that even an empty key
/// there is named as the request wrote it.
fn control_char_path(v: &serde_json::Value, at: Option<&str>) -> Option<String> {
    let join = |k: &str| match at {
        None => k.to_string(),
        Some(a) => format!("{a}.{k}"),
    };
    match v {
        serde_json::Value::String(s) => has_control_char(s).then(|| at.unwrap_or("").to_string()),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, x)| control_char_path(x, Some(&format!("{}[{i}]", at.unwrap_or(""))))),
        serde_json::Value::Object(map) => map.iter().find_map(|(k, x)| {
            if has_control_char(k) {
                Some(join(k))
            } else {
                control_char_path(x, Some(&join(k)))
            }
        }),
        _ => None,
    }
}

/// Refuses a JSON body with a control character in any string, naming where. A cheap scan of
/// the bytes first (escapes, and the raw DEL and C1 characters JSON allows); the tree is built
/// only when it finds one.
pub fn refuse_control_chars(bytes: &[u8]) -> Result<(), AppError> {
    // Escaped: `\u0000`-`\u001f` (but tab, line feed, carriage return), DEL and the C1 range.
    let escaped = bytes.windows(6).any(|w| {
        w.starts_with(b"\\u00")
            && (matches!(w[4], b'8' | b'9')
                || (matches!(w[4], b'0' | b'1')
                    && !matches!(&w[4..6], b"09" | b"0a" | b"0A" | b"0d" | b"0D"))
                || w[4..6].eq_ignore_ascii_case(b"7f"))
    });
    // Raw: DEL and C1 characters are valid JSON text (only U+0000-U+001F are not).
    let raw = bytes.contains(&0x7f)
        || bytes
            .windows(2)
            .any(|w| w[0] == 0xc2 && (0x80..=0x9f).contains(&w[1]));
    let suspicious = escaped || raw;
    if !suspicious {
        return Ok(());
    }
    let Ok(tree) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Ok(()); // malformed JSON gets its own, better message from the parser
    };
    match control_char_path(&tree, None) {
        // A bare string as the whole body is refused by the typed parser (no field to name).
        Some(field) if field.is_empty() => Ok(()),
        Some(field) => Err(AppError::bad_field(
            &field,
            format!("{field}: control characters are not allowed"),
        )),
        None => Ok(()),
    }
}

/// Parses JSON, naming the field at fault (`pain: invalid type ...`).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    refuse_control_chars(bytes)?;
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            // Where the text broke off inside a member (a number too large for any type, an
            // unfinished value), name that member; before any, there is no field to name.
            let field = (path != "." && path != "?").then(|| path.clone());
            AppError::BadRequest {
                detail: match &field {
                    Some(f) => format!("{f}: malformed JSON: {inner}"),
                    None => format!("malformed JSON: {inner}"),
                },
                field,
            }
        } else if path == "." {
            AppError::BadRequest {
                detail: inner.to_string(),
                field: missing_field(&inner.to_string()),
            }
        } else {
            AppError::bad_field(path.clone(), format!("{path}: {inner}"))
        }
    })
}

/// serde reports a missing or unknown top-level field only in its message.
fn missing_field(message: &str) -> Option<String> {
    ["missing field `", "unknown field `"].iter().find_map(|p| {
        message
            .split_once(p)
            .and_then(|(_, rest)| rest.split_once('`'))
            .map(|(name, _)| name.to_string())
    })
}

/// A query string, deserialised like [`ValidJson`]: a bad parameter is a 422 problem naming it
/// (`after: invalid digit found in string`), where axum's `Query` answers a plain-text 400.
pub struct ValidQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ValidQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parse_query(parts.uri.query().unwrap_or_default()).map(ValidQuery)
    }
}

/// Parses a query string, naming the parameter at fault.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, AppError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        if path == "." || path == "?" {
            AppError::BadRequest {
                field: missing_field(&inner),
                detail: format!("query: {inner}"),
            }
        } else {
            AppError::bad_field(path.clone(), format!("{path}: {inner}"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_control_character_is_named_by_its_path_as_the_request_wrote_it() {
        let path = |v: serde_json::Value| control_char_path(&v, None);
        assert_eq!(
            path(serde_json::json!({"body": "a\u{0}"})),
            Some("body".into())
        );
        assert_eq!(
            path(serde_json::json!({"answers": {"note": "x\u{85}"}})),
            Some("answers.note".into())
        );
        assert_eq!(
            path(serde_json::json!({"items": ["ok", "\u{7f}"]})),
            Some("items[1]".into())
        );
        // An empty key at the root is a segment of its own: `.evil.` walks "", "evil", "".
        assert_eq!(
            path(serde_json::json!({"": {"evil": {"": "\u{0}"}}})),
            Some(".evil.".into())
        );
        assert_eq!(path(serde_json::json!({"body": "two\nlines\tok"})), None);
    }
}
