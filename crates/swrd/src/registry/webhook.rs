//! `POST /registry/events`: Distribution's notifications, applied as they come.
//!
//! The registry POSTs an envelope `{"events": [...]}` (media type
//! `application/vnd.docker.distribution.events.v1+json`) and redelivers it
//! until it gets a 2xx; its queue per endpoint is serial, so an envelope that
//! keeps failing stops every later one. Hence:
//!
//! * `401` (a missing or wrong secret) and `400`/`415` (not an envelope) are
//!   the only refusals of the request itself;
//! * an event swrd cannot or will not use (a pull, a blob push, a push by
//!   digest only, a name SWR cannot hold, an unknown namespace with no default
//!   domain) is logged, counted in `swrd_registry_events_total{outcome}` and
//!   acknowledged — redelivering it would change nothing;
//! * a transient failure (the registry does not answer the manifest fetch,
//!   the database fails) answers `503`/`500` and nothing of the envelope is
//!   kept (one transaction), so the redelivery starts clean.
//!
//! `/metrics`: `swrd_registry_events_total{outcome}` counts every event,
//! `swrd_registry_event_lag_seconds` (histogram) is each applied event's
//! registry time to its commit in swrd — how far behind the feed runs — and
//! `swrd_registry_last_event_timestamp_seconds` the newest applied event's
//! registry time.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures_util::future::try_join_all;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use super::mapping::map_name;
use super::{Feed, manifest, parse_event_time};
use crate::store::{EventOutcome, RegistryChange, RegistryEvent, RegistryFeed as _};

/// The path the registry's `notifications.endpoints[].url` points at.
pub const PATH: &str = "/registry/events";

/// Distribution's envelope media type.
pub const EVENTS_MEDIA_TYPE: &str = "application/vnd.docker.distribution.events.v1+json";

