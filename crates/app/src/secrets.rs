//! Secrets: random tokens from the operating system, their digests, and enrolment codes.

use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// Random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
    Ok(buf)
}

/// A random 256-bit token, as 64 hex digits (cookie- and URL-safe).
pub fn random_token() -> Result<String> {
    Ok(hex(&random_bytes::<32>()?))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 of a token, as stored: a leaked database opens no session.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// The letters of enrolment codes: no 0/O, 1/I/L, so a code read aloud or typed is not mistaken.
pub const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// The length of an enrolment code.
pub const CODE_LENGTH: usize = 8;

/// A new enrolment code: [`CODE_LENGTH`] characters from [`CODE_ALPHABET`], each uniform (bytes
/// that would favour the first letters are drawn again), about 39.6 bits.
pub fn new_enrolment_code() -> Result<String> {
    random_code(CODE_LENGTH)
}

/// `length` characters from [`CODE_ALPHABET`], each uniform.
pub fn random_code(length: usize) -> Result<String> {
    let n = CODE_ALPHABET.len();
    // The largest multiple of the alphabet's size that fits a byte: bytes at or above it are
    // rejected, so every letter is equally likely.
    let limit = 256 - 256 % n;
    let mut code = String::with_capacity(length);
    while code.len() < length {
        for b in random_bytes::<16>()? {
            if usize::from(b) < limit && code.len() < length {
                code.push(CODE_ALPHABET[usize::from(b) % n] as char);
            }
        }
    }
    Ok(code)
}

/// A new secret for a personal link: 256 random bits as 64 hex digits.
pub fn new_link_token() -> Result<String> {
    random_token()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Every letter of the alphabet turns up, in every position, and nothing else does.
    #[test]
    fn enrolment_codes_use_the_whole_alphabet_in_every_position() {
        let mut seen = vec![std::collections::HashSet::new(); CODE_LENGTH];
        for _ in 0..2000 {
            let code = new_enrolment_code().unwrap();
            assert_eq!(code.len(), CODE_LENGTH);
            for (i, c) in code.bytes().enumerate() {
                assert!(CODE_ALPHABET.contains(&c), "{code}");
                seen[i].insert(c);
            }
        }
        for (i, letters) in seen.iter().enumerate() {
            assert_eq!(letters.len(), CODE_ALPHABET.len(), "position {i}");
        }
    }
}
