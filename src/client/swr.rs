//! [`SwrClient`]: the generated client plus what every caller would otherwise
//! write again: the endpoint, credentials, timeouts, retries, `/` → `$` in
//! repository names, typed `Content-Range`, and errors that say what failed.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use crate::{ContentRange, ContentRangeError};
use swr_filter::{FilterError, Order, OrderColumn, OrderType, Page, TagFilter};

use super::hooks::CallContext;
use super::{
    AkSk, Client, Credentials, ResponseValue, RetryPolicy, SwrError, TagsStream, TagsStreamOptions,
    region_endpoint, types, validate_base_url,
};

/// A ListRepositoryTags client: cheap to clone (one connection pool), safe
/// to share between tasks.
#[derive(Debug, Clone)]
pub struct SwrClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: Client,
    credentials: Arc<Credentials>,
    retry: RetryPolicy,
}

/// What to list: one page or everything, in which order, which tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// `offset` + `limit`. `None` asks for every tag in one response (what
    /// the API does without them); prefer [`SwrClient::tags_stream`] for
    /// large repositories.
    pub page: Option<Page>,
    /// `order_column` + `order_type`; the server's default is newest first
    /// (`updated_at desc`).
    pub order: Option<Order>,
    /// `tag`: only tags whose name contains this (case-sensitive).
    pub tag: Option<String>,
    /// Also sent, as the `filter` parameter; the server merges it with the
    /// fields above (one key with two different values is a 400).
    pub filter: Option<TagFilter>,
}

impl ListOptions {
    /// With `offset` and `limit` (1 to 1000).
    pub fn with_page(mut self, offset: u64, limit: u32) -> Result<Self, FilterError> {
        self.page = Some(Page::new(offset, limit)?);
        Ok(self)
    }

    /// With a sort order.
    pub fn with_order(mut self, column: OrderColumn, direction: OrderType) -> Self {
        self.order = Some(Order::new(column, direction));
        self
    }

    /// With a tag-name substring (`[A-Za-z0-9_.-]{1,128}`).
    pub fn with_tag(mut self, tag: impl Into<String>) -> Result<Self, FilterError> {
        let mut check = TagFilter::default();
        check.set_tag(tag)?;
        self.tag = check.tag;
        Ok(self)
    }

    /// With a `filter` parameter.
    pub fn with_filter(mut self, filter: TagFilter) -> Self {
        self.filter = Some(filter);
        self
    }
}

/// One list response.
#[derive(Debug, Clone, PartialEq)]
pub struct TagPage {
    /// The tags, in the server's order.
    pub tags: Vec<types::ShowReposTagResp>,
    /// `Content-Range`, read leniently; `None` if absent or unreadable.
    pub content_range: Option<ContentRange>,
    /// `X-Request-Id`.
    pub request_id: Option<String>,
}

impl TagPage {
    /// How many tags match the request in all (from `Content-Range`).
    pub fn total(&self) -> Option<u64> {
        self.content_range.map(|c| c.total)
    }
}

/// Typed access to the headers of the generated client's list response.
pub trait ListResponseExt {
    /// `Content-Range`, parsed with [`ContentRange::parse_lenient`]; a
    /// missing header is an error like a malformed one.
    fn content_range(&self) -> Result<ContentRange, ContentRangeError>;
    /// `X-Request-Id`.
    fn request_id(&self) -> Option<&str>;
}

impl ListResponseExt for ResponseValue<Vec<types::ShowReposTagResp>> {
    fn content_range(&self) -> Result<ContentRange, ContentRangeError> {
        let value = self
            .headers()
            .get("content-range")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        ContentRange::parse_lenient(value)
    }

    fn request_id(&self) -> Option<&str> {
        self.headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
    }
}

impl SwrClient {
    /// Starts a configuration: an endpoint is required, the rest has defaults.
    pub fn builder() -> SwrClientBuilder {
        SwrClientBuilder::default()
    }

    /// The generated client, for calls this type does not wrap. Run them
    /// inside [`authorized`](Self::authorized) to have them authenticated
    /// (they are not retried).
    pub fn generated(&self) -> &Client {
        &self.inner.client
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        use super::ClientInfo;
        self.inner.client.baseurl()
    }

    /// Runs `fut` with this client's credentials applied, by the pre-hook, to
    /// every request the generated client sends while it runs.
    pub async fn authorized<F: Future>(&self, fut: F) -> F::Output {
        CallContext::new(self.inner.credentials.clone())
            .scope(fut)
            .await
    }

