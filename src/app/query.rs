//! Turns what the agent types in the search box into OneLogin user queries.

use crate::api::UserQuery;

/// Page size for user searches (OneLogin pages at 50).
pub const PAGE_SIZE: u32 = 50;

/// Why a search text could not be turned into a query.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// Nothing to search for.
    #[error("type something to search for: a name, an email, a user id, or field:value")]
    Empty,
    /// An unknown `field:` prefix.
    #[error("unknown field \"{0}:\" — use email:, user:, first:, last: or id:")]
    UnknownField(String),
    /// `id:` with something that is not a number.
    #[error("\"{0}\" is not a user id: ids are numbers, e.g. id:36216766")]
    BadId(String),
    /// A field prefix with nothing after it.
    #[error("\"{0}:\" needs a value after the colon")]
    MissingValue(String),
}

/// Parses a search text into the queries to run (several for a bare word, merged later).
///
/// `kelly*` searches first name, last name, username and email; `email:`, `user:`, `first:`,
/// `last:`, `id:` narrow it; a bare number is a user id; anything with `@` is an email.
pub fn parse(text: &str) -> Result<Vec<UserQuery>, QueryError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(QueryError::Empty);
    }
    let base = UserQuery {
        limit: Some(PAGE_SIZE),
        ..UserQuery::default()
    };
    if let Some((field, value)) = text.split_once(':') {
        let field = field.trim().to_ascii_lowercase();
        let value = value.trim().to_owned();
        if value.is_empty() {
            return Err(QueryError::MissingValue(field));
        }
        let query = match field.as_str() {
            "email" | "mail" => UserQuery {
                email: Some(value),
                ..base
            },
            "user" | "username" => UserQuery {
                username: Some(value),
                ..base
            },
            "first" | "firstname" => UserQuery {
                firstname: Some(value),
                ..base
            },
            "last" | "lastname" => UserQuery {
                lastname: Some(value),
                ..base
            },
            "id" | "ids" => UserQuery {
                user_ids: parse_ids(&value)?,
                ..base
            },
            _ => return Err(QueryError::UnknownField(field)),
        };
        return Ok(vec![query]);
    }
    if text
        .chars()
        .all(|c| c.is_ascii_digit() || c == ',' || c == ' ')
    {
        return Ok(vec![UserQuery {
            user_ids: parse_ids(text)?,
            ..base
        }]);
    }
    if text.contains('@') {
        return Ok(vec![UserQuery {
            email: Some(text.to_owned()),
            ..base
        }]);
    }
    // A bare word: "kelly" means "kelly*" in every name field, so partial names find people.
    let pattern = if text.contains('*') {
        text.to_owned()
    } else {
        format!("{text}*")
    };
    let (first, rest) = match text.split_once(' ') {
        Some((f, l)) if !f.is_empty() && !l.trim().is_empty() => (f, Some(l.trim())),
        _ => (text, None),
    };
    if let Some(last) = rest {
        // "kelly slater": first and last name together narrow to one person.
        let star = |s: &str| {
            if s.contains('*') {
                s.to_owned()
            } else {
                format!("{s}*")
            }
        };
        return Ok(vec![UserQuery {
            firstname: Some(star(first)),
            lastname: Some(star(last)),
            ..base
        }]);
    }
    Ok(vec![
        UserQuery {
            firstname: Some(pattern.clone()),
            ..base.clone()
        },
        UserQuery {
            lastname: Some(pattern.clone()),
            ..base.clone()
        },
        UserQuery {
            username: Some(pattern.clone()),
            ..base.clone()
        },
        UserQuery {
            email: Some(pattern),
            ..base
        },
    ])
}

fn parse_ids(text: &str) -> Result<Vec<i64>, QueryError> {
    let ids: Result<Vec<i64>, _> = text
        .split([',', ' '])
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<i64>()
                .map_err(|_| QueryError::BadId(s.to_owned()))
        })
        .collect();
    let ids = ids?;
    if ids.is_empty() {
        return Err(QueryError::BadId(text.to_owned()));
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_word_fans_out_to_four_fields() {
        let q = parse("kelly").unwrap();
        assert_eq!(q.len(), 4);
        assert_eq!(q[0].firstname.as_deref(), Some("kelly*"));
        assert_eq!(q[1].lastname.as_deref(), Some("kelly*"));
        assert_eq!(q[2].username.as_deref(), Some("kelly*"));
        assert_eq!(q[3].email.as_deref(), Some("kelly*"));
        assert!(q.iter().all(|q| q.limit == Some(PAGE_SIZE)));
    }

    #[test]
    fn prefixes_narrow() {
        assert_eq!(
            parse("email:kelly*").unwrap()[0].email.as_deref(),
            Some("kelly*")
        );
        assert_eq!(parse("user:ks").unwrap()[0].username.as_deref(), Some("ks"));
        assert_eq!(
            parse("first:Kel*").unwrap()[0].firstname.as_deref(),
            Some("Kel*")
        );
        assert_eq!(
            parse("last:Sl*").unwrap()[0].lastname.as_deref(),
            Some("Sl*")
        );
        assert_eq!(parse("id:12, 34").unwrap()[0].user_ids, vec![12, 34]);
    }

    #[test]
    fn numbers_are_ids_and_at_is_email() {
        assert_eq!(parse("36216766").unwrap()[0].user_ids, vec![36216766]);
        assert_eq!(
            parse("kelly@acme.example").unwrap()[0].email.as_deref(),
            Some("kelly@acme.example")
        );
    }

    #[test]
    fn two_words_are_first_and_last() {
        let q = parse("kelly sla").unwrap();
        assert_eq!(q.len(), 1);
        assert_eq!(q[0].firstname.as_deref(), Some("kelly*"));
        assert_eq!(q[0].lastname.as_deref(), Some("sla*"));
    }

    #[test]
    fn bad_input_says_what_is_wrong() {
        assert_eq!(parse("  "), Err(QueryError::Empty));
        assert_eq!(
            parse("foo:bar"),
            Err(QueryError::UnknownField("foo".into()))
        );
        assert_eq!(parse("id:abc"), Err(QueryError::BadId("abc".into())));
        assert_eq!(
            parse("email:"),
            Err(QueryError::MissingValue("email".into()))
        );
    }
}
