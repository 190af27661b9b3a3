//! mfadesk: a terminal console for managing users' MFA factors in OneLogin.

pub mod api;
pub mod audit;
pub mod config;
pub mod logging;
pub mod sim;
