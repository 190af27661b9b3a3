//! The demo tenant: an axum server on loopback that behaves like OneLogin.
//!
//! It serves the OAuth2 token and revoke endpoints, `/auth/rate_limit`, v2 user lookup
//! and the seven v1 MFA routes, with the shapes, statuses and messages of
//! `spec/onelogin-api.md`, plus `/_sim/` routes (no auth, not rate-limited) that show
//! what the tenant "delivered": SMS and voice codes, pending pushes, authenticator codes.
//! Tests drive it in process through [`SimControl`]: its clock, faults, rate budget.
//!
//! # Demo credentials
//! `demo-manage` / `demo-manage-secret` (Manage users) and `demo-read` / `demo-read-secret`
//! (Read users: every write answers 401 "Insufficient Permission"). Every demo YubiKey
//! accepts [`DEMO_YUBIKEY_CODE`].
//!
//! # Notable seed users (`assets/demo-tenant.json`, 62 users, factor ids SMS 16282,
//! Voice 16283, Protect 16284, Google Authenticator 16285, YubiKey 16286)
//! | id | who | status | devices |
//! |---|---|---|---|
//! | 36216766 | Kelly Slater, kelly.slater@acme.example | active | 525501 SMS (default, +14155550101), 525502 Google Authenticator |
//! | 36216767 | Stephanie Gilmore | active | 525503 OneLogin Protect (default; listed twice), 525504 Voice |
//! | 36216768 | John Florence | active | 525505 YubiKey (default) |
//! | 36216769 | Carissa Moore | active | none |
//! | 36216770 | Gabriel Medina | locked (3), locked_until 2 h after start | 525506 SMS, pending (inactive) |
//! | 36216771 | Tyler Wright | suspended (2) | 525507 Google Authenticator |
//! | 36216772 | Mick Fanning | password expired (4) | 525508 SMS (default), 525509 Voice |
//! | 36216773 | Layne Beachley | unactivated (0), never logged in, null username | none |
//! | 36216774 | Kelly Smith (a second `kelly*`) | active | 525510 Protect (default), 525511 Authenticator, 525512 YubiKey |
//!
//! Seed timestamps may be relative (`now-2d`, `now+90m`), resolved at start and reset.
//!
//! # Demo stories (seed `events`, relative to the sim clock at start)
//! | id | who | story |
//! |---|---|---|
//! | 36216802 | Noah Garcia | push-bombed now: five denied pushes (950) in 15 min, failed sign-ins from 185.220.101.44 (risk 93) |
//! | 36216804 | Olivia Okafor | phone number changed yesterday (1245), a new device today (22, 525600) |
//! | 36216801 | Liam Patel | a temporary MFA token issued two hours ago (1100) by a colleague |
//! | 36216770 | Gabriel Medina | locked (19) after five failed sign-ins from 198.51.100.23 |
//!
//! # Demo routes (no auth, not rate-limited, never faulted, JSON)
//! `GET /_sim/outbox`, `GET /_sim/pushes`, `POST /_sim/pushes/{state_token}/approve|deny`,
//! `GET /_sim/totp` (all codes), `GET /_sim/totp/{device_id}`,
//! `POST /_sim/clock/advance?seconds=N`, `POST /_sim/reset`,
//! `POST /_sim/users/{id}/login` (`{"ok": false, "ip": "…", "risk_score": n}`: a failed sign-in,
//! locking at 5; `{"ok": true}`: a sign-in), `POST /_sim/events` (records any event).
//!
//! # Events (spec §9)
//! Everything the tenant does is recorded through one recorder (`Tenant::record_event`, or
//! [`SimControl::record_event`]) and served by `GET /api/1/events` (newest first unless
//! `sort=+id`; `after_cursor` paging; `next_link` names OneLogin's host) and `/events/types`.
//!
//! # Answers where the docs are silent
//! Unknown route or method: 404 v1 `"No Route Exists"` (v2 shape under `/api/2/`).
//! Bad token credentials: 401 flat `"Authentication Failure"`; wrong grant type: 400 flat
//! `"grant_type is incorrect/absent"`. Trigger messages: SMS "SMS token sent to your mobile
//! device. Authentication pending.", Voice "Voice call placed to your phone. Authentication
//! pending.", Push "Push notification sent to OneLogin Protect. Authentication pending.".
//! Fault `Status(502|503)` answers a proxy-style HTML page; other statuses a v1 envelope.
//! Users list: `limit` outside 1..=100 or `page` < 1 → 422 ValidationError; non-numeric
//! `limit`/`page`, bad `user_ids` or an undecodable cursor → 400 BadRequestError. Cursors
//! decode to `limit=50&page=2` followed by the filters, so a bare `?cursor=` keeps them.
//! `reset` keeps issued access tokens so a connected console carries on.
//! `/_sim/clock/advance` with a non-integer, or a move beyond about 100 years from real
//! time: v1 400. Text filters over 256 characters: v2 400.
//!
//! # Bounds
//! The rate budget is per client id; requests without valid credentials spend nothing
//! and carry no `X-RateLimit-*` headers. Connections: a cap (503, v1 shape), header-read,
//! body (408) and idle timeouts, 16 KiB of headers (431; a head past 64 KiB or 100 fields is
//! answered 431 by the connection itself), 8 KiB of URL (414), 1 MiB of
//! body (413), each error in the shape of the route's API family. A handler panic is
//! answered 500 (and [`handling_request`] is true while it unwinds, for a panic hook).
//! The outbox, state tokens and temporary tokens keep only the most recent ones.
//! `listen` outside 127.0.0.0/8 and ::1 is refused unless `allow_remote`.

mod account;
mod auth;
pub mod cli;
mod clock;
mod conn;
mod control;
mod error;
mod events;
mod faults;
mod mfa;
mod mfa_v2;
mod ratelimit;
mod respond;
mod seed;
mod server;
mod state;
mod synth;
mod totp;
mod users;

pub use conn::handling_request;
pub use control::SimControl;
pub use error::SimError;
pub use events::{EVENT_TYPES, NewEvent, SimEvent};
pub use faults::{Fault, RouteKind};
pub use server::{DemoTenant, SimConfig};
pub use state::{
    Channel, FactorKind, OutboxMessage, PendingPush, RegistrationInfo, RegistrationStatus,
    SimDevice, SimUser, TotpCode,
};

/// Client id of the demo credential with the Manage All scope (MFA v1 and v2).
pub const DEMO_ADMIN_CLIENT_ID: &str = "demo-admin";
/// Client secret of the demo Manage All credential.
pub const DEMO_ADMIN_CLIENT_SECRET: &str = "demo-admin-secret";
/// Client id of the demo credential with the Manage users scope.
pub const DEMO_MANAGE_CLIENT_ID: &str = "demo-manage";
/// Client secret of the demo Manage users credential.
pub const DEMO_MANAGE_CLIENT_SECRET: &str = "demo-manage-secret";
/// Client id of the demo credential with the Read users scope.
pub const DEMO_READ_CLIENT_ID: &str = "demo-read";
/// Client secret of the demo Read users credential.
pub const DEMO_READ_CLIENT_SECRET: &str = "demo-read-secret";
/// The OTP every demo YubiKey accepts (44 modhex characters, like a real YubiKey OTP).
pub const DEMO_YUBIKEY_CODE: &str = "cccccclbnrjdhbtfejhevdhrlkgbrcfiiuicjtfkgeeb";
