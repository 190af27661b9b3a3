//! The coverage tables: scan passes, users as listed, devices as read, each user's category.
//!
//! Every write that records an API answer also records where the pass stands (cursor, the
//! user's `need_read` flag, the call count) in the same transaction, so a pass killed at any
//! moment resumes without reading a stored answer again or counting it twice.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

use super::StoreError;

/// A user's MFA coverage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// No device at all.
    None,
    /// Active devices, all of them SMS, voice or email.
    Weak,
    /// At least one active device that is not SMS, voice or email.
    Strong,
    /// Devices, none of them active yet.
    PendingOnly,
}

impl Category {
    /// Every category, in report order.
    pub const ALL: [Category; 4] = [
        Category::None,
        Category::Weak,
        Category::Strong,
        Category::PendingOnly,
    ];

    /// The name used in the store, on the command line and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::None => "none",
            Category::Weak => "weak",
            Category::Strong => "strong",
            Category::PendingOnly => "pending_only",
        }
    }

    /// The category with this name.
    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// Whether a factor name is a phone or email factor (a code anyone holding the line can get).
pub fn is_weak_factor(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("sms") || n.contains("voice") || n.contains("email")
}

/// The category of a user with these devices.
pub fn categorize(devices: &[DeviceRow]) -> Category {
    let mut active = devices.iter().filter(|d| d.active).peekable();
    if active.peek().is_none() {
        return if devices.is_empty() {
            Category::None
        } else {
            Category::PendingOnly
        };
    }
    if active.all(|d| is_weak_factor(&d.factor)) {
        Category::Weak
    } else {
        Category::Strong
    }
}

/// Full scan or refresh.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PassKind {
    /// Every user's devices are read.
    Full,
    /// Only users named by events (and new users) are read.
    Refresh,
}

impl PassKind {
    fn as_str(self) -> &'static str {
        match self {
            PassKind::Full => "full",
            PassKind::Refresh => "refresh",
        }
    }
}

/// Where a pass stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pass {
    /// Pass id.
    pub id: i64,
    /// Full or refresh.
    pub kind: PassKind,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// When it finished, if it has.
    pub finished_at: Option<String>,
    /// The users page to read next (None: the first, unless `list_done`).
    pub list_cursor: Option<String>,
    /// Every users page is stored.
    pub list_done: bool,
    /// Total-Count of the users list.
    pub users_total: Option<u64>,
    /// Refresh: events are read from this time.
    pub events_since: Option<String>,
    /// Refresh: the events page to read next.
    pub events_cursor: Option<String>,
    /// Refresh: every events page is stored.
    pub events_done: bool,
    /// API calls whose answers this pass stored.
    pub calls: u64,
}

const PASS_COLUMNS: &str = "id, kind, started_at, finished_at, list_cursor, list_done, users_total, \
     events_since, events_cursor, events_done, calls";

fn pass_from_row(r: &Row<'_>) -> rusqlite::Result<Pass> {
    let kind: String = r.get(1)?;
    Ok(Pass {
        id: r.get(0)?,
        kind: if kind == "refresh" {
            PassKind::Refresh
        } else {
            PassKind::Full
        },
        started_at: r.get(2)?,
        finished_at: r.get(3)?,
        list_cursor: r.get(4)?,
        list_done: r.get(5)?,
        users_total: r.get::<_, Option<i64>>(6)?.map(|n| n.max(0) as u64),
        events_since: r.get(7)?,
        events_cursor: r.get(8)?,
        events_done: r.get(9)?,
        calls: r.get::<_, i64>(10)?.max(0) as u64,
    })
}

/// A user as the users list gave it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserRow {
    /// User id.
    pub id: i64,
    /// Email.
    pub email: Option<String>,
    /// Username.
    pub username: Option<String>,
    /// First name.
    pub firstname: Option<String>,
    /// Last name.
    pub lastname: Option<String>,
    /// Status code.
    pub status: Option<i64>,
    /// State code.
    pub state: Option<i64>,
    /// Last login (RFC 3339), None if never.
    pub last_login: Option<String>,
    /// Locked until (RFC 3339).
    pub locked_until: Option<String>,
}

/// One device as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceRow {
    /// Device id.
    pub device_id: String,
    /// Factor name as the API gives it.
    pub factor: String,
    /// Used at least once.
    pub active: bool,
    /// The user's default.
    pub is_default: bool,
}

