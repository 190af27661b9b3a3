//! One MFA interface, two implementations: v1 (`/api/1/users/{id}/otp_devices…`) and v2
//! (`/api/2/mfa/users/{id}/…`). The version is chosen once per session (profile `mfa_api`,
//! `--mfa-api`); with `auto` the first MFA call tries v2 and a 401/403 answer settles on v1.

use crate::api::{
    ApiError, Client, DeviceId, Enrollment, ErrorKind, MfaVersion, OtpDevice, Registration,
    RegistrationRequest, TriggerResult, V2Status,
};
use crate::worker::{ApiRequest, ApiResponse};

/// The MFA API a call is made with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MfaApi {
    /// MFA API v1.
    V1,
    /// MFA API v2.
    V2,
}

impl From<MfaVersion> for MfaApi {
    fn from(v: MfaVersion) -> Self {
        match v {
            MfaVersion::V1 => MfaApi::V1,
            MfaVersion::V2 => MfaApi::V2,
        }
    }
}

impl MfaApi {
    /// The version this implementation speaks.
    pub fn version(self) -> MfaVersion {
        match self {
            MfaApi::V1 => MfaVersion::V1,
            MfaApi::V2 => MfaVersion::V2,
        }
    }

    /// Runs one MFA request with this API.
    pub async fn run(self, client: &Client, request: ApiRequest) -> ApiResponse {
        match self {
            MfaApi::V1 => v1(client, request).await,
            MfaApi::V2 => v2(client, request).await,
        }
    }
}

/// Runs an MFA request with the session's API, settling `auto` on the first answer.
pub async fn execute(client: &Client, request: ApiRequest) -> ApiResponse {
    if let Some(version) = client.mfa_version() {
        return MfaApi::from(version).run(client, request).await;
    }
    // A bad credential must not pass for a missing scope: get the token first.
    if let Err(e) = client.ensure_token().await {
        return failed(&request, e);
    }
    let response = MfaApi::V2.run(client, request.clone()).await;
    match error_of(&response) {
        Some(e) if refuses_v2(e) => {
            tracing::info!("the credential may not use MFA API v2; using v1");
            client.settle_mfa_version(MfaVersion::V1);
            MfaApi::V1.run(client, request).await
        }
        // No answer at all says nothing about the scope: decide on a later call.
        Some(e) if e.status.is_none() => response,
        _ => {
            client.settle_mfa_version(MfaVersion::V2);
            response
        }
    }
}

/// Whether an error is the tenant refusing v2 to this credential (401/403 on a v2 call).
fn refuses_v2(e: &ApiError) -> bool {
    matches!(e.status, Some(401 | 403))
        && matches!(
            e.kind,
            ErrorKind::InsufficientPermission | ErrorKind::Unauthorized
        )
}

/// The error in a response, if it is one.
fn error_of(response: &ApiResponse) -> Option<&ApiError> {
    match response {
        ApiResponse::Search(r) => r.as_ref().err(),
        ApiResponse::User(r) => r.as_ref().err(),
        ApiResponse::Devices(r) => r.as_ref().err(),
        ApiResponse::Factors(r) => r.as_ref().err(),
        ApiResponse::Enrolled(r) => r.as_ref().err(),
        ApiResponse::Registration(r) => r.as_ref().err(),
        ApiResponse::Triggered(r) => r.as_ref().err(),
        ApiResponse::Verified(r) => r.as_ref().err(),
        ApiResponse::Removed(r) => r.as_ref().err(),
        ApiResponse::MfaToken(r) => r.as_ref().err(),
        ApiResponse::RateLimit(r) => r.as_ref().err(),
        ApiResponse::Account(r) => r.as_ref().err(),
        ApiResponse::Events(r) => r.as_ref().err(),
    }
}

/// The response a request gets when it fails before any MFA call.
pub fn failed(request: &ApiRequest, e: ApiError) -> ApiResponse {
    match request {
        ApiRequest::Search(_) => ApiResponse::Search(Err(e)),
        ApiRequest::GetUser(_) => ApiResponse::User(Err(e)),
        ApiRequest::GetDevices(_) => ApiResponse::Devices(Err(e)),
        ApiRequest::GetFactors(_) => ApiResponse::Factors(Err(e)),
        ApiRequest::Enroll { .. } => ApiResponse::Enrolled(Err(e)),
        ApiRequest::VerifyRegistration { .. } | ApiRequest::PollRegistration { .. } => {
            ApiResponse::Registration(Err(e))
        }
        ApiRequest::Trigger { .. } => ApiResponse::Triggered(Err(e)),
        ApiRequest::Verify { .. } => ApiResponse::Verified(Err(e)),
        ApiRequest::Remove { .. } => ApiResponse::Removed(Err(e)),
        ApiRequest::MfaToken { .. } => ApiResponse::MfaToken(Err(e)),
        ApiRequest::RateLimit => ApiResponse::RateLimit(Err(e)),
        ApiRequest::Unlock(_) | ApiRequest::Logout(_) | ApiRequest::Lock { .. } => {
            ApiResponse::Account(Err(e))
        }
        ApiRequest::GetEvents { .. } => ApiResponse::Events(Err(e)),
    }
}

