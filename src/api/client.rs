//! The OneLogin client: connection pool, token cache, and the request helper every call uses.
//!
//! The typed calls live in `mfa.rs` and `users.rs`; this file owns how a request is sent:
//! bearer token (fetched once, shared), one refresh-and-retry on a rejected token, rate-limit
//! headers, request ids, error decoding and the GET-only retry loop.

use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{ACCEPT, HeaderMap, RETRY_AFTER};
use serde_json::Value;
use url::{Host, Url};

use super::auth::TokenCache;
use super::error::{ApiError, ErrorKind};
use super::retry::RetryPolicy;
use super::secret::Secret;
use super::types::*;
use super::wire::{self, Endpoint, TokenGrant};

/// API credentials: client id and secret.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// The API credential's client id.
    pub client_id: String,
    /// The API credential's client secret.
    pub client_secret: Secret,
}

/// How to reach and authenticate against a tenant.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Base URL, e.g. `https://acme.onelogin.com` (see [`parse_base_url`]).
    pub base_url: String,
    /// Credentials for the token endpoint.
    pub credentials: Credentials,
    /// TCP connect timeout (default 5 s).
    pub connect_timeout: Duration,
    /// Whole-request timeout (default 30 s).
    pub request_timeout: Duration,
    /// Retries for idempotent GETs (default 3 attempts, 200 ms base, 5 s cap).
    pub retry: RetryPolicy,
    /// Which MFA API to speak (default auto: v2 unless the credential may not).
    pub mfa_api: MfaApiChoice,
}

impl ClientConfig {
    /// A config with the default timeouts.
    pub fn new(base_url: impl Into<String>, credentials: Credentials) -> Self {
        Self {
            base_url: base_url.into(),
            credentials,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            mfa_api: MfaApiChoice::Auto,
        }
    }
}

/// The Config error every base-URL problem becomes.
fn config_error(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::Config, message)
}

/// True for hosts that never leave the machine, where plain http is acceptable.
fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => IpAddr::V4(*ip).is_loopback(),
        Host::Ipv6(ip) => IpAddr::V6(*ip).is_loopback(),
    }
}

/// True for a DNS label: letters, digits and inner hyphens, at most 63 characters.
fn is_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Turns a full URL or a bare subdomain into a base URL; https is required except on loopback.
///
/// `acme` → `https://acme.onelogin.com`; `acme.onelogin.com` → `https://acme.onelogin.com`;
/// `https://api.us.onelogin.com/anything/` → `https://api.us.onelogin.com`. Messages never echo
/// the input, since a pasted URL may carry a password.
pub fn parse_base_url(input: &str) -> Result<String, ApiError> {
    let input = input.trim();
    if input.is_empty() {
        return Err(config_error(
            "the tenant is empty: give a subdomain such as \"acme\" or a URL such as https://acme.onelogin.com",
        ));
    }
    let candidate = if input.contains("://") {
        input.to_owned()
    } else if is_subdomain(input) {
        format!("https://{}.onelogin.com", input.to_ascii_lowercase())
    } else if input.contains(['.', ':', '[']) {
        // A host name without a scheme: https is the only safe default.
        format!("https://{input}")
    } else {
        return Err(config_error(
            "the tenant is neither a subdomain (letters, digits and hyphens) nor a URL",
        ));
    };
    let url = Url::parse(&candidate)
        .map_err(|e| config_error(format!("the tenant URL is not valid ({e})")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(config_error(
            "the tenant URL must not contain a user name or password",
        ));
    }
    let host = url
        .host()
        .ok_or_else(|| config_error("the tenant URL has no host"))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&host) => {}
        "http" => {
            return Err(config_error(format!(
                "plain http is only allowed to this machine; use https://{host}"
            )));
        }
        other => {
            return Err(config_error(format!(
                "the tenant URL must use https, not {other}"
            )));
        }
    }
    Ok(url.origin().ascii_serialization())
}

/// A OneLogin API client; cheap to clone (one shared connection pool and token cache).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

/// What every clone shares.
struct Inner {
    http: reqwest::Client,
    base: Url,
    base_str: String,
    credentials: Credentials,
    retry: RetryPolicy,
    request_timeout: Duration,
    tokens: TokenCache,
    rate_limit: StdMutex<Option<RateLimit>>,
    mfa_api: MfaApiChoice,
    /// The MFA API this session settled on; None while `auto` has not asked yet.
    mfa_version: StdMutex<Option<MfaVersion>>,
    /// The tenant's event type names, read once per session.
    event_types: tokio::sync::OnceCell<Arc<super::events::EventTypes>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Deliberately leaves out the credentials and the token cache.
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_str)
            .field("client_id", &self.inner.credentials.client_id)
            .finish_non_exhaustive()
    }
}

