//! User lookup (`/api/2/users`) and the rate-limit call.

use std::collections::HashSet;

use reqwest::Method;

use super::client::{Call, Client};
use super::error::ApiError;
use super::types::*;
use super::wire::{self, Endpoint};

/// The query string for a search; empty fields are left out.
fn search_params(query: &UserQuery) -> Vec<(&'static str, String)> {
    let mut params = Vec::new();
    let text_fields = [
        ("email", &query.email),
        ("username", &query.username),
        ("firstname", &query.firstname),
        ("lastname", &query.lastname),
    ];
    for (name, value) in text_fields {
        if let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            params.push((name, v.to_owned()));
        }
    }
    if !query.user_ids.is_empty() {
        let ids: Vec<String> = query.user_ids.iter().map(i64::to_string).collect();
        params.push(("user_ids", ids.join(",")));
    }
    if let Some(limit) = query.limit {
        params.push(("limit", limit.to_string()));
    }
    if let Some(cursor) = query.cursor.as_deref().filter(|c| !c.is_empty()) {
        params.push(("cursor", cursor.to_owned()));
    }
    params
}

impl Client {
    /// `GET /api/2/users`: one page of a search.
    pub async fn search_users(&self, query: &UserQuery) -> Result<UserPage, ApiError> {
        let url = self.url(&["api", "2", "users"])?;
        let call = Call::new(Endpoint::Users, Method::GET, url).query(search_params(query));
        self.users_page(&call).await
    }

    /// `GET /api/2/users?limit=..&fields=..`: one page of the whole users list, only the named
    /// fields, from `cursor` (None: the first page). For reading the whole tenant.
    pub async fn list_users_page(
        &self,
        limit: u32,
        fields: &str,
        cursor: Option<&str>,
    ) -> Result<UserPage, ApiError> {
        let mut query = vec![("limit", limit.to_string()), ("fields", fields.to_owned())];
        if let Some(cursor) = cursor.filter(|c| !c.is_empty()) {
            query.push(("cursor", cursor.to_owned()));
        }
        let url = self.url(&["api", "2", "users"])?;
        let call = Call::new(Endpoint::Users, Method::GET, url).query(query);
        self.users_page(&call).await
    }

    /// Sends a `GET /api/2/users` call: the page's users and its paging headers.
    async fn users_page(&self, call: &Call) -> Result<UserPage, ApiError> {
        let reply = self.execute(call).await?;
        let users = reply.decode(wire::decode_users)?;
        let number = |name: &str| reply.header(name).and_then(|v| v.parse().ok());
        Ok(UserPage {
            users,
            total_count: number("total-count"),
            total_pages: number("total-pages"),
            current_page: number("current-page"),
            after_cursor: reply.header("after-cursor"),
            before_cursor: reply.header("before-cursor"),
        })
    }

    /// Every page of a search, following After-Cursor, up to `max_pages` requests; users are
    /// de-duplicated by id. Stops early if the server repeats a cursor.
    pub async fn search_users_all(
        &self,
        query: &UserQuery,
        max_pages: usize,
    ) -> Result<Vec<User>, ApiError> {
        let mut query = query.clone();
        let mut users = Vec::new();
        let mut seen_ids = HashSet::new();
        let mut seen_cursors = HashSet::new();
        for _ in 0..max_pages {
            let page = self.search_users(&query).await?;
            users.extend(page.users.into_iter().filter(|u| seen_ids.insert(u.id)));
            match page.after_cursor {
                Some(cursor) if seen_cursors.insert(cursor.clone()) => query.cursor = Some(cursor),
                _ => break,
            }
        }
        Ok(users)
    }

    /// `GET /api/2/users/{id}`.
    pub async fn get_user(&self, user_id: UserId) -> Result<User, ApiError> {
        let url = self.url(&["api", "2", "users", &user_id.to_string()])?;
        self.execute(&Call::new(Endpoint::User, Method::GET, url))
            .await?
            .decode(wire::decode_user)
    }

    /// `GET /auth/rate_limit`; the answer also becomes [`Client::rate_limit`].
    pub async fn get_rate_limit(&self) -> Result<RateLimit, ApiError> {
        let url = self.url(&["auth", "rate_limit"])?;
        let limit = self
            .execute(&Call::new(Endpoint::RateLimit, Method::GET, url))
            .await?
            .decode(wire::decode_rate_limit)?;
        self.record_rate_limit(limit);
        Ok(limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_skip_empty_fields_and_join_ids() {
        let q = UserQuery {
            email: Some("kelly*".into()),
            username: Some("  ".into()),
            user_ids: vec![1, 2, 3],
            limit: Some(50),
            ..UserQuery::default()
        };
        assert_eq!(
            search_params(&q),
            vec![
                ("email", "kelly*".to_owned()),
                ("user_ids", "1,2,3".to_owned()),
                ("limit", "50".to_owned())
            ]
        );
    }
}
