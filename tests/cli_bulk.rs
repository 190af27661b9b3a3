//! `mfadesk bulk` end to end: the built binary against a demo tenant on loopback built from a
//! generated seed (a wave of users, each with a laptop authenticator and a phone), with the
//! plan, the apply checked row by row against the tenant, every file problem at once, the
//! gate's refusals, overrides audited per row, and no token anywhere but stdout.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use mfadesk::sim::{DemoTenant, RouteKind, SimConfig, SimControl};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_mfadesk");
const SECRET: &str = "demo-manage-secret";
const DEADLINE: Duration = Duration::from_secs(60);
/// The first user of the wave; user `FIRST + i` is `u{i}@wave.example`.
const FIRST: i64 = 7_000_000;
/// Device ids: the laptop of user i is `LAPTOP + i`, the phone `PHONE + i`.
const LAPTOP: i64 = 8_000_000;
const PHONE: i64 = 9_000_000;

/// A seed with `n` wave users, plus two users sharing the username `twin`.
fn seed(n: i64) -> Value {
    let mut users: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "id": FIRST + i,
                "username": format!("user{i}"),
                "email": format!("u{i}@wave.example"),
                "firstname": "Wave",
                "lastname": format!("User {i}"),
                "status": 1,
                "devices": [
                    {"id": LAPTOP + i, "kind": "authenticator", "user_display_name": "Laptop", "default": true},
                    {"id": PHONE + i, "kind": "authenticator", "user_display_name": "Phone"},
                ],
            })
        })
        .collect();
    for (k, email) in ["twin.a@wave.example", "twin.b@wave.example"]
        .iter()
        .enumerate()
    {
        users.push(json!({
            "id": FIRST - 1 - k as i64,
            "username": "twin",
            "email": email,
            "firstname": "Twin",
            "lastname": format!("{k}"),
            "status": 1,
        }));
    }
    json!({"account_id": 1, "users": users})
}

/// A demo tenant on 127.0.0.1:0 built from [`seed`], and a private home for the binary.
struct Env {
    rt: tokio::runtime::Runtime,
    tenant: Option<DemoTenant>,
    control: SimControl,
    base_url: String,
    home: tempfile::TempDir,
}

impl Env {
    fn new(users: i64, latency_ms: u64) -> Env {
        Env::with_seed(&seed(users), latency_ms)
    }

