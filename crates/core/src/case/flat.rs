//! The fast path of [`Case::from_json_slice`] for the body every client sends: one flat JSON
//! object whose keys are fact ids and whose answers are `true`, `false`, a whole number or a
//! plain word. It reads that shape in one pass over the bytes, several times faster than serde.
//!
//! It only accepts, never refuses: anything outside the shape (an escape or a non-ASCII
//! character in a string, a fraction, an exponent, a negative number, null, an array, an
//! object), an unknown or repeated key, an answer its fact refuses, or malformed JSON gives
//! `None`, and the full parser reads the body again. So every error, and every unusual body,
//! still comes from one parser, and a case read here is the case the full parser reads
//! (checked by the property test `the_fast_path_reads_what_the_full_parser_reads`).

use super::{check_value, lookup, Case, Raw};
use crate::content::{Content, FactIdx};

/// The case in `bytes`, when they have the common shape and every answer is valid.
pub(super) fn parse(content: &Content, bytes: &[u8]) -> Option<Case> {
    let mut r = Reader { bytes, at: 0 };
    let mut case = Case::empty(content);
    r.space();
    r.expect(b'{')?;
    r.space();
    if r.peek() == Some(b'}') {
        r.at += 1;
    } else {
        let mut likely = 0;
        loop {
            let key = r.word()?;
            // The likely fact is compared as bytes; only a miss needs the key as a `str`.
            let idx = match content.facts.get(likely) {
                Some(f) if f.id.as_bytes() == key => likely as FactIdx,
                _ => lookup(content, likely, std::str::from_utf8(key).ok()?)?,
            };
            likely = idx as usize + 1;
            if case.values[idx as usize].is_some() {
                return None;
            }
            r.space();
            r.expect(b':')?;
            r.space();
            let value = match r.peek()? {
                b't' => r
                    .literal(b"true")
                    .map(|()| check_value(content, idx, Raw::Bool(true))),
                b'f' => r
                    .literal(b"false")
                    .map(|()| check_value(content, idx, Raw::Bool(false))),
                b'"' => r
                    .word()
                    .and_then(|w| std::str::from_utf8(w).ok())
                    .map(|w| check_value(content, idx, Raw::Str(w))),
                b'0'..=b'9' => r
                    .whole_number()
                    .map(|n| check_value(content, idx, Raw::Number(&n.into()))),
                _ => None,
            }?;
            case.values[idx as usize] = Some(value.ok()?);
            r.space();
            match r.next()? {
                b',' => r.space(),
                b'}' => break,
                _ => return None,
            }
        }
    }
    r.space();
    (r.at == bytes.len()).then_some(case)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.at += 1;
        Some(b)
    }

    fn expect(&mut self, b: u8) -> Option<()> {
        (self.next()? == b).then_some(())
    }

    /// JSON's whitespace.
    fn space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at + word.len();
        (self.bytes.get(self.at..end)? == word).then(|| self.at = end)
    }

    /// The bytes of a string of printable ASCII without escapes (an id, an enum value).
    fn word(&mut self) -> Option<&'a [u8]> {
        self.expect(b'"')?;
        let rest = self.bytes.get(self.at..)?;
        let len = rest.iter().position(|&b| b == b'"')?;
        let word = &rest[..len];
        if !word
            .iter()
            .all(|&b| (b' '..=b'~').contains(&b) && b != b'\\')
        {
            return None;
        }
        self.at += len + 1;
        Some(word)
    }

    /// A non-negative whole number of at most 15 digits (exact as a float), with no leading
    /// zero, fraction or exponent.
    fn whole_number(&mut self) -> Option<u64> {
        let start = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
        let digits = &self.bytes[start..self.at];
        let leading_zero = digits.len() > 1 && digits[0] == b'0';
        if leading_zero || digits.len() > 15 || matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        std::str::from_utf8(digits).ok()?.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content() -> Content {
        Content::bundled().expect("the bundled content is valid")
    }

    #[test]
    fn the_common_shape_is_read() {
        let content = content();
        let body = br#" { "procedure" : "labour_epidural", "back_pain":true,
            "pain_score": 6, "fever": false } "#;
        let case = parse(&content, body).expect("the common shape");
        assert_eq!(case.known_count(), 4);
        assert!(parse(&content, b"{}").is_some_and(|c| c.known_count() == 0));
    }

    #[test]
    fn anything_else_is_left_to_the_full_parser() {
        let content = content();
        for body in [
            &br#"{"fever": true"#[..],
            br#"{"fever": true} x"#,
            br#"{"fever": true,}"#,
            br#"{"fever": tru}"#,
            br#"{"fever": null}"#,
            br#"{"fever": [true]}"#,
            br#"{"fev\u0065r": true}"#,
            br#"{"nope": true}"#,
            br#"{"pain_score": 6.0}"#,
            br#"{"pain_score": 6e0}"#,
            br#"{"pain_score": -1}"#,
            br#"{"pain_score": 06}"#,
            br#"{"pain_score": 11}"#,
            br#"{"pain_score": 1234567890123456}"#,
            br#"{"procedure": "labour\"epidural"}"#,
            "{\"procedure\": \"epidúral\"}".as_bytes(),
            br#"{"procedure": "nope"}"#,
            br#"{"fever": "true"}"#,
            br#"{"fever": false, "fever": true}"#,
            br#"[]"#,
            br#""#,
        ] {
            assert!(
                parse(&content, body).is_none(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
