//! The one-shot commands end to end: the built binary against a demo tenant on loopback (or the
//! in-process demo), with exit statuses, `--json` documents field by field, prompts refused
//! without a terminal, codes fed on stdin, pushes approved while `verify` waits, and no secret
//! left in the audit trail, the log or stderr.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use mfadesk::sim::{DemoTenant, Fault, RouteKind, SimConfig, SimControl};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_mfadesk");
const SECRET: &str = "demo-manage-secret";
const DEADLINE: Duration = Duration::from_secs(20);
const KELLY: i64 = 36216766;
const KELLY_SMS: &str = "525501";
const KELLY_TOTP: i64 = 525502;
const STEPH: i64 = 36216767;

/// A demo tenant on 127.0.0.1:0 and a private home for the binary.
struct Env {
    rt: tokio::runtime::Runtime,
    tenant: Option<DemoTenant>,
    control: SimControl,
    base_url: String,
    home: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let tenant = rt
            .block_on(DemoTenant::start(SimConfig::default()))
            .unwrap();
        let control = tenant.control();
        let base_url = tenant.base_url();
        Env {
            rt,
            tenant: Some(tenant),
            control,
            base_url,
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn audit(&self) -> PathBuf {
        self.home.path().join("audit.jsonl")
    }

    fn log(&self) -> PathBuf {
        self.home.path().join("mfadesk.log")
    }

    /// The binary with credentials for the tenant in the environment.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = bare(self.home.path(), args);
        c.env("ONELOGIN_CLIENT_ID", "demo-manage")
            .env("ONELOGIN_CLIENT_SECRET", SECRET)
            .env("ONELOGIN_BASE_URL", &self.base_url)
            .arg("--audit-log")
            .arg(self.audit())
            .arg("--log-file")
            .arg(self.log());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, "")
    }

    fn run_with(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        finish(child)
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn audit_text(&self) -> String {
        std::fs::read_to_string(self.audit()).unwrap_or_default()
    }

    fn audit_lines(&self) -> Vec<Value> {
        self.audit_text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn has_device(&self, user: i64, device: i64) -> bool {
        self.control.devices(user).iter().any(|d| d.id == device)
    }

    /// A config file with one profile for this tenant, plus `extra` lines.
    fn profile(&self, extra: &str) -> PathBuf {
        let path = self.home.path().join("config.toml");
        std::fs::write(
            &path,
            format!(
                "default_profile = \"sim\"\n[profiles.sim]\nbase_url = \"{}\"\nclient_id = \"demo-manage\"\nclient_secret_env = \"SIM_SECRET\"\n{extra}\n",
                self.base_url
            ),
        )
        .unwrap();
        path
    }

    /// The binary with a profile instead of credentials in the environment.
    fn run_profile(&self, config: &Path, args: &[&str], stdin: &str) -> Output {
        let mut c = bare(self.home.path(), args);
        c.env("SIM_SECRET", SECRET)
            .arg("--config")
            .arg(config)
            .arg("--audit-log")
            .arg(self.audit())
            .arg("--log-file")
            .arg(self.log())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        finish(child)
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(t) = self.tenant.take() {
            self.rt.block_on(t.shutdown());
        }
    }
}

/// The binary in a private home with no credentials and no colour.
fn bare(home: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    for (k, _) in std::env::vars() {
        if k.starts_with("ONELOGIN_") || k == "RUST_LOG" || k == "NO_COLOR" {
            c.env_remove(k);
        }
    }
    c.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("USER", "agent-tests")
        .args(args);
    c
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

/// Polls a condition until it holds or the deadline passes.
fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        std::thread::park_timeout(Duration::from_millis(20));
    }
}