/// A user with what the last read found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoveredUser {
    /// The user as listed.
    pub user: UserRow,
    /// Category (None if never read).
    pub category: Option<Category>,
    /// When the devices were read.
    pub read_at: Option<String>,
    /// The devices.
    pub devices: Vec<DeviceRow>,
}

/// The tenant this store belongs to, if recorded.
pub fn tenant(conn: &Connection) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row("SELECT base_url FROM tenant WHERE id = 1", [], |r| r.get(0))
        .optional()?)
}

/// Records the tenant's base URL.
pub fn set_tenant(conn: &Connection, base_url: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO tenant (id, base_url) VALUES (1, ?1)
         ON CONFLICT (id) DO UPDATE SET base_url = excluded.base_url",
        [base_url],
    )?;
    Ok(())
}

/// The open (unfinished) pass, if any.
pub fn open_pass(conn: &Connection) -> Result<Option<Pass>, StoreError> {
    Ok(conn
        .query_row(
            &format!(
                "SELECT {PASS_COLUMNS} FROM scan_pass WHERE finished_at IS NULL ORDER BY id DESC LIMIT 1"
            ),
            [],
            pass_from_row,
        )
        .optional()?)
}

/// The last finished pass of any kind.
pub fn last_finished_pass(conn: &Connection) -> Result<Option<Pass>, StoreError> {
    Ok(conn
        .query_row(
            &format!(
                "SELECT {PASS_COLUMNS} FROM scan_pass WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1"
            ),
            [],
            pass_from_row,
        )
        .optional()?)
}

/// Whether a full pass has ever finished (a refresh needs one).
pub fn has_complete_full_pass(conn: &Connection) -> Result<bool, StoreError> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM scan_pass WHERE kind = 'full' AND finished_at IS NOT NULL)",
        [],
        |r| r.get(0),
    )?)
}

/// A pass by id.
pub fn pass(conn: &Connection, id: i64) -> Result<Pass, StoreError> {
    Ok(conn.query_row(
        &format!("SELECT {PASS_COLUMNS} FROM scan_pass WHERE id = ?1"),
        [id],
        pass_from_row,
    )?)
}

/// Starts a new pass; a refresh reads events from `events_since`.
pub fn start_pass(
    conn: &Connection,
    kind: PassKind,
    started_at: &str,
    events_since: Option<&str>,
) -> Result<Pass, StoreError> {
    conn.execute(
        "INSERT INTO scan_pass (kind, started_at, events_since) VALUES (?1, ?2, ?3)",
        params![kind.as_str(), started_at, events_since],
    )?;
    pass(conn, conn.last_insert_rowid())
}

/// Stores one users page and where the list stands, in one transaction. In a full pass every
/// listed user is to be read; in a refresh only users the store did not hold. `next_cursor`
/// None means this was the last page: users no page named are then removed.
pub fn store_users_page(
    conn: &mut Connection,
    pass: &Pass,
    users: &[UserRow],
    next_cursor: Option<&str>,
    total: Option<u64>,
) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    {
        let mut upsert = tx.prepare_cached(
            "INSERT INTO cov_user (id, email, username, firstname, lastname, status, state,
                                   last_login, locked_until, listed_pass, need_read)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 1)
             ON CONFLICT (id) DO UPDATE SET
                email = excluded.email, username = excluded.username,
                firstname = excluded.firstname, lastname = excluded.lastname,
                status = excluded.status, state = excluded.state,
                last_login = excluded.last_login, locked_until = excluded.locked_until,
                listed_pass = excluded.listed_pass,
                need_read = CASE WHEN ?11 THEN 1 ELSE need_read END",
        )?;
        let full = pass.kind == PassKind::Full;
        for u in users {
            upsert.execute(params![
                u.id,
                u.email,
                u.username,
                u.firstname,
                u.lastname,
                u.status,
                u.state,
                u.last_login,
                u.locked_until,
                pass.id,
                full
            ])?;
        }
    }
    let done = next_cursor.is_none();
    tx.execute(
        "UPDATE scan_pass SET list_cursor = ?2, list_done = ?3,
             users_total = COALESCE(?4, users_total), calls = calls + 1 WHERE id = ?1",
        params![pass.id, next_cursor, done, total.map(|t| t as i64)],
    )?;
    if done {
        tx.execute("DELETE FROM cov_user WHERE listed_pass != ?1", [pass.id])?;
    }
    tx.commit()?;
    Ok(())
}

