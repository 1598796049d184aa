//! The JSON-RPC error object and every error code, spelled once.
//!
//! Invariant: a hint (what the caller can do next) travels as data, in
//! `error.data.hint`; it is never written into `message`, and nobody parses
//! message text.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;
pub const INTERNAL_ERROR: i64 = -32603;
/// No play, workflow, version or pause by that id.
pub const NOT_FOUND: i64 = -32001;
/// The play is not in a state that allows this (e.g. resuming a finished one).
pub const WRONG_STATE: i64 = -32002;
/// A resume payload that does not match its pause's schema.
pub const SCHEMA_VIOLATION: i64 = -32003;
/// A flow source the server refuses to save.
pub const BAD_SOURCE: i64 = -32004;

/// A JSON-RPC error as it goes on the wire.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl RpcError {
    pub fn new(code: i64, message: impl Into<String>) -> RpcError {
        RpcError {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// Adds `data.hint`: what the caller can do about it.
    pub fn with_hint(mut self, hint: impl Into<String>) -> RpcError {
        let data = self.data.get_or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(map) = data {
            map.insert("hint".into(), Value::String(hint.into()));
        }
        self
    }

    /// `data.hint`, when the error has one.
    pub fn hint(&self) -> Option<&str> {
        hint_of(self.data.as_ref())
    }
}

/// The hint in an error's `data`, when there is one.
pub fn hint_of(data: Option<&Value>) -> Option<&str> {
    data?.get("hint")?.as_str()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_hint_is_data_beside_the_other_data() {
        let mut error = RpcError::new(SCHEMA_VIOLATION, "no");
        error.data = Some(json!({"violations": ["x"]}));
        let error = error.with_hint("try again");
        assert_eq!(error.hint(), Some("try again"));
        assert_eq!(
            serde_json::to_value(&error).unwrap(),
            json!({"code": -32003, "message": "no",
                   "data": {"violations": ["x"], "hint": "try again"}})
        );
        assert_eq!(RpcError::new(NOT_FOUND, "x").hint(), None);
    }
}
