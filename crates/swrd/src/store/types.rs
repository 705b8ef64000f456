//! The values the store reads and writes: queries, records, the registry
//! feed's events and observations, and the reports of writes.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use swr_filter::{Order, Page};
use tokio::sync::mpsc;

use super::StoreError;
#[cfg(doc)]
use super::{RegistryFeed, TagReads};

/// One ListRepositoryTags query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TagQuery<'a> {
    /// The caller's domain (from its token or AK/SK).
    pub domain_id: &'a str,
    /// Namespace name.
    pub namespace: &'a str,
    /// Repository name with `/` (the wire form's `$` already replaced).
    pub repository: &'a str,
    /// Sort order; the default is `updated_at desc`.
    pub order: Order,
    /// Only tags whose name contains this (case-sensitive).
    pub tag_contains: Option<&'a str>,
    /// One page, or every matching tag.
    pub page: Option<Page>,
}

impl<'a> TagQuery<'a> {
    /// Every tag of a repository in the default order.
    pub fn new(domain_id: &'a str, namespace: &'a str, repository: &'a str) -> Self {
        TagQuery {
            domain_id,
            namespace,
            repository,
            order: Order::default(),
            tag_contains: None,
            page: None,
        }
    }
}

/// One tag, with the fields of the API's `ShowReposTagResp` that the store
/// owns (`path` and `internal_path` depend on the server's address, so the
/// HTTP layer builds them from `namespace`, `repository` and `tag`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRecord {
    /// Tag record id, assigned by the store, never reused.
    pub id: i64,
    /// Repository id, assigned by the store.
    pub repo_id: i64,
    /// Tag name (`Tag` on the wire).
    pub tag: String,
    /// Hex sha256 of the image config.
    pub image_id: String,
    /// The manifest, a JSON document as a string.
    pub manifest: String,
    /// `sha256:…` manifest digest.
    pub digest: String,
    /// Docker manifest schema, 1 or 2.
    pub schema: i64,
    /// Bytes.
    pub size: i64,
    /// Trusted image.
    pub is_trusted: bool,
    /// Scanned image.
    pub scanned: bool,
    /// 0 manifest, 1 manifest list.
    pub tag_type: i64,
    /// `YYYY-MM-DDTHH:MM:SSZ`.
    pub created: String,
    /// `YYYY-MM-DDTHH:MM:SSZ`.
    pub updated: String,
    /// `YYYY-MM-DDTHH:MM:SSZ`, or `None` (JSON `null`).
    pub deleted: Option<String>,
    /// Owning domain.
    pub domain_id: String,
    /// Namespace name.
    pub namespace: String,
    /// Repository name, with `/`.
    pub repository: String,
}

/// One page of tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagPage {
    /// Tags matching the query (the tag filter), ignoring the page.
    pub total: u64,
    /// The requested page, in order.
    pub records: Vec<TagRecord>,
}

/// Tags as they are read: [`total`](Self::total) is known before the first
/// record, so the HTTP layer can send `Content-Range` (or a 404, which
/// [`TagReads::stream_tags`] returns as an error before any stream exists) and
/// then write the JSON array record by record.
///
/// A background task owns the read transaction and feeds a small bounded
/// channel, so memory stays flat however large the repository, and a slow
/// client slows the reader instead of filling a buffer. Dropping the stream
/// stops the task and ends the transaction. An `Err` item (a database failure
/// mid-way) is the last item; the response can then only be cut short.
pub struct TagStream {
    pub(super) total: u64,
    pub(super) rx: mpsc::Receiver<Result<TagRecord, StoreError>>,
}

impl TagStream {
    /// Matching tags, counted in the same snapshot the records are read from;
    /// the stream yields exactly this many (fewer only if it ends in `Err`, or
    /// if the query had a page).
    pub fn total(&self) -> u64 {
        self.total
    }
}

impl fmt::Debug for TagStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TagStream")
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

impl Stream for TagStream {
    type Item = Result<TagRecord, StoreError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

/// A repository and its change counter: migration 0004's triggers bump it in
/// the transaction of every write to the repository's tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RepositoryVersion {
    /// Repository id.
    pub repo_id: i64,
    /// Change counter; equal counters mean equal tags.
    pub version: i64,
}

/// Every tag of a repository as the columns an order index needs, read in one
/// snapshot with the repository's version (see `crate::pages`). Columnar, the
/// names in one buffer, so a million tags cost one allocation per column
/// instead of one per name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexRows {
    /// The version the rows are at.
    pub version: i64,
    /// Tag ids.
    pub ids: Vec<i64>,
    /// `updated`, Unix seconds.
    pub updated: Vec<i64>,
    /// Every tag name, concatenated.
    pub names: String,
    /// Where each name ends in `names`.
    pub name_ends: Vec<u32>,
}

impl IndexRows {
    /// No rows yet, at `version`.
    pub fn new(version: i64) -> Self {
        IndexRows {
            version,
            ..IndexRows::default()
        }
    }

    /// Appends one tag. Fails once the names exceed 4 GiB (u32 offsets; 33
    /// million tags of the longest legal name).
    pub fn push(&mut self, id: i64, name: &str, updated: i64) -> Result<(), StoreError> {
        self.names.push_str(name);
        let end = u32::try_from(self.names.len())
            .map_err(|_| StoreError::InvalidInput("too many tags to index".into()))?;
        self.ids.push(id);
        self.updated.push(updated);
        self.name_ends.push(end);
        Ok(())
    }

