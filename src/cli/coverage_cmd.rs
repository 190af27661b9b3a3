//! `mfadesk coverage [scan]`: the tenant-wide MFA coverage report and the paced scan behind it.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::json;

use super::args::{CoverageArgs, CoverageCommand};
use super::context::{self, Context};
use super::output::{Output, table};
use crate::config::{CliOptions, Paths, Settings, Target};
use crate::coverage::{self, Report, ScanOptions, ScanProgress};
use crate::lane::{Lane, LanePolicy};
use crate::ops::OpsError;
use crate::store::{self, Store};
use crate::ui::text::clean;

/// Runs `coverage` or `coverage scan`; the exit status.
pub async fn run(options: &CliOptions, out: &Output, args: &CoverageArgs) -> Result<u8, OpsError> {
    match &args.command {
        Some(CoverageCommand::Scan {
            share,
            reserve,
            refresh,
        }) => scan(options, out, args, *share, *reserve, *refresh).await,
        None => report(options, out, args),
    }
}

/// The store of the settings' tenant: `--store`, else one file per tenant in the data dir.
pub fn store_path(settings: &Settings, explicit: Option<&PathBuf>) -> Result<PathBuf, OpsError> {
    if let Some(path) = explicit {
        return Ok(path.clone());
    }
    let paths = Paths::platform().map_err(|e| OpsError::Config(e.to_string()))?;
    let tenant = match &settings.target {
        // The demo tenant's port changes every run: one store for all of them.
        Target::Demo => "demo",
        Target::Tenant { base_url, .. } => base_url.as_str(),
    };
    Ok(store::default_path(&paths.data_dir, tenant))
}

fn open_store(path: PathBuf) -> Result<Store, OpsError> {
    Store::open(path).map_err(|e| OpsError::Config(e.to_string()))
}

fn store_error(e: impl std::fmt::Display) -> OpsError {
    OpsError::Config(e.to_string())
}

/// Prints the report from the store: no API call.
fn report(options: &CliOptions, out: &Output, args: &CoverageArgs) -> Result<u8, OpsError> {
    let settings = context::settings(options)?;
    let store = open_store(store_path(&settings, args.store.as_ref())?)?;
    let categories = args.category.clone();
    let report = store
        .call_blocking(move |conn| coverage::build_report(conn, &categories, chrono::Utc::now()))
        .map_err(store_error)?;
    if let Some(path) = &args.csv {
        coverage::write_csv(&report, path).map_err(store_error)?;
        out.note(&format!(
            "{} users written to {}",
            report.users.len(),
            path.display()
        ));
    }
    if out.json {
        let value = serde_json::to_value(&report).map_err(store_error)?;
        out.json(&value);
    } else if args.csv.is_none() {
        out.text(&render_text(&report, !args.category.is_empty()));
    }
    Ok(0)
}

/// The report as text: summary, then the chosen categories' users.
fn render_text(report: &Report, list_users: bool) -> String {
    let s = &report.summary;
    let mut text = String::new();
    let tenant = report.tenant.as_deref().map(clean).unwrap_or_default();
    match &report.scanned_at {
        None => {
            return "No coverage yet: run `mfadesk coverage scan` to read the tenant.\n".into();
        }
        Some(at) if report.complete => {
            text.push_str(&format!("Coverage of {tenant}, scanned {at}\n\n"))
        }
        Some(at) => text.push_str(&format!(
            "Coverage of {tenant}: INCOMPLETE (pass started {at}, {} users not read yet; `mfadesk coverage scan` resumes it)\n\n",
            report.unread
        )),
    }
    let pct = |n: u64| {
        if s.users == 0 {
            0.0
        } else {
            n as f64 * 100.0 / s.users as f64
        }
    };
    let rows: Vec<Vec<String>> = [
        ("none", s.none),
        ("weak", s.weak),
        ("pending_only", s.pending_only),
        ("strong", s.strong),
    ]
    .iter()
    .map(|(name, n)| {
        vec![
            (*name).to_owned(),
            n.to_string(),
            format!("{:.1} %", pct(*n)),
        ]
    })
    .collect();
    text.push_str(&table(&["category", "users", "share"], &rows));
    text.push_str(&format!("total users read: {}\n\n", s.users));
    let rows: Vec<Vec<String>> = s
        .by_factor
        .iter()
        .map(|(f, n)| vec![f.clone(), n.to_string()])
        .collect();
    text.push_str(&table(&["factor (active)", "users"], &rows));
    text.push_str(&format!(
        "\nlocked or suspended users holding devices: {}\nno sign-in for 90 days: {}\n",
        s.locked_with_devices, s.stale_90d
    ));
    if list_users {
        let rows: Vec<Vec<String>> = report
            .users
            .iter()
            .map(|u| {
                vec![
                    u.id.to_string(),
                    u.email.clone().unwrap_or_default(),
                    u.name.clone(),
                    u.category.as_str().to_owned(),
                    u.factors.join(", "),
                    u.pending.join(", "),
                    u.last_login.clone().unwrap_or_else(|| "never".into()),
                ]
            })
            .collect();
        text.push('\n');
        text.push_str(&table(
            &[
                "id",
                "email",
                "name",
                "category",
                "factors",
                "pending",
                "last login",
            ],
            &rows,
        ));
    } else {
        text.push_str(
            "\n(--category none,weak,... lists the users; --json or --csv FILE for all)\n",
        );
    }
    text
}

