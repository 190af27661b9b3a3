//! OneLogin REST client: no UI in here.

pub mod account;
mod auth;
pub mod client;
pub mod error;
pub mod events;
pub mod meta;
pub mod mfa;
mod mfa_v2;
pub mod retry;
pub mod secret;
pub mod types;
mod users;
pub mod wire;
pub mod wire_v2;

pub use client::{Client, ClientConfig, Credentials, parse_base_url};
pub use error::{ApiError, ErrorKind};
pub use events::{Event, EventBatch, EventPage, EventQuery, EventTypes};
pub use meta::{ResponseMeta, with_meta};
pub use mfa_v2::RegistrationRequest;
pub use retry::RetryPolicy;
pub use secret::Secret;
pub use types::*;
