//! Bulk run journals: each run's rows, their resolved targets and states, so a run can be
//! resumed after any stop without applying a row twice.

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;

/// A run as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRun {
    /// `b-…`.
    pub id: String,
    /// `remove`, `token`, …
    pub action: String,
    /// SHA-256 of the file, hex.
    pub file_hash: String,
    /// The file as given.
    pub file: String,
}

/// A row as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRow {
    /// The file line.
    pub line: u64,
    /// The resolved target, JSON.
    pub target: String,
    /// `planned`, `in_flight`, `done`, `failed` or `skipped`.
    pub state: String,
    /// The request id of the call that last changed the row.
    pub request_id: Option<String>,
    /// The last error.
    pub error: Option<String>,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn line_of(line: i64) -> Result<u64, StoreError> {
    u64::try_from(line).map_err(|_| StoreError::Corrupt(format!("bulk row line {line}")))
}

/// Records a new run and its rows, all or nothing.
pub fn create_run(
    conn: &mut Connection,
    run: &StoredRun,
    rows: &[StoredRow],
) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    let at = now();
    tx.execute(
        "INSERT INTO bulk_run (id, action, file_hash, file, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![run.id, run.action, run.file_hash, run.file, at],
    )?;
    {
        let mut insert = tx.prepare(
            "INSERT INTO bulk_row (run_id, line, target, state, request_id, error, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for r in rows {
            let line = i64::try_from(r.line)
                .map_err(|_| StoreError::Corrupt(format!("bulk row line {}", r.line)))?;
            insert.execute(params![
                run.id,
                line,
                r.target,
                r.state,
                r.request_id,
                r.error,
                at
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// A run and its rows in line order; `None` when there is no such run.
pub fn load_run(
    conn: &Connection,
    id: &str,
) -> Result<Option<(StoredRun, Vec<StoredRow>)>, StoreError> {
    let run = conn
        .query_row(
            "SELECT id, action, file_hash, file FROM bulk_run WHERE id = ?1",
            [id],
            |r| {
                Ok(StoredRun {
                    id: r.get(0)?,
                    action: r.get(1)?,
                    file_hash: r.get(2)?,
                    file: r.get(3)?,
                })
            },
        )
        .optional()?;
    let Some(run) = run else {
        return Ok(None);
    };
    let mut stmt = conn.prepare(
        "SELECT line, target, state, request_id, error FROM bulk_row WHERE run_id = ?1 ORDER BY line",
    )?;
    let rows = stmt
        .query_map([id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })?
        .map(|row| {
            let (line, target, state, request_id, error) = row?;
            Ok(StoredRow {
                line: line_of(line)?,
                target,
                state,
                request_id,
                error,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Some((run, rows)))
}

/// Moves a row to `state`; a request id, once known, is kept when the next move has none.
pub fn set_row(
    conn: &Connection,
    run: &str,
    line: u64,
    state: &str,
    request_id: Option<&str>,
    error: Option<&str>,
) -> Result<(), StoreError> {
    let line =
        i64::try_from(line).map_err(|_| StoreError::Corrupt(format!("bulk row line {line}")))?;
    let changed = conn.execute(
        "UPDATE bulk_row SET state = ?3, request_id = coalesce(?4, request_id), error = ?5,
             updated_at = ?6
         WHERE run_id = ?1 AND line = ?2",
        params![run, line, state, request_id, error, now()],
    )?;
    if changed == 1 {
        Ok(())
    } else {
        Err(StoreError::Corrupt(format!(
            "no row {line} in bulk run {run}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_stored_moved_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(dir.path().join("t.sqlite")).unwrap();
        let run = StoredRun {
            id: "b-1".into(),
            action: "remove".into(),
            file_hash: "ab".into(),
            file: "rows.csv".into(),
        };
        let rows: Vec<StoredRow> = [2, 3]
            .into_iter()
            .map(|line| StoredRow {
                line,
                target: "{}".into(),
                state: "planned".into(),
                request_id: None,
                error: None,
            })
            .collect();
        let loaded = store
            .call_blocking(move |c| {
                create_run(c, &run, &rows)?;
                set_row(c, "b-1", 3, "in_flight", None, None)?;
                set_row(c, "b-1", 3, "done", Some("req-1"), None)?;
                set_row(c, "b-1", 3, "done", None, None)?;
                assert!(set_row(c, "b-1", 9, "done", None, None).is_err());
                assert!(load_run(c, "b-2")?.is_none());
                load_run(c, "b-1")
            })
            .unwrap()
            .unwrap();
        assert_eq!(loaded.0.file_hash, "ab");
        let states: Vec<(&str, Option<&str>)> = loaded
            .1
            .iter()
            .map(|r| (r.state.as_str(), r.request_id.as_deref()))
            .collect();
        assert_eq!(states, [("planned", None), ("done", Some("req-1"))]);
    }
}
