//! The MFA API v2 calls (`/api/2/mfa/users/{user_id}/…`, spec §6), named after OneLogin's SDK.

use reqwest::Method;
use serde_json::{Map, Value, json};

use super::client::{Call, Client};
use super::error::ApiError;
use super::secret::Secret;
use super::types::*;
use super::wire::{self, Endpoint};
use super::wire_v2;

/// What to register (`POST …/registrations`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegistrationRequest {
    /// The factor, from `get_auth_factors`.
    pub factor_id: i64,
    /// The user's name for the device.
    pub display_name: String,
    /// Seconds the registration stays open (120–900); None: the tenant's default.
    pub expires_in: Option<u32>,
    /// Pre-verified value (SMS, Voice, Email only).
    pub verified: Option<bool>,
    /// Phone number for SMS or Voice when it should not come from the user's profile.
    pub number: Option<String>,
    /// Where an Email MagicLink leads.
    pub redirect_to: Option<String>,
    /// SMS template with `{{otp_code}}` and `{{otp_expiry}}`.
    pub custom_message: Option<String>,
}

impl Client {
    /// `…/api/2/mfa/users/{user_id}/{rest…}`.
    fn v2_url(&self, user_id: UserId, rest: &[&str]) -> Result<url::Url, ApiError> {
        let uid = user_id.to_string();
        let mut segments = vec!["api", "2", "mfa", "users", &uid];
        segments.extend_from_slice(rest);
        self.url(&segments)
    }

    /// `GET …/factors`: the factors the user's policy allows.
    pub async fn get_auth_factors(&self, user_id: UserId) -> Result<Vec<AuthFactor>, ApiError> {
        let url = self.v2_url(user_id, &["factors"])?;
        self.execute(&Call::new(Endpoint::V2Factors, Method::GET, url))
            .await?
            .decode(wire_v2::decode_factors)
    }

    /// `POST …/registrations`: starts enrolling a factor.
    pub async fn create_factor_registration(
        &self,
        user_id: UserId,
        request: &RegistrationRequest,
    ) -> Result<Registration, ApiError> {
        let url = self.v2_url(user_id, &["registrations"])?;
        let mut body = Map::new();
        body.insert("factor_id".into(), json!(request.factor_id));
        body.insert("display_name".into(), json!(request.display_name));
        if let Some(secs) = request.expires_in {
            body.insert("expires_in".into(), json!(secs));
        }
        if let Some(verified) = request.verified {
            body.insert("verified".into(), json!(verified));
        }
        if let Some(number) = request.number.as_deref().filter(|n| !n.is_empty()) {
            body.insert("number".into(), json!(number));
        }
        if let Some(to) = &request.redirect_to {
            body.insert("redirect_to".into(), json!(to));
        }
        if let Some(message) = &request.custom_message {
            body.insert("custom_message".into(), json!(message));
        }
        // Never retried (POST): a second registration would leave two pending.
        let sent_at = chrono::Utc::now();
        let reply = self
            .execute(&Call::new(Endpoint::V2Register, Method::POST, url).json(Value::Object(body)))
            .await?;
        let mut registration = reply.decode(wire_v2::decode_registration)?;
        let (_, high) = super::mfa::STATE_TOKEN_EXPIRES_IN;
        let asked = request.expires_in.unwrap_or(high).min(high);
        registration.expires_at = registration
            .expires_at
            .map(|t| reply.local_expiry(Some(t), sent_at, asked));
        Ok(registration)
    }

    /// `PUT …/registrations/{registration_id}`: the first code; accepted means enrolled.
    pub async fn verify_user_registration(
        &self,
        user_id: UserId,
        registration_id: &str,
        otp: &Secret,
    ) -> Result<Registration, ApiError> {
        let url = self.v2_url(user_id, &["registrations", registration_id])?;
        // A string: codes can start with 0 and some are alphanumeric (spec §6 notes).
        let call = Call::new(Endpoint::V2VerifyRegistration, Method::PUT, url)
            .json(json!({ "otp": otp.expose() }))
            .sensitive(vec![otp.clone()]);
        self.execute(&call)
            .await?
            .decode(wire_v2::decode_registration)
    }

    /// `GET …/registrations/{registration_id}`: polls a Protect or Voice enrollment.
    pub async fn get_user_registration(
        &self,
        user_id: UserId,
        registration_id: &str,
    ) -> Result<Registration, ApiError> {
        let url = self.v2_url(user_id, &["registrations", registration_id])?;
        self.execute(&Call::new(Endpoint::V2Registration, Method::GET, url))
            .await?
            .decode(wire_v2::decode_registration)
    }

    /// `GET …/devices`: the enrolled devices.
    pub async fn get_authentication_devices(
        &self,
        user_id: UserId,
    ) -> Result<Vec<OtpDevice>, ApiError> {
        let url = self.v2_url(user_id, &["devices"])?;
        self.execute(&Call::new(Endpoint::V2Devices, Method::GET, url))
            .await?
            .decode(wire_v2::decode_devices)
    }