/// One request to make: which call, method, URL, query and JSON body.
pub(crate) struct Call {
    endpoint: Endpoint,
    method: Method,
    url: Url,
    query: Vec<(&'static str, String)>,
    body: Option<Value>,
    /// Values sent in this request that must be scrubbed from any error message.
    sensitive: Vec<Secret>,
}

impl Call {
    /// A request without a body.
    pub(crate) fn new(endpoint: Endpoint, method: Method, url: Url) -> Self {
        Self {
            endpoint,
            method,
            url,
            query: Vec::new(),
            body: None,
            sensitive: Vec::new(),
        }
    }

    /// Adds a JSON body.
    pub(crate) fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    /// Adds query parameters.
    pub(crate) fn query(mut self, query: Vec<(&'static str, String)>) -> Self {
        self.query = query;
        self
    }

    /// Marks values that must never appear in an error message.
    pub(crate) fn sensitive(mut self, secrets: Vec<Secret>) -> Self {
        // Defence in depth: the log redacts these even if one slips into a message.
        for s in &secrets {
            crate::logging::register_secret(s.expose());
        }
        self.sensitive = secrets;
        self
    }
}

/// A response, read in full.
pub(crate) struct Reply {
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
    status: u16,
    request_id: Option<String>,
}

impl Reply {
    /// Runs a decoder, stamping its errors with this response's status and request id.
    pub(crate) fn decode<T>(
        &self,
        decoder: impl FnOnce(&[u8]) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        decoder(&self.body).map_err(|mut e| {
            // An error envelope under 2xx carries the server's text too.
            e.message = crate::logging::redact(&e.message);
            e.status.get_or_insert(self.status);
            if e.request_id.is_none() {
                e.request_id.clone_from(&self.request_id);
            }
            e
        })
    }

    /// True for a 2xx status.
    fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A header as text, if present and non-empty.
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        header_text(&self.headers, name)
    }
}

/// A header as trimmed text, if present, valid and non-empty.
fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)?
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A header as a non-negative integer.
fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    header_text(headers, name)?.parse().ok()
}

/// The X-RateLimit-* headers, when any is present.
fn rate_limit_headers(headers: &HeaderMap) -> Option<RateLimit> {
    let limit = RateLimit {
        limit: header_u64(headers, "x-ratelimit-limit"),
        remaining: header_u64(headers, "x-ratelimit-remaining"),
        reset_secs: header_u64(headers, "x-ratelimit-reset"),
    };
    (limit != RateLimit::default()).then_some(limit)
}

/// Seconds to wait from a 429: Retry-After (seconds or HTTP date), else X-RateLimit-Reset.
fn retry_after_secs(headers: &HeaderMap) -> Option<u64> {
    let from_retry_after = header_text(headers, RETRY_AFTER.as_str()).and_then(|v| {
        v.parse::<u64>().ok().or_else(|| {
            let when = chrono::DateTime::parse_from_rfc2822(&v).ok()?;
            let secs = (when.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds();
            Some(u64::try_from(secs).unwrap_or(0))
        })
    });
    from_retry_after.or_else(|| header_u64(headers, "x-ratelimit-reset"))
}

/// Replaces every sensitive value in an error message with `***`, then applies the log's
/// redaction (registered secrets, their Basic form, whatever follows `Basic `/`Bearer `).
fn scrub(mut err: ApiError, secrets: &[&str]) -> ApiError {
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        if err.message.contains(secret) {
            err.message = err.message.replace(secret, "***");
        }
    }
    err.message = crate::logging::redact(&err.message);
    err
}

/// The innermost cause of a transport error: the useful part ("Connection refused").
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut current = err;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

/// Maps a transport failure to an error that names no URL and no secret.
fn transport_error(err: reqwest::Error, request_timeout: Duration) -> ApiError {
    let err = err.without_url();
    if err.is_timeout() {
        ApiError::new(
            ErrorKind::Timeout,
            format!(
                "no answer from the tenant within {} s",
                request_timeout.as_secs_f32()
            ),
        )
    } else if err.is_connect() {
        ApiError::new(
            ErrorKind::Network,
            format!("could not connect to the tenant: {}", root_cause(&err)),
        )
    } else if err.is_decode() {
        ApiError::new(
            ErrorKind::MalformedResponse,
            "the response could not be read",
        )
    } else {
        ApiError::new(
            ErrorKind::Network,
            format!("the connection failed: {}", root_cause(&err)),
        )
    }
}

/// The most characters of an X-Request-Id kept.
const REQUEST_ID_LIMIT: usize = 128;

/// The largest response body read (8 MiB): no OneLogin answer comes near it, and an endless
/// body must not grow the console without bound.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// The error an oversized body becomes.
fn too_large() -> ApiError {
    ApiError::new(ErrorKind::MalformedResponse, "response too large")
}

