//! What can go wrong with the store.

use std::path::PathBuf;

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The folder or file could not be created.
    #[error("cannot create {path}: {source}")]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The database file could not be opened.
    #[error("cannot open the store {path}: {source}")]
    Open {
        /// The store file.
        path: PathBuf,
        /// Why.
        source: rusqlite::Error,
    },
    /// The schema could not be brought up to date (e.g. a file from a newer mfadesk).
    #[error("cannot update the store's schema: {0}")]
    Migrate(#[from] rusqlite_migration::Error),
    /// A query failed.
    #[error("store query failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Stored data is not what this version of mfadesk wrote.
    #[error("the store holds unexpected data: {0}")]
    Corrupt(String),
    /// The store thread has stopped.
    #[error("the store is closed")]
    Closed,
}
