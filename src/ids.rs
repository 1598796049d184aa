//! Short, unique, URL-safe sids that sort by creation time.
//!
//! A sid is 12 characters of lower-case Crockford base32: 45 bits of
//! milliseconds since the epoch and 15 bits of a counter within the
//! millisecond. Sorting sids sorts plays by age, which is what lets the store
//! list plays newest-first straight off its key order.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sha1::{Digest, Sha1};

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
static LAST: AtomicU64 = AtomicU64::new(0);

pub fn new_sid() -> String {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let candidate = ms << 15;
    let mut last = LAST.load(Ordering::Relaxed);
    let value = loop {
        let next = candidate.max(last + 1);
        match LAST.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => break next,
            Err(seen) => last = seen,
        }
    };
    encode(value)
}

/// The smallest sid of millisecond `ms` since the epoch: every sid made
/// before that millisecond sorts below it.
pub fn sid_at(ms: u64) -> String {
    encode(ms << 15)
}

fn encode(value: u64) -> String {
    (0..12)
        .rev()
        .map(|i| ALPHABET[((value >> (i * 5)) & 31) as usize] as char)
        .collect()
}

/// Lower-case hex of the sha1 of `parts` joined by NUL.
pub fn sha1_hex(parts: &[&str]) -> String {
    let mut hasher = Sha1::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hasher.update([0u8]);
        }
        hasher.update(part.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sids_are_unique_and_sorted() {
        let sids: Vec<String> = (0..10_000).map(|_| new_sid()).collect();
        let mut sorted = sids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sids, sorted);
        assert!(sids.iter().all(|s| s.len() == 12));
    }
}