/// Reads the body chunk by chunk, giving up as soon as it passes [`MAX_BODY_BYTES`] (or its
/// Content-Length says it will).
async fn read_capped(
    mut response: reqwest::Response,
    timeout: Duration,
) -> Result<Vec<u8>, ApiError> {
    let declared = response.content_length();
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    let mut body = Vec::with_capacity(declared.map_or(0, |n| n as usize).min(64 * 1024));
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(e, timeout))?
    {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The error a non-2xx response stands for.
fn error_from_response(endpoint: Endpoint, reply: &Reply) -> ApiError {
    let status = reply.status;
    let message = wire::error_message(&reply.body).unwrap_or_else(|| {
        reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .map_or_else(|| format!("HTTP {status}"), str::to_owned)
    });
    let reset = (status == 429)
        .then(|| retry_after_secs(&reply.headers))
        .flatten();
    ApiError {
        kind: wire::classify(endpoint, status, &message, reset),
        status: Some(status),
        message: crate::logging::redact(&message),
        request_id: reply.request_id.clone(),
    }
}

impl Client {
    /// Builds a client; no network call until the first request.
    pub fn new(config: ClientConfig) -> Result<Client, ApiError> {
        let base_str = parse_base_url(&config.base_url)?;
        let creds = &config.credentials;
        crate::logging::register_secret(creds.client_secret.expose());
        crate::logging::register_basic_credentials(&creds.client_id, creds.client_secret.expose());
        let base = Url::parse(&base_str)
            .map_err(|e| config_error(format!("the tenant URL is not valid ({e})")))?;
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            // An API answer is never a redirect; following one could carry the bearer token
            // somewhere else.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("mfadesk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                config_error(format!(
                    "could not set up the HTTPS client: {}",
                    root_cause(&e)
                ))
            })?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                base_str,
                credentials: config.credentials,
                retry: config.retry,
                request_timeout: config.request_timeout,
                tokens: TokenCache::default(),
                rate_limit: StdMutex::new(None),
                mfa_api: config.mfa_api,
                mfa_version: StdMutex::new(match config.mfa_api {
                    MfaApiChoice::Auto => None,
                    MfaApiChoice::V1 => Some(MfaVersion::V1),
                    MfaApiChoice::V2 => Some(MfaVersion::V2),
                }),
                event_types: tokio::sync::OnceCell::new(),
            }),
        })
    }

    /// The session's cache of event type names.
    pub(crate) fn event_types_cell(
        &self,
    ) -> &tokio::sync::OnceCell<Arc<super::events::EventTypes>> {
        &self.inner.event_types
    }

    /// The base URL this client talks to.
    pub fn base_url(&self) -> &str {
        &self.inner.base_str
    }

    /// The last X-RateLimit-* headers seen, if any.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        *self
            .inner
            .rate_limit
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The MFA API choice this client was built with.
    pub fn mfa_api(&self) -> MfaApiChoice {
        self.inner.mfa_api
    }

    /// The MFA API in use: fixed by the choice, or what `auto` settled on (None until it has).
    pub fn mfa_version(&self) -> Option<MfaVersion> {
        *self
            .inner
            .mfa_version
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Settles `auto` on a version for the rest of the session; a fixed choice never changes,
    /// and a version once settled stays (a later answer cannot flip it back).
    pub(crate) fn settle_mfa_version(&self, version: MfaVersion) {
        let mut settled = self
            .inner
            .mfa_version
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if settled.is_none() {
            tracing::info!(api = version.label(), "MFA API chosen");
            *settled = Some(version);
        }
    }

    /// Fetches (or reuses) an access token, so a credential problem is told apart from scope.
    pub(crate) async fn ensure_token(&self) -> Result<(), ApiError> {
        self.token().await.map(|_| ())
    }

    /// Remembers the latest rate-limit figures.
    pub(crate) fn record_rate_limit(&self, limit: RateLimit) {
        *self
            .inner
            .rate_limit
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(limit);
    }

    /// The base URL with these path segments (each percent-encoded) appended.
    pub(crate) fn url(&self, segments: &[&str]) -> Result<Url, ApiError> {
        let mut url = self.inner.base.clone();
        url.path_segments_mut()
            .map_err(|()| config_error("the tenant URL cannot take a path"))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// A valid access token: the cached one, or a fresh one from the token endpoint.
    async fn token(&self) -> Result<Secret, ApiError> {
        self.inner.tokens.get_or_fetch(|| self.fetch_token()).await
    }

    /// `POST /auth/oauth2/v2/token` with HTTP Basic credentials.
    async fn fetch_token(&self) -> Result<TokenGrant, ApiError> {
        let creds = &self.inner.credentials;
        let url = self.url(&["auth", "oauth2", "v2", "token"])?;
        let request = self
            .inner
            .http
            .post(url)
            .basic_auth(&creds.client_id, Some(creds.client_secret.expose()))
            .header(ACCEPT, "application/json")
            .json(&serde_json::json!({ "grant_type": "client_credentials" }));
        let reply = self.exchange(request).await?;
        tracing::info!(status = reply.status, request_id = ?reply.request_id, "token requested");
        // Any body with an access_token is a grant whatever the status; anything else is an
        // error, even under 200 (the v2 endpoint has been seen answering errors that way).
        reply.decode(wire::decode_token).map_err(|err| {
            let err = if reply.is_success() {
                err
            } else {
                error_from_response(Endpoint::Token, &reply)
            };
            scrub(err, &[creds.client_secret.expose()])
        })
    }

    /// Sends one request and reads the whole body; records rate-limit headers on the way.
    async fn exchange(&self, request: reqwest::RequestBuilder) -> Result<Reply, ApiError> {
        let timeout = self.inner.request_timeout;
        let response = request
            .send()
            .await
            .map_err(|e| transport_error(e, timeout))?;
        let received = chrono::Utc::now();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        if let Some(limit) = rate_limit_headers(&headers) {
            self.record_rate_limit(limit);
        }
        let body = read_capped(response, timeout).await?;
        // A request id is an opaque tag: a long one is a server's doing, not information.
        let request_id =
            header_text(&headers, "x-request-id").map(|id| wire::truncate(&id, REQUEST_ID_LIMIT));
        let offset =
            header_text(&headers, "date").and_then(|d| super::meta::clock_offset(&d, received));
        super::meta::note(status, request_id.as_deref(), offset);
        Ok(Reply {
            request_id,
            headers,
            body,
            status,
        })
    }

    /// Sends `call` once with `token`; non-2xx answers become errors.
    async fn send_once(&self, call: &Call, token: &Secret) -> Result<Reply, ApiError> {
        let mut request = self
            .inner
            .http
            .request(call.method.clone(), call.url.clone())
            .bearer_auth(token.expose())
            .header(ACCEPT, "application/json");
        if !call.query.is_empty() {
            request = request.query(&call.query);
        }
        if let Some(body) = &call.body {
            request = request.json(body);
        }
        let started = std::time::Instant::now();
        let result = self.exchange(request).await;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        let reply = match result {
            Ok(reply) => reply,
            Err(err) => {
                tracing::warn!(method = %call.method, path = call.url.path(), elapsed_ms, kind = ?err.kind, "request failed: {}", err.message);
                return Err(err);
            }
        };
        tracing::debug!(method = %call.method, path = call.url.path(), status = reply.status, request_id = ?reply.request_id, elapsed_ms, "request");
        if reply.is_success() {
            return Ok(reply);
        }
        let mut secrets: Vec<&str> = call.sensitive.iter().map(Secret::expose).collect();
        secrets.push(token.expose());
        secrets.push(self.inner.credentials.client_secret.expose());
        Err(scrub(error_from_response(call.endpoint, &reply), &secrets))
    }

    /// Sends `call` with a token; a token the server rejects (401 that is not a scope or code
    /// problem) is dropped, replaced once, and the call sent once more.
    async fn send_authorized(&self, call: &Call) -> Result<Reply, ApiError> {
        let token = self.token().await?;
        match self.send_once(call, &token).await {
            Err(err) if err.kind == ErrorKind::Unauthorized => {
                self.inner.tokens.invalidate(&token).await;
                let fresh = self.token().await?;
                self.send_once(call, &fresh).await
            }
            other => other,
        }
    }

    /// Sends `call`, retrying GETs on network errors, 5xx and 429 with jittered back-off.
    /// POST and DELETE are sent once: repeating them could enroll twice or send a second SMS.
    pub(crate) async fn execute(&self, call: &Call) -> Result<Reply, ApiError> {
        let policy = if call.method == Method::GET {
            self.inner.retry
        } else {
            RetryPolicy::none()
        };
        let mut attempt = 1;
        loop {
            match self.send_authorized(call).await {
                Err(err) => match policy.delay_after(attempt, &err) {
                    Some(delay) => {
                        tracing::info!(path = call.url.path(), attempt, delay_ms = delay.as_millis() as u64, kind = ?err.kind, "retrying GET");
                        tokio::time::sleep(delay).await;
                        attempt += 1;
                    }
                    None => return Err(err),
                },
                ok => return ok,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_prefers_header_then_reset() {
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-reset", HeaderValue::from_static("42"));
        assert_eq!(retry_after_secs(&h), Some(42));
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after_secs(&h), Some(7));
    }

    #[test]
    fn scrub_hides_secrets() {
        let err = ApiError::new(ErrorKind::BadRequest, "bad token abcdef1234 here");
        assert_eq!(
            scrub(err, &["abcdef1234", "x"]).message,
            "bad token *** here"
        );
    }
}
