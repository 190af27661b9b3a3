//! The store's schema, one migration per step; `PRAGMA user_version` records how far a file is.
//!
//! Never edit a migration that has shipped: add the next one at the end of [`MIGRATIONS`].

use rusqlite_migration::{M, Migrations};

/// Migration 1: the coverage report (tenant, scan passes, users, devices).
const COVERAGE: &str = "
CREATE TABLE tenant (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    base_url TEXT NOT NULL
);
-- One pass over the tenant: a full scan or a refresh. An open pass (finished_at NULL) is resumed.
CREATE TABLE scan_pass (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('full', 'refresh')),
    started_at TEXT NOT NULL,
    finished_at TEXT,
    -- The After-Cursor of the last users page stored; NULL before the first page.
    list_cursor TEXT,
    list_done INTEGER NOT NULL DEFAULT 0,
    users_total INTEGER,
    -- Refresh only: events are read from events_since, page by page.
    events_since TEXT,
    events_cursor TEXT,
    events_done INTEGER NOT NULL DEFAULT 0,
    calls INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE cov_user (
    id INTEGER PRIMARY KEY,
    email TEXT,
    username TEXT,
    firstname TEXT,
    lastname TEXT,
    status INTEGER,
    state INTEGER,
    last_login TEXT,
    locked_until TEXT,
    -- The pass whose users list last named this user.
    listed_pass INTEGER NOT NULL,
    -- 1 while the open pass still has to read this user's devices.
    need_read INTEGER NOT NULL DEFAULT 1,
    read_pass INTEGER,
    read_at TEXT,
    category TEXT CHECK (category IN ('none', 'weak', 'strong', 'pending_only'))
);
CREATE INDEX cov_user_need_read ON cov_user (need_read, id);
CREATE INDEX cov_user_category ON cov_user (category, id);
CREATE TABLE cov_device (
    user_id INTEGER NOT NULL REFERENCES cov_user (id) ON DELETE CASCADE,
    device_id TEXT NOT NULL,
    factor TEXT NOT NULL,
    active INTEGER NOT NULL,
    is_default INTEGER NOT NULL,
    PRIMARY KEY (user_id, device_id)
);
";

/// Migration 2: bulk run journals (a run, its rows' targets and states).
const BULK: &str = "
CREATE TABLE bulk_run (
    id TEXT PRIMARY KEY,
    action TEXT NOT NULL,
    file_hash TEXT NOT NULL,
    file TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE bulk_row (
    run_id TEXT NOT NULL REFERENCES bulk_run (id) ON DELETE CASCADE,
    line INTEGER NOT NULL,
    -- The resolved user and device (ids and names, never a secret), JSON.
    target TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('planned', 'in_flight', 'done', 'failed', 'skipped')),
    request_id TEXT,
    error TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (run_id, line)
);
";

/// Every migration, in order.
pub const MIGRATIONS: &[M<'static>] = &[M::up(COVERAGE), M::up(BULK)];

/// The migrations as rusqlite_migration runs them.
pub fn migrations() -> Migrations<'static> {
    Migrations::from_slice(MIGRATIONS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        assert!(migrations().validate().is_ok());
    }
}
