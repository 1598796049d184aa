//! The routes of the HTTP API (SPEC §11), and its one error shape,
//! `{error: {code, message, hint?}}`.
//!
//! - `POST /v1/resume/{token}`: the token alone answers its one pause.
//! - `POST /v1/workflows/{name}/plays`, `POST /v1/plays/{sid}/signals/{name}`,
//!   `GET /v1/plays/{sid}`: need `Authorization: Bearer KEY`, checked
//!   before anything else of the request is looked at, so a caller without
//!   a key learns nothing (not even whether a play exists).
//!
//! Each route calls the engine as the RPC does, so the same rules hold
//! (schemas, idempotent answers, states), and a refused request stores
//! nothing.

use std::convert::Infallible;

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::http::{BODY_TIMEOUT, MAX_BODY};
use crate::api::StartPlay;
use crate::engine::{Engine, EngineError};
use crate::model::JsonMap;

type Answer = Response<Full<Bytes>>;

/// A refusal, as the caller gets it.
#[derive(Debug)]
pub struct HttpError {
    status: StatusCode,
    code: &'static str,
    message: String,
    hint: Option<String>,
    violations: Vec<String>,
}

impl HttpError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> HttpError {
        HttpError {
            status,
            code,
            message: message.into(),
            hint: None,
            violations: Vec::new(),
        }
    }

    fn hint(mut self, hint: impl Into<String>) -> HttpError {
        self.hint = Some(hint.into());
        self
    }

    fn unauthorized() -> HttpError {
        HttpError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid key is needed",
        )
    }

    fn answer(self) -> Answer {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(hint) = self.hint {
            error["hint"] = json!(hint);
        }
        if !self.violations.is_empty() {
            error["violations"] = json!(self.violations);
        }
        let mut answer = json_answer(self.status, &json!({ "error": error }));
        if self.status == StatusCode::UNAUTHORIZED {
            answer
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        answer
    }
}

impl From<EngineError> for HttpError {
    fn from(e: EngineError) -> HttpError {
        let hint = e.hint();
        let (status, code) = match e.kind() {
            EngineError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            EngineError::WrongState(_) | EngineError::Refused(_) => {
                (StatusCode::CONFLICT, "wrong_state")
            }
            EngineError::SchemaViolation(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "schema_violation")
            }
            EngineError::InvalidParams(_) | EngineError::BadSource(_) => {
                (StatusCode::BAD_REQUEST, "invalid_params")
            }
            EngineError::Store(_) | EngineError::Internal(_) | EngineError::Hinted { .. } => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        };
        let violations = match e.kind() {
            EngineError::SchemaViolation(v) => v.clone(),
            _ => Vec::new(),
        };
        HttpError {
            status,
            code,
            message: e.to_string(),
            hint,
            violations,
        }
    }
}

/// The body of an error answer, for answers written outside hyper.
pub fn error_body(code: &str, message: &str, hint: Option<&str>) -> String {
    let mut error = json!({"code": code, "message": message});
    if let Some(hint) = hint {
        error["hint"] = json!(hint);
    }
    json!({ "error": error }).to_string()
}

fn json_answer(status: StatusCode, body: &Value) -> Answer {
    let mut answer = Response::new(Full::new(Bytes::from(body.to_string())));
    *answer.status_mut() = status;
    let headers = answer.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    answer
}

/// hyper's entry: every request gets an answer, an error one included.
pub async fn handle(engine: Engine, request: Request<Incoming>) -> Result<Answer, Infallible> {
    Ok(route(&engine, request)
        .await
        .unwrap_or_else(HttpError::answer))
}

/// The endpoints, by path.
enum Route {
    Resume { token: String },
    StartPlay { workflow: String },
    Signal { sid: String, name: String },
    GetPlay { sid: String },
}

