//! Response bodies in OneLogin's three shapes, and lenient readers for request bodies.

use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A handler's answer.
pub(crate) type Reply = Result<Response, ApiError>;

/// An error answer in one of OneLogin's shapes.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum ApiError {
    /// `{"status":{"error":true,"code":…,"type":…,"message":…}}`.
    #[error("{code} {message}")]
    V1 { code: u16, message: String },
    /// `{"statusCode":…,"name":…,"message":…}`.
    #[error("{code} {name}: {message}")]
    V2 {
        code: u16,
        name: &'static str,
        message: String,
    },
    /// 422 ValidationError naming the offending parameter.
    #[error("422 invalid parameter {0}")]
    Validation(String),
    /// `{"error":true,"code":…,"type":…,"message":…}` (token endpoint).
    #[error("{code} {message}")]
    Flat { code: u16, message: String },
}

impl ApiError {
    /// The status code and the JSON body, in the error's shape.
    pub(crate) fn parts(&self) -> (u16, Value) {
        match self {
            ApiError::V1 { code, message } => (
                *code,
                json!({"status": {"error": true, "code": code, "type": v1_type(*code), "message": message}}),
            ),
            ApiError::V2 {
                code,
                name,
                message,
            } => (
                *code,
                json!({"statusCode": code, "name": name, "message": message}),
            ),
            ApiError::Validation(param) => (
                422,
                json!({"statusCode": 422, "name": "ValidationError", "message": "Validations failed",
                    "details": {"parameters": [param]}}),
            ),
            ApiError::Flat { code, message } => (
                *code,
                json!({"error": true, "code": code, "type": v1_type(*code), "message": message}),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (code, body) = self.parts();
        json_status(code, &body)
    }
}

/// A JSON response with `status`.
pub(crate) fn json_status(code: u16, body: &Value) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    resp
}

/// A 200 JSON response.
pub(crate) fn ok(body: &Value) -> Response {
    json_status(200, body)
}

/// The `status.type` OneLogin uses for an HTTP status.
fn v1_type(code: u16) -> &'static str {
    match code {
        200 => "success",
        400 => "bad request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "not found",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        429 => "Too Many Requests",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    }
}

/// A v1 envelope success, with `data` when given.
pub(crate) fn v1_ok(message: &str, data: Option<Value>) -> Response {
    let mut body =
        json!({"status": {"error": false, "code": 200, "type": "success", "message": message}});
    if let Some(d) = data {
        body["data"] = d;
    }
    ok(&body)
}

/// A v1 envelope error.
pub(crate) fn v1_err(code: u16, message: &str) -> ApiError {
    ApiError::V1 {
        code,
        message: message.to_string(),
    }
}

/// A v2 error (`statusCode`, `name`, `message`).
pub(crate) fn v2_err(code: u16, name: &'static str, message: &str) -> ApiError {
    ApiError::V2 {
        code,
        name,
        message: message.to_string(),
    }
}

/// The flat error shape the token endpoint uses.
pub(crate) fn flat_err(code: u16, message: &str) -> ApiError {
    ApiError::Flat {
        code,
        message: message.to_string(),
    }
}

/// Parses a JSON request body; an empty body is an empty object.
pub(crate) fn body_json(bytes: &Bytes) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(v1_err(400, "Request body must be a JSON object")),
    }
}

/// A field read leniently: absent/null → None; wrong type → Err.
pub(crate) fn field_i64(body: &Value, key: &str) -> Result<Option<i64>, ()> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or(()),
        Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| ()),
        Some(_) => Err(()),
    }
}

/// A boolean field read leniently (`true`, `"true"`, 1).
pub(crate) fn field_bool(body: &Value, key: &str) -> Result<Option<bool>, ()> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) => match s.as_str() {
            "true" | "1" => Ok(Some(true)),
            "false" | "0" => Ok(Some(false)),
            _ => Err(()),
        },
        Some(Value::Number(n)) => Ok(Some(n.as_i64() != Some(0))),
        Some(_) => Err(()),
    }
}

/// A string field; empty or whitespace-only counts as absent.
pub(crate) fn field_str(body: &Value, key: &str) -> Option<String> {
    match body.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}
