//! A small client for the parts of the registry API the feed reads: manifests
//! (GET for the body, HEAD for the digest), the catalog and tag lists.
//!
//! * Credentials: HTTP basic auth when configured (Distribution's `htpasswd`
//!   auth). Token auth (a `Bearer` challenge to a token server) is not
//!   supported.
//! * At most [`RegistryConfig::concurrency`] requests in flight (a semaphore
//!   shared by the webhook and the sync), a whole-request timeout, and
//!   retries on connection failures, timeouts, `429` and `5xx` under the
//!   workspace's one [`RetryPolicy`] (jittered exponential back-off, or the
//!   registry's `Retry-After`). A `404` is an answer (`None`), never retried.
//! * Lists follow `Link: <…>; rel="next"` pagination (`?n=&last=`) when the
//!   registry offers it. The first request sends no `n`: the registry then
//!   uses its own page size (Distribution: `catalog.maxentries`), whereas an
//!   `n` above that size is a `400 PAGINATION_NUMBER_INVALID`. Distribution
//!   2.8.2 ignores `n`/`last` on `tags/list` and returns every tag in one
//!   page with no `Link`, which simply ends the walk.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, LINK};
use reqwest::{Method, StatusCode, Url};
use swr_api::client::RetryPolicy;
use tokio::sync::Semaphore;

use super::manifest::{self, ManifestError};
use crate::store::ImageData;

/// Registry requests in flight at most, by default. Measured against
/// Distribution 2.8.2 on 2 cores (`cargo xtask bench`, sync row): see the
/// README's *Registry feed* section.
pub const DEFAULT_CONCURRENCY: usize = 16;

/// How to reach the registry.
#[derive(Clone)]
pub struct RegistryConfig {
    /// Base URL, e.g. `http://127.0.0.1:5000` (the API is under `/v2/`).
    pub url: String,
    /// Basic-auth user name.
    pub username: Option<String>,
    /// Basic-auth password.
    pub password: Option<String>,
    /// Requests in flight at most.
    pub concurrency: usize,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// Retries of a transient failure (connection, timeout, `429`, `5xx`):
    /// how many, and the back-off between them.
    pub retry: RetryPolicy,
}

impl std::fmt::Debug for RegistryConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryConfig")
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("concurrency", &self.concurrency)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish()
    }
}

impl RegistryConfig {
    /// `url` with the defaults: no credentials,
    /// [`DEFAULT_CONCURRENCY`] requests in flight, a 30 s timeout, the
    /// client's default [`RetryPolicy`] (3 retries from 200 ms, at most 10 s).
    pub fn new(url: impl Into<String>) -> Self {
        RegistryConfig {
            url: url.into(),
            username: None,
            password: None,
            concurrency: DEFAULT_CONCURRENCY,
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
        }
    }
}

/// A registry request that failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The configured URL is not a base URL.
    #[error("invalid registry URL {0:?}")]
    BadUrl(String),
    /// Transport failure (after retries).
    #[error("registry request {url} failed: {source}")]
    Http {
        /// The request.
        url: String,
        /// The cause.
        source: reqwest::Error,
    },
    /// An unexpected status (after retries, if transient).
    #[error("registry answered {status} to {url}")]
    Status {
        /// The request.
        url: String,
        /// The status.
        status: StatusCode,
    },
    /// A list response that is not the documented JSON.
    #[error("registry answered {url} with an unreadable body: {reason}")]
    Body {
        /// The request.
        url: String,
        /// Why.
        reason: String,
    },
    /// A manifest that cannot be read.
    #[error("manifest {url}: {source}")]
    Manifest {
        /// The request.
        url: String,
        /// Why.
        source: ManifestError,
    },
}

/// One answer, read whole while the permit is held.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: axum::body::Bytes,
}

/// The registry client. Cheap to share (`Arc`).
#[derive(Debug)]
pub struct RegistryClient {
    base: Url,
    http: reqwest::Client,
    username: Option<String>,
    password: Option<String>,
    permits: Arc<Semaphore>,
    retry: RetryPolicy,
    concurrency: usize,
}