fn status(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn error_kind(o: &Output) -> String {
    json(o)["error"]["kind"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn totp(env: &Env) -> String {
    env.control.totp_code(KELLY_TOTP).unwrap()
}

#[test]
fn users_lists_every_match_as_a_table_and_as_json() {
    let env = Env::new();
    let o = env.run(&["users", "kelly*"]);
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.starts_with("ID"), "{text}");
    assert!(
        text.contains("Kelly Slater") && text.contains("Kelly Smith"),
        "{text}"
    );
    assert!(text.contains("2 users"), "{text}");
    assert!(!text.contains('\u{1b}'), "no colour off a terminal");

    let o = env.run(&["users", "kelly*", "--json"]);
    assert_eq!(status(&o), 0);
    let doc = json(&o);
    assert_eq!(doc["query"], "kelly*");
    assert_eq!(doc["count"], 2);
    let kelly = doc["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == KELLY)
        .unwrap()
        .clone();
    assert_eq!(kelly["name"], "Kelly Slater");
    assert_eq!(kelly["username"], "kellyslater");
    assert_eq!(kelly["email"], "kelly.slater@acme.example");
    assert_eq!(kelly["firstname"], "Kelly");
    assert_eq!(kelly["lastname"], "Slater");
    assert_eq!(kelly["status"], "Active");
    assert!(kelly["last_login"].is_string());
    assert!(kelly["locked_until"].is_null());

    // Every page: the demo tenant's 62 users come back in pages of 50.
    let o = env.run(&["users", "email:*", "--json"]);
    assert_eq!(status(&o), 0);
    assert_eq!(json(&o)["count"], 62);

    let o = env.run(&["users", "email:nobody*", "--json"]);
    assert_eq!(status(&o), 0);
    assert_eq!(json(&o)["count"], 0);

    let o = env.run(&["users", "colour:red", "--json"]);
    assert_eq!(status(&o), 2);
    assert_eq!(error_kind(&o), "usage");
}

#[test]
fn show_prints_the_user_devices_and_factors() {
    let env = Env::new();
    let o = env.run(&["show", "kelly.slater@acme.example", "--json"]);
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    let doc = json(&o);
    assert_eq!(doc["user"]["id"], KELLY);
    let devices = doc["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 2);
    let sms = &devices[0];
    assert_eq!(sms["id"], KELLY_SMS);
    assert_eq!(sms["factor"], "OneLogin SMS");
    assert_eq!(sms["name"], "Kelly's iPhone");
    assert_eq!(sms["active"], true);
    assert_eq!(sms["default"], true);
    assert_eq!(sms["needs_trigger"], true);
    assert_eq!(sms["method"], "sms");
    // Masked as on screen: the country code and the last four digits only.
    assert_eq!(sms["phone"], "+1 •••••• 0101");
    assert_eq!(devices[1]["method"], "code");
    let factors = doc["factors"].as_array().unwrap();
    assert!(
        factors
            .iter()
            .any(|f| f["name"] == "OneLogin Voice" && f["id"].is_i64())
    );

    let o = env.run(&["show", "kellyslater"]);
    assert_eq!(status(&o), 0);
    let text = stdout(&o);
    assert!(text.contains("Kelly Slater · id 36216766"), "{text}");
    assert!(
        text.contains("Kelly's iPhone") && text.contains("active"),
        "{text}"
    );
    assert!(
        !text.contains("+14155550101"),
        "the number is masked: {text}"
    );
    assert!(text.contains("OneLogin Voice"), "{text}");
}

#[test]
fn unknown_and_ambiguous_users_exit_3_and_list_candidates() {
    let env = Env::new();
    let o = env.run(&["show", "nobody@acme.example", "--json"]);
    assert_eq!(status(&o), 3);
    assert_eq!(error_kind(&o), "not_found");
    let o = env.run(&["show", "999999"]);
    assert_eq!(status(&o), 3);
    assert!(
        stderr(&o).contains("no user has the id 999999"),
        "{}",
        stderr(&o)
    );

    let before = env.control.devices(KELLY).len();
    let o = env.run(&["remove", "k*", "Pixel 8", "--yes", "--json"]);
    assert_eq!(status(&o), 3, "{}", stdout(&o));
    let doc = json(&o);
    assert_eq!(doc["error"]["kind"], "ambiguous");
    let message = doc["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("36216766") && message.contains("kelly.slater@acme.example"),
        "{message}"
    );
    assert!(message.contains("nothing was changed"), "{message}");
    assert_eq!(env.control.devices(KELLY).len(), before);

    let o = env.run(&["remove", "kellyslater", "Nokia", "--yes"]);
    assert_eq!(status(&o), 3);
    assert!(
        stderr(&o).contains("Kelly's iPhone"),
        "the devices are listed: {}",
        stderr(&o)
    );
}

#[test]
fn verify_reads_an_authenticator_code_from_stdin_and_audits_a_caller_check() {
    let env = Env::new();
    let o = env.run_with(
        &["verify", "kellyslater", "Pixel 8", "--code-stdin", "--json"],
        &format!("{}\n", totp(&env)),
    );
    assert_eq!(status(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let doc = json(&o);
    assert_eq!(doc["check"], "caller_check");
    assert_eq!(doc["result"], "verified");
    assert_eq!(doc["device"]["id"], KELLY_TOTP.to_string());
    assert_eq!(doc["user"]["id"], KELLY);
    assert!(doc["at"].is_string());
    let lines = env.audit_lines();
    let outcome = lines.last().unwrap();
    assert_eq!(outcome["action"], "caller_check");
    assert_eq!(outcome["method"], "code");
    assert_eq!(outcome["outcome"], "success");
    assert_eq!(outcome["device_id"], KELLY_TOTP.to_string());
    assert_eq!(lines[lines.len() - 2]["outcome"], "attempt");

    // Spaces and dashes in a code are dropped, as in the console.
    let code = totp(&env);
    let spaced = format!("{} {}\n", &code[..3], &code[3..]);
    let o = env.run_with(
        &[
            "verify",
            "kellyslater",
            "google authenticator",
            "--code-stdin",
        ],
        &spaced,
    );
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("Caller check passed"), "{}", stdout(&o));

    let o = env.run_with(
        &["verify", "kellyslater", "Pixel 8", "--code-stdin", "--json"],
        "000000\n",
    );
    assert_eq!(status(&o), 6);
    let doc = json(&o);
    assert_eq!(doc["error"]["kind"], "wrong_code");
    assert_eq!(doc["error"]["status"], 401);
    assert!(doc["error"]["request_id"].is_string());
    assert_eq!(env.audit_lines().last().unwrap()["outcome"], "failure");

    // No code and no terminal: a usage error, nothing checked.
    let o = env
        .cmd(&["verify", "kellyslater", "Pixel 8"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(status(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("--code-stdin"), "{}", stderr(&o));
}

#[test]
fn verify_triggers_an_sms_and_takes_the_code_sent() {
    let env = Env::new();
    let mut child = env.spawn(&["verify", "kellyslater", "--code-stdin", "--json"]);
    let code = wait_for("the SMS", || {
        env.control
            .outbox()
            .into_iter()
            .find(|m| m.device_id == 525501)
            .map(|m| m.code)
    });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{code}\n").as_bytes())
        .unwrap();
    let o = finish(child);
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    let doc = json(&o);
    assert_eq!(doc["device"]["id"], KELLY_SMS, "the default device");
    assert_eq!(doc["result"], "verified");
    assert!(stderr(&o).contains("code sent to"), "{}", stderr(&o));
    assert!(!stderr(&o).contains(&code));

    // A code read out after the state token expired: the check failed, exit 6.
    let before = env.control.outbox().len();
    let mut child = env.spawn(&["verify", "kellyslater", "sms", "--code-stdin", "--json"]);
    let code = wait_for("the second SMS", || {
        let outbox = env.control.outbox();
        (outbox.len() > before)
            .then(|| outbox.last().map(|m| m.code.clone()))
            .flatten()
    });
    env.control.advance_clock(1000);
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{code}\n").as_bytes())
        .unwrap();
    let o = finish(child);
    assert_eq!(status(&o), 6, "{}", stdout(&o));
    assert_eq!(error_kind(&o), "expired");
}

#[test]
fn unreachable_tenants_and_wrong_credentials_exit_1() {
    let env = Env::new();
    let o = env
        .cmd(&["users", "kelly*", "--json"])
        .env("ONELOGIN_CLIENT_SECRET", "wrong-secret")
        .output()
        .unwrap();
    assert_eq!(status(&o), 1, "{}", stdout(&o));
    assert_eq!(error_kind(&o), "unauthorized");
    assert!(!stdout(&o).contains("wrong-secret") && !stderr(&o).contains("wrong-secret"));

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let o = env
        .cmd(&["users", "kelly*", "--json"])
        .env("ONELOGIN_BASE_URL", &url)
        .output()
        .unwrap();
    assert_eq!(status(&o), 1, "{}", stdout(&o));
    assert_eq!(error_kind(&o), "network");
}

#[test]
fn verify_waits_for_a_push_approved_on_the_demo_phone() {
    let env = Env::new();
    let child = env.spawn(&["verify", "sgilmore", "--json", "--timeout", "15"]);
    let token = wait_for("the push", || {
        env.control
            .pushes()
            .into_iter()
            .find(|p| p.user_id == STEPH)
            .map(|p| p.state_token)
    });
    assert!(env.control.approve_push(&token));
    let o = finish(child);
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    let doc = json(&o);
    assert_eq!(doc["device"]["method"], "push");
    assert_eq!(doc["result"], "verified");

    let child = env.spawn(&["verify", "sgilmore", "--json", "--timeout", "15"]);
    let token = wait_for("the second push", || {
        env.control
            .pushes()
            .into_iter()
            .find(|p| p.user_id == STEPH)
            .map(|p| p.state_token)
    });
    assert!(env.control.deny_push(&token));
    let o = finish(child);
    assert_eq!(status(&o), 6, "{}", stderr(&o));
    assert_eq!(error_kind(&o), "push_denied");

    // Nobody answers: the wait ends at --timeout, exit 6, and the check is audited as failed.
    let o = env.run(&["verify", "sgilmore", "--json", "--timeout", "1"]);
    assert_eq!(status(&o), 6, "{}", stdout(&o));
    assert_eq!(error_kind(&o), "check_failed");
    let last = env.audit_lines().last().cloned().unwrap();
    assert_eq!(last["action"], "caller_check");
    assert_eq!(last["method"], "push");
    assert_eq!(last["outcome"], "failure");
}

#[test]
fn remove_is_refused_without_yes_when_stdin_is_not_a_terminal() {
    let env = Env::new();
    let o = env.run(&["remove", "kellyslater", "Pixel 8", "--json"]);
    assert_eq!(status(&o), 4);
    assert_eq!(error_kind(&o), "not_confirmed");
    assert!(env.has_device(KELLY, KELLY_TOTP), "nothing was removed");
    assert_eq!(env.audit_lines().last().unwrap()["outcome"], "refused");

    let o = env.run(&[
        "remove",
        "kellyslater",
        "Pixel 8",
        "--yes",
        "--reason",
        "T-42 lost phone",
        "--json",
    ]);
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    let doc = json(&o);
    assert_eq!(doc["removed"]["id"], KELLY_TOTP.to_string());
    assert_eq!(doc["user"]["id"], KELLY);
    assert!(doc["request_id"].is_string());
    assert!(!env.has_device(KELLY, KELLY_TOTP));
    let lines = env.audit_lines();
    let last = lines.last().unwrap();
    assert_eq!(last["action"], "remove");
    assert_eq!(last["outcome"], "success");
    assert_eq!(last["reason"], "T-42 lost phone");
    assert_eq!(last["operator"], "agent-tests");
    assert_eq!(lines[lines.len() - 2]["outcome"], "attempt");

    let o = env.run(&["remove", "kellyslater", "Pixel 8", "--yes"]);
    assert_eq!(status(&o), 3, "gone now: {}", stderr(&o));
}

#[test]
fn read_only_refuses_changes_but_allows_a_caller_check() {
    let env = Env::new();
    let o = env.run(&[
        "remove",
        "kellyslater",
        "Pixel 8",
        "--yes",
        "--read-only",
        "--json",
    ]);
    assert_eq!(status(&o), 4);
    assert_eq!(error_kind(&o), "read_only");
    assert!(env.has_device(KELLY, KELLY_TOTP));
    let o = env.run(&["token", "kellyslater", "--yes", "--read-only"]);
    assert_eq!(status(&o), 4);
    assert!(stderr(&o).contains("read-only"), "{}", stderr(&o));
    let o = env.run_with(
        &[
            "--read-only",
            "verify",
            "kellyslater",
            "Pixel 8",
            "--code-stdin",
        ],
        &format!("{}\n", totp(&env)),
    );
    assert_eq!(status(&o), 0, "{}", stderr(&o));
}

#[test]
fn a_profile_can_require_a_reason() {
    let env = Env::new();
    let config = env.profile("require_reason = true");
    let o = env.run_profile(&config, &["token", "kellyslater", "--yes", "--json"], "");
    assert_eq!(status(&o), 4, "{}", stderr(&o));
    assert_eq!(error_kind(&o), "missing_reason");
    assert!(
        json(&o)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--reason")
    );
    let o = env.run_profile(
        &config,
        &["token", "kellyslater", "--yes", "--reason", "T-7", "--json"],
        "",
    );
    assert_eq!(status(&o), 0, "{}", stderr(&o));
}

#[test]
fn token_is_printed_once_on_stdout_and_nowhere_else() {
    let env = Env::new();
    let o = env.run(&[
        "token",
        "kellyslater",
        "--expires-in",
        "2h",
        "--reusable",
        "--reason",
        "T-9",
        "--yes",
        "--json",
    ]);
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    let doc = json(&o);
    let token = doc["mfa_token"].as_str().unwrap().to_owned();
    assert!(!token.is_empty());
    assert_eq!(doc["reusable"], true);
    assert!(doc["expires_at"].is_string());
    assert_eq!(doc["user"]["id"], KELLY);
    assert!(!stderr(&o).contains(&token));
    assert!(!env.audit_text().contains(&token));
    assert!(
        !std::fs::read_to_string(env.log())
            .unwrap_or_default()
            .contains(&token)
    );

    let o = env.run(&["token", "kellyslater", "--yes"]);
    assert_eq!(status(&o), 0);
    let printed = stdout(&o);
    assert_eq!(
        printed.lines().count(),
        1,
        "only the token on stdout: {printed}"
    );
    assert!(!stderr(&o).contains(printed.trim()));

    let o = env.run(&[
        "token",
        "kellyslater",
        "--yes",
        "--expires-in",
        "5x",
        "--json",
    ]);
    assert_eq!(status(&o), 2);
    assert_eq!(error_kind(&o), "usage");
    let o = env.run(&["token", "kellyslater", "--json"]);
    assert_eq!(status(&o), 4);
    assert_eq!(error_kind(&o), "not_confirmed");
}

#[test]
fn api_failures_exit_1_and_rate_limits_exit_5() {
    let env = Env::new();
    env.control
        .set_fault(RouteKind::Remove, Fault::Status(400), None);
    let o = env.run(&["remove", "kellyslater", "Pixel 8", "--yes", "--json"]);
    assert_eq!(status(&o), 1, "{}", stdout(&o));
    let doc = json(&o);
    assert_eq!(doc["error"]["status"], 400);
    assert_eq!(env.audit_lines().last().unwrap()["outcome"], "failure");
    env.control.clear_faults();

    env.control.set_fault(
        RouteKind::Users,
        Fault::TooManyRequests {
            retry_after_secs: 600,
        },
        None,
    );
    let o = env.run(&["users", "kelly*", "--json"]);
    assert_eq!(status(&o), 5, "{}", stdout(&o));
    let doc = json(&o);
    assert_eq!(doc["error"]["kind"], "rate_limited");
    assert_eq!(doc["error"]["status"], 429);
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("resets in 10m 00s"),
        "{doc}"
    );
}

/// `enroll kellyslater --factor voice` with the code the demo call reads out, on stdin.
fn enroll_voice(env: &Env, name: &str, typed: &str, e164: &str) -> Output {
    let mut child = env.spawn(&[
        "enroll",
        "kellyslater",
        "--factor",
        "voice",
        "--name",
        name,
        "--number",
        typed,
        "--code-stdin",
        "--json",
    ]);
    let code = wait_for("the call", || {
        env.control
            .outbox()
            .into_iter()
            .find(|m| m.to == e164)
            .map(|m| m.code)
    });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{code}\n").as_bytes())
        .unwrap();
    finish(child)
}

#[test]
fn enroll_continues_into_verify_or_leaves_the_phone_pending() {
    let env = Env::new();
    let o = enroll_voice(&env, "Desk", "+1 (415) 555-0199", "+14155550199");
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    let doc = json(&o);
    assert_eq!(doc["status"], "active");
    assert_eq!(doc["verified"], false);
    assert_eq!(doc["device"]["factor"], "OneLogin Voice");
    assert_eq!(doc["device"]["name"], "Desk");
    let lines = env.audit_lines();
    assert!(lines.iter().any(|l| l["action"] == "enroll"
        && l["outcome"] == "success"
        && l["device_id"].is_string()));
}

#[test]
fn enroll_without_a_code_leaves_the_device_pending_and_says_so() {
    let env = Env::new();
    let o = env.run(&[
        "enroll",
        "36216774",
        "--factor",
        "OneLogin SMS",
        "--name",
        "Work",
        "--number",
        "+14155550177",
        "--code-stdin",
    ]);
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("left pending"), "{}", stdout(&o));
    assert!(
        env.control
            .devices(36216774)
            .iter()
            .any(|d| !d.active && d.user_display_name == "Work")
    );

    let o = env.run(&[
        "enroll",
        "kellyslater",
        "--factor",
        "voice",
        "--name",
        "Desk",
        "--number",
        "555",
        "--json",
    ]);
    assert_eq!(status(&o), 2);
    assert!(
        json(&o)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("E.164")
    );
    let o = env.run(&[
        "enroll",
        "kellyslater",
        "--factor",
        "fax",
        "--name",
        "Desk",
        "--json",
    ]);
    assert_eq!(status(&o), 3);
}

#[test]
fn enroll_verified_is_active_at_once_and_audited_as_verified() {
    let env = Env::new();
    let o = env.run(&[
        "enroll",
        "kellyslater",
        "--factor",
        "OneLogin Voice",
        "--name",
        "Desk",
        "--number",
        "+14155550188",
        "--verified",
        "--json",
    ]);
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    let doc = json(&o);
    assert_eq!(doc["status"], "active");
    assert_eq!(doc["verified"], true);
    let lines = env.audit_lines();
    assert!(
        lines
            .iter()
            .any(|l| l["action"] == "enroll" && l["message"] == "verified: true")
    );
}

#[test]
fn audit_filters_the_trail() {
    let env = Env::new();
    let o = env.run(&[
        "remove",
        "kellyslater",
        "Pixel 8",
        "--yes",
        "--reason",
        "T-1",
    ]);
    assert_eq!(status(&o), 0);
    let o = env.run(&["token", "sgilmore", "--yes"]);
    assert_eq!(status(&o), 0);
    let all = env.run(&["audit", "--json"]);
    assert_eq!(status(&all), 0);
    let doc = json(&all);
    assert_eq!(doc["count"], 4);
    assert_eq!(doc["entries"].as_array().unwrap().len(), 4);
    let o = env.run(&["audit", "--action", "remove", "--json"]);
    let doc = json(&o);
    assert_eq!(doc["count"], 2);
    let entry = &doc["entries"][1];
    assert_eq!(entry["action"], "remove");
    assert_eq!(entry["outcome"], "success");
    assert_eq!(entry["user_id"], KELLY);
    assert_eq!(entry["reason"], "T-1");
    assert!(entry["time"].is_string());
    let o = env.run(&[
        "audit",
        "--user",
        "stephanie.gilmore@acme.example",
        "--json",
    ]);
    assert_eq!(json(&o)["count"], 2);
    let o = env.run(&[
        "audit",
        "--operator",
        "someone-else",
        "--since",
        "1h",
        "--json",
    ]);
    assert_eq!(json(&o)["count"], 0);
    let o = env.run(&[
        "audit",
        "--since",
        "2000-01-01T00:00:00Z",
        "--operator",
        "agent-tests",
    ]);
    assert!(stdout(&o).contains("mfa_token"), "{}", stdout(&o));
    let o = env.run(&["audit", "--since", "yesterday"]);
    assert_eq!(status(&o), 2);
    let o = env.run(&["audit", "--action", "reboot"]);
    assert_eq!(status(&o), 2);
}

#[test]
fn audit_shows_and_filters_the_tenant_of_each_line() {
    use mfadesk::audit::{AuditAction, AuditContext, AuditOutcome};
    let home = tempfile::tempdir().unwrap();
    let trail = home.path().join("audit.jsonl");
    // The same device removed on two demo tenants (same host, other ports) and on a real one.
    let mut text = String::new();
    for base in [
        "http://127.0.0.1:4101",
        "http://127.0.0.1:4102",
        "https://acme.onelogin.com",
    ] {
        let line = AuditContext::new("jdoe", None, base)
            .entry(KELLY, AuditAction::Remove, AuditOutcome::Success)
            .device_id(KELLY_SMS)
            .to_json_line()
            .unwrap();
        text.push_str(&line);
        if !line.ends_with('\n') {
            text.push('\n');
        }
    }
    std::fs::write(&trail, text).unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["audit", "--audit-log", trail.to_str().unwrap()];
        args.extend_from_slice(extra);
        bare(home.path(), &args).output().unwrap()
    };
    let o = run(&[]);
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("TENANT"), "{out}");
    for tenant in ["127.0.0.1:4101", "127.0.0.1:4102", "acme.onelogin.com"] {
        assert_eq!(out.matches(tenant).count(), 1, "{tenant} in:\n{out}");
    }
    // --json: every field as before, plus the tenant.
    let doc = json(&run(&["--json"]));
    assert_eq!(doc["count"], 3);
    let first = &doc["entries"][0];
    assert_eq!(first["tenant"], "127.0.0.1:4101");
    assert_eq!(first["base_url"], "http://127.0.0.1:4101");
    assert_eq!(first["action"], "remove");
    assert_eq!(first["device_id"], KELLY_SMS);
    assert_eq!(doc["entries"][2]["tenant"], "acme.onelogin.com");
    // Host and port name one demo tenant; the host alone names every tenant on it.
    let doc = json(&run(&["--tenant", "127.0.0.1:4102", "--json"]));
    assert_eq!(doc["count"], 1, "{doc}");
    assert_eq!(doc["entries"][0]["base_url"], "http://127.0.0.1:4102");
    let doc = json(&run(&["--tenant", "127.0.0.1", "--json"]));
    assert_eq!(doc["count"], 2, "{doc}");
    let o = run(&["--tenant", "ACME.onelogin.com"]);
    assert_eq!(status(&o), 0);
    let out = stdout(&o);
    assert!(
        out.contains("acme.onelogin.com") && !out.contains("127.0.0.1"),
        "{out}"
    );
    let doc = json(&run(&["--tenant", "globex.onelogin.com", "--json"]));
    assert_eq!(doc["count"], 0);
}

#[test]
fn no_secret_reaches_the_audit_trail_log_or_stderr() {
    let env = Env::new();
    let code = totp(&env);
    let mut outputs = vec![env.run_with(
        &[
            "verify",
            "kellyslater",
            "Pixel 8",
            "--code-stdin",
            "--log-level",
            "trace",
        ],
        &format!("{code}\n"),
    )];
    outputs.push(env.run(&["token", "kellyslater", "--yes", "--log-level", "trace"]));
    let token = stdout(&outputs[1]).trim().to_owned();
    outputs.push(env.run(&[
        "remove",
        "kellyslater",
        "Pixel 8",
        "--yes",
        "--reason",
        "T-3",
        "--log-level",
        "trace",
    ]));
    let log = std::fs::read_to_string(env.log()).unwrap();
    assert!(!log.is_empty(), "the log was written at trace");
    let audit = env.audit_text();
    for (what, secret) in [
        ("client secret", SECRET),
        ("code", code.as_str()),
        ("token", token.as_str()),
    ] {
        assert!(!audit.contains(secret), "{what} in the audit trail");
        assert!(!log.contains(secret), "{what} in the log");
        for o in &outputs {
            assert!(!stderr(o).contains(secret), "{what} on stderr");
        }
    }
}

#[test]
fn without_credentials_commands_use_the_demo_and_say_so() {
    let home = tempfile::tempdir().unwrap();
    let o = bare(home.path(), &["show", "kellyslater", "--json"])
        .output()
        .unwrap();
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("built-in demo tenant"),
        "{}",
        stderr(&o)
    );
    assert_eq!(json(&o)["user"]["id"], KELLY);
}

#[test]
fn completions_and_man_page_come_from_the_clap_definitions() {
    let home = tempfile::tempdir().unwrap();
    let o = bare(home.path(), &["completions", "bash"])
        .output()
        .unwrap();
    assert_eq!(status(&o), 0);
    let script = home.path().join("mfadesk.bash");
    std::fs::write(&script, &o.stdout).unwrap();
    assert!(stdout(&o).contains("verify") && stdout(&o).contains("--code-stdin"));
    let bash = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .status()
        .unwrap();
    assert!(bash.success(), "bash -n rejects the script");
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let o = bare(home.path(), &["completions", shell]).output().unwrap();
        assert_eq!(status(&o), 0, "{shell}");
        assert!(!o.stdout.is_empty());
    }

    let o = bare(home.path(), &["man"]).output().unwrap();
    assert_eq!(status(&o), 0);
    let page = stdout(&o);
    assert!(
        page.starts_with(".ie") || page.contains(".TH mfadesk"),
        "{}",
        &page[..page.len().min(200)]
    );
    assert!(page.contains("remove"));
    let path = home.path().join("mfadesk.1");
    std::fs::write(&path, &o.stdout).unwrap();
    if let Ok(man) = Command::new("man")
        .arg("-l")
        .arg(&path)
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .output()
    {
        assert!(
            man.status.success(),
            "man -l: {}",
            String::from_utf8_lossy(&man.stderr)
        );
        assert!(String::from_utf8_lossy(&man.stdout).contains("mfadesk"));
    }
}

#[test]
fn the_console_needs_a_terminal_and_draws_nothing_into_a_file() {
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("screen.txt");
    let file = std::fs::File::create(&out).unwrap();
    let o = bare(home.path(), &["--demo"])
        .stdout(file)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map(finish)
        .unwrap();
    assert_eq!(status(&o), 2);
    assert!(
        stderr(&o).contains("mfadesk needs a terminal"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("standard output is not a terminal"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(&out).unwrap().len(), 0, "nothing drawn");
}

#[test]
fn command_line_checks_say_what_is_valid() {
    let home = tempfile::tempdir().unwrap();
    let o = bare(home.path(), &["users", "kelly", "--log-level", "loud"])
        .output()
        .unwrap();
    assert_eq!(status(&o), 2);
    let err = stderr(&o);
    assert!(
        err.contains("error") && err.contains("trace") && err.contains("debug"),
        "{err}"
    );

    let o = bare(home.path(), &["users", "kelly", "--base-url", "not a url"])
        .env("ONELOGIN_CLIENT_ID", "x")
        .env("ONELOGIN_CLIENT_SECRET", "y")
        .output()
        .unwrap();
    assert_eq!(status(&o), 2);
    assert!(
        stderr(&o).contains("https://acme.onelogin.com"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn config_flags_work_after_a_subcommand_and_profiles_lists_unusable_ones() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("my.toml");
    std::fs::write(
        &config,
        "[profiles.good]\nsubdomain = \"acme\"\nclient_id = \"id\"\nclient_secret_env = \"S\"\n\
         [profiles.broken]\nsubdomain = \"acme\"\nbase_url = \"https://acme.onelogin.com\"\n\
         [profiles.typo]\nsubdomian = \"acme\"\n",
    )
    .unwrap();
    let o = bare(home.path(), &["profiles", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("good"), "{text}");
    assert!(
        text.contains("broken  UNUSABLE: sets both base_url and subdomain"),
        "{text}"
    );
    assert!(
        text.contains("typo  UNUSABLE:") && text.contains("subdomian"),
        "{text}"
    );
    // A profile is unusable when its secret cannot be had: the variable unset or empty, or
    // no secret source at all.
    assert!(
        text.contains("good  UNUSABLE: client_secret_env S is not set"),
        "{text}"
    );
    std::fs::write(
        &config,
        "[profiles.good]\nsubdomain = \"acme\"\nclient_id = \"id\"\nclient_secret_env = \"S\"\n\
         [profiles.nosecret]\nsubdomain = \"acme\"\nclient_id = \"id\"\n",
    )
    .unwrap();
    let o = bare(home.path(), &["profiles", "--config"])
        .arg(&config)
        .env("S", "")
        .output()
        .unwrap();
    let text = stdout(&o);
    assert!(
        text.contains("good  UNUSABLE: client_secret_env S is empty"),
        "{text}"
    );
    assert!(
        text.contains("nosecret  UNUSABLE: no secret source"),
        "{text}"
    );
    let o = bare(home.path(), &["profiles", "--config"])
        .arg(&config)
        .env("S", "secret")
        .output()
        .unwrap();
    assert!(!stdout(&o).contains("good  UNUSABLE"), "{}", stdout(&o));

    let o = bare(
        home.path(),
        &["profiles", "--config", "/nonexistent/x.toml"],
    )
    .output()
    .unwrap();
    assert_eq!(status(&o), 2);
}

#[test]
fn sim_listens_on_a_host_name() {
    let home = tempfile::tempdir().unwrap();
    let mut child = bare(home.path(), &["sim", "--listen", "localhost:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::Read;
        // Everything up to the last line of the banner.
        let mut text = String::new();
        let mut buf = [0u8; 1024];
        while !text.contains("Press Ctrl-C") {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => text.push_str(&String::from_utf8_lossy(&buf[..n])),
            }
        }
        let _ = tx.send(text);
    });
    let first = rx.recv_timeout(DEADLINE);
    let _ = child.kill();
    let _ = child.wait();
    let first = first.unwrap();
    assert!(first.contains("listening on http://127.0.0.1:"), "{first}");
    // All three demo credentials, each with what it may do.
    for line in [
        "Manage All (MFA v2):    client_id demo-admin",
        "Manage users (MFA v1):  client_id demo-manage",
        "Read Users (lookups):   client_id demo-read",
    ] {
        assert!(first.contains(line), "{first}");
    }
}

#[test]
fn a_required_caller_check_is_satisfied_by_an_earlier_verify() {
    let env = Env::new();
    let config = env.profile("require_caller_check = [\"remove\"]\ncaller_check_minutes = 10");
    let o = env.run_profile(
        &config,
        &["remove", "kellyslater", "Pixel 8", "--yes", "--json"],
        "",
    );
    assert_eq!(status(&o), 4, "{}", stdout(&o));
    let doc = json(&o);
    assert_eq!(doc["error"]["kind"], "missing_caller_check");
    let message = doc["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("mfadesk verify 36216766") && message.contains("10 minutes"),
        "{message}"
    );
    assert!(env.has_device(KELLY, KELLY_TOTP));

    // A check of another user does not count.
    let steph = env.spawn(&["verify", "sgilmore", "--timeout", "15"]);
    let token = wait_for("the push", || {
        env.control
            .pushes()
            .into_iter()
            .find(|p| p.user_id == STEPH)
            .map(|p| p.state_token)
    });
    env.control.approve_push(&token);
    assert_eq!(status(&finish(steph)), 0);
    let o = env.run_profile(&config, &["remove", "kellyslater", "Pixel 8", "--yes"], "");
    assert_eq!(status(&o), 4);

    let o = env.run_profile(
        &config,
        &["verify", "kellyslater", "Pixel 8", "--code-stdin"],
        &format!("{}\n", totp(&env)),
    );
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    let o = env.run_profile(
        &config,
        &["remove", "kellyslater", "Pixel 8", "--yes", "--json"],
        "",
    );
    assert_eq!(status(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(!env.has_device(KELLY, KELLY_TOTP));
    let lines = env.audit_lines();
    let removed = lines.last().unwrap();
    assert_eq!(removed["action"], "remove");
    assert_eq!(removed["outcome"], "success");
    let attempt = &lines[lines.len() - 2];
    assert_eq!(attempt["caller_check"]["outcome"], "success");
    assert_eq!(attempt["caller_check"]["device_id"], KELLY_TOTP.to_string());

    // The flag adds to the profile's list, after the subcommand too.
    let o = env.run_profile(
        &config,
        &[
            "token",
            "kellyslater",
            "--yes",
            "--require-caller-check",
            "token",
        ],
        "",
    );
    assert_eq!(
        status(&o),
        4,
        "the check above is fresh, but its device was just removed: it proves nothing now: {}",
        stderr(&o)
    );
    let o = env.run_profile(
        &config,
        &[
            "token",
            "sgilmore",
            "--yes",
            "--require-caller-check",
            "token",
        ],
        "",
    );
    assert_eq!(status(&o), 0, "sgilmore was checked too: {}", stderr(&o));
    let o = env.run_profile(
        &config,
        &[
            "token",
            "36216774",
            "--yes",
            "--require-caller-check",
            "token",
        ],
        "",
    );
    assert_eq!(status(&o), 4, "{}", stderr(&o));
}

#[test]
fn a_required_enroll_guards_every_enrollment_from_the_shell() {
    let env = Env::new();
    let config = env.profile("require_caller_check = [\"enroll\"]");
    let before = env.control.devices(KELLY).len();
    for extra in [&[][..], &["--verified"][..]] {
        let mut args = vec![
            "enroll",
            "kellyslater",
            "--factor",
            "voice",
            "--name",
            "Attacker",
            "--number",
            "+14155550999",
            "--json",
        ];
        args.extend_from_slice(extra);
        let o = env.run_profile(&config, &args, "");
        assert_eq!(status(&o), 4, "{extra:?}: {}", stdout(&o));
        assert_eq!(json(&o)["error"]["kind"], "missing_caller_check");
    }
    assert_eq!(env.control.devices(KELLY).len(), before, "nothing enrolled");
    let lines = env.audit_lines();
    assert!(
        lines
            .iter()
            .all(|l| l["action"] != "enroll" || l["outcome"] == "refused"),
        "{lines:?}"
    );
    // The flag does the same for one command.
    let o = env.run(&[
        "enroll",
        "kellyslater",
        "--factor",
        "voice",
        "--name",
        "Attacker",
        "--number",
        "+14155550999",
        "--require-caller-check",
        "enroll",
    ]);
    assert_eq!(status(&o), 4, "{}", stderr(&o));
    assert_eq!(env.control.devices(KELLY).len(), before);
}

#[test]
fn the_commands_work_on_the_v2_mfa_api_too() {
    let env = Env::new();
    let v2 = |args: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        a.extend(["--mfa-api".to_owned(), "v2".to_owned()]);
        a
    };
    // v2 needs a Manage All credential: the demo tenant's admin one.
    let admin = |args: &[String]| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut c = env.cmd(&refs);
        c.env("ONELOGIN_CLIENT_ID", mfadesk::sim::DEMO_ADMIN_CLIENT_ID)
            .env(
                "ONELOGIN_CLIENT_SECRET",
                mfadesk::sim::DEMO_ADMIN_CLIENT_SECRET,
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c.spawn().unwrap()
    };
    let run = |args: Vec<String>, stdin: &str| {
        let mut child = admin(&args);
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        finish(child)
    };
    let o = run(v2(&["show", "kellyslater", "--json"]), "");
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    assert_eq!(json(&o)["devices"].as_array().map(Vec::len), Some(2));

    let o = run(
        v2(&["verify", "kellyslater", "Pixel 8", "--code-stdin", "--json"]),
        &format!("{}\n", totp(&env)),
    );
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    assert_eq!(json(&o)["check"], "caller_check");

    let child = admin(&v2(&["verify", "sgilmore", "--json", "--timeout", "15"]));
    let token = wait_for("the v2 push", || {
        env.control
            .pushes()
            .into_iter()
            .find(|p| p.user_id == STEPH)
            .map(|p| p.state_token)
    });
    assert!(env.control.approve_push(&token));
    let o = finish(child);
    assert_eq!(status(&o), 0, "{}", stderr(&o));

    let o = run(v2(&["token", "kellyslater", "--yes", "--json"]), "");
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    assert!(json(&o)["mfa_token"].is_string());

    let o = run(
        v2(&["remove", "kellyslater", "Pixel 8", "--yes", "--json"]),
        "",
    );
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    assert!(!env.has_device(KELLY, KELLY_TOTP));

    // An email registration left pending: its id is printed (never as a device id), and
    // `verify --registration` finishes it with the emailed code.
    let carissa = "36216769";
    let o = run(
        v2(&[
            "enroll",
            carissa,
            "--factor",
            "OneLogin Email",
            "--name",
            "Work mail",
            "--code-stdin",
            "--json",
        ]),
        "\n",
    );
    assert_eq!(status(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let doc = json(&o);
    assert_eq!(doc["status"], "pending");
    assert!(doc["device"]["id"].is_null(), "{doc}");
    let reg = doc["registration_id"].as_str().unwrap().to_owned();
    let lines = env.audit_lines();
    let enroll = lines
        .iter()
        .rev()
        .find(|l| l["action"] == "enroll" && l["outcome"] == "success")
        .unwrap();
    assert_eq!(enroll["registration_id"], reg.as_str());
    assert!(enroll["device_id"].is_null(), "{enroll}");
    let mail = env.control.outbox().last().unwrap().code.clone();
    let o = run(
        v2(&[
            "verify",
            carissa,
            "--registration",
            &reg,
            "--code-stdin",
            "--json",
        ]),
        &format!("{mail}\n"),
    );
    assert_eq!(status(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let doc = json(&o);
    assert_eq!(doc["status"], "active");
    let device = doc["device_id"].as_str().unwrap().to_owned();
    assert_ne!(device, reg, "the device id, not the registration id");
    let done = env.audit_lines().last().unwrap().clone();
    assert_eq!(done["outcome"], "success");
    assert_eq!(done["device_id"], device.as_str());
    assert_eq!(done["registration_id"], reg.as_str());
}

#[test]
fn an_unwritable_audit_trail_refuses_changes_but_not_reads() {
    let env = Env::new();
    let blocker = env.home.path().join("not-a-dir");
    std::fs::write(&blocker, "").unwrap();
    let audit = blocker.join("audit.jsonl");
    let run = |args: &[&str]| {
        let mut c = bare(env.home.path(), args);
        c.env("ONELOGIN_CLIENT_ID", "demo-manage")
            .env("ONELOGIN_CLIENT_SECRET", SECRET)
            .env("ONELOGIN_BASE_URL", &env.base_url)
            .arg("--audit-log")
            .arg(&audit)
            .arg("--log-file")
            .arg(env.log())
            .stdin(Stdio::null());
        c.output().unwrap()
    };
    let o = run(&["remove", "kellyslater", "Pixel 8", "--yes", "--json"]);
    assert_eq!(status(&o), 4, "{}", stdout(&o));
    assert_eq!(error_kind(&o), "audit_unavailable");
    assert!(env.has_device(KELLY, KELLY_TOTP), "nothing was sent");
    let o = run(&["show", "kellyslater", "--json"]);
    assert_eq!(status(&o), 0, "{}", stderr(&o));
}

/// Denies three pushes to Stephanie's Protect from the demo phone (events 539 and 950).
fn bomb_steph(env: &Env) {
    use mfadesk::sim::NewEvent;
    for _ in 0..3 {
        env.control.record_event(NewEvent {
            event_type_id: 950,
            user_id: Some(STEPH),
            actor_user_id: Some(STEPH),
            otp_device_id: Some(525503),
            otp_device_name: Some("Steph's Pixel".into()),
            ..NewEvent::default()
        });
    }
}

#[test]
fn events_lists_a_users_events_as_a_table_and_as_json() {
    let env = Env::new();
    bomb_steph(&env);
    env.control.login(STEPH, false, Some("185.220.101.4"));
    let o = env.run(&["events", &STEPH.to_string(), "--json"]);
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    let doc = json(&o);
    assert_eq!(doc["user"]["id"], STEPH);
    let events = doc["events"].as_array().unwrap();
    assert_eq!(events.len(), 4, "{doc}");
    // Newest first: the failed sign-in, then the denied pushes.
    let failed = &events[0];
    assert_eq!(failed["event_type_id"], 6);
    assert_eq!(failed["event"], "USER_FAILED_ONELOGIN_LOGIN");
    assert_eq!(failed["ipaddr"], "185.220.101.4");
    assert!(failed["risk_score"].is_i64());
    assert_eq!(failed["actor"], "the user");
    for key in [
        "id",
        "created_at",
        "event_type_id",
        "event",
        "device",
        "ipaddr",
        "risk_score",
        "risk_reasons",
        "actor",
        "notes",
    ] {
        assert!(failed.get(key).is_some(), "{key} missing: {failed}");
    }
    assert_eq!(events[1]["event"], "OL_OTP_PUSH_REJECT");
    assert_eq!(events[1]["device"], "Steph's Pixel");

    // --type filters (comma list); the table has a header and one line per event.
    let o = env.run(&["events", &STEPH.to_string(), "--type", "6,19"]);
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("TIME") && text.contains("EVENT") && text.contains("RISK"));
    assert!(text.contains("Sign-in failed"), "{text}");
    assert!(!text.contains("Push denied"), "{text}");
    // --until before the events: none.
    let o = env.run(&["events", &STEPH.to_string(), "--until", "1h", "--json"]);
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    assert_eq!(json(&o)["events"].as_array().unwrap().len(), 0);
    // Bad input: usage (2); an unknown user: 3.
    let o = env.run(&["events", &STEPH.to_string(), "--since", "yesterday"]);
    assert_eq!(status(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("--since"), "{}", stderr(&o));
    let o = env.run(&["events", &STEPH.to_string(), "--type", "push"]);
    assert_eq!(status(&o), 2, "{}", stderr(&o));
    let o = env.run(&["events", "nobody@acme.example", "--json"]);
    assert_eq!(status(&o), 3);
}

#[test]
fn show_lists_signals_in_json_and_above_the_devices() {
    let env = Env::new();
    let o = env.run(&["show", &STEPH.to_string(), "--json"]);
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    assert_eq!(json(&o)["signals"], serde_json::json!([]));
    bomb_steph(&env);
    let o = env.run(&["show", &STEPH.to_string(), "--json"]);
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    let signals = json(&o)["signals"].as_array().unwrap().clone();
    assert_eq!(signals.len(), 1, "{signals:?}");
    assert_eq!(signals[0]["name"], "push_bombing");
    assert!(
        signals[0]["summary"]
            .as_str()
            .unwrap()
            .starts_with("⚠ 3 denied pushes in the last hour (last ")
    );
    assert!(signals[0]["at"].is_string());
    let o = env.run(&["show", &STEPH.to_string()]);
    let text = stdout(&o);
    let signal = text.find("⚠ 3 denied pushes").expect(&text);
    let devices = text.find("DEVICE").expect(&text);
    assert!(signal < devices, "signals come above the devices: {text}");
}

#[test]
fn remove_and_token_say_the_signals_and_the_audit_lines_name_them() {
    let env = Env::new();
    bomb_steph(&env);
    let o = env.run(&["token", &STEPH.to_string(), "--yes", "--json"]);
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("signals on this account:"), "{err}");
    assert!(err.contains("⚠ 3 denied pushes in the last hour"), "{err}");
    let o = env.run(&["remove", &STEPH.to_string(), "525504", "--yes"]);
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    let lines = env.audit_lines();
    let changes: Vec<&Value> = lines
        .iter()
        .filter(|l| l["action"] == "remove" || l["action"] == "mfa_token")
        .collect();
    assert!(!changes.is_empty());
    for l in &changes {
        let names = l["signals"].as_array().unwrap();
        assert!(names.contains(&serde_json::json!("push_bombing")), "{l}");
    }
    // The token issued just before is itself a signal by the time of the removal.
    let remove = changes.iter().find(|l| l["action"] == "remove").unwrap();
    assert_eq!(
        remove["signals"],
        serde_json::json!(["temp_token_live", "push_bombing"])
    );
    // A user with no signals: no field.
    let o = env.run(&["token", &KELLY.to_string(), "--yes", "--json"]);
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    assert!(!stderr(&o).contains("signals on this account"));
    let last = env.audit_lines().pop().unwrap();
    assert_eq!(last["user_id"], KELLY);
    assert!(last.get("signals").is_none(), "{last}");
}

#[test]
fn verify_refuses_a_device_enrolled_within_a_day_and_a_long_code_line() {
    let env = Env::new();
    // The caller has the agent enroll "their" phone, then offers it to prove who they are.
    let o = enroll_voice(&env, "Caller's phone", "+1 415 555 0166", "+14155550166");
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    let calls = env.control.outbox().len();
    let o = env.run_with(
        &[
            "verify",
            "kellyslater",
            "Caller's phone",
            "--code-stdin",
            "--json",
        ],
        "123456\n",
    );
    assert_eq!(status(&o), 6, "{}{}", stdout(&o), stderr(&o));
    let message = json(&o)["error"]["message"].as_str().unwrap().to_owned();
    assert!(message.contains("too new to prove the caller"), "{message}");
    assert_eq!(env.control.outbox().len(), calls, "no call placed");
    let last = env.audit_lines().last().unwrap().clone();
    assert_eq!(last["action"], "caller_check");
    assert_eq!(last["outcome"], "refused");
    assert!(
        !env.audit_lines()
            .iter()
            .any(|l| l["action"] == "caller_check" && l["outcome"] == "success"),
        "no line says the caller was checked"
    );

    // An older device still proves the caller; a code line over 256 bytes is refused whole.
    let long = format!("{}\n", "1".repeat(300));
    let o = env.run_with(
        &["verify", "kellyslater", "Pixel 8", "--code-stdin", "--json"],
        &long,
    );
    assert_eq!(status(&o), 2, "{}{}", stdout(&o), stderr(&o));
    assert!(
        json(&o)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("longer than 256 bytes"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn json_usage_errors_are_json_and_a_closed_pipe_is_no_error() {
    let home = tempfile::tempdir().unwrap();
    let o = bare(home.path(), &["users", "kelly", "--json", "--no-such-flag"])
        .output()
        .unwrap();
    assert_eq!(status(&o), 2, "{}", stderr(&o));
    let doc = json(&o);
    assert_eq!(doc["error"]["kind"], "usage", "{doc}");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--no-such-flag")
    );

    // The reader leaves at once: no `Broken pipe` message, exit 0 or 141 (SIGPIPE).
    for args in ["--help", "completions bash", "man"] {
        let o = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "\"$0\" {args} | true; \"$0\" {args} | head -c 1 >/dev/null"
            ))
            .arg(BIN)
            .env("HOME", home.path())
            .output()
            .unwrap();
        let err = stderr(&o);
        assert!(!err.contains("Broken pipe"), "{args}: {err}");
        assert!(!err.contains("panicked"), "{args}: {err}");
    }
}

// ------------------------------------------------------------------------------------------
// unlock, logout, lock

/// Gabriel Medina: locked in the seed.
const GABRIEL: i64 = 36216770;

fn user_status(env: &Env, id: i64) -> i64 {
    env.control
        .users()
        .into_iter()
        .find(|u| u.id == id)
        .unwrap()
        .status
}

impl Env {
    /// The binary with the Manage All credential.
    fn run_admin(&self, args: &[&str]) -> Output {
        let mut child = self
            .cmd(args)
            .env("ONELOGIN_CLIENT_ID", "demo-admin")
            .env("ONELOGIN_CLIENT_SECRET", "demo-admin-secret")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take();
        finish(child)
    }

    /// The binary with the Read Users credential.
    fn run_reader(&self, args: &[&str]) -> Output {
        let child = self
            .cmd(args)
            .env("ONELOGIN_CLIENT_ID", "demo-read")
            .env("ONELOGIN_CLIENT_SECRET", "demo-read-secret")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        finish(child)
    }
}

#[test]
fn unlock_unlocks_a_locked_user_and_prints_the_new_status() {
    let env = Env::new();
    assert_eq!(user_status(&env, GABRIEL), 3);
    let o = env.run(&[
        "unlock",
        &GABRIEL.to_string(),
        "--reason",
        "INC-9 locked out",
        "--yes",
        "--json",
    ]);
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    let doc = json(&o);
    assert_eq!(doc["action"], "unlock");
    assert_eq!(doc["user"]["id"], GABRIEL);
    assert_eq!(doc["user"]["status"], "Active");
    assert_eq!(doc["user"]["locked_until"], Value::Null);
    assert!(doc["request_id"].is_string(), "{doc}");
    assert_eq!(user_status(&env, GABRIEL), 1);
    let lines = env.audit_lines();
    let ours: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| {
            (
                l["action"].as_str().unwrap(),
                l["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(ours, [("unlock", "attempt"), ("unlock", "success")]);
    assert!(lines.iter().all(|l| l["reason"] == "INC-9 locked out"));
    // Text output says what was done.
    let o = env.run(&["unlock", "kellyslater", "--yes"]);
    assert_eq!(status(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("User cannot be unlocked"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn unlock_of_a_user_not_locked_exits_1_with_not_locked() {
    let env = Env::new();
    let o = env.run(&["unlock", "kellyslater", "--yes", "--json"]);
    assert_eq!(status(&o), 1, "{}", stdout(&o));
    let doc = json(&o);
    assert_eq!(doc["error"]["kind"], "not_locked");
    assert_eq!(doc["error"]["status"], 200);
    assert_eq!(env.audit_lines().last().unwrap()["outcome"], "failure");
}

#[test]
fn logout_signs_out_and_says_what_it_does_not_end() {
    let env = Env::new();
    let o = env.run(&["logout", "kellyslater", "--yes"]);
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains(
            "Ends the user's OneLogin session and single sign-on. Apps already open keep their own sessions."
        ),
        "{}",
        stdout(&o)
    );
    let o = env.run(&["logout", "kellyslater", "--yes", "--json"]);
    let doc = json(&o);
    assert_eq!(doc["action"], "logout");
    assert_eq!(doc["user"]["email"], "kelly.slater@acme.example");
    let actions: Vec<Value> = env
        .audit_lines()
        .iter()
        .map(|l| l["action"].clone())
        .collect();
    assert!(actions.iter().all(|a| a == "logout"));
    assert_eq!(actions.len(), 4);
    assert!(env.control.events().iter().any(|e| e.event_type_id == 516));
}

#[test]
fn lock_needs_manage_all_and_valid_minutes() {
    let env = Env::new();
    // Manage users: refused by the tenant, exit 1, the scope named.
    let o = env.run(&["lock", "kellyslater", "--minutes", "15", "--yes", "--json"]);
    assert_eq!(status(&o), 1, "{}", stdout(&o));
    let doc = json(&o);
    assert_eq!(doc["error"]["kind"], "insufficient_permission");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Lock needs Manage All"),
        "{doc}"
    );
    assert_eq!(user_status(&env, KELLY), 1);
    // Not one of 15, 60, 240, 0: usage error, nothing sent or audited.
    let before = env.audit_lines().len();
    let o = env.run_admin(&["lock", "kellyslater", "--minutes", "30", "--yes", "--json"]);
    assert_eq!(status(&o), 2);
    assert_eq!(error_kind(&o), "usage");
    assert_eq!(env.audit_lines().len(), before);
    // Manage All: locked for an hour.
    let o = env.run_admin(&["lock", "kellyslater", "--minutes", "60", "--yes", "--json"]);
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    let doc = json(&o);
    assert_eq!(doc["action"], "lock");
    assert_eq!(doc["minutes"], 60);
    assert_eq!(doc["user"]["status"], "Locked");
    assert!(doc["user"]["locked_until"].is_string());
    assert_eq!(user_status(&env, KELLY), 3);
    let last = env.audit_lines().last().unwrap().clone();
    assert_eq!(last["action"], "lock");
    assert_eq!(last["outcome"], "success");
}

#[test]
fn account_actions_refuse_read_only_missing_confirmation_reason_and_unknown_users() {
    let env = Env::new();
    for args in [
        vec!["unlock", "36216770"],
        vec!["logout", "kellyslater"],
        vec!["lock", "kellyslater", "--minutes", "0"],
    ] {
        let mut ro = args.clone();
        ro.extend(["--yes", "--read-only", "--json"]);
        let o = env.run(&ro);
        assert_eq!(status(&o), 4, "{args:?}");
        assert_eq!(error_kind(&o), "read_only");
        // No terminal and no --yes: not confirmed.
        let mut plain = args.clone();
        plain.push("--json");
        let o = env.run(&plain);
        assert_eq!(status(&o), 4, "{args:?}");
        assert_eq!(error_kind(&o), "not_confirmed");
        // Unknown user: 3.
        let mut nobody = args.clone();
        nobody[1] = "nobody@nowhere.example";
        nobody.extend(["--yes", "--json"]);
        let o = env.run(&nobody);
        assert_eq!(status(&o), 3, "{args:?}");
        assert_eq!(error_kind(&o), "not_found");
    }
    assert_eq!(user_status(&env, GABRIEL), 3);
    let refused = env
        .audit_lines()
        .iter()
        .filter(|l| l["outcome"] == "refused")
        .count();
    assert_eq!(refused, 6);
    // A profile's require_reason covers all three.
    let config = env.profile("require_reason = true");
    for args in [
        &["unlock", "36216770", "--yes", "--json"][..],
        &["logout", "kellyslater", "--yes", "--json"],
        &["lock", "kellyslater", "--minutes", "15", "--yes", "--json"],
    ] {
        let o = env.run_profile(&config, args, "");
        assert_eq!(status(&o), 4, "{args:?}");
        assert_eq!(error_kind(&o), "missing_reason");
    }
    // A Read Users credential is refused by the tenant: exit 1.
    let o = env.run_reader(&["logout", "kellyslater", "--yes", "--json"]);
    assert_eq!(status(&o), 1);
    assert_eq!(error_kind(&o), "insufficient_permission");
}

#[test]
fn unlock_can_require_a_caller_check_and_rate_limits_exit_5() {
    let env = Env::new();
    let config = env.profile("require_caller_check = [\"unlock\"]");
    let o = env.run_profile(&config, &["unlock", "36216770", "--yes", "--json"], "");
    assert_eq!(status(&o), 4, "{}", stdout(&o));
    assert_eq!(error_kind(&o), "missing_caller_check");
    assert_eq!(user_status(&env, GABRIEL), 3);
    // The flag does the same without a profile.
    let o = env.run(&[
        "--require-caller-check",
        "unlock",
        "unlock",
        "36216770",
        "--yes",
        "--json",
    ]);
    assert_eq!(status(&o), 4);
    assert_eq!(error_kind(&o), "missing_caller_check");
    env.control.set_fault(
        RouteKind::Any,
        Fault::TooManyRequests {
            retry_after_secs: 60,
        },
        None,
    );
    let o = env.run(&["logout", "kellyslater", "--yes", "--json"]);
    assert_eq!(status(&o), 5);
    assert_eq!(error_kind(&o), "rate_limited");
}

#[test]
fn verify_refuses_a_device_the_events_say_was_added_today() {
    let env = Env::new();
    // The tenant says the authenticator was (re-)added an hour ago, by the portal or another
    // session: it cannot prove the caller, and nothing is checked with it.
    env.control.record_event(mfadesk::sim::NewEvent {
        event_type_id: 22,
        user_id: Some(KELLY),
        actor_user_id: Some(KELLY),
        otp_device_id: Some(KELLY_TOTP),
        otp_device_name: Some("Pixel 8".into()),
        ..mfadesk::sim::NewEvent::default()
    });
    let o = env.run_with(
        &["verify", "kellyslater", "Pixel 8", "--code-stdin", "--json"],
        "123456\n",
    );
    assert_eq!(status(&o), 6, "{}{}", stdout(&o), stderr(&o));
    let message = json(&o)["error"]["message"].as_str().unwrap().to_owned();
    assert!(message.contains("too new to prove the caller"), "{message}");
    assert!(
        !env.audit_lines()
            .iter()
            .any(|l| l["action"] == "caller_check" && l["outcome"] == "success")
    );
}
