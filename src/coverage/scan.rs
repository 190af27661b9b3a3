//! `coverage scan`: the users list, then each user's devices, paced by the background lane and
//! streamed into the store. Calls: one per users page (100 users) and one per user, nothing
//! else; a pass killed at any moment resumes where its last stored answer left it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::StreamExt;

use super::CoverageError;
use crate::api::{ApiError, Client, ErrorKind, EventQuery, MfaApiChoice, OtpDevice, User};
use crate::lane::{Lane, LaneStatus};
use crate::mfa_api::MfaApi;
use crate::store::Store;
use crate::store::coverage::{self as tables, DeviceRow, Pass, PassKind, UserRow};
use crate::worker::{ApiRequest, ApiResponse};

/// Users per list page (the most the API gives).
pub const PAGE_SIZE: u32 = 100;

/// Only the user fields the report needs.
pub const USER_FIELDS: &str =
    "id,email,username,firstname,lastname,status,state,last_login,updated_at,locked_until";

/// Device calls in flight at most. 16 keeps a tenant 80 ms away busy at 200 calls a second
/// (16 / 0.08 s), more than half of even a 1,000,000-an-hour budget, and is far below one
/// users page, so a killed scan loses fewer answers than the resume bound allows.
pub const CONCURRENCY: usize = 16;

/// Event types that say a user's devices changed (spec §11): added, removed, lost, added
/// through the API, verified, deleted or made default by the user, phone added or updated.
pub const REFRESH_EVENT_TYPES: [i64; 9] = [22, 24, 36, 540, 1400, 1600, 1602, 1244, 1245];

/// Events are read from this long before the last pass started, so a tenant clock a little
/// behind ours loses no change (a change seen twice only costs one more read).
const EVENTS_MARGIN_SECS: i64 = 300;

/// Users fetched from the store per batch of work (memory stays flat whatever the tenant).
const BATCH: usize = 500;

/// How a scan runs.
#[derive(Clone, Debug)]
pub struct ScanOptions {
    /// Read only what changed since the last complete pass (needs one; else a full pass).
    pub refresh: bool,
    /// Device calls in flight at most.
    pub concurrency: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            refresh: false,
            concurrency: CONCURRENCY,
        }
    }
}

/// Where a running scan stands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanProgress {
    /// Users whose devices are read in this pass.
    pub read: u64,
    /// Users this pass has to read (known once the list is in).
    pub total: u64,
    /// Users listed so far.
    pub listed: u64,
    /// API calls this pass made, across resumes.
    pub calls: u64,
    /// What the lane knows of the budget.
    pub lane: LaneStatus,
    /// Full scan or refresh.
    pub refresh: bool,
}

/// How a scan ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanOutcome {
    /// The pass id.
    pub pass: i64,
    /// The pass is complete.
    pub complete: bool,
    /// API calls the pass made (across resumes).
    pub calls: u64,
    /// Users whose devices could not be read (the pass stays open to resume).
    pub failed: u64,
    /// The last error, when some read failed.
    pub last_error: Option<String>,
    /// It was a refresh.
    pub refresh: bool,
}

/// A user as the store keeps them.
fn user_row(u: &User) -> UserRow {
    UserRow {
        id: u.id,
        email: u.email.clone(),
        username: u.username.clone(),
        firstname: u.firstname.clone(),
        lastname: u.lastname.clone(),
        status: u.status,
        state: u.state,
        last_login: u.last_login.map(iso),
        locked_until: u.locked_until.map(iso),
    }
}

/// A device as the store keeps it.
fn device_row(d: &OtpDevice) -> DeviceRow {
    DeviceRow {
        device_id: d.id.0.clone(),
        factor: d.auth_factor_name.clone(),
        active: d.active,
        is_default: d.default,
    }
}

/// The MFA API the scan reads devices with: v1 (`otp_devices`, which says `active`) unless the
/// profile allows only v2.
fn devices_api(client: &Client) -> MfaApi {
    match client.mfa_api() {
        MfaApiChoice::V2 => MfaApi::V2,
        _ => MfaApi::V1,
    }
}