    /// How many tags.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// No tags.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// What changed in a repository since an index's version, read in one
/// snapshot ([`TagReads::index_delta`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexDelta {
    /// The version the delta leads to.
    pub version: i64,
    /// Ids of the tags logged as changed since, ascending: each is either in
    /// `rows` (its state at `version`) or no longer in the repository.
    pub changed: Vec<i64>,
    /// The changed tags still in the repository (`rows.version == version`).
    pub rows: IndexRows,
}

/// An AK/SK pair's owner and secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// Domain the key belongs to.
    pub domain_id: String,
    /// The secret key, needed in clear to recompute the HMAC signature.
    pub secret_key: String,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("domain_id", &self.domain_id)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

/// What an import wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Domains inserted or updated.
    pub domains: u64,
    /// Tokens inserted or confirmed.
    pub tokens: u64,
    /// AK/SK pairs inserted or updated.
    pub credentials: u64,
    /// Namespaces inserted or confirmed.
    pub namespaces: u64,
    /// Repositories inserted or confirmed.
    pub repositories: u64,
    /// Tags that did not exist.
    pub tags_inserted: u64,
    /// Tags that existed (same repository and name) and were overwritten.
    pub tags_updated: u64,
}

/// A tag to write, times in Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTag {
    /// Tag name.
    pub tag: String,
    /// Hex sha256 of the image config.
    pub image_id: String,
    /// The manifest, as a JSON string.
    pub manifest: String,
    /// `sha256:…`.
    pub digest: String,
    /// 1 or 2.
    pub schema: i64,
    /// Bytes, >= 0.
    pub size: i64,
    /// Trusted image.
    pub is_trusted: bool,
    /// Scanned image.
    pub scanned: bool,
    /// 0 or 1.
    pub tag_type: i64,
    /// Unix seconds.
    pub created: i64,
    /// Unix seconds.
    pub updated: i64,
    /// Unix seconds.
    pub deleted: Option<i64>,
}

/// What a manifest says about an image, in the form the tags table keeps it
/// (see `crate::registry::manifest` for how a manifest maps to it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageData {
    /// `sha256:…` manifest digest.
    pub digest: String,
    /// Hex of the config digest, or empty (manifest lists).
    pub image_id: String,
    /// The manifest body.
    pub manifest: String,
    /// 1 or 2.
    pub schema: i64,
    /// Bytes, >= 0.
    pub size: i64,
    /// 0 image manifest, 1 manifest list / index.
    pub tag_type: i64,
}

/// What a registry event does to a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryChange {
    /// A manifest was pushed under a tag: create or update the tag.
    Push {
        /// Tag name.
        tag: String,
        /// The pushed manifest.
        image: ImageData,
    },
    /// A tag was deleted.
    DeleteTag {
        /// Tag name.
        tag: String,
    },
    /// A manifest was deleted: every tag of the repository pointing at it goes.
    DeleteDigest {
        /// `sha256:…`.
        digest: String,
    },
}

/// One registry event, already mapped to an SWR namespace and repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryEvent {
    /// The registry's event id (idempotency key).
    pub id: String,
    /// When it happened, Unix nanoseconds (the ordering key).
    pub at: i64,
    /// SWR namespace.
    pub namespace: String,
    /// SWR repository, with `/`.
    pub repository: String,
    /// What it does.
    pub change: RegistryChange,
}

/// What became of one [`RegistryEvent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventOutcome {
    /// Written (or, for a delete of nothing, recorded as a tombstone).
    Applied,
    /// This event id was applied before.
    Duplicate,
    /// The tag already reflects a newer event or observation.
    Stale,
    /// The namespace does not exist and no default domain is configured.
    UnknownNamespace,
}

/// What [`RegistryFeed::apply_registry_events`] did, one outcome per event in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Outcome of each event, in the order given.
    pub outcomes: Vec<EventOutcome>,
    /// Tags inserted or updated.
    pub tags_written: u64,
    /// Tags deleted.
    pub tags_deleted: u64,
}

impl ApplyReport {
    /// How many events had outcome `o`.
    pub fn count(&self, o: EventOutcome) -> usize {
        self.outcomes.iter().filter(|&&x| x == o).count()
    }
}

/// One tag as a sync saw it in the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// Tag name.
    pub tag: String,
    /// Digest the tag pointed at.
    pub digest: String,
    /// When the registry was asked, Unix nanoseconds.
    pub at: i64,
    /// The manifest, when the digest differs from what the store held when
    /// the sync read it; `None` when the sync believes it unchanged.
    pub image: Option<ImageData>,
}

/// What [`RegistryFeed::reconcile_repository`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Tags that were missing and were added.
    pub added: u64,
    /// Tags whose digest changed.
    pub updated: u64,
    /// Tags the registry no longer has, deleted.
    pub removed: u64,
    /// Tags already as observed.
    pub unchanged: u64,
    /// Observations older than the tag's newest event, left alone.
    pub stale: u64,
    /// The tag changed under the sync (a webhook won the race) and the sync
    /// has no manifest for it: left for the next run.
    pub raced: u64,
    /// The namespace is unknown and no default domain is configured: nothing
    /// was written.
    pub rejected: bool,
}

/// Where an interrupted sync stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncCheckpoint {
    /// When the interrupted run started, Unix nanoseconds.
    pub started_at: i64,
    /// The last registry repository name reconciled (byte order), if any.
    pub cursor: Option<String>,
}
