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

/// Notes an answer's status and request id, when a [`with_meta`] scope is listening.
pub(crate) fn note(status: u16, request_id: Option<&str>) {
    // Outside a scope there is nobody to tell.
    let _ = META.try_with(|m| {
        *m.borrow_mut() = ResponseMeta {
            status: Some(status),
            request_id: request_id.map(str::to_owned),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_last_answer_in_scope_is_kept() {
        let ((), meta) = with_meta(async {
            note(401, Some("a"));
            note(200, Some("b"));
        })
        .await;
        assert_eq!(meta.status, Some(200));
        assert_eq!(meta.request_id.as_deref(), Some("b"));
        note(500, None); // outside a scope: ignored, no panic
    }
}
