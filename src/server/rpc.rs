//! JSON-RPC 2.0 framing, one object per line, and the mapping of engine
//! errors to the codes of [`crate::api`].

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::engine::EngineError;

pub use crate::api::{
    BAD_SOURCE, INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND, NOT_FOUND,
    PARSE_ERROR, RpcError, SCHEMA_VIOLATION, WRONG_STATE,
};

/// A request as read off the line. Params stay raw JSON text until the
/// method is known, so a span from the SDK is never decoded into a tree of
/// values only to be encoded again for the store.
#[derive(Debug, Deserialize)]
pub struct Request<'a> {
    #[serde(borrow, default)]
    pub jsonrpc: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub method: Cow<'a, str>,
    #[serde(borrow, default)]
    pub params: Option<&'a RawValue>,
    /// Absent for a notification, which gets no answer.
    #[serde(default)]
    pub id: Option<Value>,
}

impl From<EngineError> for RpcError {
    fn from(e: EngineError) -> RpcError {
        let code = match e.kind() {
            EngineError::NotFound(_) => NOT_FOUND,
            EngineError::WrongState(_) | EngineError::Refused(_) => WRONG_STATE,
            EngineError::SchemaViolation(_) => SCHEMA_VIOLATION,
            EngineError::BadSource(_) => BAD_SOURCE,
            EngineError::InvalidParams(_) => INVALID_PARAMS,
            EngineError::Store(_) | EngineError::Internal(_) | EngineError::Hinted { .. } => {
                INTERNAL_ERROR
            }
        };
        let data = match e.kind() {
            EngineError::SchemaViolation(v) => Some(serde_json::json!({ "violations": v })),
            _ => None,
        };
        let hint = e.hint();
        let error = RpcError {
            code,
            message: e.to_string(),
            data,
        };
        match hint {
            Some(hint) => error.with_hint(hint),
            None => error,
        }
    }
}

/// An answer line, written straight from its parts: a running flow waits
/// for one after every step.
pub fn response(id: Value, outcome: Result<Value, RpcError>) -> String {
    #[derive(Serialize)]
    struct Response<'a> {
        jsonrpc: &'static str,
        id: &'a Value,
        #[serde(skip_serializing_if = "Option::is_none")]
        result: Option<&'a Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<&'a RpcError>,
    }
    let (result, error) = match &outcome {
        Ok(result) => (Some(result), None),
        Err(error) => (None, Some(error)),
    };
    serde_json::to_string(&Response {
        jsonrpc: "2.0",
        id: &id,
        result,
        error,
    })
    .expect("a response always serializes")
}

pub fn notification(method: &str, params: &impl Serialize) -> String {
    serde_json::json!({"jsonrpc": "2.0", "method": method, "params": params}).to_string()
}

/// Parses one line; an error comes with the id to answer it under.
pub fn parse(line: &str) -> Result<Request<'_>, Box<(Value, RpcError)>> {
    let request: Request<'_> = match serde_json::from_str(line) {
        Ok(r) => r,
        Err(e) => {
            return Err(Box::new(match serde_json::from_str::<Value>(line) {
                Err(e) => (
                    Value::Null,
                    RpcError::new(PARSE_ERROR, format!("not JSON: {e}")),
                ),
                Ok(value) => (
                    value.get("id").cloned().unwrap_or(Value::Null),
                    RpcError::new(INVALID_REQUEST, format!("not a JSON-RPC 2.0 request: {e}")),
                ),
            }));
        }
    };
    let id = request.id.clone().unwrap_or(Value::Null);
    if request.jsonrpc.as_deref() != Some("2.0") {
        return Err(Box::new((
            id,
            RpcError::new(INVALID_REQUEST, "`jsonrpc` must be \"2.0\""),
        )));
    }
    let params = request.params.map_or("null", |p| p.get()).trim_start();
    if !(params.starts_with('{') || params == "null") {
        return Err(Box::new((
            id,
            RpcError::new(
                INVALID_PARAMS,
                "params must be an object (params are by name)",
            ),
        )));
    }
    Ok(request)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_checkpoint_answer_is_the_line_the_sdk_matches_byte_for_byte() {
        assert_eq!(
            response(json!(7), Ok(json!({"ok": true, "spin": true}))),
            r#"{"jsonrpc":"2.0","id":7,"result":{"ok":true,"spin":true}}"#
        );
        assert_eq!(
            response(Value::Null, Err(RpcError::new(NOT_FOUND, "no play"))),
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"no play"}}"#
        );
    }
}
