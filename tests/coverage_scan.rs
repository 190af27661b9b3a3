//! The coverage scan end to end against a synthetic demo tenant: the report equals the truth
//! read through the raw API, the calls are exactly one per user plus one per 100 users (the
//! demo's budget counter), a scan killed with SIGKILL resumes without reading twice, and the
//! CSV opens in Python's csv module.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mfadesk::api::{Client, ClientConfig, Credentials};
use mfadesk::coverage::{ScanOptions, build_report, scan};
use mfadesk::lane::{Lane, LanePolicy};
use mfadesk::sim::{
    DEMO_READ_CLIENT_ID, DEMO_READ_CLIENT_SECRET, DemoTenant, RouteKind, SimConfig,
};
use mfadesk::store::Store;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_mfadesk");
const USERS: usize = 2000;
const DEADLINE: Duration = Duration::from_secs(60);

/// A synthetic tenant with a budget no test reaches.
async fn tenant(users: usize, latency_ms: u64) -> DemoTenant {
    DemoTenant::start(SimConfig {
        synthetic_users: Some((users, 42)),
        rate_limit: 100_000_000,
        latency_ms,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

/// Calls the read credential spent, less its token requests (one per process, not the scan's).
fn spent(t: &DemoTenant) -> u64 {
    let (limit, remaining, _) = t.control().rate_budget(DEMO_READ_CLIENT_ID);
    let tokens = t.control().request_count(RouteKind::Token);
    u64::from(limit - remaining) - tokens
}

fn client(t: &DemoTenant) -> Client {
    Client::new(ClientConfig::new(
        t.base_url(),
        Credentials {
            client_id: DEMO_READ_CLIENT_ID.into(),
            client_secret: DEMO_READ_CLIENT_SECRET.into(),
        },
    ))
    .unwrap()
}

/// The report's JSON as the raw API says it should be: every user page, every user's
/// otp_devices, classified by hand.
async fn truth(t: &DemoTenant) -> Value {
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{}/auth/oauth2/v2/token", t.base_url()))
        .basic_auth(DEMO_READ_CLIENT_ID, Some(DEMO_READ_CLIENT_SECRET))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bearer = format!("bearer {}", token["access_token"].as_str().unwrap());
    let mut users = Vec::new();
    let mut page = 1;
    loop {
        let r = http
            .get(format!(
                "{}/api/2/users?limit=100&page={page}",
                t.base_url()
            ))
            .header("authorization", &bearer)
            .send()
            .await
            .unwrap();
        let batch: Vec<Value> = r.json().await.unwrap();
        if batch.is_empty() {
            break;
        }
        users.extend(batch);
        page += 1;
    }
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    let mut by_factor: BTreeMap<String, u64> = BTreeMap::new();
    let mut locked_with_devices = 0;
    let mut out_users = Vec::new();
    for u in &users {
        let id = u["id"].as_i64().unwrap();
        let r: Value = http
            .get(format!("{}/api/1/users/{id}/otp_devices", t.base_url()))
            .header("authorization", &bearer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let devices = r["data"]["otp_devices"].as_array().unwrap().clone();
        let mut active: Vec<String> = Vec::new();
        let mut pending: Vec<String> = Vec::new();
        for d in &devices {
            let name = d["auth_factor_name"].as_str().unwrap().to_owned();
            if d["active"].as_bool().unwrap() {
                active.push(name);
            } else {
                pending.push(name);
            }
        }
        active.sort();
        active.dedup();
        pending.sort();
        pending.dedup();
        let weak = |n: &String| n.contains("SMS") || n.contains("Voice") || n.contains("Email");
        let category = if devices.is_empty() {
            "none"
        } else if active.is_empty() {
            "pending_only"
        } else if active.iter().all(weak) {
            "weak"
        } else {
            "strong"
        };
        *counts.entry(category).or_default() += 1;
        for f in &active {
            *by_factor.entry(f.clone()).or_default() += 1;
        }
        let status = u["status"].as_i64().unwrap();
        if (status == 2 || status == 3) && !devices.is_empty() {
            locked_with_devices += 1;
        }
        let name = format!(
            "{} {}",
            u["firstname"].as_str().unwrap(),
            u["lastname"].as_str().unwrap()
        );
        out_users.push(json!({
            "id": id, "email": u["email"], "name": name, "status": status,
            "last_login": u["last_login"], "category": category,
            "factors": active, "pending": pending,
        }));
    }
    json!({
        "summary": {
            "users": users.len(),
            "none": counts.get("none").copied().unwrap_or(0),
            "weak": counts.get("weak").copied().unwrap_or(0),
            "strong": counts.get("strong").copied().unwrap_or(0),
            "pending_only": counts.get("pending_only").copied().unwrap_or(0),
            "by_factor": by_factor,
            "locked_with_devices": locked_with_devices,
        },
        "users": out_users,
    })
}

/// The parts of a report the truth can be compared with (read_at, scanned_at and stale_90d
/// depend on when they are taken).
fn comparable(report: &Value) -> Value {
    let mut r = report.clone();
    let summary = r["summary"].as_object_mut().unwrap();
    summary.remove("stale_90d");
    let users: Vec<Value> = r["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            let mut u = u.clone();
            u.as_object_mut().unwrap().remove("read_at");
            u
        })
        .collect();
    json!({"summary": r["summary"], "users": users})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_scan_equals_the_raw_api_and_costs_one_call_per_user_plus_pages() {
    let t = tenant(USERS, 0).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("t.sqlite")).unwrap();
    let lane = Lane::new(LanePolicy::new(1.0, None).unwrap());
    let before = spent(&t);
    let outcome = scan(&client(&t), &store, &lane, &ScanOptions::default(), &|_| {})
        .await
        .unwrap();
    let calls = spent(&t) - before;
    assert!(outcome.complete);
    let pages = USERS.div_ceil(100) as u64;
    assert_eq!(
        calls,
        USERS as u64 + pages,
        "users + ceil(users/100), nothing else"
    );
    assert_eq!(
        outcome.calls, calls,
        "the pass counts what the tenant counted"
    );

    let report = store
        .call(|c| build_report(c, &[], chrono::Utc::now()))
        .await
        .unwrap();
    let report = serde_json::to_value(&report).unwrap();
    assert_eq!(report["complete"], json!(true));
    assert_eq!(report["tenant"], json!(t.base_url()));
    assert!(report["scanned_at"].is_string());
    let expected = truth(&t).await;
    assert_eq!(comparable(&report), expected);
    // A mix, not one category.
    for c in ["none", "weak", "strong", "pending_only"] {
        assert!(report["summary"][c].as_u64().unwrap() > 0, "{c}");
    }

    // Scanning again after a complete pass is a new pass: the same cost, the same answer.
    let before = spent(&t);
    let again = scan(&client(&t), &store, &lane, &ScanOptions::default(), &|_| {})
        .await
        .unwrap();
    assert!(again.complete && again.pass > outcome.pass);
    assert_eq!(spent(&t) - before, USERS as u64 + pages);
}

/// The binary in a private home, reading the tenant with the read-only credential.
fn cmd(home: &Path, base_url: &str, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    for (k, _) in std::env::vars() {
        if k.starts_with("ONELOGIN_") || k == "RUST_LOG" || k == "NO_COLOR" {
            c.env_remove(k);
        }
    }
    c.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("ONELOGIN_CLIENT_ID", DEMO_READ_CLIENT_ID)
        .env("ONELOGIN_CLIENT_SECRET", DEMO_READ_CLIENT_SECRET)
        .env("ONELOGIN_BASE_URL", base_url)
        .arg("--audit-log")
        .arg(home.join("audit.jsonl"))
        .arg("--log-file")
        .arg(home.join("mfadesk.log"))
        .args(args);
    c
}

/// Users whose devices the store holds (read straight from the file, as another process).
fn users_read(store: &Path) -> i64 {
    let Ok(conn) =
        rusqlite::Connection::open_with_flags(store, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
    else {
        return 0;
    };
    conn.query_row("SELECT count(read_at) FROM cov_user", [], |r| r.get(0))
        .unwrap_or(0)
}

/// Runs the binary to its end (output into files, so a large report never blocks on a pipe).
fn run_to_end(mut c: Command) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let mut child = c
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!(
                "mfadesk did not finish: {}",
                std::fs::read_to_string(&err).unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    std::process::Output {
        status,
        stdout: std::fs::read(&out).unwrap(),
        stderr: std::fs::read(&err).unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_killed_halfway_resumes_without_reading_twice() {
    // A little latency so the kill lands mid-scan.
    let t = tenant(USERS, 2).await;
    let home = tempfile::tempdir().unwrap();
    let store: PathBuf = home.path().join("s.sqlite");
    let store_arg = store.to_str().unwrap();
    let base = t.base_url();
    let before = spent(&t);
    let mut child = cmd(
        home.path(),
        &base,
        &["coverage", "scan", "--share", "1", "--store", store_arg],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let start = Instant::now();
    while users_read(&store) < (USERS / 2) as i64 {
        assert!(start.elapsed() < DEADLINE, "the scan made no progress");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the scan ended before the kill"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let read_before_resume = users_read(&store);
    assert!(read_before_resume < USERS as i64);

    let out = run_to_end(cmd(
        home.path(),
        &base,
        &["coverage", "scan", "--share", "1", "--store", store_arg],
    ));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pages = USERS.div_ceil(100) as u64;
    let calls = spent(&t) - before;
    assert!(
        calls <= USERS as u64 + pages + 100,
        "{calls} calls for {USERS} users"
    );
    assert!(calls >= USERS as u64 + pages);

    // Nothing counted twice: the report has each user once and matches the tenant.
    let out = run_to_end(cmd(
        home.path(),
        &base,
        &["coverage", "--json", "--store", store_arg],
    ));
    assert!(out.status.success());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["complete"], json!(true));
    assert_eq!(report["summary"]["users"], json!(USERS));
    assert_eq!(comparable(&report), truth(&t).await);

    // --category keeps the summary and lists only the chosen users.
    let out = run_to_end(cmd(
        home.path(),
        &base,
        &[
            "coverage",
            "--json",
            "--category",
            "none,pending_only",
            "--store",
            store_arg,
        ],
    ));
    let some: Value = serde_json::from_slice(&out.stdout).unwrap();
    let n = some["users"].as_array().unwrap().len() as u64;
    assert_eq!(
        n,
        some["summary"]["none"].as_u64().unwrap()
            + some["summary"]["pending_only"].as_u64().unwrap()
    );
    assert!(
        some["users"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["category"] == "none" || u["category"] == "pending_only")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_csv_opens_in_python_with_a_header_row_and_reading_it_calls_nothing() {
    let t = tenant(300, 0).await;
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("s.sqlite");
    let store_arg = store.to_str().unwrap();
    let base = t.base_url();
    let out = run_to_end(cmd(
        home.path(),
        &base,
        &["coverage", "scan", "--share", "1", "--store", store_arg],
    ));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Not a terminal: progress is JSON lines on stderr.
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().find(|l| l.contains("\"progress\"")).unwrap();
    let progress: Value = serde_json::from_str(line).unwrap();
    assert!(progress["progress"]["users_read"].is_u64());

    let before = spent(&t);
    let requests_before = t.control().request_count(RouteKind::Any);
    let csv = home.path().join("weak.csv");
    let out = run_to_end(cmd(
        home.path(),
        &base,
        &[
            "coverage",
            "--category",
            "weak",
            "--csv",
            csv.to_str().unwrap(),
            "--store",
            store_arg,
        ],
    ));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(spent(&t), before, "the report makes no API call");
    assert_eq!(t.control().request_count(RouteKind::Any), requests_before);
    let script = "import csv, json, sys\n\
                  rows = list(csv.DictReader(open(sys.argv[1], newline='')))\n\
                  print(json.dumps({'fields': list(rows[0].keys()), 'n': len(rows), \
                  'cats': sorted(set(r['category'] for r in rows))}))\n";
    let py = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&csv)
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    let parsed: Value = serde_json::from_slice(&py.stdout).unwrap();
    assert_eq!(
        parsed["fields"],
        json!([
            "id",
            "email",
            "name",
            "status",
            "last_login",
            "category",
            "factors",
            "pending",
            "read_at"
        ])
    );
    assert_eq!(parsed["cats"], json!(["weak"]));
    let report = run_to_end(cmd(
        home.path(),
        &base,
        &["coverage", "--json", "--store", store_arg],
    ));
    let report: Value = serde_json::from_slice(&report.stdout).unwrap();
    assert_eq!(parsed["n"], report["summary"]["weak"]);
}

#[test]
fn bad_flags_get_clear_messages() {
    let home = tempfile::tempdir().unwrap();
    let out = cmd(
        home.path(),
        "http://127.0.0.1:9",
        &["coverage", "--category", "meh"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a category"));
    let out = cmd(
        home.path(),
        "http://127.0.0.1:9",
        &["coverage", "scan", "--share", "2"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("share"));
}

/// A manage-scope bearer token for changes made through the API.
async fn manage_bearer(http: &reqwest::Client, base: &str) -> String {
    let token: Value = http
        .post(format!("{base}/auth/oauth2/v2/token"))
        .basic_auth("demo-manage", Some("demo-manage-secret"))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    format!("bearer {}", token["access_token"].as_str().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_reads_only_the_users_changed_through_the_api() {
    let users = 500;
    let t = tenant(users, 0).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("t.sqlite")).unwrap();
    let lane = Lane::new(LanePolicy::new(1.0, None).unwrap());
    let full = scan(&client(&t), &store, &lane, &ScanOptions::default(), &|_| {})
        .await
        .unwrap();
    assert!(full.complete && !full.refresh);

    // Two changes through the API: one user loses a device, one without MFA enrolls a phone.
    let control = t.control();
    let all = control.users();
    let with_device = all
        .iter()
        .find(|u| !control.devices(u.id).is_empty())
        .unwrap()
        .id;
    let without = all
        .iter()
        .find(|u| control.devices(u.id).is_empty())
        .unwrap()
        .id;
    let http = reqwest::Client::new();
    let base = t.base_url();
    let bearer = manage_bearer(&http, &base).await;
    let device = control.devices(with_device)[0].id;
    let r = http
        .delete(format!(
            "{base}/api/1/users/{with_device}/otp_devices/{device}"
        ))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let r = http
        .post(format!("{base}/api/1/users/{without}/otp_devices"))
        .header("authorization", &bearer)
        .json(&json!({"factor_id": 16282, "display_name": "Work phone", "number": "+15550009999", "verified": true}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{:?}", r.text().await);

    let before = spent(&t);
    let devices_before = t.control().request_count(RouteKind::OtpDevices);
    let refresh = ScanOptions {
        refresh: true,
        ..ScanOptions::default()
    };
    let outcome = scan(&client(&t), &store, &lane, &refresh, &|_| {})
        .await
        .unwrap();
    assert!(outcome.complete && outcome.refresh);
    let pages = users.div_ceil(100) as u64;
    // One events page, the users list, and the two changed users: nobody else is read.
    assert_eq!(spent(&t) - before, 1 + pages + 2);
    assert_eq!(outcome.calls, 1 + pages + 2);
    assert_eq!(
        t.control().request_count(RouteKind::OtpDevices) - devices_before,
        2
    );

    let report = store
        .call(|c| build_report(c, &[], chrono::Utc::now()))
        .await
        .unwrap();
    let report = serde_json::to_value(&report).unwrap();
    assert_eq!(comparable(&report), truth(&t).await);
    let enrolled = report["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == json!(without))
        .unwrap();
    assert_eq!(enrolled["category"], json!("weak"));
    assert_eq!(enrolled["factors"], json!(["OneLogin SMS"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_scans_never_share_a_store() {
    let t = tenant(300, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sqlite");
    let store = Store::open(&path).unwrap();
    let lane = Lane::new(LanePolicy::new(1.0, None).unwrap());
    let c = client(&t);
    let options = ScanOptions::default();
    let first = scan(&c, &store, &lane, &options, &|_| {});
    let other = Store::open(&path).unwrap();
    let second = async {
        // Once the first holds the lock (it has stored a page), the second is refused.
        let start = Instant::now();
        while other
            .call(|c| Ok(mfadesk::store::coverage::counts(c)?.0))
            .await
            .unwrap()
            == 0
        {
            assert!(start.elapsed() < DEADLINE);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        scan(&c, &other, &lane, &options, &|_| {}).await
    };
    let (first, second) = tokio::join!(first, second);
    assert!(first.unwrap().complete);
    let err = second.unwrap_err();
    assert!(err.to_string().contains("another coverage scan"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_demos_hour_a_600_budget_scan_spends_at_most_300_and_keeps_the_reserve() {
    use mfadesk::lane::AppClock;
    let t = DemoTenant::start(SimConfig {
        synthetic_users: Some((1000, 7)),
        rate_limit: 600,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("t.sqlite")).unwrap();
    // The lane and the demo tenant move through the same hour, one second a step.
    let clock = AppClock::manual();
    let lane = Lane::with_clock(LanePolicy::new(0.5, None).unwrap(), clock.clone());
    let c = client(&t);
    let agent = client(&t);
    let control = t.control();
    let options = ScanOptions::default();
    let scan = scan(&c, &store, &lane, &options, &|_| {});
    let hour = async {
        let mut lowest = u32::MAX;
        let mut agent_answers = 0;
        for second in 0..3590 {
            clock.advance(Duration::from_secs(1));
            assert!(control.advance_clock(1));
            let (_, remaining, _) = control.rate_budget(DEMO_READ_CLIENT_ID);
            lowest = lowest.min(remaining);
            if second % 600 == 300 {
                // An agent's search mid-scan is answered at once, never queued behind it.
                let q = mfadesk::api::UserQuery {
                    email: Some("*".into()),
                    limit: Some(1),
                    ..Default::default()
                };
                let found = tokio::time::timeout(Duration::from_secs(5), agent.search_users(&q))
                    .await
                    .expect("the agent's search waited")
                    .unwrap();
                assert_eq!(found.users.len(), 1);
                agent_answers += 1;
            }
            tokio::time::sleep(Duration::from_micros(300)).await;
        }
        (lowest, agent_answers)
    };
    let (lowest, agent_answers) = tokio::select! {
        r = hour => r,
        _ = scan => panic!("1,010 calls cannot fit in 300"),
    };
    assert_eq!(agent_answers, 6);
    let status = lane.status();
    eprintln!(
        "pacing figure: lane spent {} calls, lowest Remaining {lowest}",
        status.spent
    );
    assert!(status.spent <= 300, "the lane spent {}", status.spent);
    // How much of the share is used depends on how fast this machine answers between steps.
    assert!(status.spent > 10, "the scan made no progress");
    // The tenant's own count: the lane's calls, the agents' six and the two tokens.
    let (limit, remaining, _) = control.rate_budget(DEMO_READ_CLIENT_ID);
    assert!(u64::from(limit - remaining) <= 300 + 6 + 2);
    // 20 % of 600 is never touched by the scan (the agents' few calls come out of it).
    assert!(lowest >= 120 - 6, "Remaining fell to {lowest}");
}

#[tokio::test]
async fn the_demo_answers_only_the_fields_asked_for() {
    let t = tenant(5, 0).await;
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{}/auth/oauth2/v2/token", t.base_url()))
        .basic_auth(DEMO_READ_CLIENT_ID, Some(DEMO_READ_CLIENT_SECRET))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let users: Vec<Value> = http
        .get(format!(
            "{}/api/2/users?limit=2&fields=email,status",
            t.base_url()
        ))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(users.len(), 2);
    for u in users {
        let mut keys: Vec<&String> = u.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["email", "id", "status"]);
    }
}
