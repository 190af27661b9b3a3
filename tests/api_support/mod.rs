//! Shared helpers for the client tests against the demo tenant.
#![allow(dead_code)]

use std::time::Duration;

use mfadesk::api::{ApiError, Client, ClientConfig, Credentials, DeviceId, RetryPolicy, Secret};
use mfadesk::sim::{
    DEMO_MANAGE_CLIENT_ID, DEMO_MANAGE_CLIENT_SECRET, DEMO_READ_CLIENT_ID, DEMO_READ_CLIENT_SECRET,
    DemoTenant, SimConfig, SimControl,
};

pub const KELLY: i64 = 36216766;
pub const KELLY_SMS: i64 = 525501;
pub const KELLY_AUTH: i64 = 525502;
pub const STEPH: i64 = 36216767;
pub const STEPH_PROTECT: i64 = 525503;
pub const STEPH_VOICE: i64 = 525504;
pub const JOHN: i64 = 36216768;
pub const JOHN_YUBIKEY: i64 = 525505;
pub const CARISSA: i64 = 36216769;
pub const MICK: i64 = 36216772;
pub const KELLY_SMITH: i64 = 36216774;
pub const SMS_FACTOR: i64 = 16282;
pub const VOICE_FACTOR: i64 = 16283;

/// A running tenant with its control handle.
pub struct Sim {
    pub tenant: DemoTenant,
    pub ctl: SimControl,
}

impl Sim {
    pub async fn start() -> Sim {
        let tenant = DemoTenant::start(SimConfig::default()).await.unwrap();
        let ctl = tenant.control();
        Sim { tenant, ctl }
    }

    /// A config for these credentials with fast retries (tests must not wait long).
    pub fn config(&self, id: &str, secret: &str) -> ClientConfig {
        let mut config = ClientConfig::new(
            self.tenant.base_url(),
            Credentials {
                client_id: id.into(),
                client_secret: Secret::new(secret),
            },
        );
        config.retry = RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(20),
        };
        config
    }

    /// A client with the Manage users credential.
    pub fn manage(&self) -> Client {
        Client::new(self.config(DEMO_MANAGE_CLIENT_ID, DEMO_MANAGE_CLIENT_SECRET)).unwrap()
    }

    /// A client with the Read users credential.
    pub fn read_only(&self) -> Client {
        Client::new(self.config(DEMO_READ_CLIENT_ID, DEMO_READ_CLIENT_SECRET)).unwrap()
    }
}

/// A device id from the tenant's numeric id.
pub fn dev(id: i64) -> DeviceId {
    DeviceId::from(id)
}

/// The error, or a panic naming what came back instead.
pub fn err<T: std::fmt::Debug>(r: Result<T, ApiError>) -> ApiError {
    match r {
        Err(e) => e,
        Ok(v) => panic!("expected an error, got {v:?}"),
    }
}

/// Asserts none of `secrets` shows in the error's Display or Debug.
pub fn assert_no_secrets(e: &ApiError, secrets: &[&str]) {
    let text = format!("{e} {e:?}");
    for s in secrets {
        assert!(!text.contains(s), "secret leaked into error: {text}");
    }
}
