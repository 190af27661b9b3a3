//! Helpers shared by the demo tenant's HTTP tests.
#![allow(dead_code)]

use mfadesk::sim::{
    DEMO_MANAGE_CLIENT_ID, DEMO_MANAGE_CLIENT_SECRET, DEMO_READ_CLIENT_ID, DEMO_READ_CLIENT_SECRET,
    DemoTenant, SimConfig,
};
use reqwest::{Client, Response};
use serde_json::{Value, json};

pub const KELLY: i64 = 36216766;
pub const KELLY_SMS: i64 = 525501;
pub const KELLY_AUTH: i64 = 525502;
pub const STEPH: i64 = 36216767;
pub const STEPH_PROTECT: i64 = 525503;
pub const STEPH_VOICE: i64 = 525504;
pub const JOHN: i64 = 36216768;
pub const JOHN_YUBIKEY: i64 = 525505;
pub const CARISSA: i64 = 36216769;

/// A started tenant and a client for it.
pub struct Sim {
    pub tenant: DemoTenant,
    pub http: Client,
    pub base: String,
}

impl Sim {
    pub async fn start() -> Sim {
        Self::with(SimConfig::default()).await
    }

    pub async fn with(config: SimConfig) -> Sim {
        let tenant = DemoTenant::start(config).await.unwrap();
        let base = tenant.base_url();
        Sim {
            tenant,
            http: Client::new(),
            base,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn token_for(&self, id: &str, secret: &str) -> String {
        let r = self
            .http
            .post(self.url("/auth/oauth2/v2/token"))
            .basic_auth(id, Some(secret))
            .json(&json!({"grant_type": "client_credentials"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        v["access_token"].as_str().unwrap().to_string()
    }

    pub async fn manage(&self) -> String {
        self.token_for(DEMO_MANAGE_CLIENT_ID, DEMO_MANAGE_CLIENT_SECRET)
            .await
    }

    pub async fn read(&self) -> String {
        self.token_for(DEMO_READ_CLIENT_ID, DEMO_READ_CLIENT_SECRET)
            .await
    }

    pub async fn get(&self, token: &str, path: &str) -> Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> Response {
        self.http
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, token: &str, path: &str) -> Response {
        self.http
            .delete(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }
}

/// Status and JSON body.
pub async fn parts(r: Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    let v = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, v)
}

/// Asserts a v1 error envelope.
pub async fn assert_v1_err(r: Response, code: u16, message: &str) {
    let (status, v) = parts(r).await;
    assert_eq!(status, code, "{v}");
    assert_eq!(v["status"]["error"], true, "{v}");
    assert_eq!(v["status"]["code"], code, "{v}");
    assert_eq!(v["status"]["message"], message, "{v}");
}
