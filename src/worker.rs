//! The background task that owns the API client: requests in, results out, over channels.

use std::collections::HashMap;

use futures::future::join_all;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use crate::api::{
    ApiError, AuthFactor, Client, DeviceId, Enrollment, MfaToken, MfaVersion, OtpDevice, RateLimit,
    Registration, ResponseMeta, Secret, TriggerResult, User, UserId, UserQuery, VerifyOutcome,
    with_meta,
};
use crate::api::{EventBatch, EventQuery};
use crate::mfa_api;
use chrono::{DateTime, Utc};

/// Tags a request so its result can be matched (and dropped when stale).
pub type RequestId = u64;

/// A call the console asks the worker to make.
#[derive(Clone, Debug, PartialEq)]
pub enum ApiRequest {
    /// Run several user queries, merge and de-duplicate the results.
    Search(Vec<UserQuery>),
    /// Fetch one user.
    GetUser(UserId),
    /// Fetch a user's enrolled devices.
    GetDevices(UserId),
    /// Fetch the factors a user can still enroll.
    GetFactors(UserId),
    /// Enroll a factor: a v1 phone, or any v2 factor (a registration).
    Enroll {
        /// The user.
        user_id: UserId,
        /// The factor to enroll.
        factor_id: i64,
        /// The user's name for the device.
        display_name: String,
        /// E.164 phone number (SMS and voice; empty for the other factors).
        number: String,
        /// True when the number (or address) is already verified.
        verified: bool,
    },
    /// Check a v2 registration's first code (authenticator, SMS, voice, email).
    VerifyRegistration {
        /// The user.
        user_id: UserId,
        /// The registration.
        registration_id: String,
        /// The code the user's app shows or the user read out.
        otp: Secret,
    },
    /// Poll a v2 registration (Protect waiting for the app's acceptance).
    PollRegistration {
        /// The user.
        user_id: UserId,
        /// The registration.
        registration_id: String,
    },
    /// Trigger an SMS, call or push.
    Trigger {
        /// The user.
        user_id: UserId,
        /// The device.
        device_id: DeviceId,
        /// Seconds the state token lives (120–900).
        expires_in: Option<u32>,
        /// Six-digit numeric SMS code instead of alphanumeric.
        numeric: Option<bool>,
        /// SMS template.
        sms_message: Option<String>,
    },
    /// Verify a code, or poll a push when `otp` is None.
    Verify {
        /// The user.
        user_id: UserId,
        /// The device.
        device_id: DeviceId,
        /// The verification handle from the trigger: a v1 state token or a v2 verification id.
        state_token: Option<Secret>,
        /// The code the user read out.
        otp: Option<Secret>,
    },
    /// Remove a device.
    Remove {
        /// The user.
        user_id: UserId,
        /// The device.
        device_id: DeviceId,
    },
    /// Issue a temporary MFA token.
    MfaToken {
        /// The user.
        user_id: UserId,
        /// Lifetime in seconds.
        expires_in: u32,
        /// Usable more than once.
        reusable: bool,
    },
    /// Read the API budget.
    RateLimit,
    /// Unlock a user (`POST /api/2/users/{id}/unlock`).
    Unlock(UserId),
    /// Sign a user out everywhere (`PUT /api/1/users/{id}/logout`).
    Logout(UserId),
    /// Lock a user for `minutes` (0: the policy's period).
    Lock {
        /// The user.
        user_id: UserId,
        /// Minutes: 15, 60, 240, or 0 for the policy's period.
        minutes: u32,
    },
    /// Read a user's events in a time range, with the event type names.
    GetEvents {
        /// The user.
        user_id: UserId,
        /// From this time.
        since: DateTime<Utc>,
        /// Up to this time (None: now).
        until: Option<DateTime<Utc>>,
    },
}

/// Merged results of a multi-query search, with the queries that have more pages.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SearchResult {
    /// Users, de-duplicated by id, in first-seen order.
    pub users: Vec<User>,
    /// The queries to run for the next page (each carrying its After-Cursor).
    pub next: Vec<UserQuery>,
    /// The largest Total-Count any query reported.
    pub total: Option<u64>,
}