/// A time as the API writes it: RFC 3339 UTC with milliseconds.
pub fn iso(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The time now, as the store keeps it.
fn now() -> String {
    iso(chrono::Utc::now())
}

/// Opens the pass to work on: the unfinished one, else a new full pass or refresh.
async fn pass_to_run(store: &Store, base_url: &str, refresh: bool) -> Result<Pass, CoverageError> {
    let asked = base_url.to_owned();
    let path = store.path().display().to_string();
    store
        .call(move |conn| {
            match tables::tenant(conn)? {
                Some(stored) if stored != asked => {
                    return Ok(Err(CoverageError::OtherTenant {
                        path,
                        stored,
                        asked,
                    }));
                }
                Some(_) => {}
                None => tables::set_tenant(conn, &asked)?,
            }
            if let Some(open) = tables::open_pass(conn)? {
                return Ok(Ok(open));
            }
            let last = tables::last_finished_pass(conn)?;
            let pass = if refresh && tables::has_complete_full_pass(conn)? {
                let since = last.map(|p| p.started_at);
                tables::start_pass(conn, PassKind::Refresh, &now(), since.as_deref())?
            } else {
                tables::start_pass(conn, PassKind::Full, &now(), None)?
            };
            Ok(Ok(pass))
        })
        .await?
}

/// A refresh's first step: every events page since the last pass, marking the users they name
/// to be read again; each page and its cursor are stored together, so a kill resumes here.
async fn read_events(
    client: &Client,
    store: &Store,
    lane: &Lane,
    mut pass: Pass,
) -> Result<Pass, CoverageError> {
    let since = pass
        .events_since
        .as_deref()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&chrono::Utc) - chrono::TimeDelta::seconds(EVENTS_MARGIN_SECS));
    let query = EventQuery {
        event_type_ids: REFRESH_EVENT_TYPES.to_vec(),
        since,
        ..EventQuery::default()
    };
    while !pass.events_done {
        let after = pass.events_cursor.clone();
        let page = lane
            .paced(client, || client.get_events_page(&query, after.as_deref()))
            .await?;
        let mut ids: Vec<i64> = page.events.iter().filter_map(|e| e.user_id).collect();
        ids.sort_unstable();
        ids.dedup();
        // A tenant repeating a cursor would loop forever: that page is the last.
        let next = page.after_cursor.filter(|c| Some(c) != after.as_ref());
        let current = pass.clone();
        pass = store
            .call(move |conn| {
                tables::store_events_page(conn, &current, &ids, next.as_deref())?;
                tables::pass(conn, current.id)
            })
            .await?;
    }
    Ok(pass)
}

/// Takes the store's scan lock (`<store>.lock`), so two scans (a console's and a command's)
/// never read the same pass twice; the system drops it when the process dies, SIGKILL included.
fn lock_store(store: &Store) -> Result<std::fs::File, CoverageError> {
    let mut path = store.path().as_os_str().to_owned();
    path.push(".lock");
    let path = std::path::PathBuf::from(path);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| CoverageError::Write {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => {
            Err(CoverageError::Busy(store.path().display().to_string()))
        }
        Err(std::fs::TryLockError::Error(e)) => Err(CoverageError::Write {
            path: path.display().to_string(),
            message: e.to_string(),
        }),
    }
}