    /// `DELETE …/devices/{device_id}`: removes a device (204).
    pub async fn delete_enrolled_factor(
        &self,
        user_id: UserId,
        device_id: &DeviceId,
    ) -> Result<(), ApiError> {
        let url = self.v2_url(user_id, &["devices", &device_id.0])?;
        self.execute(&Call::new(Endpoint::V2Remove, Method::DELETE, url))
            .await?
            .decode(wire_v2::decode_remove)
    }

    /// `POST …/verifications`: sends a push, SMS, call or email for a device.
    pub async fn create_device_verification(
        &self,
        user_id: UserId,
        device_id: &DeviceId,
        expires_in: Option<u32>,
        custom_message: Option<&str>,
    ) -> Result<Verification, ApiError> {
        let url = self.v2_url(user_id, &["verifications"])?;
        let mut body = Map::new();
        body.insert("device_id".into(), device_id_json(device_id));
        if let Some(secs) = expires_in {
            body.insert("expires_in".into(), json!(secs));
        }
        if let Some(message) = custom_message {
            body.insert("custom_message".into(), json!(message));
        }
        let sent_at = chrono::Utc::now();
        let reply = self
            .execute(&Call::new(Endpoint::V2Verify, Method::POST, url).json(Value::Object(body)))
            .await?;
        let mut verification = reply.decode(wire_v2::decode_verification)?;
        // On our clock, never later than asked (default 120 s, at most 900).
        let (low, high) = super::mfa::STATE_TOKEN_EXPIRES_IN;
        let asked = expires_in.unwrap_or(low).clamp(low, high);
        verification.expires_at = verification
            .expires_at
            .map(|t| reply.local_expiry(Some(t), sent_at, asked));
        Ok(verification)
    }

    /// `PUT …/verifications/{verification_id}`: checks the code sent; an authenticator also
    /// names its device. Without a verification (`None`), `POST …/verifications` checks a code
    /// straight away (authenticator, YubiKey).
    pub async fn verify_user_verification(
        &self,
        user_id: UserId,
        verification_id: Option<&Secret>,
        otp: &Secret,
        device_id: Option<&DeviceId>,
    ) -> Result<VerifyOutcome, ApiError> {
        let mut body = Map::new();
        body.insert("otp".into(), json!(otp.expose()));
        if let Some(device) = device_id {
            body.insert("device_id".into(), device_id_json(device));
        }
        let mut sensitive = vec![otp.clone()];
        let call = match verification_id {
            Some(id) => {
                sensitive.push(id.clone());
                let url = self.v2_url(user_id, &["verifications", id.expose()])?;
                Call::new(Endpoint::V2VerifyCode, Method::PUT, url)
            }
            None => {
                let url = self.v2_url(user_id, &["verifications"])?;
                Call::new(Endpoint::V2VerifyCode, Method::POST, url)
            }
        };
        let call = call.json(Value::Object(body)).sensitive(sensitive);
        self.execute(&call).await?.decode(wire_v2::decode_check)
    }

    /// `GET …/verifications/{verification_id}`: polls a push, call or MagicLink.
    pub async fn get_user_verification(
        &self,
        user_id: UserId,
        verification_id: &Secret,
    ) -> Result<VerifyOutcome, ApiError> {
        let url = self.v2_url(user_id, &["verifications", verification_id.expose()])?;
        let call = Call::new(Endpoint::V2PollVerification, Method::GET, url)
            .sensitive(vec![verification_id.clone()]);
        self.execute(&call).await?.decode(wire_v2::decode_poll)
    }

    /// `POST …/mfa_token`: a temporary MFA token.
    pub async fn generate_otp(
        &self,
        user_id: UserId,
        expires_in: Option<u32>,
        reusable: bool,
    ) -> Result<MfaToken, ApiError> {
        let url = self.v2_url(user_id, &["mfa_token"])?;
        let mut body = Map::new();
        if let Some(secs) = expires_in {
            body.insert("expires_in".into(), json!(secs));
        }
        body.insert("reusable".into(), json!(reusable));
        let sent_at = chrono::Utc::now();
        let reply = self
            .execute(&Call::new(Endpoint::V2MfaToken, Method::POST, url).json(Value::Object(body)))
            .await?;
        let mut token = reply.decode(|b| wire::decode_mfa_token(b, reusable))?;
        let asked = expires_in.unwrap_or(super::mfa::MFA_TOKEN_EXPIRES_IN_MAX);
        token.expires_at = token
            .expires_at
            .map(|t| reply.local_expiry(Some(t), sent_at, asked));
        crate::logging::register_secret(token.mfa_token.expose());
        Ok(token)
    }
}

/// A device id as the v2 request bodies want it: a number when it is one (spec §6 notes).
fn device_id_json(device_id: &DeviceId) -> Value {
    device_id
        .as_i64()
        .map_or_else(|| json!(device_id.0), |n| json!(n))
}
