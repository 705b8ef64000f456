//! The registry feed: swrd's tags follow a real OCI registry (CNCF
//! Distribution).
//!
//! * [`webhook`]: `POST /registry/events` applies the registry's push and
//!   delete notifications as they happen.
//! * [`sync`]: a crawler that walks the registry (catalog, tag lists,
//!   manifests) and reconciles the store with it — `swrd sync`, or on a
//!   schedule inside `swrd serve` — for whatever the webhook missed.
//! * [`fetch`]: the registry client both use; [`manifest`]: manifest body ->
//!   tag fields; [`mapping`]: registry names -> SWR names.
//!
//! # Names and domains
//!
//! A registry repository `ns/repo` (or `ns/a/b`) is SWR namespace `ns`,
//! repository `repo` (`a/b`); a single-component name (`busybox`) is rejected,
//! as is a name that breaks SWR's naming rules (see [`mapping`]).
//!
//! A namespace that exists in the store keeps its domain, whoever owns it. An
//! unknown namespace is created for the configured default domain
//! (`--registry-default-domain ID`); with no default configured the event is
//! **rejected**: logged, counted (`swrd_registry_events_total{outcome=
//! "rejected"}`) and acknowledged (the registry would otherwise redeliver it
//! forever and hold back every later event). Rejecting rather than guessing
//! keeps tenancy explicit: a registry push never creates a namespace in an
//! account nobody chose. Create the namespace (fixtures) or set a default
//! domain, then run `swrd sync` to pick up what was rejected.
//!
//! # Ordering and idempotency
//!
//! Distribution delivers at least once and does not guarantee order. Every
//! event is applied at most once (its id is remembered), and per (repository,
//! tag) only in time order: a tag keeps the time of the newest event applied
//! to it, a deleted tag leaves a tombstone with the delete's time, and an
//! older event than either is ignored. A sync observation is timestamped when
//! swrd asked the registry and obeys the same rule, so a sync and webhooks may
//! run at the same time in any order. Registry event times come from the
//! registry's clock, sync observations from swrd's: keep both on NTP.
//! Delete by digest arrives as one event naming the digest (every tag of the
//! repository at that digest goes) and one per tag.
//!
//! # Tag fields
//!
//! `digest`, `manifest`, `schema`, `tag_type`, `image_id` and `size` come from
//! the manifest (see [`manifest`]); `created` is the first push's time,
//! `updated` the latest push's (for a sync, the time the change was seen);
//! `is_trusted` and `scanned` start false.

pub mod fetch;
pub mod manifest;
pub mod mapping;
mod progress;
pub mod sync;
pub mod webhook;

use std::sync::Arc;

pub use fetch::{FetchError, RegistryClient, RegistryConfig};
pub use sync::{SyncOptions, SyncProgress, SyncReport};
pub use webhook::{Webhook, routes};

use crate::store::AnyStore;

/// What the webhook and the sync share.
#[derive(Debug)]
pub struct Feed {
    /// The store written to.
    pub store: Arc<AnyStore>,
    /// The registry read from.
    pub client: Arc<RegistryClient>,
    /// Domain of namespaces the store does not know yet; `None` rejects them.
    pub default_domain: Option<String>,
}

/// Now, Unix nanoseconds.
pub fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// An RFC 3339 event time (`2026-11-28T07:42:19.805133575Z`) in Unix
/// nanoseconds; `None` if unreadable or outside 1677..2262.
pub fn parse_event_time(s: &str) -> Option<i64> {
    let secs = crate::store::time::parse_timestamp(s)?;
    let frac = s
        .get(19..)
        .and_then(|rest| rest.strip_prefix('.'))
        .map_or("", |f| {
            let n = f.bytes().take_while(u8::is_ascii_digit).count();
            &f[..n]
        });
    let mut nanos: i64 = 0;
    for (i, d) in frac.bytes().take(9).enumerate() {
        nanos += i64::from(d - b'0') * 10i64.pow(8 - i as u32);
    }
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

#[cfg(test)]
mod tests {
    use super::parse_event_time;

    #[test]
    fn event_times_keep_nanoseconds() {
        let a = parse_event_time("2026-11-28T07:42:19.805133575Z").unwrap();
        let b = parse_event_time("2026-11-28T07:42:19.805133576Z").unwrap();
        assert_eq!(b - a, 1);
        assert_eq!(a % 1_000_000_000, 805_133_575);
        assert_eq!(
            parse_event_time("2026-11-28T08:42:19.5+01:00"),
            parse_event_time("2026-11-28T07:42:19.500Z")
        );
        assert_eq!(
            parse_event_time("2026-11-28T07:42:19Z").unwrap() % 1_000_000_000,
            0
        );
        assert_eq!(parse_event_time("yesterday"), None);
        assert_eq!(parse_event_time("9999-01-01T00:00:00Z"), None);
    }
}