/// The webhook: the feed plus the shared secret the registry sends as
/// `Authorization: Bearer <secret>` (its endpoint's `headers`).
#[derive(Clone)]
pub struct Webhook {
    /// Store, registry client, default domain.
    pub feed: Arc<Feed>,
    /// The shared secret.
    pub secret: String,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("feed", &self.feed)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// The webhook route, to merge into the application router.
pub fn routes(webhook: Webhook) -> Router {
    Router::new()
        .route(PATH, post(receive))
        .with_state(Arc::new(webhook))
}

#[derive(Deserialize)]
struct Envelope {
    events: Vec<serde_json::Value>,
}

/// The fields of an event swrd reads; the rest (request, actor, source,
/// length, url, references) is ignored.
#[derive(Deserialize)]
struct RawEvent {
    #[serde(default)]
    id: String,
    #[serde(default)]
    timestamp: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    target: Target,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Target {
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    repository: String,
    #[serde(default)]
    tag: Option<String>,
}

/// An event that passed classification: ready, or a push whose manifest must
/// be fetched first.
enum Prepared {
    Ready(RegistryEvent),
    Push {
        id: String,
        at: i64,
        name: String,
        namespace: String,
        repository: String,
        tag: String,
        digest: String,
    },
}

/// Counts per outcome, also the response body.
#[derive(Debug, Default, serde::Serialize)]
struct Summary {
    applied: usize,
    duplicate: usize,
    stale: usize,
    ignored: usize,
    rejected: usize,
    tags_written: u64,
    tags_deleted: u64,
}

fn count(outcome: &'static str, n: usize) {
    if n > 0 {
        metrics::counter!("swrd_registry_events_total", "outcome" => outcome).increment(n as u64);
    }
}

/// How far behind the feed is: registry event time to committed, and the
/// newest applied event's time. The registry's clock against swrd's: keep
/// both on NTP (a negative lag counts as zero).
fn record_lag(event_at: i64, committed: i64) {
    let lag = (committed - event_at).max(0) as f64 / 1e9;
    metrics::histogram!("swrd_registry_event_lag_seconds").record(lag);
    static NEWEST: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(i64::MIN);
    let newest = NEWEST
        .fetch_max(event_at, std::sync::atomic::Ordering::Relaxed)
        .max(event_at);
    metrics::gauge!("swrd_registry_last_event_timestamp_seconds").set(newest as f64 / 1e9);
}

fn authorized(headers: &HeaderMap, secret: &str) -> bool {
    let Some(given) = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    // Fixed-length comparison of hashes: no early exit on a prefix, and the
    // secret's length does not show either.
    let (a, b) = (
        Sha256::digest(given.as_bytes()),
        Sha256::digest(secret.as_bytes()),
    );
    bool::from(a.as_slice().ct_eq(b.as_slice()))
}

fn plain(status: StatusCode, msg: &str) -> Response {
    (status, format!("{msg}\n")).into_response()
}

async fn receive(State(hook): State<Arc<Webhook>>, headers: HeaderMap, body: Bytes) -> Response {
    if !authorized(&headers, &hook.secret) {
        tracing::warn!("registry webhook: missing or wrong secret");
        count("unauthorized", 1);
        return plain(StatusCode::UNAUTHORIZED, "missing or wrong webhook secret");
    }
    if let Some(ct) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) {
        let essence = ct.split(';').next().unwrap_or("").trim();
        if essence != EVENTS_MEDIA_TYPE && essence != "application/json" {
            return plain(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                &format!("expected {EVENTS_MEDIA_TYPE}"),
            );
        }
    }
    let (prepared, mut summary) = match parse(&body) {
        Ok(parsed) => parsed,
        Err(e) => {
            tracing::warn!(error = %e, "registry webhook: not an event envelope");
            return plain(
                StatusCode::BAD_REQUEST,
                &format!("not an event envelope: {e}"),
            );
        }
    };
    let feed = &hook.feed;
    // Manifests of the pushes, fetched concurrently (the client bounds how
    // many at once). A manifest already gone (404) drops its push: the
    // delete that removed it is on its way.
    let fetched = try_join_all(prepared.into_iter().map(|p| async move {
        match p {
            Prepared::Ready(e) => Ok(Some(e)),
            Prepared::Push {
                id,
                at,
                name,
                namespace,
                repository,
                tag,
                digest,
            } => match feed.client.manifest(&name, &digest).await? {
                Some(image) => Ok(Some(RegistryEvent {
                    id,
                    at,
                    namespace,
                    repository,
                    change: RegistryChange::Push { tag, image },
                })),
                None => {
                    tracing::info!(event = %id, %name, %digest, "registry webhook: pushed manifest is gone; push ignored");
                    Ok(None)
                }
            },
        }
    }))
    .await;
    let batch: Vec<RegistryEvent> = match fetched {
        Ok(events) => {
            let n = events.len();
            let batch: Vec<RegistryEvent> = events.into_iter().flatten().collect();
            summary.ignored += n - batch.len();
            batch
        }
        Err(e @ super::FetchError::Manifest { .. }) => {
            // A manifest swrd cannot read will not get better on redelivery.
            tracing::warn!(error = %e, "registry webhook: unreadable manifest; envelope refused");
            count("failed", 1);
            return plain(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string());
        }
        Err(e) => {
            tracing::warn!(error = %e, "registry webhook: manifest fetch failed; the registry will redeliver");
            count("failed", 1);
            return plain(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("manifest fetch failed: {e}"),
            );
        }
    };
    let report = match feed
        .store
        .apply_registry_events(&batch, feed.default_domain.as_deref())
        .await
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "registry webhook: store failed; nothing applied, the registry will redeliver");
            count("failed", 1);
            return plain(StatusCode::INTERNAL_SERVER_ERROR, "store failure; retry");
        }
    };
    let committed = super::now_nanos();
    for (event, outcome) in batch.iter().zip(&report.outcomes) {
        match outcome {
            EventOutcome::Applied => {
                summary.applied += 1;
                record_lag(event.at, committed);
            }
            EventOutcome::Duplicate => summary.duplicate += 1,
            EventOutcome::Stale => {
                tracing::info!(event = %event.id, namespace = %event.namespace, repository = %event.repository, "registry event older than the tag's state; ignored");
                summary.stale += 1;
            }
            EventOutcome::UnknownNamespace => {
                tracing::warn!(event = %event.id, namespace = %event.namespace, repository = %event.repository,
                    "registry event rejected: namespace unknown and no --registry-default-domain");
                summary.rejected += 1;
            }
        }
    }
    summary.tags_written = report.tags_written;
    summary.tags_deleted = report.tags_deleted;
    count("applied", summary.applied);
    count("duplicate", summary.duplicate);
    count("stale", summary.stale);
    count("ignored", summary.ignored);
    count("rejected", summary.rejected);
    tracing::debug!(?summary, "registry webhook: envelope processed");
    let body = serde_json::to_string(&summary).unwrap_or_default();
    (StatusCode::OK, [(CONTENT_TYPE, "application/json")], body).into_response()
}