/// The result of one request.
#[derive(Clone, Debug)]
pub enum ApiResponse {
    /// Search results.
    Search(Result<SearchResult, ApiError>),
    /// One user.
    User(Result<User, ApiError>),
    /// Enrolled devices.
    Devices(Result<Vec<OtpDevice>, ApiError>),
    /// Available factors.
    Factors(Result<Vec<AuthFactor>, ApiError>),
    /// The enrolled device, or a v2 registration waiting for the user.
    Enrolled(Result<Enrollment, ApiError>),
    /// A v2 registration after a code or a poll.
    Registration(Result<Registration, ApiError>),
    /// A trigger's state token.
    Triggered(Result<TriggerResult, ApiError>),
    /// A verify outcome.
    Verified(Result<VerifyOutcome, ApiError>),
    /// A removal.
    Removed(Result<(), ApiError>),
    /// A temporary token.
    MfaToken(Result<MfaToken, ApiError>),
    /// The API budget.
    RateLimit(Result<RateLimit, ApiError>),
    /// An account action (unlock, sign out, lock) was accepted or refused.
    Account(Result<(), ApiError>),
    /// A user's events.
    Events(Result<EventBatch, ApiError>),
}

impl ApiResponse {
    /// The error, when the call failed.
    pub fn error(&self) -> Option<&ApiError> {
        match self {
            ApiResponse::Search(Err(e))
            | ApiResponse::User(Err(e))
            | ApiResponse::Devices(Err(e))
            | ApiResponse::Factors(Err(e))
            | ApiResponse::Enrolled(Err(e))
            | ApiResponse::Registration(Err(e))
            | ApiResponse::Triggered(Err(e))
            | ApiResponse::Verified(Err(e))
            | ApiResponse::Removed(Err(e))
            | ApiResponse::MfaToken(Err(e))
            | ApiResponse::RateLimit(Err(e))
            | ApiResponse::Account(Err(e)) => Some(e),
            ApiResponse::Events(Err(e)) => Some(e),
            _ => None,
        }
    }
}

impl ApiRequest {
    /// What the call does, for the log (no ids beyond the user's, no secrets).
    pub fn name(&self) -> &'static str {
        match self {
            ApiRequest::Search(_) => "search users",
            ApiRequest::GetUser(_) => "get user",
            ApiRequest::GetDevices(_) => "list devices",
            ApiRequest::GetFactors(_) => "list factors",
            ApiRequest::Enroll { .. } => "enroll",
            ApiRequest::VerifyRegistration { .. } => "verify registration",
            ApiRequest::PollRegistration { .. } => "poll registration",
            ApiRequest::Trigger { .. } => "trigger",
            ApiRequest::Verify { .. } => "verify",
            ApiRequest::Remove { .. } => "remove",
            ApiRequest::MfaToken { .. } => "temporary token",
            ApiRequest::RateLimit => "rate limit",
            ApiRequest::Unlock(_) => "unlock",
            ApiRequest::Logout(_) => "sign out",
            ApiRequest::Lock { .. } => "lock",
            ApiRequest::GetEvents { .. } => "events",
        }
    }
}

/// Writes the final error of a failed call to the log (its retries are logged by the client).
pub fn log_failure(call: &str, response: &ApiResponse) {
    let Some(e) = response.error() else { return };
    if e.kind == crate::api::ErrorKind::Cancelled {
        return;
    }
    // The message is already scrubbed of what the call sent; the log redacts again.
    tracing::warn!(
        call,
        kind = ?e.kind,
        status = ?e.status,
        request_id = ?e.request_id,
        "call failed: {}",
        e.message
    );
}

/// A finished request, with the budget the API reported after it.
#[derive(Clone, Debug)]
pub struct ApiEvent {
    /// The request's tag.
    pub id: RequestId,
    /// What came back.
    pub response: ApiResponse,
    /// The latest X-RateLimit-* headers.
    pub rate_limit: Option<RateLimit>,
    /// Status and request id of the answer (for the audit trail).
    pub meta: ResponseMeta,
    /// The MFA API the session speaks, once known.
    pub mfa_api: Option<MfaVersion>,
}

/// What the console sends the worker.
#[derive(Clone, Debug)]
pub enum WorkerMsg {
    /// Start a request.
    Request(RequestId, ApiRequest),
    /// Abandon a request: its call is dropped and no event comes back.
    Cancel(RequestId),
}

/// Starts the worker on the current tokio runtime; it stops when the sender is dropped.
pub fn spawn(
    client: Client,
) -> (
    mpsc::UnboundedSender<WorkerMsg>,
    mpsc::UnboundedReceiver<ApiEvent>,
) {
    let (req_tx, req_rx) = mpsc::unbounded_channel();
    let (ev_tx, ev_rx) = mpsc::unbounded_channel();
    tokio::spawn(run(client, req_rx, ev_tx));
    (req_tx, ev_rx)
}

