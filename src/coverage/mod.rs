//! The tenant-wide MFA coverage report: a paced scan into the store, and the report read back
//! from it without any API call.

pub mod report;
pub mod scan;

pub use report::{Report, ReportUser, Summary, build_report, build_report_limited, write_csv};
pub use scan::{ScanOptions, ScanOutcome, ScanProgress, scan};

use crate::api::ApiError;
use crate::store::StoreError;

/// A coverage failure.
#[derive(Debug, thiserror::Error)]
pub enum CoverageError {
    /// An API call failed (other than a 429, which only pauses the scan).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing the CSV file failed.
    #[error("cannot write {path}: {message}")]
    Write {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// Another scan holds this store.
    #[error("another coverage scan is running on {0}; wait for it or stop it first")]
    Busy(String),
    /// The store belongs to another tenant.
    #[error("the store {path} holds tenant {stored}, not {asked}; give --store for this tenant")]
    OtherTenant {
        /// The store file.
        path: String,
        /// The tenant it holds.
        stored: String,
        /// The tenant asked for.
        asked: String,
    },
}