/// Stores one events page of a refresh: the users it names are to be read again.
pub fn store_events_page(
    conn: &mut Connection,
    pass: &Pass,
    user_ids: &[i64],
    next_cursor: Option<&str>,
) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    {
        let mut mark = tx.prepare_cached("UPDATE cov_user SET need_read = 1 WHERE id = ?1")?;
        for id in user_ids {
            mark.execute([id])?;
        }
    }
    tx.execute(
        "UPDATE scan_pass SET events_cursor = ?2, events_done = ?3, calls = calls + 1 WHERE id = ?1",
        params![pass.id, next_cursor, next_cursor.is_none()],
    )?;
    tx.commit()?;
    Ok(())
}

/// Up to `limit` users still to be read in this pass, with ids above `after`, by id.
pub fn users_to_read(conn: &Connection, after: i64, limit: usize) -> Result<Vec<i64>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM cov_user WHERE need_read = 1 AND id > ?1 ORDER BY id LIMIT ?2",
    )?;
    let ids = stmt
        .query_map(params![after, limit as i64], |r| r.get(0))?
        .collect::<Result<Vec<i64>, _>>()?;
    Ok(ids)
}

/// How many users the open pass still has to read.
pub fn count_to_read(conn: &Connection) -> Result<u64, StoreError> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM cov_user WHERE need_read = 1",
        [],
        |r| r.get(0),
    )?;
    Ok(n.max(0) as u64)
}

/// Stores a user's devices, category and read time, and counts the call, in one transaction.
/// A user who disappeared from the tenant (`devices` None: 404) is removed.
pub fn store_devices(
    conn: &mut Connection,
    pass: &Pass,
    user_id: i64,
    devices: Option<&[DeviceRow]>,
    read_at: &str,
) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    tx.execute("DELETE FROM cov_device WHERE user_id = ?1", [user_id])?;
    match devices {
        Some(devices) => {
            {
                let mut insert = tx.prepare_cached(
                    "INSERT OR REPLACE INTO cov_device (user_id, device_id, factor, active, is_default)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                for d in devices {
                    insert.execute(params![
                        user_id,
                        d.device_id,
                        d.factor,
                        d.active,
                        d.is_default
                    ])?;
                }
            }
            tx.execute(
                "UPDATE cov_user SET need_read = 0, read_pass = ?2, read_at = ?3, category = ?4
                 WHERE id = ?1",
                params![user_id, pass.id, read_at, categorize(devices).as_str()],
            )?;
        }
        None => {
            tx.execute("DELETE FROM cov_user WHERE id = ?1", [user_id])?;
        }
    }
    tx.execute(
        "UPDATE scan_pass SET calls = calls + 1 WHERE id = ?1",
        [pass.id],
    )?;
    tx.commit()?;
    Ok(())
}

/// Finishes the pass if its list (and events) are done and no user is left to read.
pub fn finish_if_done(conn: &Connection, pass_id: i64, now: &str) -> Result<bool, StoreError> {
    let p = pass(conn, pass_id)?;
    let events_ok = p.kind == PassKind::Full || p.events_done;
    if !(p.list_done && events_ok) || count_to_read(conn)? > 0 {
        return Ok(false);
    }
    conn.execute(
        "UPDATE scan_pass SET finished_at = ?2 WHERE id = ?1",
        params![pass_id, now],
    )?;
    Ok(true)
}

fn user_from_row(r: &Row<'_>) -> rusqlite::Result<(UserRow, Option<String>, Option<String>)> {
    Ok((
        UserRow {
            id: r.get(0)?,
            email: r.get(1)?,
            username: r.get(2)?,
            firstname: r.get(3)?,
            lastname: r.get(4)?,
            status: r.get(5)?,
            state: r.get(6)?,
            last_login: r.get(7)?,
            locked_until: r.get(8)?,
        },
        r.get(9)?,
        r.get(10)?,
    ))
}