    /// One ListRepositoryTags call, retried per the [`RetryPolicy`].
    /// `repository` is written with `/` (`tools/busybox`); it is sent as `$`.
    pub async fn list_tags(
        &self,
        namespace: &str,
        repository: &str,
        options: &ListOptions,
    ) -> Result<TagPage, SwrError> {
        let namespace = types::ListRepositoryTagsNamespace::try_from(namespace)
            .map_err(|e| SwrError::InvalidRequest(format!("namespace {namespace:?}: {e}")))?;
        let wire = repository.replace('/', "$");
        let repository = types::ListRepositoryTagsRepository::try_from(wire.as_str())
            .map_err(|e| SwrError::InvalidRequest(format!("repository {repository:?}: {e}")))?;
        let tag = options
            .tag
            .as_deref()
            .map(types::ListRepositoryTagsTag::try_from)
            .transpose()
            .map_err(|e| SwrError::InvalidRequest(format!("tag: {e}")))?;
        self.inner
            .retry
            .retry(
                |_| self.list_once(&namespace, &repository, tag.as_ref(), options),
                |result| match result {
                    Err(e) if e.is_retryable() => Some(e.retry_after()),
                    _ => None,
                },
            )
            .await
    }

    /// Every tag of a repository, page by page; see [`TagsStream`] for what
    /// happens when tags change meanwhile.
    pub fn tags_stream(
        &self,
        namespace: &str,
        repository: &str,
        options: TagsStreamOptions,
    ) -> TagsStream {
        TagsStream::new(self.clone(), namespace, repository, options)
    }

    async fn list_once(
        &self,
        namespace: &types::ListRepositoryTagsNamespace,
        repository: &types::ListRepositoryTagsRepository,
        tag: Option<&types::ListRepositoryTagsTag>,
        options: &ListOptions,
    ) -> Result<TagPage, SwrError> {
        let mut call = self
            .inner
            .client
            .list_repository_tags()
            .namespace(namespace.clone())
            .repository(repository.clone());
        if let Some(page) = options.page {
            // Page's invariants: offset fits in i64, limit is 1..=1000.
            let offset = i64::try_from(page.offset()).unwrap_or(i64::MAX);
            call = call
                .offset(offset)
                .limit(NonZeroU32::new(page.limit()).unwrap_or(NonZeroU32::MIN));
        }
        if let Some(order) = options.order {
            call = call.order_column(order.column).order_type(order.direction);
        }
        if let Some(tag) = tag {
            call = call.tag(tag.clone());
        }
        if let Some(filter) = &options.filter {
            call = call.filter(filter.clone());
        }
        let context = CallContext::new(self.inner.credentials.clone());
        match context.clone().scope(call.send()).await {
            Ok(response) => {
                let content_range = response.content_range().ok();
                let request_id = response.request_id().map(str::to_owned);
                Ok(TagPage {
                    tags: response.into_inner(),
                    content_range,
                    request_id,
                })
            }
            Err(e) => Err(SwrError::from_generated(e, context.response()).await),
        }
    }
}

/// Where requests go.
#[derive(Debug, Clone)]
enum Endpoint {
    Url(String),
    Region(String),
}

/// Configuration of an [`SwrClient`].
#[derive(Debug, Clone)]
pub struct SwrClientBuilder {
    endpoint: Option<Endpoint>,
    credentials: Credentials,
    project_id: Option<String>,
    security_token: Option<String>,
    timeout: Duration,
    connect_timeout: Duration,
    retry: RetryPolicy,
    user_agent: String,
    http: Option<reqwest::Client>,
}

impl Default for SwrClientBuilder {
    fn default() -> Self {
        SwrClientBuilder {
            endpoint: None,
            credentials: Credentials::None,
            project_id: None,
            security_token: None,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            user_agent: concat!("swr-api/", env!("CARGO_PKG_VERSION")).to_owned(),
            http: None,
        }
    }
}

