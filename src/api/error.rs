//! One error type for every failed API call.

use std::fmt;

/// What went wrong, in terms the UI can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad or expired credentials or access token (401 "Authentication Failure").
    Unauthorized,
    /// The credential's scope does not allow this call (401 "Insufficient Permission").
    InsufficientPermission,
    /// The user, device or route does not exist.
    NotFound,
    /// The request was rejected as invalid (400/422).
    BadRequest,
    /// The state token expired or was already used: trigger again.
    ExpiredStateToken,
    /// The one-time code was wrong.
    WrongCode,
    /// The user denied the push notification.
    PushDenied,
    /// The hourly budget is spent; `reset_secs` says when it comes back.
    RateLimited {
        /// Seconds until calls are allowed again, if known.
        reset_secs: Option<u64>,
    },
    /// The server failed (5xx).
    Server,
    /// The connection failed or was reset.
    Network,
    /// No answer in time.
    Timeout,
    /// The answer could not be decoded.
    MalformedResponse,
    /// The client was configured wrongly (bad base URL, plain http to a remote host).
    Config,
    /// The caller gave up on the call.
    Cancelled,
    /// Not sent: the audit trail could not record the attempt.
    AuditUnavailable,
    /// Unlock answered `User cannot be unlocked`: the user is not locked.
    NotLocked,
}

/// A failed API call: kind, HTTP status, OneLogin's message and the request id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// What kind of failure this is.
    pub kind: ErrorKind,
    /// The HTTP status, when there was a response.
    pub status: Option<u16>,
    /// OneLogin's message, or a description of the failure (never a secret).
    pub message: String,
    /// The X-Request-Id of the response, when there was one.
    pub request_id: Option<String>,
}

impl ApiError {
    /// An error without an HTTP response.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            status: None,
            message: message.into(),
            request_id: None,
        }
    }

    /// A short title for the kind, for dialog headings.
    pub fn title(&self) -> &'static str {
        match self.kind {
            ErrorKind::Unauthorized => "Not authorised",
            ErrorKind::InsufficientPermission => "Insufficient permission",
            ErrorKind::NotFound => "Not found",
            ErrorKind::BadRequest => "Request rejected",
            ErrorKind::ExpiredStateToken => "Verification expired",
            ErrorKind::WrongCode => "Wrong code",
            ErrorKind::PushDenied => "Push denied",
            ErrorKind::RateLimited { .. } => "Rate limited",
            ErrorKind::Server => "Server error",
            ErrorKind::Network => "Network error",
            ErrorKind::Timeout => "Timed out",
            ErrorKind::MalformedResponse => "Unexpected response",
            ErrorKind::Config => "Configuration error",
            ErrorKind::Cancelled => "Cancelled",
            ErrorKind::AuditUnavailable => "Audit trail cannot be written",
            ErrorKind::NotLocked => "Not locked",
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.title())?;
        if let Some(status) = self.status {
            write!(f, " (HTTP {status})")?;
        }
        write!(f, ": {}", self.message)?;
        if let ErrorKind::RateLimited {
            reset_secs: Some(s),
        } = self.kind
        {
            write!(f, " · the API budget resets in {}:{:02}", s / 60, s % 60)?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request {id}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}