/// How progress is shown: a bar on a terminal, else a JSON line a minute on stderr.
enum Progress {
    Bar(indicatif::ProgressBar),
    Lines { last: Mutex<Option<Instant>> },
}

/// Seconds between progress lines when stderr is not a terminal.
const LINE_EVERY: Duration = Duration::from_secs(60);

impl Progress {
    fn new() -> Progress {
        if std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::with_draw_target(
                None,
                indicatif::ProgressDrawTarget::stderr(),
            );
            let style = indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} users  {per_sec}  {msg}  done in {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            bar.set_style(style);
            Progress::Bar(bar)
        } else {
            Progress::Lines {
                last: Mutex::new(None),
            }
        }
    }

    fn update(&self, p: &ScanProgress) {
        match self {
            Progress::Bar(bar) => {
                bar.set_length(p.total.max(p.read));
                bar.set_position(p.read);
                let budget = match (p.lane.remaining, p.lane.limit) {
                    (Some(r), Some(l)) => format!("budget left {r}/{l}"),
                    _ => "budget unknown".to_owned(),
                };
                bar.set_message(format!("{budget}  {} calls", p.calls));
            }
            Progress::Lines { last } => {
                let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
                // The first line at once, then one a minute.
                if last.is_some_and(|t| t.elapsed() < LINE_EVERY) {
                    return;
                }
                *last = Some(Instant::now());
                eprintln!("{}", progress_json(p));
            }
        }
    }

    fn finish(&self, p: Option<&ScanProgress>) {
        match self {
            Progress::Bar(bar) => bar.finish_and_clear(),
            Progress::Lines { .. } => {
                if let Some(p) = p {
                    eprintln!("{}", progress_json(p));
                }
            }
        }
    }
}

/// One progress line.
fn progress_json(p: &ScanProgress) -> serde_json::Value {
    json!({
        "progress": {
            "refresh": p.refresh,
            "users_read": p.read,
            "users_total": p.total,
            "users_listed": p.listed,
            "calls": p.calls,
            "budget_limit": p.lane.limit,
            "budget_remaining": p.lane.remaining,
            "lane_spent": p.lane.spent,
            "lane_allowance": p.lane.allowance,
            "paused_secs": p.lane.paused_for.map(|d| d.as_secs()),
        }
    })
}

/// Reads the tenant into the store within the background lane.
async fn scan(
    options: &CliOptions,
    out: &Output,
    args: &CoverageArgs,
    share: Option<f64>,
    reserve: Option<u64>,
    refresh: bool,
) -> Result<u8, OpsError> {
    let mut ctx = Context::open(options, out).await?;
    let result = scan_with(&ctx, out, args, share, reserve, refresh).await;
    ctx.close().await;
    result
}

async fn scan_with(
    ctx: &Context,
    out: &Output,
    args: &CoverageArgs,
    share: Option<f64>,
    reserve: Option<u64>,
    refresh: bool,
) -> Result<u8, OpsError> {
    let store = open_store(store_path(&ctx.settings, args.store.as_ref())?)?;
    let policy = LanePolicy::new(
        share.unwrap_or(ctx.settings.coverage_share),
        reserve.or(ctx.settings.coverage_reserve),
    )
    .map_err(|e| OpsError::Usage(e.to_string()))?;
    let lane = Lane::new(policy);
    let progress = Progress::new();
    let last: Mutex<Option<ScanProgress>> = Mutex::new(None);
    let on_progress = |p: &ScanProgress| {
        progress.update(p);
        *last.lock().unwrap_or_else(|e| e.into_inner()) = Some(p.clone());
    };
    let options = ScanOptions {
        refresh,
        ..ScanOptions::default()
    };
    let outcome = coverage::scan(&ctx.client, &store, &lane, &options, &on_progress).await;
    progress.finish(last.lock().unwrap_or_else(|e| e.into_inner()).as_ref());
    let outcome = outcome.map_err(|e| match e {
        coverage::CoverageError::Api(api) => OpsError::Api(api),
        other => store_error(other),
    })?;
    let what = if outcome.refresh { "refresh" } else { "scan" };
    if outcome.complete {
        out.text(&format!(
            "{what} complete: {} API calls in this pass; `mfadesk coverage` shows the report",
            outcome.calls
        ));
        Ok(0)
    } else {
        out.note(&format!(
            "{what} incomplete: {} users could not be read ({}); run it again to resume",
            outcome.failed,
            outcome.last_error.as_deref().map(clean).unwrap_or_default()
        ));
        Ok(1)
    }
}