impl SwrClientBuilder {
    /// Any base URL: `http://127.0.0.1:8080`, `https://swr-api.example`, with
    /// an optional path prefix.
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(Endpoint::Url(url.into()));
        self
    }

    /// A Huawei Cloud region: `https://swr-api.{region}.myhuaweicloud.com`.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.endpoint = Some(Endpoint::Region(region.into()));
        self
    }

    /// Authenticate with an IAM token (`X-Auth-Token`).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.credentials = Credentials::Token(token.into());
        self
    }

    /// Authenticate by signing every request with an access key pair.
    pub fn aksk(mut self, access_key: impl Into<String>, secret_key: impl Into<String>) -> Self {
        self.credentials = Credentials::AkSk(AkSk::new(access_key, secret_key));
        self
    }

    /// Any [`Credentials`].
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// `X-Project-Id`, sent and signed with AK/SK (as the SDKs'
    /// `BasicCredentials` do).
    pub fn project_id(mut self, project_id: impl Into<String>) -> Self {
        self.project_id = Some(project_id.into());
        self
    }

    /// `X-Security-Token` of temporary AK/SK credentials.
    pub fn security_token(mut self, token: impl Into<String>) -> Self {
        self.security_token = Some(token.into());
        self
    }

    /// Longest time for one attempt, body included (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Longest time to connect (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Retries after a failed attempt, with the default back-off (default 3).
    pub fn retries(mut self, max_retries: u32) -> Self {
        self.retry.max_retries = max_retries;
        self
    }

    /// The whole retry policy.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// `User-Agent` (default `swr-api/{version}`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Use this reqwest client (its timeouts and user agent then apply
    /// instead of this builder's).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Checks the configuration and builds the client.
    pub fn build(self) -> Result<SwrClient, SwrError> {
        let base = match &self.endpoint {
            None => {
                return Err(SwrError::InvalidRequest(
                    "no endpoint: set one with .endpoint(url) or .region(name)".to_owned(),
                ));
            }
            Some(Endpoint::Url(url)) => validate_base_url(url)?,
            Some(Endpoint::Region(region)) => region_endpoint(region)?,
        };
        let credentials = match self.credentials {
            Credentials::AkSk(mut key) => {
                key.project_id = self.project_id.or(key.project_id);
                key.security_token = self.security_token.or(key.security_token);
                Credentials::AkSk(key)
            }
            _ if self.project_id.is_some() || self.security_token.is_some() => {
                return Err(SwrError::InvalidRequest(
                    "a project id or security token goes with an AK/SK pair (.aksk)".to_owned(),
                ));
            }
            other => other,
        };
        credentials.check()?;
        let http = match self.http {
            Some(http) => http,
            None => {
                crate::tls::install_default_provider();
                reqwest::Client::builder()
                    .connect_timeout(self.connect_timeout)
                    .timeout(self.timeout)
                    .user_agent(self.user_agent)
                    .build()
                    .map_err(|e| {
                        SwrError::InvalidRequest(format!("cannot build the HTTP client: {e}"))
                    })?
            }
        };
        Ok(SwrClient {
            inner: Arc::new(Inner {
                client: Client::new_with_client(&base, http),
                credentials: Arc::new(credentials),
                retry: self.retry,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_checks_the_configuration() {
        let err = |b: SwrClientBuilder| b.build().unwrap_err().to_string();
        assert!(err(SwrClient::builder()).contains("no endpoint"));
        assert!(err(SwrClient::builder().region("Bad Region")).contains("region name"));
        assert!(
            err(SwrClient::builder()
                .endpoint("http://x")
                .token("t")
                .project_id("p"))
            .contains("AK/SK")
        );
        assert!(err(SwrClient::builder().endpoint("http://x").aksk("", "sk")).contains("empty"));
        let c = SwrClient::builder()
            .region("cn-north-4")
            .aksk("AK", "SK")
            .project_id("p")
            .build()
            .unwrap();
        assert_eq!(c.base_url(), "https://swr-api.cn-north-4.myhuaweicloud.com");
        let c = SwrClient::builder()
            .endpoint("http://127.0.0.1:1/")
            .build()
            .unwrap();
        assert_eq!(c.base_url(), "http://127.0.0.1:1");
    }

    #[test]
    fn list_options() {
        let o = ListOptions::default()
            .with_page(10, 100)
            .unwrap()
            .with_order(OrderColumn::Tag, OrderType::Asc)
            .with_tag("v1")
            .unwrap();
        assert_eq!(o.page.unwrap().offset(), 10);
        assert!(ListOptions::default().with_page(0, 1001).is_err());
        assert!(ListOptions::default().with_tag("a b").is_err());
    }
}
