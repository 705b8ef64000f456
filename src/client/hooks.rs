//! The generated client's pre- and post-hooks: authentication, and a note of
//! each response's status and headers.
//!
//! The generated code calls `client.pre(&mut request, &info)` before sending
//! and `client.post(&result, &info)` after, on `&Client`. It was generated
//! without hooks (so `Client::new(base)` keeps its signature), which leaves
//! the no-op `impl ClientHooks for &Client`; the inherent methods below take
//! precedence over those trait methods in method resolution, so they are the
//! hooks that run. The `generated_client_requests_are_signed` test fails if
//! that ever stops being true.
//!
//! The generated `Client` has no room for per-client state, so the hooks read
//! it from a task-local [`CallContext`] that [`SwrClient`](super::SwrClient)
//! sets around each call ([`SwrClient::authorized`](super::SwrClient::authorized)
//! does the same for calls made on the generated client directly). Outside such
//! a scope the hooks do nothing, as before.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use reqwest::header::HeaderMap;

use progenitor_client::OperationInfo;

use super::{Client, Credentials, Error, SwrError};

tokio::task_local! {
    static CALL: Arc<CallContext>;
}

/// What one call's hooks need: the credentials to apply, and a place for the
/// post-hook to leave what it saw of the response.
#[derive(Debug, Default)]
pub(super) struct CallContext {
    credentials: Arc<Credentials>,
    response: Mutex<Option<ResponseMeta>>,
}

/// The status and headers of the last response of a call.
#[derive(Debug, Clone)]
pub(super) struct ResponseMeta {
    pub status: u16,
    pub request_id: Option<String>,
    pub headers: HeaderMap,
}

impl CallContext {
    pub(super) fn new(credentials: Arc<Credentials>) -> Arc<Self> {
        Arc::new(CallContext {
            credentials,
            response: Mutex::new(None),
        })
    }

    /// Runs `fut` with this context visible to the hooks.
    pub(super) async fn scope<F: Future>(self: Arc<Self>, fut: F) -> F::Output {
        CALL.scope(self, fut).await
    }

    /// What the post-hook saw, if a response came back.
    pub(super) fn response(&self) -> Option<ResponseMeta> {
        self.response.lock().ok()?.clone()
    }
}

impl Client {
    /// Pre-hook: applies the call's credentials (token header or AK/SK
    /// signature, dated now).
    pub(crate) async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        let Ok(context) = CALL.try_with(Arc::clone) else {
            return Ok(());
        };
        context
            .credentials
            .apply(request, SystemTime::now())
            .map_err(|e| match e {
                SwrError::InvalidRequest(m) => Error::Custom(m),
                e => Error::Custom(e.to_string()),
            })
    }

    /// Post-hook: keeps the response's status and headers, which the
    /// generated code drops when an error body is not in the spec's shape.
    pub(crate) async fn post<E>(
        &self,
        result: &reqwest::Result<reqwest::Response>,
        _info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        if let (Ok(context), Ok(response)) = (CALL.try_with(Arc::clone), result) {
            let headers = response.headers().clone();
            let meta = ResponseMeta {
                status: response.status().as_u16(),
                request_id: super::error::request_id(&headers),
                headers,
            };
            if let Ok(mut slot) = context.response.lock() {
                *slot = Some(meta);
            }
        }
        Ok(())
    }
}
