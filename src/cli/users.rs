//! `mfadesk users QUERY`: the console's search, every page.

use serde_json::{Value, json};

use crate::api::User;
use crate::app::query;
use crate::ops::OpsError;
use crate::ops::resolve::search_all;

use super::context::Context;
use super::output::{Output, table};

/// A user as JSON (also used by the other commands).
pub fn user_json(u: &User) -> Value {
    json!({
        "id": u.id,
        "name": u.display_name(),
        "username": u.username,
        "email": u.email,
        "firstname": u.firstname,
        "lastname": u.lastname,
        "status": u.status().label(),
        "locked_until": u.locked_until.map(|t| t.to_rfc3339()),
        "last_login": u.last_login.map(|t| t.to_rfc3339()),
    })
}

/// Runs the search and prints the users.
pub async fn run(ctx: &Context, out: &Output, text: &str) -> Result<(), OpsError> {
    let queries = query::parse(text).map_err(|e| OpsError::Usage(e.to_string()))?;
    let users = search_all(&ctx.client, queries).await?;
    if out.json {
        out.json(&json!({
            "query": text,
            "count": users.len(),
            "users": users.iter().map(user_json).collect::<Vec<_>>(),
        }));
        return Ok(());
    }
    if users.is_empty() {
        out.text(&format!("No user matches {text:?}."));
        return Ok(());
    }
    let rows: Vec<Vec<String>> = users
        .iter()
        .map(|u| {
            vec![
                u.id.to_string(),
                u.display_name(),
                u.email.clone().unwrap_or_default(),
                u.username.clone().unwrap_or_default(),
                u.status().label(),
            ]
        })
        .collect();
    out.text(&table(
        &["ID", "NAME", "EMAIL", "USERNAME", "STATUS"],
        &rows,
    ));
    let n = users.len();
    out.text(&format!("{n} user{}", if n == 1 { "" } else { "s" }));
    Ok(())
}
