//! Choosing the language of a response: an explicit `lang` parameter, then the remembered choice
//! (a cookie, set by the pages), then `Accept-Language`, then the content's default.

use aftercare_core::{Content, Lang};
use axum::http::{header, HeaderMap};

pub const LANG_COOKIE: &str = "aftercare_lang";

pub fn negotiate(content: &Content, explicit: Option<&str>, headers: &HeaderMap) -> Lang {
    if let Some(l) = explicit.and_then(|code| content.lang(code)) {
        return l;
    }
    if let Some(l) = cookie(headers, LANG_COOKIE).and_then(|code| content.lang(&code)) {
        return l;
    }
    if let Some(accept) = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
    {
        let mut ranked: Vec<(f32, &str)> = accept
            .split(',')
            .filter_map(|part| {
                let mut bits = part.trim().split(';');
                let tag = bits.next()?.trim();
                let q = bits
                    .find_map(|b| b.trim().strip_prefix("q="))
                    .and_then(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                Some((q, tag))
            })
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (_, tag) in ranked {
            let primary = tag.split('-').next().unwrap_or(tag).to_ascii_lowercase();
            if let Some(l) = content.lang(&primary) {
                return l;
            }
        }
    }
    content.default_lang()
}

/// A cookie's value from the request headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then(|| v.to_string())
        })
}
