//! The OneLogin client: connection pool, token cache, and the typed calls.

use std::time::Duration;

use super::error::ApiError;
use super::secret::Secret;
use super::types::*;

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
}

impl ClientConfig {
    /// A config with the default timeouts.
    pub fn new(base_url: impl Into<String>, credentials: Credentials) -> Self {
        Self {
            base_url: base_url.into(),
            credentials,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Turns a full URL or a bare subdomain into a base URL; https is required except on loopback.
pub fn parse_base_url(input: &str) -> Result<String, ApiError> {
    let _ = input;
    todo!()
}

/// A OneLogin API client; cheap to clone (one shared connection pool and token cache).
#[derive(Clone, Debug)]
pub struct Client {}

impl Client {
    /// Builds a client; no network call until the first request.
    pub fn new(config: ClientConfig) -> Result<Client, ApiError> {
        let _ = config;
        todo!()
    }

    /// The base URL this client talks to.
    pub fn base_url(&self) -> &str {
        todo!()
    }

    /// The last X-RateLimit-* headers seen, if any.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        todo!()
    }

    /// `GET /api/1/users/{user_id}/auth_factors`: factors the user can still enroll.
    pub async fn get_mfa_factors(&self, user_id: UserId) -> Result<Vec<AuthFactor>, ApiError> {
        let _ = user_id;
        todo!()
    }

    /// `GET /api/1/users/{user_id}/otp_devices`: enrolled devices, de-duplicated by (id, needs_trigger).
    pub async fn get_enrolled_factors(&self, user_id: UserId) -> Result<Vec<OtpDevice>, ApiError> {
        let _ = user_id;
        todo!()
    }

    /// `POST /api/1/users/{user_id}/otp_devices`: enrolls an SMS or Voice device.
    pub async fn enroll_mfa_factor(
        &self,
        user_id: UserId,
        factor_id: i64,
        display_name: &str,
        number: &str,
        verified: bool,
    ) -> Result<OtpDevice, ApiError> {
        let _ = (user_id, factor_id, display_name, number, verified);
        todo!()
    }

    /// `POST …/otp_devices/{device_id}/trigger`: sends an SMS, call or push.
    pub async fn activate_mfa_factors(
        &self,
        user_id: UserId,
        device_id: &DeviceId,
        state_token_expires_in: Option<u32>,
        numeric_sms_otp: Option<bool>,
        sms_message: Option<&str>,
    ) -> Result<TriggerResult, ApiError> {
        let _ = (
            user_id,
            device_id,
            state_token_expires_in,
            numeric_sms_otp,
            sms_message,
        );
        todo!()
    }

    /// `POST …/otp_devices/{device_id}/verify`: checks a code, or polls a push when `otp_token` is None.
    pub async fn verify_mfa_factor(
        &self,
        user_id: UserId,
        device_id: &DeviceId,
        state_token: Option<&Secret>,
        otp_token: Option<&Secret>,
    ) -> Result<VerifyOutcome, ApiError> {
        let _ = (user_id, device_id, state_token, otp_token);
        todo!()
    }

    /// `DELETE …/otp_devices/{device_id}`: removes a device.
    pub async fn remove_mfa_factors(
        &self,
        user_id: UserId,
        device_id: &DeviceId,
    ) -> Result<(), ApiError> {
        let _ = (user_id, device_id);
        todo!()
    }

    /// `POST /api/1/users/{user_id}/mfa_token`: issues a temporary MFA token.
    pub async fn generate_mfa_token(
        &self,
        user_id: UserId,
        expires_in: Option<u32>,
        reusable: bool,
    ) -> Result<MfaToken, ApiError> {
        let _ = (user_id, expires_in, reusable);
        todo!()
    }

    /// `GET /api/2/users`: one page of a search.
    pub async fn search_users(&self, query: &UserQuery) -> Result<UserPage, ApiError> {
        let _ = query;
        todo!()
    }

    /// `GET /api/2/users/{id}`.
    pub async fn get_user(&self, user_id: UserId) -> Result<User, ApiError> {
        let _ = user_id;
        todo!()
    }

    /// `GET /auth/rate_limit`.
    pub async fn get_rate_limit(&self) -> Result<RateLimit, ApiError> {
        todo!()
    }
}
