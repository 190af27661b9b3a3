//! The operations both faces share: finding a user or device, the policy gate, and the audit
//! records around every check and change.

pub mod account;
pub mod bulk;
pub mod caller;
pub mod code;
pub mod device_age;
pub mod error;
pub mod events;
pub mod gate;
pub mod record;
pub mod resolve;
pub mod signals;

pub use error::{OpsError, Refusal};
pub use gate::{Change, Gate};
pub use record::Recorder;
pub use resolve::{Candidate, resolve_device, resolve_factor, resolve_user};
pub use signals::{Signal, SignalName};
