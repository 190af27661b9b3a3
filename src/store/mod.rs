//! The store: one SQLite file per tenant (WAL, migrations), owned by one blocking thread.
//!
//! The async side never touches the connection: it sends a closure over a channel and awaits
//! the answer ([`Store::call`]), so a slow disk never stalls the runtime, and every write is
//! serialised through one connection. Reading a report makes no API call: it reads this file.

pub mod bulk;
pub mod coverage;
mod error;
pub mod migrations;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::Connection;

pub use error::StoreError;

/// Work for the store thread.
type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// A handle on a tenant's store; cheap to clone. The thread ends when the last handle drops.
#[derive(Clone, Debug)]
pub struct Store {
    tx: mpsc::Sender<Job>,
    path: PathBuf,
}

/// How long a writer waits for another process holding the file (a second scan, a report).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens (creating it and its folder if needed) and migrates a store file.
fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let mut conn = Connection::open(path).map_err(|source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // WAL: a report can read while a scan writes; NORMAL is durable across a process kill.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    migrations::migrations().to_latest(&mut conn)?;
    Ok(conn)
}

impl Store {
    /// Opens the store at `path` on its own thread; fails if the file cannot be opened or
    /// migrated.
    pub fn open(path: impl Into<PathBuf>) -> Result<Store, StoreError> {
        let path = path.into();
        let (tx, rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::sync_channel::<Result<(), StoreError>>(1);
        let thread_path = path.clone();
        std::thread::Builder::new()
            .name("mfadesk-store".into())
            .spawn(move || {
                let mut conn = match open_connection(&thread_path) {
                    Ok(conn) => {
                        let _ = ready_tx.send(Ok(()));
                        conn
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                while let Ok(job) = rx.recv() {
                    job(&mut conn);
                }
            })
            .map_err(|source| StoreError::Io {
                path: path.clone(),
                source,
            })?;
        ready_rx.recv().map_err(|_| StoreError::Closed)??;
        Ok(Store { tx, path })
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the store thread and awaits its result.
    pub async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let _ = tx.send(f(conn));
        });
        self.tx.send(job).map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Runs `f` on the store thread and blocks until it is done (for code outside the runtime).
    pub fn call_blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |conn| {
            let _ = tx.send(f(conn));
        });
        self.tx.send(job).map_err(|_| StoreError::Closed)?;
        rx.recv().map_err(|_| StoreError::Closed)?
    }
}

/// The default store of a tenant: `<data_dir>/tenants/<host>[_<port>].sqlite`.
pub fn default_path(data_dir: &Path, base_url: &str) -> PathBuf {
    let host = base_url
        .split_once("://")
        .map_or(base_url, |(_, rest)| rest)
        .trim_end_matches('/');
    // Only characters safe in a file name on every platform.
    let name: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let name = if name.is_empty() {
        "tenant".to_owned()
    } else {
        name
    };
    data_dir.join("tenants").join(format!("{name}.sqlite"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_path_is_one_file_per_tenant() {
        let d = Path::new("/data");
        assert_eq!(
            default_path(d, "https://acme.onelogin.com"),
            Path::new("/data/tenants/acme.onelogin.com.sqlite")
        );
        assert_eq!(
            default_path(d, "http://127.0.0.1:8080"),
            Path::new("/data/tenants/127.0.0.1_8080.sqlite")
        );
        assert_ne!(
            default_path(d, "https://a.onelogin.com"),
            default_path(d, "https://b.onelogin.com")
        );
    }

    #[tokio::test]
    async fn opens_in_wal_and_migrates() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("sub/t.sqlite")).unwrap();
        let (mode, version): (String, i64) = store
            .call(|c| {
                let mode = c.pragma_query_value(None, "journal_mode", |r| r.get(0))?;
                let version = c.pragma_query_value(None, "user_version", |r| r.get(0))?;
                Ok((mode, version))
            })
            .await
            .unwrap();
        assert_eq!(mode.to_lowercase(), "wal");
        assert_eq!(version, migrations::MIGRATIONS.len() as i64);
        // Reopening an up-to-date file is a no-op.
        drop(store);
        let again = Store::open(dir.path().join("sub/t.sqlite")).unwrap();
        let n: i64 = again
            .call_blocking(|c| Ok(c.query_row("SELECT count(*) FROM cov_user", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn an_unopenable_path_is_a_typed_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain");
        std::fs::write(&file, b"x").unwrap();
        // A path under a regular file cannot be created.
        let err = Store::open(file.join("t.sqlite")).unwrap_err();
        assert!(matches!(err, StoreError::Io { .. }), "{err:?}");
    }
}
