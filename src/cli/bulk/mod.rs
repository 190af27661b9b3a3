//! `mfadesk bulk ACTION --file rows.csv`: every row checked and resolved before anything is
//! sent, a plan (`--plan`, exit 10), then an apply through the single commands' gate, audit and
//! calls, one row at a time, journaled so `--resume` never applies a row twice.

mod journal;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;
use serde_json::{Value, json};

use crate::api::{DeviceId, ErrorKind, OtpDevice, User};
use crate::audit::{AuditAction, AuditOutcome, BulkRef};
use crate::lane::{Lane, LanePolicy};
use crate::ops::account::{self, AccountAction, AuditExtra};
use crate::ops::bulk::{self, BulkAction, Problem, Row, RowState};
use crate::ops::signals::types as event_type;
use crate::ops::{OpsError, Refusal, resolve_device, resolve_user};
use crate::policy;
use crate::ui::text::clean;
use crate::worker::{self, ApiRequest, ApiResponse};

use super::args::BulkArgs;
use super::context::Context;
use super::output::{Output, table};
use super::{remove, show, token};

pub use journal::{Journal, JournalError, JournalRow, RunInfo};

/// Exit status of a plan: nothing was changed, by design.
pub const PLAN_EXIT: u8 = 10;

/// The largest file read, in bytes (a wave is thousands of rows, not millions).
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Rows resolved at once (each resolution is one or two calls).
const RESOLVE_CONCURRENCY: usize = 4;

/// A 429 whose reset is at most this far off pauses the run; a later one stops it (exit 5).
const MAX_PAUSE_SECS: u64 = 60;

/// Pauses for one row before the run stops.
const MAX_PAUSES: usize = 3;

/// Events this long before a token's attempt count as its own (the tenant's clock may differ).
const EVENT_MARGIN_MINUTES: i64 = 5;

/// The lifetime of a token row that names none, as `mfadesk token` defaults.
const DEFAULT_EXPIRES_IN: &str = "1h";

/// A row resolved against the tenant: what will be done.
#[derive(Clone, Debug)]
struct Target {
    line: u64,
    user: User,
    device: Option<OtpDevice>,
    secs: u32,
    reusable: bool,
    reason: Option<String>,
}

impl Target {
    /// What the journal keeps: ids and names, never a secret.
    fn to_json(&self) -> Value {
        json!({
            "user": {
                "id": self.user.id,
                "email": self.user.email,
                "username": self.user.username,
                "firstname": self.user.firstname,
                "lastname": self.user.lastname,
            },
            "device": self.device.as_ref().map(|d| json!({
                "id": d.id.0,
                "factor": d.auth_factor_name,
                "name": d.user_display_name,
                "type": d.type_display_name,
            })),
            "expires_in": self.secs,
            "reusable": self.reusable,
            "reason": self.reason,
        })
    }

    fn from_json(line: u64, v: &Value) -> Option<Target> {
        let text = |v: &Value| v.as_str().map(str::to_owned);
        let u = &v["user"];
        let user = User {
            id: u["id"].as_i64()?,
            email: text(&u["email"]),
            username: text(&u["username"]),
            firstname: text(&u["firstname"]),
            lastname: text(&u["lastname"]),
            ..User::default()
        };
        let device = match &v["device"] {
            Value::Null => None,
            d => Some(OtpDevice {
                id: DeviceId(text(&d["id"])?),
                active: true,
                default: false,
                needs_trigger: false,
                auth_factor_name: text(&d["factor"]).unwrap_or_default(),
                type_display_name: text(&d["type"]),
                user_display_name: text(&d["name"]),
                phone_number: None,
                state_token: None,
            }),
        };
        Some(Target {
            line,
            user,
            device,
            secs: u32::try_from(v["expires_in"].as_u64().unwrap_or(0)).ok()?,
            reusable: v["reusable"].as_bool().unwrap_or(false),
            reason: text(&v["reason"]),
        })
    }

    fn user_json(&self) -> Value {
        json!({"id": self.user.id, "email": self.user.email})
    }

    fn device_json(&self) -> Option<Value> {
        self.device
            .as_ref()
            .map(|d| json!({"id": d.id.0, "name": d.user_display_name.as_ref().unwrap_or(&d.auth_factor_name)}))
    }

    fn who(&self) -> String {
        self.user
            .email
            .clone()
            .unwrap_or_else(|| self.user.display_name())
    }

    fn intent(&self, action: BulkAction) -> String {
        match action {
            BulkAction::Remove => match &self.device {
                Some(d) => format!("remove {} ({})", d.label(), d.id),
                None => "remove".to_owned(),
            },
            BulkAction::Unlock => match self.user.locked_until {
                Some(until) => format!("unlock (locked until {})", until.to_rfc3339()),
                None => "unlock".to_owned(),
            },
            BulkAction::Logout => "sign out everywhere".to_owned(),
            BulkAction::Token => format!(
                "issue a {} temporary MFA token valid {}",
                if self.reusable {
                    "reusable"
                } else {
                    "single-use"
                },
                human_secs(self.secs)
            ),
        }
    }
}

