//! The access-token cache: one fetch at a time, reuse until shortly before expiry.

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use tokio::sync::Mutex;

use super::error::ApiError;
use super::secret::Secret;
use super::wire::TokenGrant;

/// Refresh this long before the server's expiry so a token never dies mid-request.
const REFRESH_MARGIN_SECS: i64 = 60;

/// OneLogin's documented lifetime (10 h), assumed when the grant omits `expires_in`.
const DEFAULT_LIFETIME_SECS: i64 = 36_000;

/// A cached bearer token and when to stop using it.
#[derive(Clone)]
struct Cached {
    token: Secret,
    refresh_at: DateTime<Utc>,
}

/// The shared token slot. The async mutex is held across the fetch on purpose: callers that
/// arrive while a fetch is in flight wait for it instead of stampeding the token endpoint.
#[derive(Default)]
pub(crate) struct TokenCache {
    slot: Mutex<Option<Cached>>,
}

impl TokenCache {
    /// The cached token if still fresh, else the result of `fetch` (which is then cached).
    pub(crate) async fn get_or_fetch<F, Fut>(&self, fetch: F) -> Result<Secret, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<TokenGrant, ApiError>>,
    {
        let mut slot = self.slot.lock().await;
        if let Some(cached) = slot.as_ref()
            && Utc::now() < cached.refresh_at
        {
            return Ok(cached.token.clone());
        }
        let fetched_at = Utc::now();
        let grant = fetch().await?;
        crate::logging::register_secret(grant.access_token.expose());
        *slot = Some(Cached {
            token: grant.access_token.clone(),
            refresh_at: refresh_at(&grant, fetched_at),
        });
        Ok(grant.access_token)
    }

    /// Forgets `used` if it is still the cached token; a token another caller already replaced
    /// is left alone, so concurrent 401s cause one refetch, not one each.
    pub(crate) async fn invalidate(&self, used: &Secret) {
        let mut slot = self.slot.lock().await;
        if slot.as_ref().is_some_and(|c| &c.token == used) {
            *slot = None;
        }
    }

    /// True when a token is cached (fresh or not).
    #[cfg(test)]
    async fn has_token(&self) -> bool {
        self.slot.lock().await.is_some()
    }
}

/// `created_at + expires_in − 60 s`; `created_at` matters because the v2 endpoint hands back the
/// same token until it expires, so a new fetch may return an old token. Without `created_at`
/// the fetch time stands in.
fn refresh_at(grant: &TokenGrant, fetched_at: DateTime<Utc>) -> DateTime<Utc> {
    let created = grant.created_at.unwrap_or(fetched_at);
    let lifetime = grant.expires_in.unwrap_or(DEFAULT_LIFETIME_SECS);
    let usable = lifetime.saturating_sub(REFRESH_MARGIN_SECS).max(0);
    created
        .checked_add_signed(ChronoDuration::seconds(usable))
        .unwrap_or(created)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn grant(token: &str, created_at: Option<DateTime<Utc>>, expires_in: i64) -> TokenGrant {
        TokenGrant {
            access_token: Secret::new(token),
            created_at,
            expires_in: Some(expires_in),
        }
    }

    #[test]
    fn refresh_time_uses_created_at_and_margin() {
        let created = Utc::now() - ChronoDuration::hours(1);
        let at = refresh_at(&grant("t", Some(created), 36_000), Utc::now());
        assert_eq!(at, created + ChronoDuration::seconds(36_000 - 60));
    }

    #[tokio::test]
    async fn concurrent_callers_fetch_once() {
        let cache = Arc::new(TokenCache::default());
        let fetches = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let cache = cache.clone();
            let fetches = fetches.clone();
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_fetch(|| async {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        tokio::task::yield_now().await;
                        Ok(grant("unit-cache-token", Some(Utc::now()), 36_000))
                    })
                    .await
            }));
        }
        for t in tasks {
            assert_eq!(
                t.await.ok().and_then(Result::ok),
                Some(Secret::new("unit-cache-token"))
            );
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn expired_token_is_refetched_and_stale_invalidate_is_ignored() {
        let cache = TokenCache::default();
        let old = Utc::now() - ChronoDuration::hours(11);
        let first = cache
            .get_or_fetch(|| async move { Ok(grant("a", Some(old), 36_000)) })
            .await;
        assert_eq!(first, Ok(Secret::new("a")));
        let second = cache
            .get_or_fetch(|| async { Ok(grant("b", Some(Utc::now()), 36_000)) })
            .await;
        assert_eq!(second, Ok(Secret::new("b")));
        cache.invalidate(&Secret::new("a")).await;
        assert!(cache.has_token().await);
        cache.invalidate(&Secret::new("b")).await;
        assert!(!cache.has_token().await);
    }
}