/// The v1 calls.
async fn v1(client: &Client, request: ApiRequest) -> ApiResponse {
    match request {
        ApiRequest::GetDevices(id) => ApiResponse::Devices(client.get_enrolled_factors(id).await),
        ApiRequest::GetFactors(id) => ApiResponse::Factors(client.get_mfa_factors(id).await),
        ApiRequest::Enroll {
            user_id,
            factor_id,
            display_name,
            number,
            verified,
        } => ApiResponse::Enrolled(
            client
                .enroll_mfa_factor(user_id, factor_id, &display_name, &number, verified)
                .await
                .map(Enrollment::Device),
        ),
        request @ (ApiRequest::VerifyRegistration { .. } | ApiRequest::PollRegistration { .. }) => {
            failed(
                &request,
                ApiError::new(
                    ErrorKind::BadRequest,
                    "MFA API v1 has no registrations: this needs MFA API v2",
                ),
            )
        }
        ApiRequest::Trigger {
            user_id,
            device_id,
            expires_in,
            numeric,
            sms_message,
        } => ApiResponse::Triggered(
            client
                .activate_mfa_factors(
                    user_id,
                    &device_id,
                    expires_in,
                    numeric,
                    sms_message.as_deref(),
                )
                .await,
        ),
        ApiRequest::Verify {
            user_id,
            device_id,
            state_token,
            otp,
        } => ApiResponse::Verified(
            client
                .verify_mfa_factor(user_id, &device_id, state_token.as_ref(), otp.as_ref())
                .await,
        ),
        ApiRequest::Remove { user_id, device_id } => {
            ApiResponse::Removed(client.remove_mfa_factors(user_id, &device_id).await)
        }
        ApiRequest::MfaToken {
            user_id,
            expires_in,
            reusable,
        } => ApiResponse::MfaToken(
            client
                .generate_mfa_token(user_id, Some(expires_in), reusable)
                .await,
        ),
        other => crate::worker::execute_plain(client, other).await,
    }
}

/// The v2 calls.
async fn v2(client: &Client, request: ApiRequest) -> ApiResponse {
    match request {
        ApiRequest::GetDevices(id) => {
            ApiResponse::Devices(client.get_authentication_devices(id).await)
        }
        ApiRequest::GetFactors(id) => ApiResponse::Factors(client.get_auth_factors(id).await),
        ApiRequest::Enroll {
            user_id,
            factor_id,
            display_name,
            number,
            verified,
        } => {
            let request = RegistrationRequest {
                factor_id,
                display_name,
                // Only SMS, voice and email may be pre-verified (spec §3.4); false is the default.
                verified: verified.then_some(true),
                number: (!number.is_empty()).then_some(number),
                ..RegistrationRequest::default()
            };
            ApiResponse::Enrolled(
                client
                    .create_factor_registration(user_id, &request)
                    .await
                    .map(enrollment),
            )
        }
        ApiRequest::VerifyRegistration {
            user_id,
            registration_id,
            otp,
        } => ApiResponse::Registration(
            client
                .verify_user_registration(user_id, &registration_id, &otp)
                .await,
        ),
        ApiRequest::PollRegistration {
            user_id,
            registration_id,
        } => ApiResponse::Registration(
            client
                .get_user_registration(user_id, &registration_id)
                .await,
        ),
        ApiRequest::Trigger {
            user_id,
            device_id,
            expires_in,
            sms_message,
            ..
        } => ApiResponse::Triggered(
            client
                .create_device_verification(user_id, &device_id, expires_in, sms_message.as_deref())
                .await
                .map(|v| TriggerResult {
                    device_id: v.device_id.unwrap_or_else(|| device_id.clone()),
                    state_token: v.id,
                    state_token_expires_at: v.expires_at,
                    message: "Verification sent. Authentication pending.".into(),
                }),
        ),
        ApiRequest::Verify {
            user_id,
            device_id,
            state_token,
            otp,
        } => ApiResponse::Verified(match (&state_token, &otp) {
            (Some(handle), None) => client.get_user_verification(user_id, handle).await,
            (handle, Some(otp)) => {
                client
                    .verify_user_verification(user_id, handle.as_ref(), otp, Some(&device_id))
                    .await
            }
            (None, None) => Err(ApiError::new(
                ErrorKind::BadRequest,
                "nothing to verify: no code and no verification",
            )),
        }),
        ApiRequest::Remove { user_id, device_id } => {
            ApiResponse::Removed(client.delete_enrolled_factor(user_id, &device_id).await)
        }
        ApiRequest::MfaToken {
            user_id,
            expires_in,
            reusable,
        } => ApiResponse::MfaToken(
            client
                .generate_otp(user_id, Some(expires_in), reusable)
                .await,
        ),
        other => crate::worker::execute_plain(client, other).await,
    }
}

/// A registration the tenant accepted at once (pre-verified) is a device; else it waits.
fn enrollment(r: Registration) -> Enrollment {
    match (&r.status, &r.device_id) {
        (V2Status::Accepted, Some(id)) => Enrollment::Device(device_of(&r, id.clone())),
        _ => Enrollment::Registration(r),
    }
}

/// The device an accepted registration made.
pub fn device_of(r: &Registration, id: DeviceId) -> OtpDevice {
    let auth_factor_name = r
        .auth_factor_name
        .clone()
        .or_else(|| r.type_display_name.clone())
        .unwrap_or_default();
    OtpDevice {
        id,
        active: true,
        default: false,
        needs_trigger: crate::api::wire_v2::triggered_factor(
            &auth_factor_name,
            r.type_display_name.as_deref(),
        ),
        auth_factor_name,
        type_display_name: r.type_display_name.clone(),
        user_display_name: r.user_display_name.clone(),
        phone_number: None,
        state_token: None,
    }
}