fn human_secs(secs: u32) -> String {
    match secs {
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// How a run ended, for its exit status.
#[derive(Default)]
struct Tally {
    done: usize,
    failed: usize,
    skipped: usize,
}

/// Runs `mfadesk bulk`; returns the exit status.
pub async fn main(cli: &super::Cli, args: &BulkArgs, out: &Output) -> u8 {
    let mut ctx = match Context::open(&cli.options, out).await {
        Ok(ctx) => ctx,
        Err(e) => return out.fail(&e),
    };
    let status = match run(&mut ctx, args, out).await {
        Ok(status) => status,
        Err(e) => out.fail(&e),
    };
    ctx.close().await;
    status
}

/// A file's problems, reported at once; the exit status (2 malformed, 3 unresolved).
fn report_problems(out: &Output, file: &Path, problems: &mut [Problem]) -> u8 {
    problems.sort_by_key(|p| p.line.unwrap_or(0));
    let malformed = problems.iter().any(|p| p.malformed);
    let kind = if malformed {
        "invalid_file"
    } else {
        "unresolved_rows"
    };
    let summary = format!(
        "{} problem{} in {}; nothing was changed",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" },
        file.display()
    );
    if out.json {
        out.json(&json!({
            "error": {
                "kind": kind,
                "message": summary,
                "problems": problems.iter().map(|p| json!({"line": p.line, "message": p.message})).collect::<Vec<_>>(),
            }
        }));
    } else {
        for p in problems.iter() {
            eprintln!("{}", clean_lines(&p.to_string()));
        }
        out.note(&summary);
    }
    if malformed { 2 } else { 3 }
}

/// Cleans each line of a message for the terminal, keeping its line breaks.
fn clean_lines(text: &str) -> String {
    text.lines().map(clean).collect::<Vec<_>>().join("\n")
}

fn read_file(path: &Path) -> Result<Vec<u8>, OpsError> {
    let file = std::fs::File::open(path)
        .map_err(|e| OpsError::Usage(format!("cannot read {}: {e}", path.display())))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| OpsError::Usage(format!("cannot read {}: {e}", path.display())))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(OpsError::Usage(format!(
            "{} is larger than {} MiB: split it into several runs",
            path.display(),
            MAX_FILE_BYTES / 1024 / 1024
        )));
    }
    Ok(bytes)
}

async fn run(ctx: &mut Context, args: &BulkArgs, out: &Output) -> Result<u8, OpsError> {
    let action = args.action;
    let override_reason = args
        .override_caller_check
        .as_deref()
        .map(policy::validate_override_reason)
        .transpose()
        .map_err(|e| OpsError::Usage(format!("--override-caller-check: {e}")))?;
    let bytes = read_file(&args.file)?;
    // A plan needs no journal; an apply keeps one in the tenant's store when it can.
    let journal = if args.plan && args.resume.is_none() {
        Journal::memory()
    } else {
        open_journal(ctx, args, out)?
    };
    let (run_id, targets, resumed) = match &args.resume {
        Some(run) => {
            let (info, rows) = resume_rows(&journal, run, action, &args.file, &bytes).await?;
            (info.run, rows.0, Some(rows.1))
        }
        None => {
            let parsed = bulk::parse(&bytes, action);
            let mut problems = parsed.problems;
            let targets = resolve_rows(ctx, action, &parsed.rows, args, &mut problems).await?;
            if !problems.is_empty() {
                return Ok(report_problems(out, &args.file, &mut problems));
            }
            if args.plan {
                print_plan(out, action, &targets);
                return Ok(PLAN_EXIT);
            }
            (bulk::new_run_id(chrono::Utc::now()), targets, None)
        }
    };
    if args.plan {
        print_plan(out, action, &targets);
        return Ok(PLAN_EXIT);
    }
    let left: Vec<Target> = match &resumed {
        Some(states) => targets
            .iter()
            .filter(|t| states.get(&t.line) != Some(&RowState::Done))
            .cloned()
            .collect(),
        None => targets.clone(),
    };
    let change = action.change();
    // The profile's own rules first, for every row left at once: nothing is asked or sent if
    // any row would be refused.
    let mut refusals = Vec::new();
    for t in &left {
        if let Err(e) = ctx.gate.check(change, t.reason.as_deref()) {
            refusals.push((t, e));
        }
    }
    if let Some((_, first)) = refusals.first() {
        for (t, e) in &refusals {
            let mut entry = attempt_entry(ctx, action, t);
            entry.bulk = Some(BulkRef {
                run: run_id.clone(),
                line: t.line,
            });
            ctx.recorder.refused(entry, e);
        }
        let message = if refusals.len() == left.len()
            && matches!(
                first,
                OpsError::Refused {
                    refusal: Refusal::ReadOnly,
                    ..
                }
            ) {
            first.to_string()
        } else {
            let lines: Vec<String> = refusals
                .iter()
                .map(|(t, e)| format!("line {}: {e}", t.line))
                .collect();
            format!(
                "{} of {} rows refused; nothing was sent:\n{}",
                refusals.len(),
                left.len(),
                lines.join("\n")
            )
        };
        return Err(match first {
            OpsError::Refused { refusal, .. } => OpsError::refused(refusal.clone(), message),
            _ => OpsError::Usage(message),
        });
    }
    confirm(action, &left, args, resumed.is_some()).await?;
    let rows: Vec<JournalRow> = targets
        .iter()
        .map(|t| JournalRow {
            line: t.line,
            target: t.to_json(),
            state: RowState::Planned,
            request_id: None,
            error: None,
        })
        .collect();
    let states: HashMap<u64, RowState> = match resumed {
        Some(states) => {
            let done = states.values().filter(|s| **s == RowState::Done).count();
            out.note(&format!(
                "resuming run {run_id}: {done} of {} rows were done before and are skipped",
                states.len()
            ));
            states
        }
        None => {
            let info = RunInfo {
                run: run_id.clone(),
                action,
                file_hash: bulk::hash(&bytes),
                file: args.file.display().to_string(),
            };
            journal
                .create(&info, &rows)
                .await
                .map_err(|e| OpsError::Config(e.to_string()))?;
            rows.iter().map(|r| (r.line, r.state)).collect()
        }
    };
    let lane = Lane::new(
        LanePolicy::new(args.share, None).map_err(|e| OpsError::Usage(format!("--share: {e}")))?,
    );
    let resume_hint = resume_command(action, &args.file, &run_id);
    out.note(&format!(
        "run {run_id}: {} {} row{}{}",
        action.as_str(),
        targets.len(),
        if targets.len() == 1 { "" } else { "s" },
        if journal.is_persistent() {
            format!("; if it stops, continue with `{resume_hint}`")
        } else {
            String::new()
        }
    ));
    let trail = ctx.caller_trail();
    let mut runner = Runner {
        ctx,
        action,
        run: run_id.clone(),
        journal,
        override_reason,
        tally: Tally::default(),
        lane,
        trail,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let stop = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stop.store(true, Ordering::SeqCst);
                eprintln!(
                    "mfadesk: stopping after the row in flight (Ctrl-C again stops at once; the resume reconciles that row)"
                );
            }
            if tokio::signal::ctrl_c().await.is_ok() {
                // As a kill would: the journal and the trail let the resume reconcile the row.
                std::process::exit(130);
            }
        })
    };
    let mut stopped: Option<String> = None;
    let mut exit_override = None;
    let total = targets.len();
    for (i, t) in targets.iter().enumerate() {
        if stop.load(Ordering::SeqCst) {
            stopped = Some(format!(
                "interrupted: stopped after {i} of {total} rows; continue with `{resume_hint}`"
            ));
            exit_override = Some(130);
            break;
        }
        let mut step = runner
            .row(t, states.get(&t.line).copied().unwrap_or(RowState::Planned))
            .await;
        for _ in 0..MAX_PAUSES {
            if !matches!(step, Step::Paused) {
                break;
            }
            // Answered 429 with a reset close by: the lane waits for it, then the row again.
            step = runner.row(t, RowState::Planned).await;
        }
        match step {
            Step::Next => {}
            Step::Paused => {
                stopped = Some(format!(
                    "still rate limited after {MAX_PAUSES} pauses at line {}: continue later with `{resume_hint}`",
                    t.line
                ));
                exit_override = Some(5);
                break;
            }
            Step::RateLimited(message, when) => {
                stopped = Some(format!(
                    "{message}; stopped at line {} ({i} of {total} rows handled): continue {when} with `{resume_hint}`",
                    t.line
                ));
                exit_override = Some(5);
                break;
            }
            Step::Broken(message) => {
                stopped = Some(message);
                exit_override = Some(1);
                break;
            }
        }
        if (i + 1) % 25 == 0 && i + 1 < total {
            out.note(&format!(
                "{} of {total} rows: {} done, {} failed, {} skipped",
                i + 1,
                runner.tally.done,
                runner.tally.failed,
                runner.tally.skipped
            ));
        }
    }
    watcher.abort();
    let tally = runner.tally;
    if let Some(message) = &stopped {
        out.note(message);
    }
    eprintln!(
        "{} done, {} failed, {} skipped",
        tally.done, tally.failed, tally.skipped
    );
    Ok(match exit_override {
        Some(code) => code,
        None if tally.failed > 0 || tally.skipped > 0 => 1,
        None => 0,
    })
}