/// Scans the tenant into the store; `progress` hears after every stored answer.
pub async fn scan(
    client: &Client,
    store: &Store,
    lane: &Lane,
    options: &ScanOptions,
    progress: &(dyn Fn(&ScanProgress) + Sync),
) -> Result<ScanOutcome, CoverageError> {
    // Held until the scan returns.
    let _lock = lock_store(store)?;
    let mut pass = pass_to_run(store, client.base_url(), options.refresh).await?;
    let refresh = pass.kind == PassKind::Refresh;
    let calls = Arc::new(AtomicU64::new(pass.calls));
    let (listed0, read0) = store.call(|c| tables::counts(c)).await?;
    let mut state = ScanProgress {
        read: 0,
        total: 0,
        listed: if pass.list_done { listed0 } else { 0 },
        calls: pass.calls,
        lane: lane.status(),
        refresh,
    };
    let _ = read0;

    if refresh && !pass.events_done {
        pass = read_events(client, store, lane, pass).await?;
        state.calls = pass.calls;
        state.lane = lane.status();
        progress(&state);
    }

    while !pass.list_done {
        let cursor = pass.list_cursor.clone();
        let page = lane
            .paced(client, || {
                client.list_users_page(PAGE_SIZE, USER_FIELDS, cursor.as_deref())
            })
            .await?;
        let rows: Vec<UserRow> = page.users.iter().map(user_row).collect();
        let next = page.after_cursor.clone();
        let total = page.total_count;
        let current = pass.clone();
        pass = store
            .call(move |conn| {
                tables::store_users_page(conn, &current, &rows, next.as_deref(), total)?;
                tables::pass(conn, current.id)
            })
            .await?;
        calls.store(pass.calls, Ordering::SeqCst);
        state.listed += page.users.len() as u64;
        state.total = state.total.max(total.unwrap_or(state.listed));
        state.calls = pass.calls;
        state.lane = lane.status();
        progress(&state);
    }

    let remaining = store.call(|c| tables::count_to_read(c)).await?;
    let (listed, read_any) = store.call(|c| tables::counts(c)).await?;
    state.listed = listed;
    state.total = if refresh { remaining } else { listed };
    state.read = if refresh {
        0
    } else {
        listed.saturating_sub(remaining)
    };
    let _ = read_any;
    progress(&state);

    let api = devices_api(client);
    let failed = Arc::new(AtomicU64::new(0));
    let last_error: Arc<std::sync::Mutex<Option<String>>> = Arc::default();
    let read = Arc::new(AtomicU64::new(state.read));
    let mut after = 0i64;
    loop {
        let ids = store
            .call(move |c| tables::users_to_read(c, after, BATCH))
            .await?;
        let Some(&last) = ids.last() else { break };
        after = last;
        let results = futures::stream::iter(ids)
            .map(|user_id| {
                let pass = pass.clone();
                let calls = calls.clone();
                let failed = failed.clone();
                let last_error = last_error.clone();
                let read = read.clone();
                async move {
                    let response = lane
                        .paced(client, || async {
                            match api.run(client, ApiRequest::GetDevices(user_id)).await {
                                ApiResponse::Devices(r) => r,
                                _ => Err(ApiError::new(
                                    ErrorKind::MalformedResponse,
                                    "unexpected answer to a devices call",
                                )),
                            }
                        })
                        .await;
                    let devices = match response {
                        Ok(devices) => Some(devices.iter().map(device_row).collect::<Vec<_>>()),
                        // The user was deleted since the list: they leave the report.
                        Err(e) if e.kind == ErrorKind::NotFound => None,
                        Err(e) => {
                            failed.fetch_add(1, Ordering::SeqCst);
                            tracing::warn!(user_id, "devices read failed: {}", e.message);
                            *last_error.lock().unwrap_or_else(|p| p.into_inner()) =
                                Some(e.to_string());
                            return Ok::<(), CoverageError>(());
                        }
                    };
                    let at = now();
                    store
                        .call(move |conn| {
                            tables::store_devices(conn, &pass, user_id, devices.as_deref(), &at)
                        })
                        .await?;
                    calls.fetch_add(1, Ordering::SeqCst);
                    read.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                }
            })
            .buffer_unordered(options.concurrency.max(1));
        futures::pin_mut!(results);
        while let Some(r) = results.next().await {
            r?;
            state.read = read.load(Ordering::SeqCst);
            state.calls = calls.load(Ordering::SeqCst);
            state.lane = lane.status();
            progress(&state);
        }
    }

    let id = pass.id;
    let (complete, pass) = store
        .call(move |c| {
            let done = tables::finish_if_done(c, id, &now())?;
            Ok((done, tables::pass(c, id)?))
        })
        .await?;
    let last_error = last_error.lock().unwrap_or_else(|p| p.into_inner()).clone();
    Ok(ScanOutcome {
        pass: pass.id,
        complete,
        calls: pass.calls,
        failed: failed.load(Ordering::SeqCst),
        last_error,
        refresh,
    })
}
