//! Why an operation did not happen, with the exit status and JSON kind the commands report.

use crate::api::{ApiError, ErrorKind};

/// A refusal by mfadesk itself, before anything was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The profile or `--read-only` forbids changes.
    ReadOnly,
    /// The profile requires a reason and none was given.
    MissingReason,
    /// The profile requires a recent caller check and there is none.
    MissingCallerCheck,
    /// A terminal confirmation was declined, or there was no terminal and no `--yes`.
    NotConfirmed,
    /// The audit trail cannot be written, so the change is not sent.
    AuditUnavailable,
}

impl Refusal {
    /// A short machine name for JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            Refusal::ReadOnly => "read_only",
            Refusal::MissingReason => "missing_reason",
            Refusal::MissingCallerCheck => "missing_caller_check",
            Refusal::NotConfirmed => "not_confirmed",
            Refusal::AuditUnavailable => "audit_unavailable",
        }
    }
}

/// A user or device the agent could have meant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CandidateLine {
    /// The id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The user's email, for users.
    pub email: Option<String>,
}

/// Why an operation failed or was refused.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// The API call failed.
    #[error("{0}")]
    Api(ApiError),
    /// No user or device matches.
    #[error("{0}")]
    NotFound(String),
    /// More than one user or device matches; nothing was changed.
    #[error("{message}")]
    Ambiguous {
        /// What was asked and the candidates, in words.
        message: String,
        /// The candidates.
        candidates: Vec<CandidateLine>,
    },
    /// mfadesk refused before sending anything.
    #[error("{message}")]
    Refused {
        /// Which rule refused.
        refusal: Refusal,
        /// What to do about it.
        message: String,
    },
    /// The caller check or verification failed: wrong code, push denied, expired.
    #[error("{0}")]
    CheckFailed(String, Option<ApiError>),
    /// Bad input on the command line.
    #[error("{0}")]
    Usage(String),
    /// The configuration (profile, credentials, base URL, audit path) is unusable.
    #[error("{0}")]
    Config(String),
}

impl OpsError {
    /// A refusal with its message.
    pub fn refused(refusal: Refusal, message: impl Into<String>) -> Self {
        OpsError::Refused {
            refusal,
            message: message.into(),
        }
    }

    /// The exit status the commands use: 1 API, 2 usage, 3 not found, 4 refused, 5 rate
    /// limited, 6 check failed.
    pub fn exit_status(&self) -> u8 {
        match self {
            OpsError::Api(e) => match e.kind {
                ErrorKind::RateLimited { .. } => 5,
                ErrorKind::NotFound => 3,
                ErrorKind::WrongCode | ErrorKind::PushDenied | ErrorKind::ExpiredStateToken => 6,
                ErrorKind::Config => 2,
                _ => 1,
            },
            OpsError::NotFound(_) | OpsError::Ambiguous { .. } => 3,
            OpsError::Refused { .. } => 4,
            OpsError::CheckFailed(..) => 6,
            OpsError::Usage(_) | OpsError::Config(_) => 2,
        }
    }

    /// The JSON `kind` of the error.
    pub fn kind(&self) -> &'static str {
        match self {
            OpsError::Api(e) => match e.kind {
                ErrorKind::RateLimited { .. } => "rate_limited",
                ErrorKind::NotFound => "not_found",
                ErrorKind::WrongCode => "wrong_code",
                ErrorKind::PushDenied => "push_denied",
                ErrorKind::ExpiredStateToken => "expired",
                ErrorKind::Config => "config",
                ErrorKind::Unauthorized => "unauthorized",
                ErrorKind::InsufficientPermission => "insufficient_permission",
                ErrorKind::Network => "network",
                ErrorKind::Timeout => "timeout",
                ErrorKind::Server => "server",
                ErrorKind::NotLocked => "not_locked",
                _ => "api",
            },
            OpsError::NotFound(_) => "not_found",
            OpsError::Ambiguous { .. } => "ambiguous",
            OpsError::Refused { refusal, .. } => refusal.as_str(),
            OpsError::CheckFailed(_, Some(e)) => OpsError::Api(e.clone()).kind(),
            OpsError::CheckFailed(_, None) => "check_failed",
            OpsError::Usage(_) => "usage",
            OpsError::Config(_) => "config",
        }
    }

    /// The API error behind this one, when there is one (for status and request id).
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            OpsError::Api(e) | OpsError::CheckFailed(_, Some(e)) => Some(e),
            _ => None,
        }
    }
}

impl From<ApiError> for OpsError {
    fn from(e: ApiError) -> Self {
        match e.kind {
            ErrorKind::WrongCode | ErrorKind::PushDenied | ErrorKind::ExpiredStateToken => {
                OpsError::CheckFailed(e.to_string(), Some(e))
            }
            ErrorKind::RateLimited { reset_secs } => {
                let when = match reset_secs {
                    Some(s) => format!("; the budget resets in {}m {:02}s", s / 60, s % 60),
                    None => "; the reset time was not given".to_owned(),
                };
                let mut e = e;
                e.message = format!("{}{when}", e.message);
                OpsError::Api(e)
            }
            _ => OpsError::Api(e),
        }
    }
}
