//! Finding the user, device or factor the agent named; anything ambiguous lists the candidates.

use crate::api::{ApiError, AuthFactor, Client, ErrorKind, OtpDevice, User, UserQuery};
use crate::worker::{self, ApiRequest, ApiResponse};

use super::error::{CandidateLine, OpsError};

/// Something the agent could have meant, for ambiguity messages.
pub type Candidate = CandidateLine;

fn user_line(u: &User) -> Candidate {
    CandidateLine {
        id: u.id.to_string(),
        name: u.display_name(),
        email: u.email.clone(),
    }
}

fn device_line(d: &OtpDevice) -> Candidate {
    CandidateLine {
        id: d.id.to_string(),
        name: d.label(),
        email: None,
    }
}

fn list(candidates: &[Candidate]) -> String {
    candidates
        .iter()
        .map(|c| match &c.email {
            Some(email) => format!("  {}  {}  {}", c.id, c.name, email),
            None => format!("  {}  {}", c.id, c.name),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn unexpected() -> OpsError {
    OpsError::Api(ApiError::new(
        ErrorKind::MalformedResponse,
        "the worker answered a different request",
    ))
}

/// Finds one user by id, email or username (exact, case-insensitive; `*` allowed).
pub async fn resolve_user(client: &Client, text: &str) -> Result<User, OpsError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(OpsError::Usage(
            "USER is empty: give a user id, an email or a username".into(),
        ));
    }
    if let Ok(id) = text.parse::<i64>() {
        return match worker::execute(client, ApiRequest::GetUser(id)).await {
            ApiResponse::User(Ok(user)) => Ok(user),
            ApiResponse::User(Err(e)) if e.kind == ErrorKind::NotFound => {
                Err(OpsError::NotFound(format!("no user has the id {id}")))
            }
            ApiResponse::User(Err(e)) => Err(e.into()),
            _ => Err(unexpected()),
        };
    }
    let by_email = text.contains('@');
    let query = if by_email {
        UserQuery {
            email: Some(text.to_owned()),
            ..UserQuery::default()
        }
    } else {
        UserQuery {
            username: Some(text.to_owned()),
            ..UserQuery::default()
        }
    };
    let users = search_all(client, vec![query]).await?;
    // The API's match may be looser than the agent meant; without a wildcard, insist on equality.
    let users: Vec<User> = if text.contains('*') {
        users
    } else {
        users
            .into_iter()
            .filter(|u| {
                let field = if by_email { &u.email } else { &u.username };
                field
                    .as_deref()
                    .is_some_and(|v| v.eq_ignore_ascii_case(text))
            })
            .collect()
    };
    let what = if by_email { "email" } else { "username" };
    match users.len() {
        0 => Err(OpsError::NotFound(format!(
            "no user has the {what} {text:?} (USER is a user id, an email or a username; `mfadesk users QUERY` searches)"
        ))),
        1 => Ok(users.into_iter().next().unwrap_or_default()),
        _ => {
            let candidates: Vec<Candidate> = users.iter().map(user_line).collect();
            Err(OpsError::Ambiguous {
                message: format!(
                    "{} users match {text:?}; nothing was changed. Name one by id:\n{}",
                    candidates.len(),
                    list(&candidates)
                ),
                candidates,
            })
        }
    }
}

/// Runs queries and follows every page.
pub async fn search_all(client: &Client, queries: Vec<UserQuery>) -> Result<Vec<User>, OpsError> {
    let mut users: Vec<User> = Vec::new();
    let mut queries = queries;
    // A hostile or broken tenant could page forever: stop at a generous bound.
    for _ in 0..200 {
        if queries.is_empty() {
            return Ok(users);
        }
        match worker::execute(client, ApiRequest::Search(queries)).await {
            ApiResponse::Search(Ok(page)) => {
                for user in page.users {
                    if !users.iter().any(|u| u.id == user.id) {
                        users.push(user);
                    }
                }
                queries = page.next;
            }
            ApiResponse::Search(Err(e)) if e.kind == ErrorKind::NotFound => return Ok(users),
            ApiResponse::Search(Err(e)) => return Err(e.into()),
            _ => return Err(unexpected()),
        }
    }
    Err(OpsError::Api(ApiError::new(
        ErrorKind::MalformedResponse,
        "the search did not end after 200 pages",
    )))
}

/// Picks a device by id, or by its name or factor name when that is unique for the user.
pub fn resolve_device<'a>(
    devices: &'a [OtpDevice],
    text: &str,
    user: &User,
) -> Result<&'a OtpDevice, OpsError> {
    let text = text.trim();
    if let Some(d) = devices.iter().find(|d| d.id.0 == text) {
        return Ok(d);
    }
    let by_name: Vec<&OtpDevice> = devices
        .iter()
        .filter(|d| {
            d.user_display_name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(text))
        })
        .collect();
    let matches = if by_name.is_empty() {
        devices
            .iter()
            .filter(|d| {
                factor_matches(&d.auth_factor_name, text)
                    || d.type_display_name
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(text))
            })
            .collect()
    } else {
        by_name
    };
    let all: Vec<Candidate> = devices.iter().map(device_line).collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(OpsError::NotFound(if all.is_empty() {
            format!("{} has no enrolled device", user.display_name())
        } else {
            format!(
                "no device of {} matches {text:?}; the devices are:\n{}",
                user.display_name(),
                list(&all)
            )
        })),
        many => {
            let candidates: Vec<Candidate> = many.iter().map(|d| device_line(d)).collect();
            Err(OpsError::Ambiguous {
                message: format!(
                    "{} devices of {} match {text:?}; nothing was changed. Name one by id:\n{}",
                    candidates.len(),
                    user.display_name(),
                    list(&candidates)
                ),
                candidates,
            })
        }
    }
}

