//! What the CLI may ask of a data folder without going through a server:
//! whether a server holds it, `store check` and `store repair`, and why a
//! server could not start on it.
//!
//! Invariant: the CLI never names `store` or `engine`; it gets their
//! refusals here as [`Refusal`], a message and a hint, already apart.

use std::path::Path;

use crate::engine::EngineError;
use crate::store::{self, StoreError};

pub use crate::store::check::Report;

/// Why the data folder could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    pub message: String,
    /// Another server holds the folder: its caller says what to do.
    pub in_use: bool,
    /// What helps, when something does.
    pub hint: Option<String>,
    /// The causes under the message, outermost first.
    pub causes: Vec<String>,
}

impl Refusal {
    fn of(e: &(dyn std::error::Error + 'static), in_use: bool, hint: Option<String>) -> Refusal {
        let mut causes = Vec::new();
        let mut cause = e.source();
        while let Some(c) = cause {
            causes.push(c.to_string());
            cause = c.source();
        }
        Refusal {
            message: e.to_string(),
            in_use,
            hint,
            causes,
        }
    }
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Refusal {
        let in_use = matches!(e, StoreError::Locked { .. });
        Refusal::of(&e, in_use, e.hint().map(str::to_owned))
    }
}

impl From<EngineError> for Refusal {
    fn from(e: EngineError) -> Refusal {
        match e {
            EngineError::Store(store) => store.into(),
            other => Refusal::of(&other, false, other.hint()),
        }
    }
}

/// Says what is damaged in the folder's store; the server must be stopped.
pub fn check(dir: &Path) -> Result<Report, Refusal> {
    Ok(store::check::check(dir)?)
}

/// Keeps what can be kept of a damaged store; the server must be stopped.
pub fn repair(dir: &Path) -> Result<Report, Refusal> {
    Ok(store::check::repair(dir)?)
}

/// Whether no server holds the data folder now.
pub fn is_free(dir: &Path) -> bool {
    store::DataDirLock::is_free(dir)
}

/// The refusal of the store or the engine in a server's failure to start,
/// with its hint apart, when it is one; any other failure comes back as it
/// was.
pub fn refusal(e: anyhow::Error) -> Result<Refusal, anyhow::Error> {
    let e = match e.downcast::<StoreError>() {
        Ok(store) => return Ok(store.into()),
        Err(e) => e,
    };
    e.downcast::<EngineError>().map(Refusal::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_keeps_message_hint_and_causes_apart() {
        let io = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let refusal = Refusal::from(EngineError::Store(StoreError::NotWritable {
            dir: "/d".into(),
            source: io,
        }));
        assert!(!refusal.in_use);
        assert!(!refusal.message.contains("hint"), "{}", refusal.message);
        assert!(
            refusal
                .hint
                .as_deref()
                .is_some_and(|h| h.contains("HERO_LOGIC_DATA_DIR"))
        );
        assert_eq!(refusal.causes.len(), 1, "{:?}", refusal.causes);
        let locked = Refusal::from(StoreError::Locked {
            pid: "7".into(),
            dir: "/d".into(),
        });
        assert!(locked.in_use && locked.hint.is_none());
    }
}