/// Parses an envelope and classifies its events: all of `receive` before the
/// manifest fetches.
fn parse(body: &[u8]) -> Result<(Vec<Prepared>, Summary), serde_json::Error> {
    // An object, as Distribution sends: serde would also take the struct's
    // sequence form (`[[...]]`), which is not an envelope.
    let value: serde_json::Value = serde_json::from_slice(body)?;
    if !value.is_object() {
        return Err(serde::de::Error::custom("the body is not a JSON object"));
    }
    let envelope: Envelope = serde_json::from_value(value)?;
    let mut summary = Summary::default();
    let prepared = envelope
        .events
        .into_iter()
        .filter_map(|v| classify(v, &mut summary))
        .collect();
    Ok((prepared, summary))
}

/// What [`parse_envelope`] makes of an envelope's events. Every event is
/// exactly one of these.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParsedEnvelope {
    /// Pushes of a tag, whose manifest is still to be fetched.
    pub pushes: usize,
    /// Deletes of a tag or of a digest, ready to apply.
    pub deletes: usize,
    /// Events swrd does not use (pulls, blob pushes, malformed events, …).
    pub ignored: usize,
    /// Events with a name or tag SWR cannot hold.
    pub rejected: usize,
}

/// The webhook's body parser on its own (property tests, fuzzing): parses a
/// Distribution envelope `{"events": [...]}` and classifies each event as
/// `POST /registry/events` does, without fetching or storing anything.
#[doc(hidden)]
pub fn parse_envelope(bytes: &[u8]) -> Result<ParsedEnvelope, serde_json::Error> {
    let (prepared, summary) = parse(bytes)?;
    let mut parsed = ParsedEnvelope {
        ignored: summary.ignored,
        rejected: summary.rejected,
        ..ParsedEnvelope::default()
    };
    for p in &prepared {
        match p {
            Prepared::Push { .. } => parsed.pushes += 1,
            Prepared::Ready(_) => parsed.deletes += 1,
        }
    }
    Ok(parsed)
}

/// Turns one raw event into a change, or counts why not.
fn classify(value: serde_json::Value, summary: &mut Summary) -> Option<Prepared> {
    if !value.is_object() {
        tracing::warn!("registry event is not a JSON object; ignored");
        summary.ignored += 1;
        return None;
    }
    let raw: RawEvent = match serde_json::from_value(value) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "registry event malformed; ignored");
            summary.ignored += 1;
            return None;
        }
    };
    let tag = raw.target.tag.filter(|t| !t.is_empty());
    let digest = raw.target.digest.filter(|d| !d.is_empty());
    // Only what changes tags: a pushed manifest with a tag, a delete.
    let relevant = match raw.action.as_str() {
        "push" => {
            tag.is_some()
                && digest.is_some()
                && raw
                    .target
                    .media_type
                    .as_deref()
                    .is_some_and(manifest::is_manifest_media_type)
        }
        "delete" => tag.is_some() || digest.is_some(),
        _ => false, // pull, mount, anything new
    };
    if !relevant {
        summary.ignored += 1;
        return None;
    }
    if raw.id.is_empty() {
        tracing::warn!(action = %raw.action, repository = %raw.target.repository, "registry event without an id; ignored");
        summary.ignored += 1;
        return None;
    }
    let Some(at) = parse_event_time(&raw.timestamp) else {
        tracing::warn!(event = %raw.id, timestamp = %raw.timestamp, "registry event with an unreadable timestamp; ignored");
        summary.ignored += 1;
        return None;
    };
    let name = match map_name(&raw.target.repository) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(event = %raw.id, error = %e, "registry event rejected");
            summary.rejected += 1;
            return None;
        }
    };
    if let Some(t) = &tag
        && !swr_api::names::is_valid_tag(t)
    {
        tracing::warn!(event = %raw.id, tag = %t, "registry event rejected: invalid tag name");
        summary.rejected += 1;
        return None;
    }
    Some(match (raw.action.as_str(), tag, digest) {
        ("push", Some(tag), Some(digest)) => Prepared::Push {
            id: raw.id,
            at,
            name: raw.target.repository,
            namespace: name.namespace,
            repository: name.repository,
            tag,
            digest,
        },
        (_, Some(tag), _) => Prepared::Ready(RegistryEvent {
            id: raw.id,
            at,
            namespace: name.namespace,
            repository: name.repository,
            change: RegistryChange::DeleteTag { tag },
        }),
        (_, None, digest) => Prepared::Ready(RegistryEvent {
            id: raw.id,
            at,
            namespace: name.namespace,
            repository: name.repository,
            change: RegistryChange::DeleteDigest {
                digest: digest.unwrap_or_default(),
            },
        }),
    })
}
