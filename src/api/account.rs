//! Account actions a helpdesk uses beside MFA (spec §10): sign out everywhere, lock, unlock.

use reqwest::Method;
use serde_json::{Value, json};

use super::client::{Call, Client};
use super::error::{ApiError, ErrorKind};
use super::types::UserId;
use super::wire::{self, Endpoint};

/// The lock periods an agent may choose, in minutes; 0 is the policy's own period.
pub const LOCK_MINUTES: [u32; 4] = [15, 60, 240, 0];

impl Client {
    /// `PUT /api/1/users/{id}/logout`: ends the user's OneLogin session and single sign-on.
    pub async fn logout_user(&self, user_id: UserId) -> Result<(), ApiError> {
        let url = self.url(&["api", "1", "users", &user_id.to_string(), "logout"])?;
        self.execute(&Call::new(Endpoint::Logout, Method::PUT, url))
            .await?
            .decode(|b| decode_v1_ack(Endpoint::Logout, b))
    }

    /// `PUT /api/1/users/{id}/lock_user` with `{"locked_until": minutes}` (0: the policy's period).
    pub async fn lock_user(&self, user_id: UserId, minutes: u32) -> Result<(), ApiError> {
        let url = self.url(&["api", "1", "users", &user_id.to_string(), "lock_user"])?;
        let call = Call::new(Endpoint::LockUser, Method::PUT, url)
            .json(json!({ "locked_until": minutes }));
        self.execute(&call)
            .await?
            .decode(|b| decode_v1_ack(Endpoint::LockUser, b))
    }

    /// `POST /api/2/users/{id}/unlock`; `User cannot be unlocked` is [`ErrorKind::NotLocked`].
    pub async fn unlock_user(&self, user_id: UserId) -> Result<(), ApiError> {
        let url = self.url(&["api", "2", "users", &user_id.to_string(), "unlock"])?;
        self.execute(&Call::new(Endpoint::Unlock, Method::POST, url))
            .await?
            .decode(decode_unlock)
    }
}

/// A v1 envelope acknowledging a change; an error envelope under 2xx fails. An empty body is
/// taken as success (the change was accepted; there is nothing else to read).
pub fn decode_v1_ack(endpoint: Endpoint, body: &[u8]) -> Result<(), ApiError> {
    let root = wire::parse_json(body)?;
    wire::check_envelope(endpoint, &root)
}

/// The unlock answer: `{"message": "User unlocked"}` (the docs spell it `messsage`), or
/// `{"message": "User cannot be unlocked"}` under 200, which is a refusal.
pub fn decode_unlock(body: &[u8]) -> Result<(), ApiError> {
    let root = wire::parse_json(body)?;
    wire::check_envelope(Endpoint::Unlock, &root)?;
    let message = ["message", "messsage"]
        .iter()
        .find_map(|k| root.get(*k).and_then(Value::as_str))
        .unwrap_or_default();
    if message.to_ascii_lowercase().contains("cannot be unlocked") {
        return Err(ApiError::new(ErrorKind::NotLocked, message));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlock_accepts_both_spellings_and_refuses_cannot() {
        assert!(decode_unlock(br#"{"message":"User unlocked"}"#).is_ok());
        assert!(decode_unlock(br#"{"messsage":"User unlocked"}"#).is_ok());
        assert!(decode_unlock(b"").is_ok());
        let e = decode_unlock(br#"{"message":"User cannot be unlocked"}"#).err();
        assert_eq!(e.map(|e| e.kind), Some(ErrorKind::NotLocked));
    }

    #[test]
    fn an_error_envelope_under_200_fails() {
        let body = br#"{"status":{"error":true,"code":400,"type":"bad request","message":"locked_until should be -> integer"}}"#;
        assert!(decode_v1_ack(Endpoint::LockUser, body).is_err());
        let ok = br#"{"status":{"error":false,"code":200,"type":"success","message":"Success"}}"#;
        assert!(decode_v1_ack(Endpoint::LockUser, ok).is_ok());
    }
}