    fn with_seed(seed: &Value, latency_ms: u64) -> Env {
        let home = tempfile::tempdir().unwrap();
        let seed_path = home.path().join("tenant.json");
        std::fs::write(&seed_path, seed.to_string()).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let config = SimConfig {
            tenant: Some(seed_path),
            rate_limit: 10_000_000,
            latency_ms,
            ..SimConfig::default()
        };
        let tenant = rt.block_on(DemoTenant::start(config)).unwrap();
        let control = tenant.control();
        let base_url = tenant.base_url();
        Env {
            rt,
            tenant: Some(tenant),
            control,
            base_url,
            home,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.home.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        for (k, _) in std::env::vars() {
            if k.starts_with("ONELOGIN_") || k == "RUST_LOG" || k == "NO_COLOR" {
                c.env_remove(k);
            }
        }
        let home = self.home.path();
        c.env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("USER", "agent-tests")
            .env("ONELOGIN_CLIENT_ID", "demo-manage")
            .env("ONELOGIN_CLIENT_SECRET", SECRET)
            .env("ONELOGIN_BASE_URL", &self.base_url)
            .args(args)
            .arg("--audit-log")
            .arg(self.path("audit.jsonl"))
            .arg("--log-file")
            .arg(self.path("mfadesk.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        finish(self.cmd(args).spawn().unwrap())
    }

    /// With a profile for this tenant plus `extra` config lines.
    fn run_profile(&self, extra: &str, args: &[&str]) -> Output {
        let config = self.write(
            "config.toml",
            &format!(
                "default_profile = \"sim\"\n[profiles.sim]\nbase_url = \"{}\"\nclient_id = \"demo-manage\"\nclient_secret_env = \"SIM_SECRET\"\n{extra}\n",
                self.base_url
            ),
        );
        let mut c = self.cmd(args);
        c.env_remove("ONELOGIN_CLIENT_ID")
            .env_remove("ONELOGIN_CLIENT_SECRET")
            .env_remove("ONELOGIN_BASE_URL")
            .env("SIM_SECRET", SECRET)
            .arg("--config")
            .arg(config);
        finish(c.spawn().unwrap())
    }

    fn audit_lines(&self) -> Vec<Value> {
        std::fs::read_to_string(self.path("audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn device_ids(&self, user: i64) -> Vec<i64> {
        self.control.devices(user).iter().map(|d| d.id).collect()
    }

    /// A remove file for users `0..n`: their laptops, by name, email or id in turn.
    fn laptops(&self, n: i64) -> PathBuf {
        let mut text = String::from("user,device,reason\n");
        for i in 0..n {
            let user = match i % 3 {
                0 => format!("u{i}@wave.example"),
                1 => format!("user{i}"),
                _ => (FIRST + i).to_string(),
            };
            let device = if i % 2 == 0 {
                "laptop".to_owned()
            } else {
                (LAPTOP + i).to_string()
            };
            text.push_str(&format!("{user},{device},INC-42 stolen laptops\n"));
        }
        self.write("laptops.csv", &text)
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(t) = self.tenant.take() {
            self.rt.block_on(t.shutdown());
        }
    }
}

/// Waits for the child, killing it past the deadline.
fn finish(mut child: Child) -> Output {
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!("mfadesk did not finish: {:?}", child.wait_with_output());
        }
        std::thread::park_timeout(Duration::from_millis(20));
    }
}

fn status(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ndjson(o: &Output) -> Vec<Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn file_arg(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Audit lines of one bulk run, by file line.
fn by_line(lines: &[Value], run: &str) -> HashMap<u64, Vec<Value>> {
    let mut map: HashMap<u64, Vec<Value>> = HashMap::new();
    for l in lines.iter().filter(|l| l["bulk"]["run"] == run) {
        map.entry(l["bulk"]["line"].as_u64().unwrap())
            .or_default()
            .push(l.clone());
    }
    map
}

/// The run id announced on stderr.
fn run_id(o: &Output) -> String {
    let err = stderr(o);
    let at = err
        .find("run b-")
        .unwrap_or_else(|| panic!("no run id: {err}"));
    err[at + 4..]
        .split(|c: char| c == ':' || c.is_whitespace())
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn a_200_row_plan_changes_nothing_and_the_apply_removes_every_laptop() {
    let env = Env::new(200, 0);
    let file = env.laptops(200);
    let o = env.run(&[
        "bulk",
        "remove",
        "--file",
        file_arg(&file),
        "--plan",
        "--json",
    ]);
    assert_eq!(status(&o), 10, "{}", stderr(&o));
    let plan: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(plan["run"], Value::Null);
    assert_eq!(plan["action"], "remove");
    let rows = plan["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 200);
    for (i, row) in rows.iter().enumerate() {
        let i = i as i64;
        assert_eq!(row["line"], i + 2);
        assert_eq!(row["user"]["id"], FIRST + i);
        assert_eq!(row["user"]["email"], format!("u{i}@wave.example"));
        assert_eq!(row["device"]["id"], (LAPTOP + i).to_string());
        assert_eq!(row["device"]["name"], "Laptop");
        assert!(row["intent"].as_str().unwrap().contains("remove"), "{row}");
    }
    assert_eq!(env.control.request_count(RouteKind::Remove), 0);
    assert!(env.audit_lines().is_empty(), "a plan writes no audit line");
    // The text plan: one row each, same exit.
    let o = env.run(&["bulk", "remove", "--file", file_arg(&file), "--plan"]);
    assert_eq!(status(&o), 10);
    assert_eq!(stdout(&o).lines().count(), 201, "{}", stdout(&o));
    assert!(stderr(&o).contains("nothing was changed"));
    for i in 0..200 {
        assert_eq!(env.device_ids(FIRST + i), [LAPTOP + i, PHONE + i]);
    }

    // Without a terminal, --yes is required.
    let o = env.run(&["bulk", "remove", "--file", file_arg(&file)]);
    assert_eq!(status(&o), 4, "{}", stderr(&o));
    assert!(stderr(&o).contains("--yes"));
    assert_eq!(env.control.request_count(RouteKind::Remove), 0);

    let o = env.run(&["bulk", "remove", "--file", file_arg(&file), "--yes"]);
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    let run = run_id(&o);
    let results = ndjson(&o);
    assert_eq!(results.len(), 200);
    for (i, r) in results.iter().enumerate() {
        let i = i as i64;
        assert_eq!(r["line"], i + 2);
        assert_eq!(r["action"], "remove");
        assert_eq!(r["outcome"], "done", "{r}");
        assert_eq!(r["user"]["id"], FIRST + i);
        assert_eq!(r["device"]["id"], (LAPTOP + i).to_string());
        assert!(r["request_id"].as_str().is_some_and(|s| !s.is_empty()));
        assert!(r.get("error").is_none());
        // Checked against the tenant: the laptop is gone, the phone stays.
        assert_eq!(env.device_ids(FIRST + i), [PHONE + i]);
    }
    assert_eq!(env.control.request_count(RouteKind::Remove), 200);
    assert!(
        stderr(&o).contains("200 done, 0 failed, 0 skipped"),
        "{}",
        stderr(&o)
    );
    // One attempt and one outcome line per row, carrying the run, line, reason and request id.
    let audit = env.audit_lines();
    let rows = by_line(&audit, &run);
    assert_eq!(rows.len(), 200);
    for (line, lines) in &rows {
        let outcomes: Vec<&str> = lines
            .iter()
            .map(|l| l["outcome"].as_str().unwrap())
            .collect();
        assert_eq!(outcomes, ["attempt", "success"], "line {line}");
        let result = &results[(*line - 2) as usize];
        assert_eq!(lines[1]["request_id"], result["request_id"]);
        assert_eq!(lines[1]["reason"], "INC-42 stolen laptops");
        assert_eq!(lines[1]["device_id"], result["device"]["id"]);
    }
}

#[test]
fn every_problem_in_a_file_is_reported_at_once_with_its_line() {
    let env = Env::new(3, 0);
    let file = env.write(
        "bad.csv",
        "user,device,colour\nu0@wave.example,laptop,red\nu1@wave.example,Pixel,blue\ntwin,laptop,green\nu2@wave.example,google authenticator,x\nu0@wave.example,Laptop,y\n",
    );
    let o = env.run(&["bulk", "remove", "--file", file_arg(&file), "--yes"]);
    assert_eq!(status(&o), 2, "a malformed file exits 2: {}", stderr(&o));
    let err = stderr(&o);
    for expected in [
        "line 1: unknown column \"colour\"",
        &format!(
            "line 3: no device \"Pixel\" for u1@wave.example (devices: {} Google Authenticator \"Laptop\", {} Google Authenticator \"Phone\")",
            LAPTOP + 1,
            PHONE + 1
        ),
        "line 4: 2 users match \"twin\"",
        "twin.a@wave.example",
        "twin.b@wave.example",
        &format!(
            "line 5: 2 devices of u2@wave.example match \"google authenticator\": {}",
            LAPTOP + 2
        ),
        "line 6: duplicate of line 2",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    assert_eq!(env.control.request_count(RouteKind::Remove), 0);
    assert!(env.audit_lines().is_empty());

    // Well-formed but unresolvable: exit 3, and as JSON with every line.
    let file = env.write(
        "unresolved.csv",
        "user,device\nu0@wave.example,laptop\nnobody@wave.example,laptop\ntwin,laptop\n",
    );
    let o = env.run(&["bulk", "remove", "--file", file_arg(&file), "--json"]);
    assert_eq!(status(&o), 3, "{}", stderr(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let lines: Vec<i64> = doc["error"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["line"].as_i64().unwrap())
        .collect();
    assert_eq!(lines, [3, 4]);
    assert_eq!(env.device_ids(FIRST), [LAPTOP, PHONE]);
}

#[test]
fn read_only_and_missing_reasons_refuse_the_run_before_anything_is_sent() {
    let env = Env::new(3, 0);
    let file = env.write(
        "rows.csv",
        "user,device,reason\nu0@wave.example,laptop,INC-1\nu1@wave.example,laptop,\nu2@wave.example,laptop,INC-3\n",
    );
    let o = env.run(&[
        "bulk",
        "remove",
        "--file",
        file_arg(&file),
        "--yes",
        "--read-only",
    ]);
    assert_eq!(status(&o), 4, "{}", stderr(&o));
    assert!(stderr(&o).contains("read-only"), "{}", stderr(&o));
    assert_eq!(env.control.request_count(RouteKind::Remove), 0);

    let o = env.run_profile(
        "require_reason = true",
        &[
            "bulk",
            "remove",
            "--file",
            file_arg(&file),
            "--yes",
            "--json",
        ],
    );
    assert_eq!(status(&o), 4, "{}", stderr(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["error"]["kind"], "missing_reason");
    let message = doc["error"]["message"].as_str().unwrap();
    assert!(message.contains("line 3:"), "{message}");
    assert!(!message.contains("line 2:"), "{message}");
    assert_eq!(env.control.request_count(RouteKind::Remove), 0);
    // Each refusal is on the trail, with its run and line.
    let refused: Vec<Value> = env
        .audit_lines()
        .into_iter()
        .filter(|l| l["outcome"] == "refused")
        .collect();
    assert!(refused.iter().any(|l| l["bulk"]["line"] == 3));

    // --reason fills the empty cell; the row's own reason wins where there is one.
    let o = env.run_profile(
        "require_reason = true",
        &[
            "bulk",
            "remove",
            "--file",
            file_arg(&file),
            "--yes",
            "--reason",
            "INC-9 wave",
        ],
    );
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    let run = run_id(&o);
    let audit = env.audit_lines();
    let rows = by_line(&audit, &run);
    assert_eq!(rows[&2][1]["reason"], "INC-1");
    assert_eq!(rows[&3][1]["reason"], "INC-9 wave");
}

#[test]
fn a_required_caller_check_refuses_each_row_unless_overridden_and_the_override_is_audited() {
    let env = Env::new(3, 0);
    let file = env.write(
        "rows.csv",
        "user,device\nu0@wave.example,laptop\nu1@wave.example,laptop\nu2@wave.example,laptop\n",
    );
    let profile = "require_caller_check = [\"remove\"]";
    let o = env.run_profile(
        profile,
        &["bulk", "remove", "--file", file_arg(&file), "--yes"],
    );
    assert_eq!(status(&o), 1, "{}", stderr(&o));
    let results = ndjson(&o);
    assert_eq!(results.len(), 3);
    for r in &results {
        assert_eq!(r["outcome"], "failed");
        assert_eq!(r["error"]["kind"], "missing_caller_check");
    }
    assert_eq!(env.control.request_count(RouteKind::Remove), 0);

    let o = env.run_profile(
        profile,
        &[
            "bulk",
            "remove",
            "--file",
            file_arg(&file),
            "--yes",
            "--override-caller-check",
            "short",
        ],
    );
    assert_eq!(status(&o), 2, "a short override reason is refused");

    let reason = "site manager confirmed the theft, INC-77";
    let o = env.run_profile(
        profile,
        &[
            "bulk",
            "remove",
            "--file",
            file_arg(&file),
            "--yes",
            "--override-caller-check",
            reason,
        ],
    );
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    let run = run_id(&o);
    let audit = env.audit_lines();
    let rows = by_line(&audit, &run);
    assert_eq!(rows.len(), 3);
    for (line, lines) in &rows {
        let override_line = lines
            .iter()
            .find(|l| l["action"] == "caller_check")
            .unwrap_or_else(|| panic!("no override line for line {line}"));
        assert_eq!(override_line["outcome"], "overridden");
        assert_eq!(override_line["reason"], reason);
        let change: Vec<&Value> = lines.iter().filter(|l| l["action"] == "remove").collect();
        assert_eq!(change.len(), 2, "line {line}");
        for l in change {
            assert_eq!(l["caller_check"]["outcome"], "overridden", "line {line}");
            assert_eq!(l["caller_check"]["reason"], reason);
        }
    }
    for i in 0..3 {
        assert_eq!(env.device_ids(FIRST + i), [PHONE + i]);
    }
}

#[test]
fn bulk_tokens_appear_on_their_result_line_and_nowhere_else() {
    let env = Env::new(3, 0);
    let file = env.write(
        "tokens.csv",
        "user,expires_in,reusable,reason\nu0@wave.example,24h,true,INC-5 phones died\nuser1,,,INC-5\n",
    );
    let o = env.run(&["bulk", "token", "--file", file_arg(&file), "--plan"]);
    assert_eq!(status(&o), 10, "{}", stderr(&o));
    assert!(stdout(&o).contains("valid 24h"), "{}", stdout(&o));
    let o = env.run(&["bulk", "token", "--file", file_arg(&file), "--yes"]);
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    let results = ndjson(&o);
    assert_eq!(results.len(), 2);
    let audit = std::fs::read_to_string(env.path("audit.jsonl")).unwrap();
    let log = std::fs::read_to_string(env.path("mfadesk.log")).unwrap_or_default();
    for r in &results {
        assert_eq!(r["outcome"], "done");
        assert_eq!(r["action"], "token");
        let token = r["mfa_token"].as_str().unwrap();
        assert!(token.len() >= 6, "{r}");
        assert!(!stderr(&o).contains(token));
        assert!(!audit.contains(token), "token in the audit trail");
        assert!(!log.contains(token), "token in the log");
    }
    assert_eq!(results[0]["reusable"], true);
    assert_eq!(results[1]["reusable"], false);
    assert!(audit.contains("expires_in: 86400s, reusable"));
    // A bad lifetime is a malformed file.
    let file = env.write(
        "bad.csv",
        "user,expires_in\nu0@wave.example,5x\nuser1,100h\n",
    );
    let o = env.run(&["bulk", "token", "--file", file_arg(&file), "--yes"]);
    assert_eq!(status(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("line 2: expires_in"), "{}", stderr(&o));
    assert!(stderr(&o).contains("line 3: expires_in"), "{}", stderr(&o));
}

/// Lines a child writes to a pipe, collected by a thread as they come.
fn collect(
    pipe: impl std::io::Read + Send + 'static,
) -> std::sync::Arc<std::sync::Mutex<Vec<String>>> {
    use std::io::BufRead;
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    lines
}

#[test]
fn a_run_killed_after_50_rows_resumes_and_removes_each_device_exactly_once() {
    let env = Env::new(200, 5);
    let file = env.laptops(200);
    let mut child = env
        .cmd(&["bulk", "remove", "--file", file_arg(&file), "--yes"])
        .spawn()
        .unwrap();
    let out = collect(child.stdout.take().unwrap());
    let err = collect(child.stderr.take().unwrap());
    let start = Instant::now();
    while out.lock().unwrap().len() < 50 {
        assert!(
            start.elapsed() < DEADLINE,
            "no 50 rows in time: {:?}",
            err.lock().unwrap()
        );
        assert!(child.try_wait().unwrap().is_none(), "ended too soon");
        std::thread::park_timeout(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL: no chance to tidy up
    child.wait().unwrap();
    let first: Vec<Value> = out
        .lock()
        .unwrap()
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(first.len() >= 50 && first.len() < 200, "{}", first.len());
    let err_text = err.lock().unwrap().join("\n");
    let run = err_text
        .split_whitespace()
        .find(|w| w.starts_with("b-"))
        .map(|w| w.trim_end_matches(':').to_owned())
        .unwrap_or_else(|| panic!("no run id on stderr: {err_text}"));
    assert!(err_text.contains(&format!("--resume {run}")), "{err_text}");

    // A changed file is refused.
    let changed = env.write("changed.csv", "user,device\nu0@wave.example,laptop\n");
    let o = env.run(&[
        "bulk",
        "remove",
        "--file",
        file_arg(&changed),
        "--resume",
        &run,
        "--yes",
    ]);
    assert_eq!(status(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("changed"), "{}", stderr(&o));

    let o = env.run(&[
        "bulk",
        "remove",
        "--file",
        file_arg(&file),
        "--resume",
        &run,
        "--yes",
    ]);
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    let second = ndjson(&o);
    // Every row is reported done, none failed (a second removal would be a 404).
    let mut done: HashMap<u64, usize> = HashMap::new();
    for r in first.iter().chain(&second) {
        assert_eq!(r["outcome"], "done", "{r}");
        *done.entry(r["line"].as_u64().unwrap()).or_default() += 1;
    }
    assert_eq!(done.len(), 200);
    // Only the row in flight at the kill can be reported by both runs.
    assert!(done.values().filter(|n| **n > 1).count() <= 1, "{done:?}");
    assert!(
        second.len() <= 151,
        "done rows were skipped: {}",
        second.len()
    );
    for i in 0..200 {
        assert_eq!(env.device_ids(FIRST + i), [PHONE + i]);
    }
    // The request in flight at the kill may have been counted without being applied.
    let deletes = env.control.request_count(RouteKind::Remove);
    assert!((200..=201).contains(&deletes), "{deletes} removals sent");
    // Every row: one attempt line and one outcome line, across both processes.
    let audit = env.audit_lines();
    let rows = by_line(&audit, &run);
    assert_eq!(rows.len(), 200);
    for (line, lines) in &rows {
        let outcomes: Vec<&str> = lines
            .iter()
            .map(|l| l["outcome"].as_str().unwrap())
            .collect();
        assert_eq!(outcomes, ["attempt", "success"], "line {line}");
    }
    // Nothing is left to do.
    let o = env.run(&[
        "bulk",
        "remove",
        "--file",
        file_arg(&file),
        "--resume",
        &run,
        "--yes",
    ]);
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
    assert!(stderr(&o).contains("200 of 200 rows were done before"));
}

#[test]
fn a_rate_limit_pauses_when_the_reset_is_near_and_stops_with_exit_5_when_not() {
    use mfadesk::sim::Fault;
    let env = Env::new(4, 0);
    let file = env.laptops(4);
    env.control.set_fault(
        RouteKind::Remove,
        Fault::TooManyRequests {
            retry_after_secs: 1,
        },
        Some(1),
    );
    let o = env.run(&["bulk", "remove", "--file", file_arg(&file), "--yes"]);
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("paused"), "{}", stderr(&o));
    assert_eq!(ndjson(&o).len(), 4);

    let env = Env::new(4, 0);
    let file = env.laptops(4);
    env.control.set_fault(
        RouteKind::Remove,
        Fault::TooManyRequests {
            retry_after_secs: 1800,
        },
        Some(1),
    );
    let o = env.run(&["bulk", "remove", "--file", file_arg(&file), "--yes"]);
    assert_eq!(status(&o), 5, "{}", stderr(&o));
    let run = run_id(&o);
    let err = stderr(&o);
    assert!(err.contains(&format!("--resume {run}")), "{err}");
    assert!(err.contains("UTC"), "says when: {err}");
    assert!(
        ndjson(&o).is_empty(),
        "the limited row is neither done nor failed"
    );
    assert_eq!(env.device_ids(FIRST), [LAPTOP, PHONE]);
    let o = env.run(&[
        "bulk",
        "remove",
        "--file",
        file_arg(&file),
        "--resume",
        &run,
        "--yes",
    ]);
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    assert_eq!(ndjson(&o).len(), 4);
    for i in 0..4 {
        assert_eq!(env.device_ids(FIRST + i), [PHONE + i]);
    }
}

#[test]
fn bulk_unlock_and_logout_act_on_each_account_with_its_own_audit_lines() {
    let mut tenant = seed(4);
    for i in 0..3 {
        tenant["users"][i]["status"] = json!(3);
        tenant["users"][i]["locked_until"] = json!("now+2h");
    }
    let env = Env::with_seed(&tenant, 0);
    let file = env.write(
        "locked.csv",
        "user,reason\nu0@wave.example,INC-8 lockout wave\nuser1,INC-8\n7000002,INC-8\n",
    );
    let o = env.run(&["bulk", "unlock", "--file", file_arg(&file), "--plan"]);
    assert_eq!(status(&o), 10, "{}", stderr(&o));
    assert!(stdout(&o).contains("locked until"), "{}", stdout(&o));
    let o = env.run(&["bulk", "unlock", "--file", file_arg(&file), "--yes"]);
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    let run = run_id(&o);
    let results = ndjson(&o);
    assert_eq!(results.len(), 3);
    let users = env.control.users();
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r["action"], "unlock");
        assert_eq!(r["outcome"], "done", "{r}");
        assert!(r.get("device").is_none());
        let u = users.iter().find(|u| u.id == FIRST + i as i64).unwrap();
        assert_eq!(u.status, 1, "user {i} is unlocked");
        assert!(u.locked_until.is_none());
    }
    let audit = env.audit_lines();
    for (line, lines) in by_line(&audit, &run) {
        let outcomes: Vec<&str> = lines
            .iter()
            .map(|l| l["outcome"].as_str().unwrap())
            .collect();
        assert_eq!(outcomes, ["attempt", "success"], "line {line}");
        assert_eq!(lines[0]["action"], "unlock");
    }

    let file = env.write("out.csv", "user\nu0@wave.example\nu3@wave.example\n");
    let o = env.run(&[
        "bulk",
        "logout",
        "--file",
        file_arg(&file),
        "--yes",
        "--reason",
        "INC-9 session theft",
        "--json",
    ]);
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    assert_eq!(ndjson(&o).len(), 2);
    let signed_out: Vec<i64> = env
        .control
        .events()
        .iter()
        .filter(|e| e.event_type_id == 516)
        .filter_map(|e| e.user_id)
        .collect();
    assert_eq!(signed_out, [FIRST, FIRST + 3]);
    // A user column only: a device column is unknown to these actions.
    let file = env.write("bad.csv", "user,device\nu0@wave.example,laptop\n");
    let o = env.run(&["bulk", "logout", "--file", file_arg(&file), "--yes"]);
    assert_eq!(status(&o), 2, "{}", stderr(&o));
}

#[cfg(unix)]
#[test]
fn sigint_stops_after_the_row_in_flight_and_says_how_to_resume() {
    let env = Env::new(40, 20);
    let file = env.laptops(40);
    let mut child = env
        .cmd(&["bulk", "remove", "--file", file_arg(&file), "--yes"])
        .spawn()
        .unwrap();
    let out = collect(child.stdout.take().unwrap());
    let err = collect(child.stderr.take().unwrap());
    let start = Instant::now();
    while out.lock().unwrap().len() < 5 {
        assert!(start.elapsed() < DEADLINE, "{:?}", err.lock().unwrap());
        std::thread::park_timeout(Duration::from_millis(5));
    }
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: signalling our own child by its pid.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code();
        }
        assert!(start.elapsed() < DEADLINE, "did not stop");
        std::thread::park_timeout(Duration::from_millis(10));
    };
    assert_eq!(code, Some(130));
    // The reader threads see the end of the pipes once the process is gone.
    let wait = Instant::now();
    while !err.lock().unwrap().iter().any(|l| l.contains(" done, ")) {
        assert!(wait.elapsed() < DEADLINE, "{:?}", err.lock().unwrap());
        std::thread::park_timeout(Duration::from_millis(10));
    }
    let err_text = err.lock().unwrap().join("\n");
    assert!(err_text.contains("interrupted"), "{err_text}");
    let run = err_text
        .split_whitespace()
        .find(|w| w.starts_with("b-"))
        .map(|w| w.trim_end_matches(':').to_owned())
        .unwrap();
    assert!(err_text.contains(&format!("--resume {run}`")), "{err_text}");
    let first: Vec<Value> = out
        .lock()
        .unwrap()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(first.len() < 40, "stopped early: {}", first.len());
    // Stopped between rows: every row it reported is done, nothing is in flight.
    assert_eq!(
        env.control.request_count(RouteKind::Remove),
        first.len() as u64
    );
    let o = env.run(&[
        "bulk",
        "remove",
        "--file",
        file_arg(&file),
        "--resume",
        &run,
        "--yes",
    ]);
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    assert_eq!(first.len() + ndjson(&o).len(), 40);
    assert_eq!(env.control.request_count(RouteKind::Remove), 40);
}

/// Starts a bulk run whose first call of `route` hangs, and SIGKILLs it once the row's attempt
/// line is on the trail and its call at the tenant: the row is in flight in the journal with an
/// open attempt.
fn kill_in_flight(env: &Env, route: RouteKind, args: &[&str]) -> String {
    use mfadesk::sim::Fault;
    env.control
        .set_fault(route, Fault::Delay(Duration::from_secs(300)), Some(1));
    let mut child = env.cmd(args).spawn().unwrap();
    let err = collect(child.stderr.take().unwrap());
    let start = Instant::now();
    // The attempt is on the trail and the call has reached the tenant, where it hangs.
    while env.control.request_count(route) == 0
        || !env
            .audit_lines()
            .iter()
            .any(|l| l["outcome"] == "attempt" && l["bulk"].is_object())
    {
        assert!(start.elapsed() < DEADLINE, "{:?}", err.lock().unwrap());
        std::thread::park_timeout(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let err_text = err.lock().unwrap().join("\n");
    err_text
        .split_whitespace()
        .find(|w| w.starts_with("b-"))
        .map(|w| w.trim_end_matches(':').to_owned())
        .unwrap_or_else(|| panic!("{err_text}"))
}

#[test]
fn a_row_in_flight_at_a_kill_is_reconciled_never_applied_twice() {
    // A removal whose call never completed: the device is still there, so the resume sends
    // it, under the attempt line already written.
    let env = Env::new(1, 0);
    let file = env.laptops(1);
    let run = kill_in_flight(
        &env,
        RouteKind::Remove,
        &["bulk", "remove", "--file", file_arg(&file), "--yes"],
    );
    assert_eq!(env.device_ids(FIRST), [LAPTOP, PHONE]);
    let o = env.run(&[
        "bulk",
        "remove",
        "--file",
        file_arg(&file),
        "--resume",
        &run,
        "--yes",
    ]);
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    assert_eq!(ndjson(&o)[0]["outcome"], "done");
    assert_eq!(env.device_ids(FIRST), [PHONE]);
    let audit = env.audit_lines();
    let rows = by_line(&audit, &run);
    let outcomes: Vec<&str> = rows[&2]
        .iter()
        .map(|l| l["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["attempt", "success"]);

    // A token whose call hung at the tenant and never took effect: the events show no token
    // since the attempt, so it is issued now, under the attempt line already written.
    let env = Env::new(1, 0);
    let file = env.write("t.csv", "user\nu0@wave.example\n");
    let args = ["bulk", "token", "--file", file_arg(&file), "--yes"];
    let run = kill_in_flight(&env, RouteKind::MfaToken, &args);
    let resume = [
        "bulk",
        "token",
        "--file",
        file_arg(&file),
        "--resume",
        &run,
        "--yes",
    ];
    let o = env.run(&resume);
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    let row = &ndjson(&o)[0];
    assert_eq!(row["outcome"], "done");
    assert!(row["mfa_token"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(env.control.request_count(RouteKind::MfaToken), 2);
    let audit = env.audit_lines();
    let rows = by_line(&audit, &run);
    let outcomes: Vec<&str> = rows[&2]
        .iter()
        .map(|l| l["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["attempt", "success"]);

    // A token the tenant did issue (its event is there) but whose answer was lost: done,
    // never issued a second time.
    let env = Env::new(1, 0);
    let file = env.write("t.csv", "user\nu0@wave.example\n");
    let args = ["bulk", "token", "--file", file_arg(&file), "--yes"];
    let run = kill_in_flight(&env, RouteKind::MfaToken, &args);
    env.control
        .record_event(mfadesk::sim::NewEvent::api(1100, FIRST, None));
    let resume = [
        "bulk",
        "token",
        "--file",
        file_arg(&file),
        "--resume",
        &run,
        "--yes",
    ];
    let o = env.run(&resume);
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    let row = &ndjson(&o)[0];
    assert_eq!(row["outcome"], "done");
    assert_eq!(row["error"]["kind"], "token_lost");
    assert!(row.get("mfa_token").is_none());
    assert_eq!(env.control.request_count(RouteKind::MfaToken), 1);
    let audit = env.audit_lines();
    let rows = by_line(&audit, &run);
    assert_eq!(rows[&2].len(), 2, "one attempt, one outcome");
}

/// Runs `mfadesk bulk` in a pseudo-terminal (the built-in demo, no credentials), answers the
/// confirmation with `answer` once it is asked, and returns the exit code and what was shown.
#[cfg(unix)]
fn in_terminal(args: &[&str], answer: &str) -> (u32, String) {
    use portable_pty::{CommandBuilder, PtySize, native_pty_system};
    use std::io::Read;
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("rows.csv"),
        "user,device\nkellyslater,Pixel 8\n",
    )
    .unwrap();
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: 30,
            cols: 120,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = CommandBuilder::new(BIN);
    cmd.env_clear();
    cmd.env("HOME", home.path());
    cmd.env("XDG_CONFIG_HOME", home.path().join("config"));
    cmd.env("XDG_DATA_HOME", home.path().join("data"));
    cmd.env("TERM", "xterm");
    cmd.env("NO_COLOR", "1");
    cmd.args(args);
    cmd.cwd(home.path());
    let mut child = pair.slave.spawn_command(cmd).unwrap();
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().unwrap();
    let mut writer = pair.master.take_writer().unwrap();
    let shown = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = shown.clone();
    std::thread::spawn(move || {
        let _master = pair.master;
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let start = Instant::now();
    while !shown.lock().unwrap().contains("Type yes to go on") {
        assert!(
            start.elapsed() < DEADLINE,
            "no question: {}",
            shown.lock().unwrap()
        );
        std::thread::park_timeout(Duration::from_millis(10));
    }
    assert!(
        shown.lock().unwrap().contains("remove 1 device of 1 user"),
        "{}",
        shown.lock().unwrap()
    );
    writer.write_all(answer.as_bytes()).unwrap();
    writer.flush().unwrap();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(start.elapsed() < DEADLINE, "{}", shown.lock().unwrap());
        std::thread::park_timeout(Duration::from_millis(10));
    };
    let text = shown.lock().unwrap().clone();
    (status.exit_code(), text)
}

#[cfg(unix)]
#[test]
fn on_a_terminal_the_apply_needs_yes_typed_in_full() {
    let args = ["bulk", "remove", "--file", "rows.csv"];
    let (code, shown) = in_terminal(&args, "y\r");
    assert_eq!(code, 4, "{shown}");
    assert!(shown.contains("type yes in full"), "{shown}");
    assert!(!shown.contains("\"outcome\""), "{shown}");
    let (code, shown) = in_terminal(&args, "yes\r");
    assert_eq!(code, 0, "{shown}");
    assert!(shown.contains("\"outcome\":\"done\""), "{shown}");
    assert!(shown.contains("1 done, 0 failed, 0 skipped"), "{shown}");
}
