//! The API's own vocabulary, beside [`crate::model`]: what crosses the
//! socket between a client (CLI, dashboard, flow SDK) and the server.
//!
//! - [`METHODS`]: the one list of methods with their params (SPEC §3);
//! - the request and answer types of each method ([`StartPlay`],
//!   [`SavedWorkflow`], ...);
//! - the error codes and [`RpcError`], whose hint is data (`error.data.hint`);
//! - the rules both sides apply: the child-pause name
//!   ([`child_pause_name`]) and whether an answer fits a pause
//!   ([`violations`]).
//!
//! Invariant: this module depends on `model` only. The engine, the store
//! and the server use it; the client, the CLI and the dashboard use it
//! instead of reaching into the engine.

mod error;
mod methods;
mod pause;
mod types;

pub use error::*;
pub use methods::{METHODS, Method, is_internal, status};
pub use pause::{child_of_pause, child_pause_name, violations};
pub use types::*;
