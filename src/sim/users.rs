//! `GET /api/2/users` (filters, paging headers, cursors) and `GET /api/2/users/{id}`.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;

use super::auth::{Family, authorize};
use super::respond::{ApiError, Reply, ok, v2_err};
use super::server::App;
use super::state::SimUser;

/// Page size when none is asked for.
const DEFAULT_LIMIT: usize = 50;
/// Largest page size.
const MAX_LIMIT: usize = 100;
/// Filters that take `*` wildcards.
const TEXT_FILTERS: [&str; 4] = ["email", "username", "firstname", "lastname"];
/// Longest filter value accepted, in characters.
pub(crate) const MAX_FILTER_CHARS: usize = 256;

/// Case-insensitive match where `*` stands for any run of characters.
pub(crate) fn wildcard(pattern: &str, text: &str) -> bool {
    let p = pattern.to_lowercase();
    let t = text.to_lowercase();
    let parts: Vec<&str> = p.split('*').collect();
    if parts.len() == 1 {
        return p == t;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !t.starts_with(first) || t.len() < first.len() + last.len() || !t.ends_with(last) {
        return false;
    }
    let mut rest = &t[first.len()..t.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

/// A 400 in the v2 shape.
fn bad(message: &str) -> ApiError {
    v2_err(400, "BadRequestError", message)
}

/// A 422 naming the parameter.
fn invalid(param: &str) -> ApiError {
    ApiError::Validation(param.to_string())
}

/// Decodes a cursor (standard or URL-safe base64; `+` may have become a space).
fn decode_cursor(c: &str) -> Option<Vec<(String, String)>> {
    let c = c.trim().replace(' ', "+");
    let bytes = STANDARD
        .decode(&c)
        .or_else(|_| URL_SAFE_NO_PAD.decode(c.trim_end_matches('=')))
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    Some(
        url::form_urlencoded::parse(text.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
    )
}

/// Encodes a cursor as the docs show: base64 of `limit=50&page=2`, then any filters.
fn encode_cursor(limit: usize, page: usize, filters: &[(String, String)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    s.append_pair("limit", &limit.to_string());
    s.append_pair("page", &page.to_string());
    for (k, v) in filters {
        s.append_pair(k, v);
    }
    STANDARD.encode(s.finish())
}

/// `GET /api/2/users`.
pub(crate) async fn list(
    State(app): State<App>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Reply {
    // Only the auth check and a handle on the users happen under the lock.
    let users = {
        let t = app.lock();
        authorize(&t, &headers, Family::V2, false)?;
        t.users.clone()
    };
    let given: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    // The cursor carries paging (and filters); explicit query parameters win.
    let mut params: Vec<(String, String)> = Vec::new();
    if let Some((_, c)) = given.iter().find(|(k, _)| k == "cursor") {
        params = decode_cursor(c).ok_or_else(|| bad("Invalid cursor"))?;
    }
    for (k, v) in given.into_iter().filter(|(k, _)| k != "cursor") {
        params.retain(|(pk, _)| *pk != k);
        params.push((k, v));
    }
    let get = |k: &str| {
        params
            .iter()
            .find(|(pk, _)| pk == k)
            .map(|(_, v)| v.as_str())
    };
    let num = |k: &str, default: usize| -> Result<usize, ApiError> {
        match get(k) {
            None | Some("") => Ok(default),
            Some(v) => v
                .trim()
                .parse::<usize>()
                .map_err(|_| bad(&format!("{k} must be an integer"))),
        }
    };
    let limit = num("limit", DEFAULT_LIMIT)?;
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(invalid("limit"));
    }
    let page = num("page", 1)?;
    if page < 1 {
        return Err(invalid("page"));
    }
    let ids: Option<Vec<i64>> = match get("user_ids") {
        None | Some("") => None,
        Some(v) => Some(
            v.split(',')
                .map(|s| s.trim().parse::<i64>())
                .collect::<Result<_, _>>()
                .map_err(|_| bad("user_ids must be a comma-separated list of integers"))?,
        ),
    };
    for (k, v) in &params {
        if TEXT_FILTERS.contains(&k.as_str()) && v.chars().count() > MAX_FILTER_CHARS {
            return Err(bad(&format!(
                "{k} must be at most {MAX_FILTER_CHARS} characters"
            )));
        }
    }
    let filters: Vec<(String, String)> = params
        .iter()
        .filter(|(k, v)| (TEXT_FILTERS.contains(&k.as_str()) || k == "user_ids") && !v.is_empty())
        .cloned()
        .collect();
    let field = |u: &SimUser, k: &str| -> Option<String> {
        match k {
            "email" => u.email.clone(),
            "username" => u.username.clone(),
            "firstname" => u.firstname.clone(),
            _ => u.lastname.clone(),
        }
    };
    let matching: Vec<&SimUser> = users
        .values()
        .filter(|u| ids.as_ref().is_none_or(|ids| ids.contains(&u.id)))
        .filter(|u| {
            filters
                .iter()
                .filter(|(k, _)| k != "user_ids")
                .all(|(k, pat)| field(u, k).is_some_and(|v| wildcard(pat, &v)))
        })
        .collect();
    let total = matching.len();
    let pages = total.div_ceil(limit).max(1);
    // A page far past the end is empty, never an overflow.
    let skip = (page - 1).saturating_mul(limit);
    let items: Vec<&SimUser> = matching.into_iter().skip(skip).take(limit).collect();
    // `fields=a,b` answers only those fields (the id always), as OneLogin does.
    let wanted: Option<Vec<&str>> = get("fields")
        .filter(|f| !f.trim().is_empty())
        .map(|f| f.split(',').map(str::trim).collect());
    let mut resp = match wanted {
        None => ok(&json!(items)),
        Some(wanted) => {
            let trimmed: Vec<serde_json::Value> = items
                .iter()
                .map(|u| match json!(u) {
                    serde_json::Value::Object(mut m) => {
                        m.retain(|k, _| k == "id" || wanted.contains(&k.as_str()));
                        serde_json::Value::Object(m)
                    }
                    other => other,
                })
                .collect();
            ok(&json!(trimmed))
        }
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let link = |p: usize| {
        let c = encode_cursor(limit, p, &filters);
        let enc: String = url::form_urlencoded::byte_serialize(c.as_bytes()).collect();
        format!("http://{host}/api/2/users?cursor={enc}")
    };
    let mut links = vec![format!("<{}>; rel=\"first\"", link(1))];
    let h = resp.headers_mut();
    let mut put = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(HeaderName::from_static(name), v);
        }
    };
    put("total-count", total.to_string());
    put("total-pages", pages.to_string());
    put("current-page", page.to_string());
    put("page-items", items.len().to_string());
    if page > 1 {
        put("before-cursor", encode_cursor(limit, page - 1, &filters));
        links.push(format!("<{}>; rel=\"prev\"", link(page - 1)));
    }
    if page < pages {
        put("after-cursor", encode_cursor(limit, page + 1, &filters));
        links.push(format!("<{}>; rel=\"next\"", link(page + 1)));
    }
    put("link", links.join(", "));
    Ok(resp)
}

/// `GET /api/2/users/{id}`.
pub(crate) async fn get_one(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Reply {
    let t = app.lock();
    authorize(&t, &headers, Family::V2, false)?;
    let user = id.parse::<i64>().ok().and_then(|id| t.users.get(&id));
    match user {
        Some(u) => Ok(ok(&json!(u))),
        None => Err(v2_err(
            404,
            "NotFoundError",
            "The resource with the given id could not be found",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard("kelly*", "Kelly.Slater@acme.example"));
        assert!(wildcard("*@acme.example", "a@ACME.example"));
        assert!(wildcard("*sla*", "kelly.slater"));
        assert!(!wildcard("kelly", "kelly.slater"));
        assert!(wildcard("k*y*r", "kelly slater"));
        assert!(!wildcard("ab*ba", "aba"));
    }

    #[test]
    fn cursor_round_trip() {
        let c = encode_cursor(50, 2, &[]);
        assert_eq!(c, STANDARD.encode("limit=50&page=2"));
        let p = decode_cursor(&c).unwrap();
        assert_eq!(
            p,
            vec![("limit".into(), "50".into()), ("page".into(), "2".into())]
        );
    }
}