/// Calls `each` for every user read at least once, by id, with their devices; the rows are
/// streamed, never all held.
pub fn for_each_covered(
    conn: &Connection,
    mut each: impl FnMut(CoveredUser) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut users = conn.prepare(
        "SELECT id, email, username, firstname, lastname, status, state, last_login,
                locked_until, category, read_at
         FROM cov_user WHERE read_at IS NOT NULL ORDER BY id",
    )?;
    let mut devices = conn.prepare_cached(
        "SELECT device_id, factor, active, is_default FROM cov_device WHERE user_id = ?1
         ORDER BY device_id",
    )?;
    let mut rows = users.query([])?;
    while let Some(row) = rows.next()? {
        let (user, category, read_at) = user_from_row(row)?;
        let devs = devices
            .query_map([user.id], |r| {
                Ok(DeviceRow {
                    device_id: r.get(0)?,
                    factor: r.get(1)?,
                    active: r.get(2)?,
                    is_default: r.get(3)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let category = match category {
            Some(c) => Some(
                Category::parse(&c)
                    .ok_or_else(|| StoreError::Corrupt(format!("category {c:?}")))?,
            ),
            None => None,
        };
        each(CoveredUser {
            user,
            category,
            read_at,
            devices: devs,
        })?;
    }
    Ok(())
}

/// (users listed, users read) in the store.
pub fn counts(conn: &Connection) -> Result<(u64, u64), StoreError> {
    let (listed, read): (i64, i64) =
        conn.query_row("SELECT count(*), count(read_at) FROM cov_user", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    Ok((listed.max(0) as u64, read.max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::migrations::migrations;

    fn conn() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        migrations().to_latest(&mut c).unwrap();
        c
    }

    fn dev(factor: &str, active: bool) -> DeviceRow {
        DeviceRow {
            device_id: factor.into(),
            factor: factor.into(),
            active,
            is_default: false,
        }
    }

    fn user(id: i64) -> UserRow {
        UserRow {
            id,
            ..UserRow::default()
        }
    }

    #[test]
    fn categories() {
        assert_eq!(categorize(&[]), Category::None);
        assert_eq!(
            categorize(&[dev("OneLogin SMS", false)]),
            Category::PendingOnly
        );
        assert_eq!(
            categorize(&[dev("OneLogin SMS", true), dev("OneLogin Voice", true)]),
            Category::Weak
        );
        assert_eq!(categorize(&[dev("OneLogin Email", true)]), Category::Weak);
        assert_eq!(
            categorize(&[dev("OneLogin SMS", true), dev("Yubico YubiKey", true)]),
            Category::Strong
        );
        // A pending strong device does not lift a weak user.
        assert_eq!(
            categorize(&[dev("SMS", true), dev("Google Authenticator", false)]),
            Category::Weak
        );
    }

    #[test]
    fn a_pass_resumes_where_it_stopped() {
        let mut c = conn();
        let p = start_pass(&c, PassKind::Full, "t0", None).unwrap();
        store_users_page(&mut c, &p, &[user(1), user(2)], Some("c2"), Some(3)).unwrap();
        let p = open_pass(&c).unwrap().unwrap();
        assert_eq!(
            (p.list_cursor.as_deref(), p.list_done, p.calls),
            (Some("c2"), false, 1)
        );
        store_users_page(&mut c, &p, &[user(3)], None, Some(3)).unwrap();
        store_devices(&mut c, &p, 1, Some(&[dev("SMS", true)]), "t1").unwrap();
        assert_eq!(users_to_read(&c, 0, 10).unwrap(), vec![2, 3]);
        assert!(!finish_if_done(&c, p.id, "t2").unwrap());
        store_devices(&mut c, &p, 2, Some(&[]), "t1").unwrap();
        store_devices(&mut c, &p, 3, None, "t1").unwrap();
        assert!(finish_if_done(&c, p.id, "t2").unwrap());
        assert_eq!(pass(&c, p.id).unwrap().calls, 5);
        assert_eq!(counts(&c).unwrap(), (2, 2));
        // The next full pass drops users the list no longer names.
        let p2 = start_pass(&c, PassKind::Full, "t3", None).unwrap();
        store_users_page(&mut c, &p2, &[user(2)], None, Some(1)).unwrap();
        assert_eq!(counts(&c).unwrap(), (1, 1));
        assert_eq!(users_to_read(&c, 0, 10).unwrap(), vec![2]);
    }

    #[test]
    fn a_refresh_reads_only_new_and_named_users() {
        let mut c = conn();
        let p = start_pass(&c, PassKind::Full, "t0", None).unwrap();
        store_users_page(&mut c, &p, &[user(1), user(2)], None, None).unwrap();
        store_devices(&mut c, &p, 1, Some(&[]), "t1").unwrap();
        store_devices(&mut c, &p, 2, Some(&[]), "t1").unwrap();
        finish_if_done(&c, p.id, "t1").unwrap();
        let r = start_pass(&c, PassKind::Refresh, "t2", Some("t0")).unwrap();
        store_events_page(&mut c, &r, &[2, 99], None).unwrap();
        store_users_page(&mut c, &r, &[user(1), user(2), user(3)], None, None).unwrap();
        assert_eq!(users_to_read(&c, 0, 10).unwrap(), vec![2, 3]);
    }
}
