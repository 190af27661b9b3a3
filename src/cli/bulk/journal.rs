//! A bulk run's journal: every row's resolved target and state, so `--resume` continues
//! without resolving again and without applying anything twice.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::ops::bulk::{BulkAction, RowState};

/// What a run is about: enough to refuse a resume with another file or action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunInfo {
    /// `b-…`.
    pub run: String,
    /// The action of every row.
    pub action: BulkAction,
    /// SHA-256 of the file, hex.
    pub file_hash: String,
    /// The file as given (for messages).
    pub file: String,
}

/// One row of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct JournalRow {
    /// The file line.
    pub line: u64,
    /// The resolved target (user, device, lifetime, reason) as JSON; no secret.
    pub target: Value,
    /// Where it stands.
    pub state: RowState,
    /// The request id of the last call that changed something, when known.
    pub request_id: Option<String>,
    /// The last error, in words.
    pub error: Option<String>,
}

/// Why the journal could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("bulk journal: {0}")]
pub struct JournalError(pub String);

/// Runs kept in memory, by id.
type MemoryRuns = Arc<Mutex<BTreeMap<String, (RunInfo, Vec<JournalRow>)>>>;

/// The journal of bulk runs.
#[derive(Clone, Debug)]
pub enum Journal {
    /// Kept in memory only (when no store can be opened): resume is not possible.
    Memory(MemoryRuns),
}

impl Journal {
    /// A journal that lasts as long as the process.
    pub fn memory() -> Journal {
        Journal::Memory(Arc::default())
    }

    /// True when a run can be resumed by a later process.
    pub fn is_persistent(&self) -> bool {
        match self {
            Journal::Memory(_) => false,
        }
    }

    /// Records a new run with every row planned.
    pub async fn create(&self, info: &RunInfo, rows: &[JournalRow]) -> Result<(), JournalError> {
        match self {
            Journal::Memory(m) => {
                let mut m = m.lock().unwrap_or_else(|p| p.into_inner());
                m.insert(info.run.clone(), (info.clone(), rows.to_vec()));
                Ok(())
            }
        }
    }

    /// A run and its rows, in line order; `None` when there is no such run.
    pub async fn load(
        &self,
        run: &str,
    ) -> Result<Option<(RunInfo, Vec<JournalRow>)>, JournalError> {
        match self {
            Journal::Memory(m) => {
                let m = m.lock().unwrap_or_else(|p| p.into_inner());
                Ok(m.get(run).cloned())
            }
        }
    }

    /// Moves a row to `state`, with the request id and error of the call that moved it.
    pub async fn set(
        &self,
        run: &str,
        line: u64,
        state: RowState,
        request_id: Option<&str>,
        error: Option<&str>,
    ) -> Result<(), JournalError> {
        match self {
            Journal::Memory(m) => {
                let mut m = m.lock().unwrap_or_else(|p| p.into_inner());
                let row = m
                    .get_mut(run)
                    .and_then(|(_, rows)| rows.iter_mut().find(|r| r.line == line))
                    .ok_or_else(|| JournalError(format!("no row {line} in run {run}")))?;
                row.state = state;
                if request_id.is_some() {
                    row.request_id = request_id.map(str::to_owned);
                }
                row.error = error.map(str::to_owned);
                Ok(())
            }
        }
    }
}
