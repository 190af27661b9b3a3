//! The status and request id of the answer a call got, for the audit trail of successes too.

use std::cell::RefCell;
use std::future::Future;

/// What the last answer within a [`with_meta`] scope said about itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResponseMeta {
    /// HTTP status.
    pub status: Option<u16>,
    /// X-Request-Id.
    pub request_id: Option<String>,
    /// The tenant's clock minus ours, from the answer's `Date` header (None without one).
    pub clock_offset: Option<chrono::Duration>,
}

tokio::task_local! {
    static META: RefCell<ResponseMeta>;
}

/// Runs a call and returns its output with the meta of the last answer it received.
pub async fn with_meta<F: Future>(call: F) -> (F::Output, ResponseMeta) {
    META.scope(RefCell::new(ResponseMeta::default()), async {
        let output = call.await;
        let meta = META.with(|m| m.borrow().clone());
        (output, meta)
    })
    .await
}

/// Notes an answer's status, request id and clock offset, when a [`with_meta`] scope is listening.
pub(crate) fn note(status: u16, request_id: Option<&str>, clock_offset: Option<chrono::Duration>) {
    // Outside a scope there is nobody to tell.
    let _ = META.try_with(|m| {
        *m.borrow_mut() = ResponseMeta {
            status: Some(status),
            request_id: request_id.map(str::to_owned),
            clock_offset,
        }
    });
}

/// Differences below this are the `Date` header's one-second resolution, not a skewed clock.
const MIN_SKEW_SECS: i64 = 2;

/// The tenant's clock minus ours, from an HTTP `Date` header read at `received`.
pub fn clock_offset(
    date_header: &str,
    received: chrono::DateTime<chrono::Utc>,
) -> Option<chrono::Duration> {
    let date = chrono::DateTime::parse_from_rfc2822(date_header.trim()).ok()?;
    // A clock years away is a broken header, not a skew: it counts as none.
    let offset = crate::clock::usable_offset(date.with_timezone(&chrono::Utc) - received);
    Some(if offset.num_seconds().abs() < MIN_SKEW_SECS {
        chrono::Duration::zero()
    } else {
        offset
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_last_answer_in_scope_is_kept() {
        let ((), meta) = with_meta(async {
            note(401, Some("a"), None);
            note(200, Some("b"), Some(chrono::Duration::seconds(30)));
        })
        .await;
        assert_eq!(meta.status, Some(200));
        assert_eq!(meta.request_id.as_deref(), Some("b"));
        assert_eq!(meta.clock_offset, Some(chrono::Duration::seconds(30)));
        note(500, None, None); // outside a scope: ignored, no panic
    }

    #[test]
    fn the_date_header_gives_the_tenant_clock_offset() {
        use chrono::TimeZone;
        let ours = chrono::Utc
            .with_ymd_and_hms(2026, 11, 28, 12, 0, 0)
            .unwrap();
        let ahead = clock_offset("Sat, 28 Nov 2026 12:05:00 GMT", ours);
        assert_eq!(ahead, Some(chrono::Duration::minutes(5)));
        let behind = clock_offset("Sat, 28 Nov 2026 11:59:30 GMT", ours);
        assert_eq!(behind, Some(chrono::Duration::seconds(-30)));
        // The header's one-second resolution is not skew.
        let same = clock_offset("Sat, 28 Nov 2026 12:00:01 GMT", ours);
        assert_eq!(same, Some(chrono::Duration::zero()));
        assert_eq!(clock_offset("yesterday", ours), None);
    }
}
