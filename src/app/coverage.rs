//! The Coverage view (`R`): the tenant's MFA coverage from the store, and a background scan.

use std::path::PathBuf;

use crate::coverage::{Report, ScanOutcome, ScanProgress};
use crate::lane::LanePolicy;
use crate::store::coverage::Category;

/// The categories in the view's order: the ones needing attention first.
pub const ORDER: [Category; 4] = [
    Category::None,
    Category::Weak,
    Category::PendingOnly,
    Category::Strong,
];

/// Most users of a category the view reads from the store at once.
pub const USERS_SHOWN: usize = 500;

/// What the Coverage view's runtime work reports back.
#[derive(Clone, Debug)]
pub enum CoverageMsg {
    /// The report read from the store (summary and the highlighted category's users).
    Report(Result<Report, String>),
    /// A running scan's progress.
    Progress(ScanProgress),
    /// The scan ended.
    Done(Result<ScanOutcome, String>),
}

/// What the Coverage view asks the runtime to do.
#[derive(Clone, Debug, PartialEq)]
pub enum CoverageCmd {
    /// Read the report from the store: no API call.
    Load {
        /// The store file.
        store: PathBuf,
        /// The category whose users to list.
        category: Category,
    },
    /// Start or resume a scan in the background lane.
    Scan {
        /// The store file.
        store: PathBuf,
        /// The share and reserve.
        policy: LanePolicy,
    },
}

/// A scan started from the console.
#[derive(Clone, Debug, Default)]
pub struct ScanState {
    /// Still running.
    pub running: bool,
    /// The last progress heard.
    pub progress: Option<ScanProgress>,
    /// How it ended.
    pub outcome: Option<Result<ScanOutcome, String>>,
}

/// The Coverage view's state.
#[derive(Clone, Debug, Default)]
pub struct CoverageState {
    /// The tenant's store (None: no store in this session).
    pub store: Option<PathBuf>,
    /// The profile's share and reserve for scans.
    pub policy: LanePolicy,
    /// The report last read.
    pub report: Option<Report>,
    /// Why the store could not be read.
    pub error: Option<String>,
    /// A read is in flight.
    pub loading: bool,
    /// The highlighted category (index into [`ORDER`]).
    pub category: usize,
    /// The highlighted user row.
    pub selected: usize,
    /// The scan started from this console, if any.
    pub scan: Option<ScanState>,
    /// When the report was last asked for (a running scan refreshes it every few seconds).
    pub loaded_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl CoverageState {
    /// The highlighted category.
    pub fn category(&self) -> Category {
        ORDER[self.category.min(ORDER.len() - 1)]
    }

    /// A scan is running.
    pub fn scanning(&self) -> bool {
        self.scan.as_ref().is_some_and(|s| s.running)
    }
}