impl Route {
    fn parse(path: &str) -> Result<(Route, Method), HttpError> {
        let segments: Vec<String> = path
            .strip_prefix('/')
            .unwrap_or(path)
            .split('/')
            .map(percent_decode)
            .collect::<Result<_, _>>()?;
        let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
        Ok(match parts.as_slice() {
            ["v1", "resume", token] => (
                Route::Resume {
                    token: (*token).to_owned(),
                },
                Method::POST,
            ),
            ["v1", "workflows", name, "plays"] => (
                Route::StartPlay {
                    workflow: (*name).to_owned(),
                },
                Method::POST,
            ),
            ["v1", "plays", sid, "signals", name] => (
                Route::Signal {
                    sid: (*sid).to_owned(),
                    name: (*name).to_owned(),
                },
                Method::POST,
            ),
            ["v1", "plays", sid] => (
                Route::GetPlay {
                    sid: (*sid).to_owned(),
                },
                Method::GET,
            ),
            _ => {
                return Err(HttpError::new(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    "no such endpoint",
                )
                .hint(
                    "the endpoints are POST /v1/resume/{token}, POST /v1/workflows/{name}/plays, \
                     POST /v1/plays/{sid}/signals/{name} and GET /v1/plays/{sid}",
                ));
            }
        })
    }
}

/// A path segment with its `%XX` escapes decoded; it must be UTF-8.
fn percent_decode(segment: &str) -> Result<String, HttpError> {
    let bad = || HttpError::new(StatusCode::BAD_REQUEST, "bad_path", "the path is not valid");
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = segment.get(i + 1..i + 3).ok_or_else(bad)?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad())
}

async fn route(engine: &Engine, request: Request<Incoming>) -> Result<Answer, HttpError> {
    let (route, method) = Route::parse(request.uri().path())?;
    if request.method() != method {
        let mut answer = HttpError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("this endpoint takes {method} only"),
        )
        .answer();
        if let Ok(allow) = HeaderValue::from_str(method.as_str()) {
            answer.headers_mut().insert(header::ALLOW, allow);
        }
        return Ok(answer);
    }
    let key = match route {
        Route::Resume { .. } => None,
        _ => Some(authorize(engine, &request)?),
    };
    let answer = serve(engine, route, request).await;
    if let (Some(key), Ok(_)) = (key, &answer) {
        engine.http_key_used(&key);
    }
    answer
}

async fn serve(
    engine: &Engine,
    route: Route,
    request: Request<Incoming>,
) -> Result<Answer, HttpError> {
    match route {
        Route::Resume { token } => {
            let payload = body_json(request).await?;
            let ack = engine.resume_by_token(&token, payload).await?;
            Ok(json_answer(StatusCode::OK, &json!(ack)))
        }
        Route::StartPlay { workflow } => {
            let key = idempotency_key(&request)?;
            let body: StartBody =
                serde_json::from_value(body_json(request).await?).map_err(|e| {
                    HttpError::new(StatusCode::BAD_REQUEST, "invalid_params", e.to_string())
                        .hint(r#"the body is {"input_data": {...}, "prefill_resumes": {...}}"#)
                })?;
            let play = engine
                .play_start(StartPlay {
                    workflow_sid: workflow,
                    input_data: body.input_data,
                    prefill_resumes: body.prefill_resumes,
                    idempotency_key: key,
                    ..StartPlay::default()
                })
                .await?;
            Ok(json_answer(StatusCode::CREATED, &json!(play)))
        }
        Route::Signal { sid, name } => {
            let payload = body_json(request).await?;
            let event = engine.play_signal(&sid, &name, payload).await?;
            Ok(json_answer(StatusCode::ACCEPTED, &json!(event)))
        }
        Route::GetPlay { sid } => Ok(json_answer(StatusCode::OK, &json!(engine.play_get(&sid)?))),
    }
}

/// `POST /v1/workflows/{name}/plays`'s body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartBody {
    #[serde(default)]
    input_data: Option<Value>,
    #[serde(default)]
    prefill_resumes: Option<JsonMap>,
}

