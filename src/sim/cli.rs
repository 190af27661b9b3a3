//! `mfadesk sim`: run the demo tenant from the command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::error::SimError;
use super::server::{DemoTenant, SimConfig};
use super::{
    DEMO_MANAGE_CLIENT_ID, DEMO_MANAGE_CLIENT_SECRET, DEMO_READ_CLIENT_ID, DEMO_READ_CLIENT_SECRET,
    DEMO_YUBIKEY_CODE,
};

/// Options of `mfadesk sim`.
#[derive(clap::Args, Debug, Clone)]
pub struct SimArgs {
    /// Address to listen on (IP:PORT or localhost:PORT); loopback only unless --allow-remote.
    #[arg(long, default_value = "127.0.0.1:8080", value_parser = listen_addr)]
    pub listen: SocketAddr,
    /// Allow --listen outside 127.0.0.0/8 and ::1 (anyone who can reach it gets the
    /// demo credentials' powers and the unauthenticated /_sim/ routes).
    #[arg(long)]
    pub allow_remote: bool,
    /// Tenant file to load instead of the built-in demo tenant.
    #[arg(long, value_name = "FILE")]
    pub tenant: Option<PathBuf>,
    /// API requests allowed per hour before 429.
    #[arg(long, value_name = "N", default_value_t = 5000)]
    pub rate_limit: u32,
    /// Delay added to every API response, in milliseconds.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub latency_ms: u64,
    /// Up to this many more milliseconds of random delay.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub jitter_ms: u64,
    /// Share of API requests answered with a random 500/502/503 (0..1).
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = probability)]
    pub fail_rate: f64,
    /// Share of API connections closed without an answer (0..1).
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = probability)]
    pub drop_rate: f64,
    /// Build N synthetic users (a realistic MFA mix) instead of the built-in 62.
    #[arg(long, value_name = "N", conflicts_with = "tenant", value_parser = user_count)]
    pub users: Option<usize>,
    /// Seed of the synthetic users (the same seed builds the same tenant).
    #[arg(long, value_name = "S", default_value_t = 1, requires = "users")]
    pub seed: u64,
}

/// Parses a user count between 1 and [`super::synth::MAX_USERS`].
fn user_count(s: &str) -> Result<usize, String> {
    let n: usize = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a whole number"))?;
    if (1..=super::synth::MAX_USERS).contains(&n) {
        Ok(n)
    } else {
        Err(format!("must be between 1 and {}", super::synth::MAX_USERS))
    }
}

/// Parses `IP:PORT`, `[IPv6]:PORT` or `localhost:PORT` (always 127.0.0.1, never a lookup,
/// so a hosts file cannot move the tenant off loopback).
fn listen_addr(s: &str) -> Result<SocketAddr, String> {
    let s = s.trim();
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let bad = || format!("{s:?} is not IP:PORT or localhost:PORT (e.g. 127.0.0.1:8080)");
    let (host, port) = s.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    if host.eq_ignore_ascii_case("localhost") {
        Ok(SocketAddr::from(([127, 0, 0, 1], port)))
    } else {
        Err(bad())
    }
}

/// Parses a probability between 0 and 1.
fn probability(s: &str) -> Result<f64, String> {
    let p: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err("must be between 0 and 1".to_string())
    }
}

impl From<SimArgs> for SimConfig {
    fn from(a: SimArgs) -> Self {
        SimConfig {
            listen: a.listen,
            tenant: a.tenant,
            rate_limit: a.rate_limit,
            latency_ms: a.latency_ms,
            jitter_ms: a.jitter_ms,
            fail_rate: a.fail_rate,
            drop_rate: a.drop_rate,
            allow_remote: a.allow_remote,
            synthetic_users: a.users.map(|n| (n, a.seed)),
            ..SimConfig::default()
        }
    }
}

/// Starts the demo tenant, prints how to reach it, and serves until Ctrl-C.
pub async fn run(args: SimArgs) -> Result<(), SimError> {
    let tenant = DemoTenant::start(args.into()).await?;
    println!("mfadesk demo tenant listening on {}", tenant.base_url());
    println!();
    println!(
        "  manage users:  client_id {DEMO_MANAGE_CLIENT_ID}  client_secret {DEMO_MANAGE_CLIENT_SECRET}"
    );
    println!(
        "  read users:    client_id {DEMO_READ_CLIENT_ID}  client_secret {DEMO_READ_CLIENT_SECRET}"
    );
    println!("  YubiKey code:  {DEMO_YUBIKEY_CODE}");
    println!();
    println!("Press Ctrl-C to stop.");
    tokio::signal::ctrl_c().await.map_err(SimError::Signal)?;
    tenant.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: SimArgs,
    }

    #[test]
    fn defaults_and_flags() {
        let w = Wrapper::try_parse_from(["sim"]).unwrap();
        assert_eq!(w.args.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(w.args.rate_limit, 5000);
        let w = Wrapper::try_parse_from([
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--rate-limit",
            "3",
            "--latency-ms",
            "5",
            "--jitter-ms",
            "2",
            "--fail-rate",
            "0.5",
            "--drop-rate",
            "0.1",
            "--tenant",
            "t.json",
        ])
        .unwrap();
        let c = SimConfig::from(w.args);
        assert_eq!((c.rate_limit, c.latency_ms, c.jitter_ms), (3, 5, 2));
        assert_eq!((c.fail_rate, c.drop_rate), (0.5, 0.1));
        assert!(Wrapper::try_parse_from(["sim", "--fail-rate", "2"]).is_err());
    }

    #[test]
    fn listen_accepts_localhost_and_flags_remote() {
        let listen = |v: &str| Wrapper::try_parse_from(["sim", "--listen", v]).map(|w| w.args);
        assert_eq!(
            listen("localhost:8080").unwrap().listen.to_string(),
            "127.0.0.1:8080"
        );
        assert_eq!(listen("[::1]:9").unwrap().listen.to_string(), "[::1]:9");
        assert!(listen("localhost").is_err());
        assert!(listen("localhost:99999").is_err());
        assert!(listen("example.com:80").is_err());
        let a = listen("0.0.0.0:8080").unwrap();
        assert!(!a.allow_remote);
        let w =
            Wrapper::try_parse_from(["sim", "--listen", "0.0.0.0:1", "--allow-remote"]).unwrap();
        assert!(SimConfig::from(w.args).allow_remote);
        // Flags near integer limits are a parse error, not a wrap-around.
        assert!(Wrapper::try_parse_from(["sim", "--rate-limit", "4294967296"]).is_err());
        assert!(Wrapper::try_parse_from(["sim", "--latency-ms", "-1"]).is_err());
    }
}