/// The tenant's store as the journal; in memory (no resume) for the demo or when the store
/// cannot be opened for a new run.
fn open_journal(ctx: &Context, args: &BulkArgs, out: &Output) -> Result<Journal, OpsError> {
    let path = match &args.store {
        Some(path) => path.clone(),
        None if ctx.settings.is_demo() => return Ok(Journal::memory()),
        None => {
            let paths =
                crate::config::Paths::platform().map_err(|e| OpsError::Config(e.to_string()))?;
            crate::store::default_path(&paths.data_dir, ctx.recorder.base_url())
        }
    };
    match crate::store::Store::open(&path) {
        Ok(store) => Ok(Journal::Store(store)),
        Err(e) if args.resume.is_some() => Err(OpsError::Config(e.to_string())),
        Err(e) => {
            out.note(&format!(
                "{e}; this run keeps its journal in memory and cannot be resumed"
            ));
            Ok(Journal::memory())
        }
    }
}

fn resume_command(action: BulkAction, file: &Path, run: &str) -> String {
    format!(
        "mfadesk bulk {} --file {} --resume {run}",
        action.as_str(),
        shell_word(&file.display().to_string())
    )
}

/// Quotes a word for a POSIX shell when it needs it.
fn shell_word(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@".contains(c))
    {
        text.to_owned()
    } else {
        format!("'{}'", clean(text).replace('\'', "'\\''"))
    }
}

/// The rows of a run to resume, with their states; refuses another file or action.
async fn resume_rows(
    journal: &Journal,
    run: &str,
    action: BulkAction,
    file: &Path,
    bytes: &[u8],
) -> Result<(RunInfo, (Vec<Target>, HashMap<u64, RowState>)), OpsError> {
    if !bulk::is_run_id(run) {
        return Err(OpsError::Usage(format!(
            "--resume {}: a run id looks like b-20260101-093000-1a2b",
            clean(run)
        )));
    }
    let Some((info, rows)) = journal
        .load(run)
        .await
        .map_err(|e| OpsError::Config(e.to_string()))?
    else {
        return Err(OpsError::Usage(format!(
            "no bulk run {run} in this tenant's store"
        )));
    };
    if info.action != action {
        return Err(OpsError::Usage(format!(
            "run {run} is a bulk {}, not a bulk {}",
            info.action.as_str(),
            action.as_str()
        )));
    }
    if info.file_hash != bulk::hash(bytes) {
        return Err(OpsError::Usage(format!(
            "{} has changed since run {run} started ({}): resume only with the same file, or start a new run; nothing was changed",
            file.display(),
            clean(&info.file)
        )));
    }
    let mut targets = Vec::new();
    let mut states = HashMap::new();
    for r in &rows {
        let t = Target::from_json(r.line, &r.target).ok_or_else(|| {
            OpsError::Config(format!(
                "the journal of run {run} has an unreadable row {}",
                r.line
            ))
        })?;
        states.insert(r.line, r.state);
        targets.push(t);
    }
    Ok((info, (targets, states)))
}

