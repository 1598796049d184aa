//! Secrets handed to the outside: pause tokens and HTTP keys.
//!
//! Both are random bytes from the OS, written URL-safe (base64url without
//! padding), so they can sit in a URL or a header as they are. An HTTP key
//! is kept only as its SHA-256 digest and compared in constant time; a
//! pause token is stored with its pause, since `pending` shows it again.
//! Neither is ever written to a log: callers name a pause by its id and a
//! key by its id.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What prefixes an HTTP key, so that a key pasted in the wrong place is
/// recognised (and secret scanners can find one that leaked).
pub const KEY_PREFIX: &str = "hlk_";

/// `n` random bytes from the OS, URL-safe.
fn random(n: usize) -> Result<String, getrandom::Error> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// A pause's token: 128 random bits, 22 URL-safe characters.
pub fn pause_token() -> Result<String, getrandom::Error> {
    random(16)
}

/// A new HTTP key: 256 random bits after [`KEY_PREFIX`].
pub fn http_key() -> Result<String, getrandom::Error> {
    Ok(format!("{KEY_PREFIX}{}", random(32)?))
}

/// The digest an HTTP key is stored as, hex.
pub fn key_digest(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether two digests are equal, in time that does not depend on where
/// they differ.
pub fn same_digest(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_url_safe_and_distinct() {
        let a = pause_token().unwrap();
        let b = pause_token().unwrap();
        assert_eq!(a.len(), 22);
        assert_ne!(a, b);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        let key = http_key().unwrap();
        assert!(key.starts_with(KEY_PREFIX));
        assert_eq!(key.len(), KEY_PREFIX.len() + 43);
    }

    #[test]
    fn a_key_matches_its_digest_only() {
        let key = http_key().unwrap();
        let digest = key_digest(&key);
        assert!(same_digest(&digest, &key_digest(&key)));
        assert!(!same_digest(&digest, &key_digest("hlk_other")));
        assert!(!same_digest(&digest, ""));
    }
}
