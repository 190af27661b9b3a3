//! mfadesk: a terminal console for managing users' MFA factors in OneLogin.

pub mod api;
pub mod app;
pub mod audit;
pub mod cli;
pub mod config;
pub mod console;
pub mod coverage;
pub mod lane;
pub mod logging;
pub mod mfa_api;
pub mod ops;
pub mod policy;
pub mod runtime;
pub mod sim;
pub mod store;
pub mod ui;
pub mod worker;