async fn run(
    client: Client,
    mut requests: mpsc::UnboundedReceiver<WorkerMsg>,
    events: mpsc::UnboundedSender<ApiEvent>,
) {
    let mut in_flight: HashMap<RequestId, AbortHandle> = HashMap::new();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<RequestId>();
    loop {
        tokio::select! {
            msg = requests.recv() => match msg {
                Some(WorkerMsg::Request(id, request)) => {
                    let client = client.clone();
                    let events = events.clone();
                    let done = done_tx.clone();
                    let task = tokio::spawn(async move {
                        let call = request.name();
                        let (response, meta) = with_meta(execute(&client, request)).await;
                        log_failure(call, &response);
                        let rate_limit = client.rate_limit();
                        let mfa_api = client.mfa_version();
                        // The console may have quit; nothing to do then.
                        let _ = events.send(ApiEvent { id, response, rate_limit, meta, mfa_api });
                        let _ = done.send(id);
                    });
                    in_flight.insert(id, task.abort_handle());
                }
                Some(WorkerMsg::Cancel(id)) => {
                    if let Some(handle) = in_flight.remove(&id) {
                        handle.abort();
                    }
                }
                None => break,
            },
            Some(id) = done_rx.recv() => {
                in_flight.remove(&id);
            }
        }
    }
    for handle in in_flight.values() {
        handle.abort();
    }
}

/// Runs one request against the client: the single seam between mfadesk and the API. MFA
/// calls go through [`mfa_api::execute`], which picks v1 or v2.
pub async fn execute(client: &Client, request: ApiRequest) -> ApiResponse {
    match request {
        ApiRequest::Search(_)
        | ApiRequest::GetUser(_)
        | ApiRequest::RateLimit
        | ApiRequest::Unlock(_)
        | ApiRequest::Logout(_)
        | ApiRequest::Lock { .. }
        | ApiRequest::GetEvents { .. } => execute_plain(client, request).await,
        mfa => mfa_api::execute(client, mfa).await,
    }
}

/// The calls that are the same on both MFA APIs (users, budget).
pub(crate) async fn execute_plain(client: &Client, request: ApiRequest) -> ApiResponse {
    match request {
        ApiRequest::Search(queries) => ApiResponse::Search(search(client, &queries).await),
        ApiRequest::GetUser(id) => ApiResponse::User(client.get_user(id).await),
        ApiRequest::RateLimit => ApiResponse::RateLimit(client.get_rate_limit().await),
        ApiRequest::Unlock(id) => ApiResponse::Account(client.unlock_user(id).await),
        ApiRequest::Logout(id) => ApiResponse::Account(client.logout_user(id).await),
        ApiRequest::Lock { user_id, minutes } => {
            ApiResponse::Account(client.lock_user(user_id, minutes).await)
        }
        ApiRequest::GetEvents {
            user_id,
            since,
            until,
        } => ApiResponse::Events(user_events(client, user_id, since, until).await),
        // MFA calls are dispatched by `mfa_api`, never here.
        mfa => mfa_api::failed(
            &mfa,
            ApiError::new(crate::api::ErrorKind::Config, "not a user or budget call"),
        ),
    }
}

/// A user's events and the type names, read concurrently (the names only once a session).
async fn user_events(
    client: &Client,
    user_id: UserId,
    since: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
) -> Result<EventBatch, ApiError> {
    let query = EventQuery {
        user_id: Some(user_id),
        since: Some(since),
        until,
        ..EventQuery::default()
    };
    let (events, types) = tokio::join!(
        client.get_events(&query, crate::api::events::EVENTS_MAX_PAGES),
        client.event_types()
    );
    // Without the names the events still read, as `event <id>`.
    let types = types.unwrap_or_else(|e| {
        tracing::info!("event type names unavailable: {}", e.message);
        Default::default()
    });
    Ok(EventBatch {
        events: events?,
        types,
    })
}

/// Runs every query at once and merges the pages, de-duplicated by user id.
async fn search(client: &Client, queries: &[UserQuery]) -> Result<SearchResult, ApiError> {
    let pages = join_all(queries.iter().map(|q| client.search_users(q))).await;
    let mut result = SearchResult::default();
    let mut first_error = None;
    let mut any_ok = false;
    for (query, page) in queries.iter().zip(pages) {
        match page {
            Ok(page) => {
                any_ok = true;
                result.total = result.total.max(page.total_count);
                for user in page.users {
                    if !result.users.iter().any(|u| u.id == user.id) {
                        result.users.push(user);
                    }
                }
                if let Some(cursor) = page.after_cursor {
                    result.next.push(UserQuery {
                        cursor: Some(cursor),
                        ..query.clone()
                    });
                }
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    // A merged search has no single total (the largest would read "11 of 8"), but when no
    // query has another page the merged, de-duplicated list is the exact count.
    if queries.len() > 1 {
        result.total = result.next.is_empty().then_some(result.users.len() as u64);
    }
    // One failed query fails the search: a partial list would look complete.
    match first_error {
        Some(e) if !any_ok || e.kind != crate::api::ErrorKind::NotFound => Err(e),
        _ => Ok(result),
    }
}
