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
    let star = |s: &str| {
        let s = s.trim();
        if s.contains('*') {
            s.to_owned()
        } else {
            format!("{s}*")
        }
    };
    // "Slater, Kelly": last name, comma, first name, as directories write it.
    if let Some((last, first)) = text.split_once(',')
        && !last.trim().is_empty()
        && !first.trim().is_empty()
    {
        return Ok(vec![UserQuery {
            firstname: Some(star(first)),
            lastname: Some(star(last)),
            ..base
        }]);
    }
    let (first, rest) = match text.split_once(' ') {
        Some((f, l)) if !f.is_empty() && !l.trim().is_empty() => (f, Some(l.trim())),
        _ => (text, None),
    };
    if let Some(last) = rest {
        // "kelly slater" or "slater kelly": first and last name in either order.
        return Ok(vec![
            UserQuery {
                firstname: Some(star(first)),
                lastname: Some(star(last)),
                ..base.clone()
            },
            UserQuery {
                firstname: Some(star(last)),
                lastname: Some(star(first)),
                ..base
            },
        ]);
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

/// The message for a search that found nobody; a `field:value` without `*` gets the prefix form.
pub fn no_match(query: &str) -> String {
    let mut message = format!("No users match \"{query}\".");
    if let Some((field, value)) = query.split_once(':') {
        let field = field.trim().to_ascii_lowercase();
        let value = value.trim();
        let text_field = matches!(
            field.as_str(),
            "email" | "mail" | "user" | "username" | "first" | "firstname" | "last" | "lastname"
        );
        if text_field && !value.is_empty() && !value.contains('*') {
            message.push_str(&format!(
                " A field matches whole values: try {field}:{value}* for the start."
            ));
        }
    }
    message
}

/// How many results there are, said the same way in every place: exact when known.
pub fn count_text(shown: usize, total: Option<u64>, more: bool) -> String {
    let plural = |n: u64| if n == 1 { "user" } else { "users" };
    match total {
        Some(t) => format!("{shown} of {t} {}", plural(t)),
        None if more => format!("{shown}+ users"),
        None => format!("{shown} {}", plural(shown as u64)),
    }
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
    fn two_words_are_first_and_last_in_either_order() {
        let q = parse("kelly sla").unwrap();
        assert_eq!(q.len(), 2);
        assert_eq!(q[0].firstname.as_deref(), Some("kelly*"));
        assert_eq!(q[0].lastname.as_deref(), Some("sla*"));
        assert_eq!(q[1].firstname.as_deref(), Some("sla*"));
        assert_eq!(q[1].lastname.as_deref(), Some("kelly*"));
    }

    #[test]
    fn last_comma_first_is_one_query() {
        let q = parse("Slater, Kelly").unwrap();
        assert_eq!(q.len(), 1);
        assert_eq!(q[0].firstname.as_deref(), Some("Kelly*"));
        assert_eq!(q[0].lastname.as_deref(), Some("Slater*"));
    }

    #[test]
    fn a_field_without_a_star_suggests_one_when_nothing_matches() {
        assert!(no_match("email:kelly").contains("try email:kelly* for the start"));
        assert!(!no_match("email:kelly*").contains("try"));
        assert!(!no_match("kelly").contains("try"));
        assert!(!no_match("id:5").contains("try"));
    }

    #[test]
    fn counts_read_the_same_way_and_are_exact_when_known() {
        assert_eq!(count_text(1, Some(1), false), "1 of 1 user");
        assert_eq!(count_text(3, None, false), "3 users");
        assert_eq!(count_text(50, Some(120), true), "50 of 120 users");
        assert_eq!(count_text(50, None, true), "50+ users");
        assert_eq!(count_text(62, Some(62), false), "62 of 62 users");
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