/// True when `text` names the factor: its full name, or without the "OneLogin " prefix.
fn factor_matches(name: &str, text: &str) -> bool {
    let short = name
        .strip_prefix("OneLogin ")
        .or_else(|| name.strip_prefix("Onelogin "))
        .unwrap_or(name);
    name.eq_ignore_ascii_case(text) || short.eq_ignore_ascii_case(text)
}

/// Picks a factor the user can enroll, by id or name (case-insensitive).
pub fn resolve_factor<'a>(
    factors: &'a [AuthFactor],
    text: &str,
) -> Result<&'a AuthFactor, OpsError> {
    let text = text.trim();
    let matches: Vec<&AuthFactor> = factors
        .iter()
        .filter(|f| f.factor_id.to_string() == text || factor_matches(&f.name, text))
        .collect();
    let names = || {
        factors
            .iter()
            .map(|f| format!("  {}  {}", f.factor_id, f.name))
            .collect::<Vec<_>>()
            .join("\n")
    };
    match matches.as_slice() {
        [one] => Ok(one),
        [] if factors.is_empty() => Err(OpsError::NotFound(format!(
            "no factor {text:?} can be enrolled: this user has no factor left to enroll"
        ))),
        [] => Err(OpsError::NotFound(format!(
            "no factor {text:?} can be enrolled for this user; the factors are:\n{}",
            names()
        ))),
        many => Err(OpsError::Ambiguous {
            message: format!("{} factors match {text:?}:\n{}", many.len(), names()),
            candidates: many
                .iter()
                .map(|f| CandidateLine {
                    id: f.factor_id.to_string(),
                    name: f.name.clone(),
                    email: None,
                })
                .collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::DeviceId;

    fn device(id: &str, factor: &str, name: &str) -> OtpDevice {
        OtpDevice {
            id: DeviceId(id.into()),
            active: true,
            default: false,
            needs_trigger: false,
            auth_factor_name: factor.into(),
            type_display_name: None,
            user_display_name: Some(name.into()),
            phone_number: None,
            state_token: None,
        }
    }

    #[test]
    fn devices_resolve_by_id_name_or_unique_factor() {
        let user = User::default();
        let list = vec![
            device("1", "OneLogin SMS", "Work"),
            device("2", "OneLogin SMS", "Home"),
            device("3", "Google Authenticator", "Pixel"),
        ];
        let id = |r: Result<&OtpDevice, OpsError>| r.map(|d| d.id.0.clone()).ok();
        assert_eq!(id(resolve_device(&list, "2", &user)).as_deref(), Some("2"));
        assert_eq!(
            id(resolve_device(&list, "home", &user)).as_deref(),
            Some("2")
        );
        assert_eq!(
            id(resolve_device(&list, "google authenticator", &user)).as_deref(),
            Some("3")
        );
        match resolve_device(&list, "sms", &user) {
            Err(OpsError::Ambiguous {
                candidates,
                message,
            }) => {
                let ids: Vec<&str> = candidates.iter().map(|c| c.id.as_str()).collect();
                assert_eq!(ids, ["1", "2"]);
                assert!(message.contains("nothing was changed"), "{message}");
            }
            other => panic!("expected ambiguity, got {other:?}"),
        }
        let missing = resolve_device(&list, "fax", &user).err();
        assert_eq!(missing.map(|e| e.exit_status()), Some(3));
    }

    #[test]
    fn factors_resolve_case_insensitively_with_or_without_the_vendor() {
        let factors = vec![
            AuthFactor {
                factor_id: 10,
                name: "OneLogin SMS".into(),
            },
            AuthFactor {
                factor_id: 11,
                name: "OneLogin Voice".into(),
            },
        ];
        let id = |t: &str| resolve_factor(&factors, t).map(|f| f.factor_id).ok();
        assert_eq!(id("sms"), Some(10));
        assert_eq!(id("onelogin voice"), Some(11));
        assert_eq!(id("11"), Some(11));
        assert_eq!(id("fax"), None);
    }
}