/// Checks `Authorization: Bearer KEY`; the key's id. Whatever is wrong
/// (no header, another scheme, an unknown or revoked key) gets the same
/// `401`.
fn authorize(engine: &Engine, request: &Request<Incoming>) -> Result<String, HttpError> {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, key) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| key.trim())
        })
        .ok_or_else(HttpError::unauthorized)?;
    engine
        .http_key_check(presented)?
        .ok_or_else(HttpError::unauthorized)
}

fn idempotency_key(request: &Request<Incoming>) -> Result<Option<String>, HttpError> {
    request
        .headers()
        .get("idempotency-key")
        .map(|v| {
            v.to_str().map(str::to_owned).map_err(|_| {
                HttpError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_params",
                    "the Idempotency-Key header is not plain text",
                )
            })
        })
        .transpose()
}

/// The request's body as JSON: at most [`MAX_BODY`] bytes, all in within
/// [`BODY_TIMEOUT`].
async fn body_json(request: Request<Incoming>) -> Result<Value, HttpError> {
    let too_large = || {
        HttpError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the body is over the limit of {} KiB", MAX_BODY >> 10),
        )
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(too_large());
    }
    let body = Limited::new(request.into_body(), MAX_BODY);
    let bytes = match tokio::time::timeout(BODY_TIMEOUT, body.collect()).await {
        Err(_) => {
            return Err(HttpError::new(
                StatusCode::REQUEST_TIMEOUT,
                "timeout",
                format!(
                    "the body did not arrive within {} s",
                    BODY_TIMEOUT.as_secs()
                ),
            ));
        }
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => return Err(too_large()),
        Ok(Err(_)) => {
            return Err(HttpError::new(
                StatusCode::BAD_REQUEST,
                "bad_body",
                "the body could not be read",
            ));
        }
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    serde_json::from_slice(&bytes).map_err(|e| {
        HttpError::new(
            StatusCode::BAD_REQUEST,
            "bad_json",
            format!("the body is not JSON: {e}"),
        )
        .hint("send the payload as JSON, e.g. '{\"approved\": true}' or 'true'")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_route_by_shape() {
        assert!(matches!(
            Route::parse("/v1/resume/abc"),
            Ok((Route::Resume { token }, Method::POST)) if token == "abc"
        ));
        assert!(matches!(
            Route::parse("/v1/workflows/my%20flow/plays"),
            Ok((Route::StartPlay { workflow }, Method::POST)) if workflow == "my flow"
        ));
        assert!(matches!(
            Route::parse("/v1/plays/p1/signals/paid"),
            Ok((Route::Signal { sid, name }, Method::POST)) if sid == "p1" && name == "paid"
        ));
        assert!(matches!(
            Route::parse("/v1/plays/p1"),
            Ok((Route::GetPlay { sid }, Method::GET)) if sid == "p1"
        ));
        for bad in ["/", "/v1", "/v1/resume", "/v1/resume/a/b", "/v2/plays/p"] {
            assert!(
                matches!(Route::parse(bad), Err(e) if e.status == StatusCode::NOT_FOUND),
                "{bad}"
            );
        }
        assert!(matches!(
            Route::parse("/v1/plays/%ff"),
            Err(e) if e.status == StatusCode::BAD_REQUEST
        ));
    }

    #[test]
    fn engine_errors_map_to_their_status() {
        let cases = [
            (EngineError::NotFound("x".into()), 404),
            (EngineError::WrongState("x".into()), 409),
            (EngineError::SchemaViolation(vec!["v".into()]), 422),
            (EngineError::InvalidParams("x".into()), 400),
            (EngineError::Internal("x".into()), 500),
            (EngineError::NotFound("x".into()).with_hint("h"), 404),
        ];
        for (error, status) in cases {
            assert_eq!(HttpError::from(error).status.as_u16(), status);
        }
    }
}
