//! OneLogin REST client: no UI in here.

pub mod client;
pub mod error;
pub mod secret;
pub mod types;

pub use client::{Client, ClientConfig, Credentials, parse_base_url};
pub use error::{ApiError, ErrorKind};
pub use secret::Secret;
pub use types::*;
