//! A bulk run's journal: every row's resolved target and state, so `--resume` continues
//! without resolving again and without applying anything twice.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::ops::bulk::{BulkAction, RowState};
use crate::store::Store;
use crate::store::bulk::{self as stored, StoredRow, StoredRun};

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
    /// In the tenant's store: a later process can resume.
    Store(Store),
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
            Journal::Store(_) => true,
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
            Journal::Store(store) => {
                let run = StoredRun {
                    id: info.run.clone(),
                    action: info.action.as_str().to_owned(),
                    file_hash: info.file_hash.clone(),
                    file: info.file.clone(),
                };
                let rows: Vec<StoredRow> = rows
                    .iter()
                    .map(|r| StoredRow {
                        line: r.line,
                        target: r.target.to_string(),
                        state: r.state.as_str().to_owned(),
                        request_id: r.request_id.clone(),
                        error: r.error.clone(),
                    })
                    .collect();
                store
                    .call(move |c| stored::create_run(c, &run, &rows))
                    .await
                    .map_err(|e| JournalError(e.to_string()))
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
            Journal::Store(store) => {
                let id = run.to_owned();
                let Some((run, rows)) = store
                    .call(move |c| stored::load_run(c, &id))
                    .await
                    .map_err(|e| JournalError(e.to_string()))?
                else {
                    return Ok(None);
                };
                let bad = |what: &str| JournalError(format!("run {} has {what}", run.id));
                let info = RunInfo {
                    action: BulkAction::parse(&run.action)
                        .ok_or_else(|| bad("an unknown action"))?,
                    run: run.id.clone(),
                    file_hash: run.file_hash.clone(),
                    file: run.file.clone(),
                };
                let rows = rows
                    .into_iter()
                    .map(|r| {
                        Ok(JournalRow {
                            line: r.line,
                            target: serde_json::from_str(&r.target)
                                .map_err(|_| bad("an unreadable row"))?,
                            state: RowState::parse(&r.state)
                                .ok_or_else(|| bad("an unknown state"))?,
                            request_id: r.request_id,
                            error: r.error,
                        })
                    })
                    .collect::<Result<Vec<_>, JournalError>>()?;
                Ok(Some((info, rows)))
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
            Journal::Store(store) => {
                let (run, state) = (run.to_owned(), state.as_str());
                let (request_id, error) = (request_id.map(str::to_owned), error.map(str::to_owned));
                store
                    .call(move |c| {
                        stored::set_row(
                            c,
                            &run,
                            line,
                            state,
                            request_id.as_deref(),
                            error.as_deref(),
                        )
                    })
                    .await
                    .map_err(|e| JournalError(e.to_string()))
            }
        }
    }
}
