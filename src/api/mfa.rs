//! The seven MFA v1 calls (`/api/1/users/{user_id}/…`).

use chrono::Utc;
use reqwest::Method;
use serde_json::{Map, Value, json};

use super::client::{Call, Client};
use super::error::{ApiError, ErrorKind};
use super::secret::Secret;
use super::types::*;
use super::wire::{self, Endpoint};

/// The state-token lifetimes OneLogin accepts, in seconds (spec: 120–900, default 120).
pub const STATE_TOKEN_EXPIRES_IN: (u32, u32) = (120, 900);

/// A temporary token's longest life, and its default when none is asked (spec: 72 h).
pub const MFA_TOKEN_EXPIRES_IN_MAX: u32 = 259_200;

impl Client {
    /// `GET /api/1/users/{user_id}/auth_factors`: factors the user can still enroll.
    ///
    /// Falls back to the singular `auth_factor` route (SPEC's spelling) only when the plural
    /// route itself is missing, never when the user is.
    pub async fn get_mfa_factors(&self, user_id: UserId) -> Result<Vec<AuthFactor>, ApiError> {
        let uid = user_id.to_string();
        let plural = self.url(&["api", "1", "users", &uid, "auth_factors"])?;
        match self
            .execute(&Call::new(Endpoint::AuthFactors, Method::GET, plural))
            .await
        {
            Ok(reply) => reply.decode(wire::decode_auth_factors),
            Err(err) if err.kind == ErrorKind::NotFound && wire::is_missing_route(&err.message) => {
                let singular = self.url(&["api", "1", "users", &uid, "auth_factor"])?;
                self.execute(&Call::new(Endpoint::AuthFactors, Method::GET, singular))
                    .await?
                    .decode(wire::decode_auth_factors)
            }
            Err(err) => Err(err),
        }
    }

    /// `GET /api/1/users/{user_id}/otp_devices`: enrolled devices, de-duplicated by (id, needs_trigger).
    pub async fn get_enrolled_factors(&self, user_id: UserId) -> Result<Vec<OtpDevice>, ApiError> {
        let url = self.url(&["api", "1", "users", &user_id.to_string(), "otp_devices"])?;
        self.execute(&Call::new(Endpoint::OtpDevices, Method::GET, url))
            .await?
            .decode(wire::decode_otp_devices)
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
        let url = self.url(&["api", "1", "users", &user_id.to_string(), "otp_devices"])?;
        let body = json!({
            "factor_id": factor_id,
            "display_name": display_name,
            "number": number,
            "verified": verified,
        });
        let device = self
            .execute(&Call::new(Endpoint::Enroll, Method::POST, url).json(body))
            .await?
            .decode(wire::decode_enroll)?;
        if let Some(token) = &device.state_token {
            crate::logging::register_secret(token.expose());
        }
        Ok(device)
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
        let url = self.device_url(user_id, device_id, Some("trigger"))?;
        // Unset options are left out so the tenant's defaults apply; `{}` is a valid body.
        let mut body = Map::new();
        if let Some(secs) = state_token_expires_in {
            body.insert("state_token_expires_in".into(), json!(secs));
        }
        if let Some(numeric) = numeric_sms_otp {
            body.insert("numeric_sms_otp".into(), json!(numeric));
        }
        if let Some(message) = sms_message {
            body.insert("sms_message".into(), json!(message));
        }
        let sent_at = Utc::now();
        let reply = self
            .execute(&Call::new(Endpoint::Trigger, Method::POST, url).json(Value::Object(body)))
            .await?;
        let mut result = reply.decode(|b| wire::decode_trigger(b, device_id))?;
        crate::logging::register_secret(result.state_token.expose());
        let asked = state_token_expires_in
            .unwrap_or(STATE_TOKEN_EXPIRES_IN.0)
            .clamp(STATE_TOKEN_EXPIRES_IN.0, STATE_TOKEN_EXPIRES_IN.1);
        // On our clock, never later than asked, whatever the server says.
        result.state_token_expires_at = result
            .state_token_expires_at
            .map(|t| reply.local_expiry(Some(t), sent_at, asked));
        Ok(result)
    }

    /// `POST …/otp_devices/{device_id}/verify`: checks a code, or polls a push when `otp_token` is None.
    pub async fn verify_mfa_factor(
        &self,
        user_id: UserId,
        device_id: &DeviceId,
        state_token: Option<&Secret>,
        otp_token: Option<&Secret>,
    ) -> Result<VerifyOutcome, ApiError> {
        let url = self.device_url(user_id, device_id, Some("verify"))?;
        // state_token only for triggered devices, otp_token only for codes (a push poll has none);
        // the code is always a JSON string because SMS codes are alphanumeric and may start with 0.
        let mut body = Map::new();
        let mut sensitive = Vec::new();
        if let Some(state) = state_token {
            body.insert("state_token".into(), json!(state.expose()));
            sensitive.push(state.clone());
        }
        if let Some(otp) = otp_token {
            body.insert("otp_token".into(), json!(otp.expose()));
            sensitive.push(otp.clone());
        }
        let call = Call::new(Endpoint::Verify, Method::POST, url)
            .json(Value::Object(body))
            .sensitive(sensitive);
        self.execute(&call).await?.decode(wire::decode_verify)
    }

    /// `DELETE …/otp_devices/{device_id}`: removes a device.
    pub async fn remove_mfa_factors(
        &self,
        user_id: UserId,
        device_id: &DeviceId,
    ) -> Result<(), ApiError> {
        let url = self.device_url(user_id, device_id, None)?;
        self.execute(&Call::new(Endpoint::Remove, Method::DELETE, url))
            .await?
            .decode(wire::decode_remove)
    }

    /// `POST /api/1/users/{user_id}/mfa_token`: issues a temporary MFA token.
    pub async fn generate_mfa_token(
        &self,
        user_id: UserId,
        expires_in: Option<u32>,
        reusable: bool,
    ) -> Result<MfaToken, ApiError> {
        let url = self.url(&["api", "1", "users", &user_id.to_string(), "mfa_token"])?;
        let mut body = Map::new();
        if let Some(secs) = expires_in {
            body.insert("expires_in".into(), json!(secs));
        }
        body.insert("reusable".into(), json!(reusable));
        let sent_at = Utc::now();
        let reply = self
            .execute(&Call::new(Endpoint::MfaToken, Method::POST, url).json(Value::Object(body)))
            .await?;
        let mut token = reply.decode(|b| wire::decode_mfa_token(b, reusable))?;
        let asked = expires_in.unwrap_or(MFA_TOKEN_EXPIRES_IN_MAX);
        token.expires_at = token
            .expires_at
            .map(|t| reply.local_expiry(Some(t), sent_at, asked));
        crate::logging::register_secret(token.mfa_token.expose());
        Ok(token)
    }

    /// `…/users/{user_id}/otp_devices/{device_id}[/{action}]`.
    fn device_url(
        &self,
        user_id: UserId,
        device_id: &DeviceId,
        action: Option<&str>,
    ) -> Result<url::Url, ApiError> {
        let uid = user_id.to_string();
        let mut segments = vec!["api", "1", "users", &uid, "otp_devices", &device_id.0];
        segments.extend(action);
        self.url(&segments)
    }
}