impl RegistryClient {
    /// A client for `config`.
    pub fn new(config: &RegistryConfig) -> Result<Self, FetchError> {
        swr_api::tls::install_default_provider();
        let mut base =
            Url::parse(&config.url).map_err(|_| FetchError::BadUrl(config.url.clone()))?;
        if base.cannot_be_a_base() || !matches!(base.scheme(), "http" | "https") {
            return Err(FetchError::BadUrl(config.url.clone()));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .pool_max_idle_per_host(config.concurrency.max(1))
            .build()
            .map_err(|source| FetchError::Http {
                url: config.url.clone(),
                source,
            })?;
        let concurrency = config.concurrency.max(1);
        Ok(RegistryClient {
            base,
            http,
            username: config.username.clone(),
            password: config.password.clone(),
            permits: Arc::new(Semaphore::new(concurrency)),
            retry: config.retry,
            concurrency,
        })
    }

    /// The base URL (with a trailing `/`).
    pub fn base(&self) -> &str {
        self.base.as_str()
    }

    /// Requests in flight at most.
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    fn url(&self, path: &str) -> Result<Url, FetchError> {
        self.base
            .join(path)
            .map_err(|_| FetchError::BadUrl(format!("{}{path}", self.base)))
    }

    /// Sends with a permit, retrying transient failures under the shared
    /// [`RetryPolicy`] (exponential back-off with jitter, or the registry's
    /// `Retry-After` when it asks for longer). The permit is not held while
    /// waiting to retry.
    async fn send(&self, method: Method, url: &Url, accept: &str) -> Result<Answer, FetchError> {
        let result = self
            .retry
            .retry(
                |attempt| {
                    if attempt > 0 {
                        tracing::debug!(%url, attempt, "registry request failed; retrying");
                    }
                    self.send_once(method.clone(), url, accept)
                },
                |result| match result {
                    Ok(a)
                        if a.status == StatusCode::TOO_MANY_REQUESTS
                            || a.status.is_server_error() =>
                    {
                        Some(RetryPolicy::retry_after(&a.headers))
                    }
                    Ok(_) => None,
                    Err(e) if e.is_timeout() || e.is_connect() || e.is_request() || e.is_body() => {
                        Some(None)
                    }
                    Err(_) => None,
                },
            )
            .await;
        result.map_err(|source| FetchError::Http {
            url: url.to_string(),
            source,
        })
    }

    async fn send_once(
        &self,
        method: Method,
        url: &Url,
        accept: &str,
    ) -> Result<Answer, reqwest::Error> {
        let _permit = self.permits.acquire().await.expect("never closed");
        let mut req = self
            .http
            .request(method, url.clone())
            .header(ACCEPT, accept);
        if let Some(user) = &self.username {
            req = req.basic_auth(user, self.password.as_deref());
        }
        let resp = req.send().await?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.bytes().await?;
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    /// The manifest `name:reference` (a tag or a digest), or `None` if the
    /// registry does not have it: one GET. The digest is the reference when
    /// it is one, else the registry's `Docker-Content-Digest` (else the
    /// body's SHA-256); a `sha256:` digest is checked against the body.
    pub async fn manifest(
        &self,
        name: &str,
        reference: &str,
    ) -> Result<Option<ImageData>, FetchError> {
        let url = self.url(&format!("v2/{name}/manifests/{reference}"))?;
        let a = self.send(Method::GET, &url, manifest::ACCEPT).await?;
        match a.status {
            StatusCode::NOT_FOUND => return Ok(None),
            s if s.is_success() => {}
            status => {
                return Err(FetchError::Status {
                    url: url.to_string(),
                    status,
                });
            }
        }
        let digest = if reference.contains(':') {
            reference.to_owned()
        } else {
            header(&a.headers, "docker-content-digest")
                .map_or_else(|| manifest::sha256_digest(&a.body), str::to_owned)
        };
        manifest::image_data(header(&a.headers, CONTENT_TYPE.as_str()), &a.body, &digest)
            .map(Some)
            .map_err(|source| FetchError::Manifest {
                url: url.to_string(),
                source,
            })
    }

    /// The digest `name:tag` points at (HEAD, `Docker-Content-Digest`), or
    /// `None` if there is no such tag. A registry that sends no digest
    /// header costs a GET.
    pub async fn head_digest(&self, name: &str, tag: &str) -> Result<Option<String>, FetchError> {
        let url = self.url(&format!("v2/{name}/manifests/{tag}"))?;
        let a = self.send(Method::HEAD, &url, manifest::ACCEPT).await?;
        match a.status {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => match header(&a.headers, "docker-content-digest") {
                Some(d) => Ok(Some(d.to_owned())),
                None => Ok(self.manifest(name, tag).await?.map(|m| m.digest)),
            },
            status => Err(FetchError::Status {
                url: url.to_string(),
                status,
            }),
        }
    }

    /// Every repository name in the catalog.
    pub async fn catalog(&self) -> Result<Vec<String>, FetchError> {
        #[derive(serde::Deserialize)]
        struct Page {
            #[serde(default)]
            repositories: Option<Vec<String>>,
        }
        let first = self.url("v2/_catalog")?;
        self.paginate(first, |body: Page| body.repositories.unwrap_or_default())
            .await
    }

    /// Every tag of repository `name` (empty if the registry does not know
    /// it).
    pub async fn tags(&self, name: &str) -> Result<Vec<String>, FetchError> {
        #[derive(serde::Deserialize)]
        struct Page {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let first = self.url(&format!("v2/{name}/tags/list"))?;
        self.paginate(first, |body: Page| body.tags.unwrap_or_default())
            .await
    }

    /// Follows `rel="next"` links from `url`, collecting items. Stops at a
    /// page without a next link, a link back to a page already read, or a
    /// page that adds nothing new (a registry that ignores `last`).
    async fn paginate<P: serde::de::DeserializeOwned>(
        &self,
        mut url: Url,
        items: impl Fn(P) -> Vec<String>,
    ) -> Result<Vec<String>, FetchError> {
        let mut all: Vec<String> = Vec::new();
        let mut seen_urls = std::collections::HashSet::new();
        loop {
            let a = self.send(Method::GET, &url, "application/json").await?;
            if a.status == StatusCode::NOT_FOUND {
                return Ok(all);
            }
            if !a.status.is_success() {
                return Err(FetchError::Status {
                    url: url.to_string(),
                    status: a.status,
                });
            }
            let page: P = serde_json::from_slice(&a.body).map_err(|e| FetchError::Body {
                url: url.to_string(),
                reason: e.to_string(),
            })?;
            let page = items(page);
            let progressed = page.last().is_some_and(|l| all.last() != Some(l));
            all.extend(page);
            seen_urls.insert(url.to_string());
            let next = a
                .headers
                .get_all(LINK)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(next_link);
            match next.and_then(|n| url.join(&n).ok()) {
                Some(n) if progressed && !seen_urls.contains(n.as_str()) => url = n,
                _ => break,
            }
        }
        // A registry that ignored `last` may have repeated entries.
        let mut seen = std::collections::HashSet::with_capacity(all.len());
        all.retain(|n| seen.insert(n.clone()));
        Ok(all)
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The target of a `rel="next"` entry of a `Link` header value.
fn next_link(value: &str) -> Option<String> {
    value.split(',').find_map(|entry| {
        let (target, params) = entry.trim().split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        params
            .split(';')
            .any(|p| {
                let p = p.trim();
                p == "rel=\"next\"" || p == "rel=next"
            })
            .then(|| target.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::next_link;

    #[test]
    fn parses_next_links() {
        assert_eq!(
            next_link(r#"</v2/_catalog?last=ns%2Fapp&n=1>; rel="next""#).as_deref(),
            Some("/v2/_catalog?last=ns%2Fapp&n=1")
        );
        assert_eq!(
            next_link(r#"<http://x/a>; rel="prev", <http://x/b>; rel=next"#).as_deref(),
            Some("http://x/b")
        );
        assert_eq!(next_link(r#"<http://x/a>; rel="prev""#), None);
    }
}
