//! Errors the demo tenant can report to its caller.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the demo tenant could not start or keep running.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The tenant file could not be read.
    #[error("cannot read tenant file {path}: {source}")]
    TenantRead {
        /// The file named by `--tenant`.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The tenant file was read but does not describe a valid tenant.
    #[error("invalid tenant file {name}: {problem}")]
    TenantInvalid {
        /// The file (or "built-in demo tenant").
        name: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The listen address is not loopback and remote access was not allowed.
    #[error(
        "refusing to listen on {0}: the demo tenant has public credentials and unauthenticated /_sim/ routes; listen on 127.0.0.1 or ::1, or pass --allow-remote"
    )]
    Remote(SocketAddr),
    /// A configuration value is out of range.
    #[error("invalid setting: {0}")]
    Config(String),
    /// Waiting for Ctrl-C failed.
    #[error("cannot wait for Ctrl-C: {0}")]
    Signal(std::io::Error),
}