/// The message of a user that does not resolve, on one line.
fn user_problem(text: &str, e: &OpsError) -> String {
    match e {
        OpsError::Ambiguous { candidates, .. } => format!(
            "{} users match {:?}: {}",
            candidates.len(),
            text,
            candidates
                .iter()
                .map(|c| match &c.email {
                    Some(email) => format!("{} {} <{email}>", c.id, c.name),
                    None => format!("{} {}", c.id, c.name),
                })
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned(),
    }
}

fn device_list(devices: &[OtpDevice]) -> String {
    devices
        .iter()
        .map(|d| format!("{} {}", d.id, d.label()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Resolves every row (users and devices through the single commands' resolver); problems
/// are added to `problems`. An API failure (not a row's fault) ends the whole check.
async fn resolve_rows(
    ctx: &Context,
    action: BulkAction,
    rows: &[Row],
    args: &BulkArgs,
    problems: &mut Vec<Problem>,
) -> Result<Vec<Target>, OpsError> {
    // Each distinct user once, a few at a time.
    let mut texts: Vec<String> = rows.iter().map(|r| r.user.to_lowercase()).collect();
    texts.sort();
    texts.dedup();
    let client = &ctx.client;
    let users: HashMap<String, Result<User, OpsError>> = futures::stream::iter(texts)
        .map(|text| async move {
            let user = resolve_user(client, &text).await;
            (text, user)
        })
        .buffer_unordered(RESOLVE_CONCURRENCY)
        .collect()
        .await;
    // A failed call is not the row's fault: the check stops there, nothing sent.
    if let Some(e) = users
        .values()
        .find_map(|u| u.as_ref().err().and_then(OpsError::api_error))
    {
        return Err(OpsError::Api(e.clone()));
    }
    let mut devices: HashMap<i64, Vec<OtpDevice>> = HashMap::new();
    if action == BulkAction::Remove {
        let mut ids: Vec<&User> = users.values().filter_map(|u| u.as_ref().ok()).collect();
        ids.sort_by_key(|u| u.id);
        ids.dedup_by_key(|u| u.id);
        let fetched: Vec<(i64, Result<Vec<OtpDevice>, OpsError>)> = futures::stream::iter(ids)
            .map(|u| async move { (u.id, show::devices(client, u).await) })
            .buffer_unordered(RESOLVE_CONCURRENCY)
            .collect()
            .await;
        for (id, list) in fetched {
            devices.insert(id, list?);
        }
    }
    let mut targets = Vec::new();
    let mut seen: HashMap<(i64, Option<String>), u64> = HashMap::new();
    for row in rows {
        let user = match users.get(&row.user.to_lowercase()) {
            Some(Ok(u)) => u.clone(),
            Some(Err(e)) => {
                problems.push(Problem::unresolved(row.line, user_problem(&row.user, e)));
                continue;
            }
            None => continue,
        };
        let who = user.email.clone().unwrap_or_else(|| user.display_name());
        let device = match (action, &row.device) {
            (BulkAction::Remove, Some(text)) => {
                let list = devices.get(&user.id).map(Vec::as_slice).unwrap_or(&[]);
                match resolve_device(list, text, &user) {
                    Ok(d) => Some(d.clone()),
                    Err(OpsError::Ambiguous { candidates, .. }) => {
                        problems.push(Problem::unresolved(
                            row.line,
                            format!(
                                "{} devices of {who} match {text:?}: {}",
                                candidates.len(),
                                candidates
                                    .iter()
                                    .map(|c| format!("{} {}", c.id, c.name))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        ));
                        continue;
                    }
                    Err(_) => {
                        let known = if list.is_empty() {
                            "no device is enrolled".to_owned()
                        } else {
                            format!("devices: {}", device_list(list))
                        };
                        problems.push(Problem::unresolved(
                            row.line,
                            format!("no device {text:?} for {who} ({known})"),
                        ));
                        continue;
                    }
                }
            }
            _ => None,
        };
        let (secs, reusable) = if action == BulkAction::Token {
            let text = row.expires_in.as_deref().unwrap_or(DEFAULT_EXPIRES_IN);
            match token::lifetime(text) {
                Ok(secs) => (secs, row.reusable),
                Err(e) => {
                    problems.push(Problem::malformed(
                        Some(row.line),
                        format!("expires_in {e}"),
                    ));
                    continue;
                }
            }
        } else {
            (0, false)
        };
        let key = (user.id, device.as_ref().map(|d| d.id.0.clone()));
        if let Some(first) = seen.get(&key) {
            problems.push(Problem::unresolved(
                row.line,
                format!(
                    "the same {} as line {first}",
                    if device.is_some() { "device" } else { "user" }
                ),
            ));
            continue;
        }
        seen.insert(key, row.line);
        let reason = row.reason.clone().or_else(|| {
            args.reason
                .as_deref()
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_owned)
        });
        targets.push(Target {
            line: row.line,
            user,
            device,
            secs,
            reusable,
            reason,
        });
    }
    Ok(targets)
}

fn print_plan(out: &Output, action: BulkAction, targets: &[Target]) {
    if out.json {
        out.json(&json!({
            "run": null,
            "action": action.as_str(),
            "rows": targets.iter().map(|t| {
                let mut row = json!({
                    "line": t.line,
                    "user": t.user_json(),
                    "intent": t.intent(action),
                });
                if let Some(d) = t.device_json() {
                    row["device"] = d;
                }
                row
            }).collect::<Vec<_>>(),
        }));
    } else {
        let rows: Vec<Vec<String>> = targets
            .iter()
            .map(|t| {
                vec![
                    t.line.to_string(),
                    t.user.id.to_string(),
                    t.who(),
                    t.intent(action),
                ]
            })
            .collect();
        out.text(&table(&["LINE", "USER ID", "USER", "INTENT"], &rows));
    }
    out.note(&format!(
        "plan only: {} row{} resolved, nothing was changed; run again without --plan to apply",
        targets.len(),
        if targets.len() == 1 { "" } else { "s" }
    ));
}

/// A terminal asks for a typed `yes` after the summary; a script must give `--yes`.
async fn confirm(
    action: BulkAction,
    targets: &[Target],
    args: &BulkArgs,
    resuming: bool,
) -> Result<(), OpsError> {
    if args.yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(OpsError::refused(
            Refusal::NotConfirmed,
            "no terminal to confirm on: add --yes to apply from a script (or --plan to see the rows); nothing was changed",
        ));
    }
    let users: HashSet<i64> = targets.iter().map(|t| t.user.id).collect();
    let what = match action {
        BulkAction::Remove => format!(
            "remove {} device{} of {} user{}",
            targets.len(),
            if targets.len() == 1 { "" } else { "s" },
            users.len(),
            if users.len() == 1 { "" } else { "s" }
        ),
        BulkAction::Token => format!(
            "issue {} temporary MFA token{}",
            targets.len(),
            if targets.len() == 1 { "" } else { "s" }
        ),
        BulkAction::Unlock => format!(
            "unlock {} user{}",
            targets.len(),
            if targets.len() == 1 { "" } else { "s" }
        ),
        BulkAction::Logout => format!(
            "sign {} user{} out everywhere ({})",
            targets.len(),
            if targets.len() == 1 { "" } else { "s" },
            account::LOGOUT_EFFECT
        ),
    };
    let question = format!(
        "{}{what} from {}. Type yes to go on: ",
        if resuming { "Resume: " } else { "" },
        args.file.display()
    );
    let answer = tokio::task::spawn_blocking(move || {
        eprint!("{question}");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .take(256)
            .read_line(&mut line)
            .map(|_| line)
    })
    .await
    .map_err(|e| OpsError::Usage(format!("cannot read the answer: {e}")))?
    .map_err(|e| OpsError::Usage(format!("cannot read the answer: {e}")))?;
    if answer.trim().eq_ignore_ascii_case("yes") {
        Ok(())
    } else {
        Err(OpsError::refused(
            Refusal::NotConfirmed,
            "not confirmed (type yes in full); nothing was changed",
        ))
    }
}

fn attempt_entry(ctx: &Context, action: BulkAction, t: &Target) -> crate::audit::AuditEntry {
    match action {
        BulkAction::Remove => match &t.device {
            Some(d) => remove::entry(ctx, &t.user, d, t.reason.as_deref()),
            None => ctx
                .recorder
                .entry(&t.user, None, AuditAction::Remove, AuditOutcome::Attempt),
        },
        BulkAction::Token => token::entry(ctx, &t.user, t.secs, t.reusable, t.reason.as_deref()),
        BulkAction::Unlock | BulkAction::Logout => {
            let mut entry =
                ctx.recorder
                    .entry(&t.user, None, audit_action(action), AuditOutcome::Attempt);
            entry.reason.clone_from(&t.reason);
            entry
        }
    }
}

/// What the loop does after a row.
enum Step {
    Next,
    /// Rate limited with a reset close by: try the row again once the lane lets it.
    Paused,
    /// Rate limited until later: the run stops; the message and when to resume.
    RateLimited(String, String),
    /// The journal cannot be written: the run stops.
    Broken(String),
}

/// Applies rows one by one.
struct Runner<'a> {
    ctx: &'a mut Context,
    action: BulkAction,
    run: String,
    journal: Journal,
    override_reason: Option<String>,
    tally: Tally,
    /// The background lane every call of the apply waits on.
    lane: Lane,
    /// The audit trail as it was at the start, for caller checks: read once, not once a row
    /// (a check's freshness is still judged when each row is sent).
    trail: Result<Vec<crate::audit::AuditEntry>, String>,
}

/// The result line of a row.
struct RowResult<'t> {
    target: &'t Target,
    outcome: &'static str,
    request_id: Option<String>,
    error: Option<Value>,
    mfa_token: Option<Value>,
}

impl Runner<'_> {
    fn bulk_ref(&self, t: &Target) -> BulkRef {
        BulkRef {
            run: self.run.clone(),
            line: t.line,
        }
    }

    async fn journal(
        &self,
        t: &Target,
        state: RowState,
        request_id: Option<&str>,
        error: Option<&str>,
    ) {
        if let Err(e) = self
            .journal
            .set(&self.run, t.line, state, request_id, error)
            .await
        {
            eprintln!("mfadesk: {e}");
        }
    }

    /// Tells the lane how a call it granted was answered (a 429 is told in [`Self::failed`]).
    fn observe<T>(&self, result: &Result<T, OpsError>) {
        let limited = matches!(
            result
                .as_ref()
                .err()
                .and_then(OpsError::api_error)
                .map(|a| &a.kind),
            Some(ErrorKind::RateLimited { .. })
        );
        if !limited {
            self.lane.observe(self.ctx.client.rate_limit());
        }
    }

    /// Prints a row's result line on stdout and counts it.
    fn emit(&mut self, r: RowResult<'_>) {
        match r.outcome {
            "done" => self.tally.done += 1,
            "failed" => self.tally.failed += 1,
            _ => self.tally.skipped += 1,
        }
        let mut line = json!({
            "line": r.target.line,
            "user": r.target.user_json(),
            "action": self.action.as_str(),
            "outcome": r.outcome,
            "request_id": r.request_id,
        });
        if let Some(d) = r.target.device_json() {
            line["device"] = d;
        }
        if let Some(e) = r.error {
            line["error"] = e;
        }
        if let Some(t) = r.mfa_token {
            for (k, v) in t.as_object().into_iter().flatten() {
                line[k] = v.clone();
            }
        }
        let mut stdout = std::io::stdout().lock();
        // A closed pipe leaves nobody to tell; the journal still has the row.
        let _ = serde_json::to_writer(&mut stdout, &line);
        let _ = writeln!(stdout);
        let _ = stdout.flush();
    }

    fn error_json(e: &OpsError) -> Value {
        let api = e.api_error();
        json!({
            "kind": e.kind(),
            "status": api.and_then(|a| a.status),
            "message": e.to_string(),
        })
    }

    /// Handles one row according to its journal state.
    async fn row(&mut self, t: &Target, state: RowState) -> Step {
        match state {
            RowState::Done => Step::Next,
            RowState::Skipped => {
                self.emit(RowResult {
                    target: t,
                    outcome: "skipped",
                    request_id: None,
                    error: Some(json!({"kind": "needs_agent", "message": "held by an earlier run: check this user by hand"})),
                    mfa_token: None,
                });
                Step::Next
            }
            RowState::InFlight => self.reconcile(t).await,
            RowState::Planned | RowState::Failed => self.apply(t, true).await,
        }
    }

    /// The lines this run already wrote to the trail for a row: (attempts, outcome).
    fn trail_of(&self, t: &Target) -> (usize, Option<crate::audit::AuditEntry>) {
        let path = &self.ctx.settings.audit_log;
        let entries = crate::audit::read_entries(path).unwrap_or_default();
        let change = audit_action(self.action);
        let mine: Vec<_> = entries
            .into_iter()
            .filter(|e| {
                e.action == change
                    && e.bulk
                        .as_ref()
                        .is_some_and(|b| b.run == self.run && b.line == t.line)
            })
            .collect();
        let attempts = mine
            .iter()
            .filter(|e| e.outcome == AuditOutcome::Attempt)
            .count();
        let outcomes: Vec<_> = mine
            .into_iter()
            .filter(|e| e.outcome != AuditOutcome::Attempt)
            .collect();
        // Only an attempt without its outcome is open.
        let open = attempts > outcomes.len();
        (
            usize::from(open),
            if open {
                None
            } else {
                outcomes.into_iter().last()
            },
        )
    }

    /// Whether the tenant's events show a temporary token issued for the row's user since its
    /// open attempt (less a margin for clocks); `None` when that cannot be told.
    async fn token_issued_since_attempt(&self, t: &Target) -> Option<bool> {
        let at = self.open_attempt_at(t)?;
        let since = at.checked_sub_signed(chrono::TimeDelta::minutes(EVENT_MARGIN_MINUTES))?;
        let request = ApiRequest::GetEvents {
            user_id: t.user.id,
            since,
            until: None,
        };
        self.lane.acquire().await;
        let response = worker::execute(&self.ctx.client, request).await;
        match response {
            ApiResponse::Events(Ok(batch)) => {
                self.lane.observe(self.ctx.client.rate_limit());
                Some(batch.events.iter().any(|e| {
                    e.event_type_id == event_type::TEMP_TOKEN
                        && e.created_at.is_none_or(|c| c >= since)
                }))
            }
            ApiResponse::Events(Err(e)) => {
                match e.kind {
                    ErrorKind::RateLimited { reset_secs } => self.lane.rate_limited(reset_secs),
                    _ => self.lane.observe(self.ctx.client.rate_limit()),
                }
                None
            }
            _ => None,
        }
    }

    /// When this run wrote the row's attempt line that has no outcome, if it did.
    fn open_attempt_at(&self, t: &Target) -> Option<chrono::DateTime<chrono::Utc>> {
        let entries = crate::audit::read_entries(&self.ctx.settings.audit_log).ok()?;
        let action = audit_action(self.action);
        let mine: Vec<_> = entries
            .iter()
            .filter(|e| {
                e.action == action
                    && e.bulk
                        .as_ref()
                        .is_some_and(|b| b.run == self.run && b.line == t.line)
            })
            .collect();
        match mine.last() {
            Some(last) if last.outcome == AuditOutcome::Attempt => Some(last.time),
            _ => None,
        }
    }

    /// A row that was in flight when an earlier run died: the tenant and the trail say what
    /// happened, so nothing is applied twice.
    async fn reconcile(&mut self, t: &Target) -> Step {
        let (open, last) = self.trail_of(t);
        match self.action {
            BulkAction::Unlock | BulkAction::Logout => {
                if let Some(e) = last.filter(|e| e.outcome == AuditOutcome::Success) {
                    return self.done(t, e.request_id, None).await;
                }
                if self.action == BulkAction::Unlock && open == 1 {
                    // Unlocked already (by the call in flight, or by someone): nothing to send.
                    self.lane.acquire().await;
                    let read = resolve_user(&self.ctx.client, &t.user.id.to_string()).await;
                    self.observe(&read);
                    match read {
                        Ok(user) if user.locked_until.is_none() && user.status != Some(3) => {
                            let mut entry = attempt_entry(self.ctx, self.action, t);
                            entry.bulk = Some(self.bulk_ref(t));
                            entry.message =
                                Some("reconciled on resume: the user was no longer locked".into());
                            entry.outcome = AuditOutcome::Success;
                            self.ctx.recorder.outcome(entry);
                            return self.done(t, None, None).await;
                        }
                        Ok(_) => {}
                        Err(e) => return self.failed(t, &e).await,
                    }
                }
                // Signing out twice changes nothing more than once; an unlock still locked
                // never reached the tenant.
                self.apply(t, true).await
            }
            BulkAction::Remove => {
                let Some(device) = &t.device else {
                    return self.apply(t, open == 0).await;
                };
                self.lane.acquire().await;
                let read = show::devices(&self.ctx.client, &t.user).await;
                self.observe(&read);
                let list = match read {
                    Ok(list) => list,
                    Err(e) => {
                        return self.failed(t, &e).await;
                    }
                };
                if list.iter().any(|d| d.id == device.id) {
                    // Still there: the call never reached the tenant. An attempt already on
                    // the trail is reused, so each row has one attempt line.
                    return self.apply(t, open == 0).await;
                }
                let request_id = last.as_ref().and_then(|e| e.request_id.clone());
                if open == 1 || last.is_none() {
                    let mut entry = attempt_entry(self.ctx, self.action, t);
                    entry.bulk = Some(self.bulk_ref(t));
                    entry.message =
                        Some("reconciled on resume: the device was already gone".into());
                    entry.outcome = AuditOutcome::Success;
                    self.ctx.recorder.outcome(entry);
                }
                self.emit(RowResult {
                    target: t,
                    outcome: "done",
                    request_id: request_id.clone(),
                    error: None,
                    mfa_token: None,
                });
                self.journal(t, RowState::Done, request_id.as_deref(), None)
                    .await;
                Step::Next
            }
            BulkAction::Token => {
                if open == 0 && last.is_none() {
                    // Never sent: safe to send now.
                    return self.apply(t, true).await;
                }
                if let Some(e) = last.filter(|e| e.outcome == AuditOutcome::Success) {
                    self.emit(RowResult {
                        target: t,
                        outcome: "done",
                        request_id: e.request_id.clone(),
                        error: Some(json!({"kind": "token_lost", "message": "a token was issued before the run stopped and was not kept; issue another with `mfadesk token` if the user still needs one"})),
                        mfa_token: None,
                    });
                    self.journal(t, RowState::Done, e.request_id.as_deref(), None)
                        .await;
                    return Step::Next;
                }
                // Sent but no answer recorded: a token may exist. The tenant's events say
                // whether one was issued; without them, never issue a second blindly.
                match self.token_issued_since_attempt(t).await {
                    Some(true) => {
                        let mut entry = attempt_entry(self.ctx, self.action, t);
                        entry.bulk = Some(self.bulk_ref(t));
                        entry.message = Some(
                            "reconciled on resume: the tenant's events show the token was issued"
                                .into(),
                        );
                        entry.outcome = AuditOutcome::Success;
                        self.ctx.recorder.outcome(entry);
                        self.emit(RowResult {
                            target: t,
                            outcome: "done",
                            request_id: None,
                            error: Some(json!({"kind": "token_lost", "message": "the tenant's events show a token was issued before the run stopped; it was not kept: issue another with `mfadesk token` if the user still needs one"})),
                            mfa_token: None,
                        });
                        self.journal(t, RowState::Done, None, None).await;
                        return Step::Next;
                    }
                    // No token since the attempt: the call never took effect; send it under
                    // the attempt line already written.
                    Some(false) => return self.apply(t, false).await,
                    None => {}
                }
                let why = "the token was being issued when the run stopped and the tenant's events could not be read: check the user's events (`mfadesk events USER`) before issuing another with `mfadesk token`";
                self.journal(t, RowState::Skipped, None, Some(why)).await;
                self.emit(RowResult {
                    target: t,
                    outcome: "skipped",
                    request_id: None,
                    error: Some(json!({"kind": "needs_agent", "message": why})),
                    mfa_token: None,
                });
                Step::Next
            }
        }
    }

    async fn failed(&mut self, t: &Target, e: &OpsError) -> Step {
        if let Some(api) = e.api_error()
            && let ErrorKind::RateLimited { reset_secs } = api.kind
        {
            self.lane.rate_limited(reset_secs);
            // Nothing was applied: the row stays planned for the resume.
            self.journal(
                t,
                RowState::Planned,
                api.request_id.as_deref(),
                Some(&e.to_string()),
            )
            .await;
            if reset_secs.is_some_and(|s| s <= MAX_PAUSE_SECS) {
                eprintln!(
                    "mfadesk: rate limited at line {}: paused until the budget resets",
                    t.line
                );
                return Step::Paused;
            }
            let when = reset_secs
                .and_then(|secs| i64::try_from(secs).ok())
                .and_then(chrono::TimeDelta::try_seconds)
                .and_then(|d| chrono::Utc::now().checked_add_signed(d))
                .map(|at| format!("after {} UTC", at.format("%H:%M:%S")))
                .unwrap_or_else(|| "once the budget has reset".to_owned());
            return Step::RateLimited(format!("{e}"), when);
        }
        let request_id = e.api_error().and_then(|a| a.request_id.clone());
        self.journal(
            t,
            RowState::Failed,
            request_id.as_deref(),
            Some(&e.to_string()),
        )
        .await;
        self.emit(RowResult {
            target: t,
            outcome: "failed",
            request_id,
            error: Some(Self::error_json(e)),
            mfa_token: None,
        });
        Step::Next
    }

    /// Gates and applies a row; `fresh_attempt` false reuses an attempt line already written.
    async fn apply(&mut self, t: &Target, fresh_attempt: bool) -> Step {
        let bulk_ref = self.bulk_ref(t);
        // A required check must name a device active now: read them (fail closed: unread
        // devices prove nothing).
        // The read is paced on the lane like every other call of the run.
        let required = crate::ops::caller::guarded(self.action.change())
            .is_some_and(|a| self.ctx.settings.require_caller_check.contains(a));
        let devices = if required {
            self.lane.acquire().await;
            let read = show::devices(&self.ctx.client, &t.user).await;
            self.observe(&read);
            read.ok()
        } else {
            None
        };
        let caller = self.ctx.caller_check_or_override(
            &t.user,
            t.device.as_ref(),
            devices.as_deref(),
            self.action.change(),
            self.override_reason.as_deref(),
            Some(&bulk_ref),
            self.trail.as_deref().map_err(String::as_str),
        );
        // The single commands' gate: read-only, reason, caller check; a refusal is recorded.
        let gate = self.ctx.gate.clone();
        let guarded = match account_action(self.action) {
            Some(action) => {
                let extra = AuditExtra {
                    bulk: Some(bulk_ref),
                    ..AuditExtra::default()
                };
                account::check(
                    &mut self.ctx.recorder,
                    &gate,
                    &t.user,
                    action,
                    t.reason.as_deref(),
                    caller,
                    &extra,
                )
            }
            None => {
                let mut entry = attempt_entry(self.ctx, self.action, t);
                entry.bulk = Some(bulk_ref);
                self.ctx.recorder.guard(
                    &gate,
                    self.action.change(),
                    entry,
                    t.reason.as_deref(),
                    caller,
                )
            }
        };
        let entry = match guarded {
            Ok(entry) => entry,
            Err(e) => return self.failed(t, &e).await,
        };
        // A row is sent only once the journal says it may be in flight: a resume then
        // reconciles it instead of sending it again.
        if let Err(e) = self
            .journal
            .set(&self.run, t.line, RowState::InFlight, None, None)
            .await
        {
            let e = OpsError::Config(format!("{e}; nothing was sent for line {}", t.line));
            self.ctx.recorder.refused(entry, &e);
            return Step::Broken(e.to_string());
        }
        if let Some(action) = account_action(self.action) {
            self.lane.acquire().await;
            let ctx = &mut *self.ctx;
            let sent = account::send(&ctx.client, &mut ctx.recorder, entry, &t.user, action).await;
            self.observe(&sent);
            return match sent {
                Ok(meta) => self.done(t, meta.request_id, None).await,
                Err(e) => self.failed(t, &e).await,
            };
        }
        if fresh_attempt && let Err(e) = self.ctx.recorder.attempt(entry.clone()) {
            return self.failed(t, &e).await;
        }
        self.lane.acquire().await;
        match (self.action, &t.device) {
            (BulkAction::Remove, Some(device)) => {
                let sent = remove::deliver(self.ctx, entry, &t.user, device).await;
                self.observe(&sent);
                match sent {
                    Ok(meta) => self.done(t, meta.request_id, None).await,
                    Err(e) => self.failed(t, &e).await,
                }
            }
            _ => {
                let sent = token::deliver(self.ctx, entry, &t.user, t.secs, t.reusable).await;
                self.observe(&sent);
                match sent {
                    Ok((issued, meta)) => {
                        // The token goes to this line on stdout and nowhere else.
                        let extra = json!({
                            "mfa_token": issued.mfa_token.expose(),
                            "reusable": issued.reusable,
                            "expires_at": issued.expires_at.map(|e| e.to_rfc3339()),
                        });
                        self.done(t, meta.request_id, Some(extra)).await
                    }
                    Err(e) => self.failed(t, &e).await,
                }
            }
        }
    }

    /// A row applied: its result line, then the journal (a kill in between makes the resume
    /// report it again, after reading the tenant, never apply it again).
    async fn done(&mut self, t: &Target, request_id: Option<String>, token: Option<Value>) -> Step {
        let is_token = token.is_some();
        if is_token {
            // A token is never issued twice: the journal knows before the line is printed.
            self.journal(t, RowState::Done, request_id.as_deref(), None)
                .await;
        }
        self.emit(RowResult {
            target: t,
            outcome: "done",
            request_id: request_id.clone(),
            error: None,
            mfa_token: token,
        });
        if !is_token {
            self.journal(t, RowState::Done, request_id.as_deref(), None)
                .await;
        }
        Step::Next
    }
}

/// The account operation a bulk action is, if it is one.
fn account_action(action: BulkAction) -> Option<AccountAction> {
    match action {
        BulkAction::Unlock => Some(AccountAction::Unlock),
        BulkAction::Logout => Some(AccountAction::Logout),
        BulkAction::Remove | BulkAction::Token => None,
    }
}

/// The audit action of a bulk action's change lines.
fn audit_action(action: BulkAction) -> AuditAction {
    match account_action(action) {
        Some(a) => a.audit_action(),
        None if action == BulkAction::Remove => AuditAction::Remove,
        None => AuditAction::MfaToken,
    }
}
