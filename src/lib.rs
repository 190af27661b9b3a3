//! mfadesk: a terminal console for managing users' MFA factors in OneLogin.

pub mod api;
pub mod app;
pub mod sim;
pub mod worker;
