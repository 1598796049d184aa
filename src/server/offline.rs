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

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Refusal {
        let mut causes = Vec::new();
        let mut cause = std::error::Error::source(&e);
        while let Some(c) = cause {
            causes.push(c.to_string());
            cause = c.source();
        }
        Refusal {
            causes,
            in_use: matches!(e, StoreError::Locked { .. }),
            hint: e.hint().map(str::to_owned),
            message: e.to_string(),
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
/// when it is one; any other failure comes back as it was.
pub fn refusal(e: anyhow::Error) -> Result<Refusal, anyhow::Error> {
    let e = match e.downcast::<StoreError>() {
        Ok(store) => return Ok(store.into()),
        Err(e) => e,
    };
    match e.downcast::<EngineError>() {
        Ok(EngineError::Store(store)) => Ok(store.into()),
        Ok(engine) => Err(engine.into()),
        Err(e) => Err(e),
    }
}
