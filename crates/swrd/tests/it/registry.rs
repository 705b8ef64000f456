//! The registry feed (`swrd::registry`).
//!
//! * Store semantics of the feed (idempotency, per-tag ordering, tombstones,
//!   delete by digest, namespace -> domain, all-or-nothing batches, sync vs
//!   webhook order) on SQLite and PostgreSQL.
//! * End to end against a real CNCF Distribution `docker-registry` (named by
//!   `SWRD_TEST_REGISTRY`, skipped locally without it, required under
//!   `CI=true`): pushes through the registry's HTTP API reach swrd through its
//!   webhook; redelivery, reordering and a wrong secret over HTTP; `swrd sync`
//!   against the registry, including resuming.
//! * Two `#[ignore]`d measurements (push -> visible latency, large sync);
//!   see their docs.

use crate::common;

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Harness;
use common::registry::{DOCKER_V2, OCI_INDEX, OCI_MANIFEST, Pusher, SECRET, TestRegistry};
use serde_json::{Value, json};
use swrd::api::Registry;
use swrd::http::{AppConfig, app_with_webhook};
use swrd::registry::{self, Feed, RegistryClient, RegistryConfig, SyncOptions, Webhook};
use swrd::store::{
    AnyStore, EventOutcome, ImageData, Observation, RegistryChange, RegistryEvent,
    RegistryFeed as _, StoreError, TagQuery, TagReads as _,
};

on_both_backends!(
    events_apply_once,
    older_events_never_overwrite,
    delete_by_digest_removes_every_tag,
    unknown_namespaces,
    batch_is_all_or_nothing,
    sync_and_events_share_one_order,
);

const ACME: &str = "0503dda878000fed0f75c0096d70a960";
const OTHER: &str = "ffffdda878000fed0f75c0096d70ffff";
const TOKEN: &str = "tok-acme";

/// Domain ACME owns namespace `team`; domain OTHER exists with no namespace.
fn base_fixture() -> String {
    format!(
        r#"
domains:
  - {{id: "{ACME}", name: acme, tokens: [{TOKEN}]}}
  - {{id: "{OTHER}", name: other, tokens: [tok-other]}}
namespaces:
  - {{name: team, domain: "{ACME}"}}
"#
    )
}

// ---------------------------------------------------------------------------
// Store scenarios (both backends)

const SEC: i64 = 1_000_000_000;

fn digest(n: u8) -> String {
    format!("sha256:{}", format!("{n:02x}").repeat(32))
}

fn image(n: u8) -> ImageData {
    ImageData {
        digest: digest(n),
        image_id: format!("{n:02x}").repeat(32),
        manifest: format!("{{\"n\":{n}}}"),
        schema: 2,
        size: i64::from(n) * 100,
        tag_type: 0,
    }
}

fn event(id: &str, at_secs: i64, repo: &str, change: RegistryChange) -> RegistryEvent {
    RegistryEvent {
        id: id.to_owned(),
        at: at_secs * SEC,
        namespace: "team".into(),
        repository: repo.into(),
        change,
    }
}

fn push(id: &str, at_secs: i64, tag: &str, n: u8) -> RegistryEvent {
    event(
        id,
        at_secs,
        "app",
        RegistryChange::Push {
            tag: tag.into(),
            image: image(n),
        },
    )
}

fn delete_tag(id: &str, at_secs: i64, tag: &str) -> RegistryEvent {
    event(
        id,
        at_secs,
        "app",
        RegistryChange::DeleteTag { tag: tag.into() },
    )
}

/// tag -> (digest, created, updated) of `team/app`, as the API would list it.
async fn tags_of(store: &AnyStore, repo: &str) -> BTreeMap<String, (String, String, String)> {
    match store.list_tags(&TagQuery::new(ACME, "team", repo)).await {
        Ok(page) => page
            .records
            .into_iter()
            .map(|r| (r.tag, (r.digest, r.created, r.updated)))
            .collect(),
        Err(StoreError::RepositoryNotFound { .. }) => BTreeMap::new(),
        Err(e) => panic!("{e}"),
    }
}

fn ts(secs: i64) -> String {
    swrd::store::time::format_timestamp(secs)
}

async fn apply(h: &Harness, batch: &[RegistryEvent]) -> Vec<EventOutcome> {
    h.store
        .apply_registry_events(batch, None)
        .await
        .unwrap()
        .outcomes
}

async fn events_apply_once(h: Harness) {
    h.import_yaml(&base_fixture()).await;
    let e1 = push("e1", 100, "v1", 1);
    let r = h
        .store
        .apply_registry_events(std::slice::from_ref(&e1), None)
        .await
        .unwrap();
    assert_eq!(r.outcomes, [EventOutcome::Applied]);
    assert_eq!(r.tags_written, 1);
    // The registry redelivers (our 2xx was lost): nothing changes.
    let r = h
        .store
        .apply_registry_events(std::slice::from_ref(&e1), None)
        .await
        .unwrap();
    assert_eq!(r.outcomes, [EventOutcome::Duplicate]);
    assert_eq!(r.tags_written, 0);
    // The same id twice in one envelope, even with other content.
    let again = push("e2", 200, "v2", 2);
    let outcomes = apply(&h, &[again.clone(), push("e2", 300, "v2", 3)]).await;
    assert_eq!(outcomes, [EventOutcome::Applied, EventOutcome::Duplicate]);
    let tags = tags_of(&h.store, "app").await;
    assert_eq!(tags["v1"], (digest(1), ts(100), ts(100)));
    assert_eq!(tags["v2"].0, digest(2));
    assert_eq!(h.raw_count("SELECT count(*) FROM registry_events").await, 2);
}

async fn older_events_never_overwrite(h: Harness) {
    h.import_yaml(&base_fixture()).await;
    // Pushes arrive newest first: the older one is stale.
    assert_eq!(
        apply(&h, &[push("a", 200, "v1", 2)]).await,
        [EventOutcome::Applied]
    );
    assert_eq!(
        apply(&h, &[push("b", 100, "v1", 1)]).await,
        [EventOutcome::Stale]
    );
    assert_eq!(tags_of(&h.store, "app").await["v1"].0, digest(2));
    // A newer re-push (re-tag) updates digest and `updated`, keeps `created`
    // and the record id.
    let id_before = h
        .store
        .list_tags(&TagQuery::new(ACME, "team", "app"))
        .await
        .unwrap()
        .records[0]
        .id;
    assert_eq!(
        apply(&h, &[push("c", 300, "v1", 3)]).await,
        [EventOutcome::Applied]
    );
    let page = h
        .store
        .list_tags(&TagQuery::new(ACME, "team", "app"))
        .await
        .unwrap();
    let r = &page.records[0];
    assert_eq!(
        (
            r.id,
            r.digest.as_str(),
            r.created.as_str(),
            r.updated.as_str()
        ),
        (
            id_before,
            digest(3).as_str(),
            ts(200).as_str(),
            ts(300).as_str()
        )
    );
    assert_eq!(
        (r.size, r.image_id.as_str(), r.manifest.as_str()),
        (300, image(3).image_id.as_str(), "{\"n\":3}")
    );
    // A delete older than the tag's state is stale; a newer one deletes.
    assert_eq!(
        apply(&h, &[delete_tag("d0", 250, "v1")]).await,
        [EventOutcome::Stale]
    );
    assert!(tags_of(&h.store, "app").await.contains_key("v1"));
    assert_eq!(
        apply(&h, &[delete_tag("d1", 400, "v1")]).await,
        [EventOutcome::Applied]
    );
    assert!(tags_of(&h.store, "app").await.is_empty());
    // A late push from before the delete does not resurrect it...
    assert_eq!(
        apply(&h, &[push("late", 350, "v1", 4)]).await,
        [EventOutcome::Stale]
    );
    assert!(tags_of(&h.store, "app").await.is_empty());
    // ...a push after it does, as a new tag (new `created`, new id).
    assert_eq!(
        apply(&h, &[push("new", 500, "v1", 5)]).await,
        [EventOutcome::Applied]
    );
    let page = h
        .store
        .list_tags(&TagQuery::new(ACME, "team", "app"))
        .await
        .unwrap();
    assert_eq!(page.records[0].created, ts(500));
    assert!(page.records[0].id > id_before);
    assert_eq!(
        h.raw_count("SELECT count(*) FROM registry_tombstones")
            .await,
        0
    );
    // A delete of a tag never seen leaves a tombstone that stops its older push.
    assert_eq!(
        apply(&h, &[delete_tag("d2", 600, "ghost")]).await,
        [EventOutcome::Applied]
    );
    assert_eq!(
        apply(&h, &[push("p2", 590, "ghost", 1)]).await,
        [EventOutcome::Stale]
    );
    assert!(!tags_of(&h.store, "app").await.contains_key("ghost"));
    // Sub-second order: nanoseconds count.
    let mut e = push("n1", 700, "fast", 1);
    e.at += 2;
    let mut older = push("n2", 700, "fast", 2);
    older.at += 1;
    assert_eq!(
        apply(&h, &[e, older]).await,
        [EventOutcome::Applied, EventOutcome::Stale]
    );
    assert_eq!(tags_of(&h.store, "app").await["fast"].0, digest(1));
}

async fn delete_by_digest_removes_every_tag(h: Harness) {
    h.import_yaml(&base_fixture()).await;
    apply(
        &h,
        &[
            push("a", 100, "a", 1),
            push("b", 100, "b", 1),
            push("c", 100, "c", 2),
            // Pushed after the delete below happened: must survive it.
            push("d", 300, "d", 1),
        ],
    )
    .await;
    let by_digest = event(
        "del",
        200,
        "app",
        RegistryChange::DeleteDigest { digest: digest(1) },
    );
    // Distribution sends the digest event and one event per tag.
    let outcomes = apply(
        &h,
        &[
            by_digest,
            delete_tag("del-a", 200, "a"),
            delete_tag("del-b", 200, "b"),
        ],
    )
    .await;
    assert_eq!(outcomes, [EventOutcome::Applied; 3]);
    let tags = tags_of(&h.store, "app").await;
    assert_eq!(tags.keys().collect::<Vec<_>>(), ["c", "d"]);
    // Tombstones stop older pushes of the deleted tags.
    assert_eq!(
        apply(&h, &[push("old-a", 150, "a", 1)]).await,
        [EventOutcome::Stale]
    );
    // Deleting a digest in a repository swrd never saw is a no-op.
    let unknown = event(
        "x",
        10,
        "nothing",
        RegistryChange::DeleteDigest { digest: digest(9) },
    );
    assert_eq!(apply(&h, &[unknown]).await, [EventOutcome::Applied]);
    assert_eq!(
        h.raw_count("SELECT count(*) FROM repositories WHERE name = 'nothing'")
            .await,
        0
    );
}

async fn unknown_namespaces(h: Harness) {
    h.import_yaml(&base_fixture()).await;
    let mut e = push("s1", 100, "v1", 1);
    e.namespace = "stranger".into();
    // No default domain: rejected, nothing created, id not consumed.
    let r = h
        .store
        .apply_registry_events(std::slice::from_ref(&e), None)
        .await
        .unwrap();
    assert_eq!(r.outcomes, [EventOutcome::UnknownNamespace]);
    assert_eq!(
        h.raw_count("SELECT count(*) FROM namespaces WHERE name = 'stranger'")
            .await,
        0
    );
    // With a default domain: created for it.
    let r = h
        .store
        .apply_registry_events(std::slice::from_ref(&e), Some(OTHER))
        .await
        .unwrap();
    assert_eq!(r.outcomes, [EventOutcome::Applied]);
    let page = h
        .store
        .list_tags(&TagQuery::new(OTHER, "stranger", "app"))
        .await
        .unwrap();
    assert_eq!(page.records[0].digest, digest(1));
    // An existing namespace keeps its owner whatever the default.
    let r = h
        .store
        .apply_registry_events(&[push("t1", 100, "v1", 1)], Some(OTHER))
        .await
        .unwrap();
    assert_eq!(r.outcomes, [EventOutcome::Applied]);
    assert_eq!(tags_of(&h.store, "app").await.len(), 1);
    assert!(matches!(
        h.store
            .list_tags(&TagQuery::new(OTHER, "team", "app"))
            .await,
        Err(StoreError::NamespaceNotFound(_))
    ));
}

async fn batch_is_all_or_nothing(h: Harness) {
    h.import_yaml(&base_fixture()).await;
    let good = push("g1", 100, "v1", 1);
    let bad = push("b1", 100, "not a tag!", 2);
    assert!(
        h.store
            .apply_registry_events(&[good.clone(), bad], None)
            .await
            .is_err()
    );
    assert!(tags_of(&h.store, "app").await.is_empty());
    assert_eq!(h.raw_count("SELECT count(*) FROM registry_events").await, 0);
    // The redelivery of the good part applies (its id was not kept).
    assert_eq!(apply(&h, &[good]).await, [EventOutcome::Applied]);
    // A database-level failure (a CHECK constraint) rolls back too.
    let mut broken = push("b2", 200, "v2", 2);
    if let RegistryChange::Push { image, .. } = &mut broken.change {
        image.schema = 3;
    }
    assert!(
        h.store
            .apply_registry_events(&[push("g2", 200, "v3", 3), broken], None)
            .await
            .is_err()
    );
    assert_eq!(
        tags_of(&h.store, "app").await.keys().collect::<Vec<_>>(),
        ["v1"]
    );
}

fn observed(tag: &str, n: u8, at_secs: i64, with_image: bool) -> Observation {
    Observation {
        tag: tag.into(),
        digest: digest(n),
        at: at_secs * SEC,
        image: with_image.then(|| image(n)),
    }
}

async fn sync_and_events_share_one_order(h: Harness) {
    h.import_yaml(&base_fixture()).await;
    // A fixture tag (never fed by the registry) is fair game for a sync.
    h.import_yaml(&format!(
        "namespaces: [{{name: team, domain: \"{ACME}\", repositories: [{{name: app, tags: [{{tag: fixture, digest: \"{}\"}}]}}]}}]\ndomains: [{{id: \"{ACME}\", name: acme}}]",
        digest(7)
    ))
    .await;
    apply(&h, &[push("w1", 100, "hooked", 2)]).await;
    // The sync saw "hooked" at an older digest *before* the webhook's push:
    // stale. It adds "new", keeps "same" once added, removes "fixture".
    let r = h
        .store
        .reconcile_repository(
            "team",
            "app",
            None,
            90 * SEC,
            &[
                observed("hooked", 1, 90, true),
                observed("new", 3, 90, true),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        (r.added, r.updated, r.removed, r.stale),
        (1, 0, 1, 1),
        "{r:?}"
    );
    let tags = tags_of(&h.store, "app").await;
    assert_eq!(tags.keys().collect::<Vec<_>>(), ["hooked", "new"]);
    assert_eq!(tags["hooked"].0, digest(2));
    assert_eq!(tags["new"], (digest(3), ts(90), ts(90)));
    // A listing older than the webhook's push does not remove the tag; a
    // newer one does, with a tombstone that stops an older push.
    let r = h
        .store
        .reconcile_repository(
            "team",
            "app",
            None,
            95 * SEC,
            &[observed("new", 3, 95, false)],
        )
        .await
        .unwrap();
    assert_eq!((r.removed, r.stale, r.unchanged), (0, 1, 1), "{r:?}");
    let r = h
        .store
        .reconcile_repository(
            "team",
            "app",
            None,
            150 * SEC,
            &[observed("new", 3, 150, false)],
        )
        .await
        .unwrap();
    assert_eq!((r.removed, r.unchanged), (1, 1), "{r:?}");
    assert_eq!(
        apply(&h, &[push("w-late", 120, "hooked", 4)]).await,
        [EventOutcome::Stale]
    );
    // A webhook newer than the observation wins the other way round too.
    assert_eq!(
        apply(&h, &[push("w2", 200, "new", 5)]).await,
        [EventOutcome::Applied]
    );
    let r = h
        .store
        .reconcile_repository(
            "team",
            "app",
            None,
            160 * SEC,
            &[observed("new", 3, 160, true)],
        )
        .await
        .unwrap();
    assert_eq!(r.stale, 1, "{r:?}");
    assert_eq!(tags_of(&h.store, "app").await["new"].0, digest(5));
    // The digest changed under the sync and it has no manifest: left alone.
    let r = h
        .store
        .reconcile_repository(
            "team",
            "app",
            None,
            300 * SEC,
            &[observed("new", 6, 300, false)],
        )
        .await
        .unwrap();
    assert_eq!(r.raced, 1, "{r:?}");
    // Unknown namespace, no default: rejected, nothing created.
    let r = h
        .store
        .reconcile_repository(
            "stranger",
            "app",
            None,
            300 * SEC,
            &[observed("x", 1, 300, true)],
        )
        .await
        .unwrap();
    assert!(r.rejected);
    // Checkpoints round-trip and clear.
    let cp = swrd::store::SyncCheckpoint {
        started_at: 5,
        cursor: Some("team/app".into()),
    };
    h.store
        .set_sync_checkpoint("scope", Some(&cp))
        .await
        .unwrap();
    assert_eq!(h.store.sync_checkpoint("scope").await.unwrap(), Some(cp));
    h.store.set_sync_checkpoint("scope", None).await.unwrap();
    assert_eq!(h.store.sync_checkpoint("scope").await.unwrap(), None);
}

// ---------------------------------------------------------------------------
// A real registry

/// swrd in process on 127.0.0.1:0, webhook on, manifests from `registry`.
struct Swrd {
    base: String,
    http: reqwest::Client,
    _task: tokio::task::JoinHandle<()>,
}

impl Swrd {
    async fn start(store: &AnyStore, registry_url: &str, webhook: bool) -> Swrd {
        let store = Arc::new(store.clone());
        let client = RegistryClient::new(&RegistryConfig::new(registry_url)).unwrap();
        let hook = webhook.then(|| Webhook {
            feed: Arc::new(Feed {
                store: store.clone(),
                client: Arc::new(client),
                default_domain: None,
            }),
            secret: SECRET.into(),
        });
        let app = app_with_webhook(
            store,
            AppConfig {
                registry: Registry {
                    host: "swr.example".into(),
                    internal_host: "10.0.0.1:5000".into(),
                },
                request_timeout: Duration::from_secs(30),
                metrics: None,
            },
            hook,
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            // As `swrd serve` does: without TCP_NODELAY a keep-alive client
            // waits ~40 ms (delayed ACK) for each streamed response.
            use axum::serve::ListenerExt as _;
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            axum::serve(listener, app).await.unwrap();
        });
        Swrd {
            base,
            http: reqwest::Client::new(),
            _task: task,
        }
    }

    fn events_url(&self) -> String {
        format!("{}{}", self.base, registry::webhook::PATH)
    }

    /// The API's list of `team/<repo>` (`/` as `$`), or `None` on a 404.
    async fn list(&self, repo: &str) -> Option<Vec<Value>> {
        self.list_query(repo, "").await
    }

    async fn list_query(&self, repo: &str, query: &str) -> Option<Vec<Value>> {
        let r = self
            .http
            .get(format!(
                "{}/v2/manage/namespaces/team/repos/{}/tags{query}",
                self.base,
                repo.replace('/', "$")
            ))
            .header("x-auth-token", TOKEN)
            .send()
            .await
            .unwrap();
        if r.status() == 404 {
            return None;
        }
        assert_eq!(r.status(), 200);
        Some(r.json().await.unwrap())
    }

    /// tag -> digest.
    async fn digests(&self, repo: &str) -> BTreeMap<String, String> {
        self.list(repo)
            .await
            .unwrap_or_default()
            .iter()
            .map(|t| {
                (
                    t["Tag"].as_str().unwrap().to_owned(),
                    t["digest"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    /// Waits (up to 20 s) until `cond` holds for `team/<repo>`'s digests.
    async fn wait_for(
        &self,
        repo: &str,
        what: &str,
        cond: impl Fn(&BTreeMap<String, String>) -> bool,
    ) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let d = self.digests(repo).await;
            if cond(&d) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; swrd has {d:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn post_events(&self, secret: Option<&str>, events: Value) -> (u16, Value) {
        let mut req = self
            .http
            .post(self.events_url())
            .header(
                "content-type",
                "application/vnd.docker.distribution.events.v1+json",
            )
            .body(json!({ "events": events }).to_string());
        if let Some(s) = secret {
            req = req.header("authorization", format!("Bearer {s}"));
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

/// A Distribution-shaped event.
fn wire_event(
    id: &str,
    at: &str,
    action: &str,
    repo: &str,
    tag: Option<&str>,
    digest: Option<&str>,
    media_type: Option<&str>,
) -> Value {
    let mut target = json!({ "repository": repo });
    if let Some(t) = tag {
        target["tag"] = json!(t);
    }
    if let Some(d) = digest {
        target["digest"] = json!(d);
    }
    if let Some(m) = media_type {
        target["mediaType"] = json!(m);
        target["size"] = json!(0);
    }
    json!({
        "id": id, "timestamp": at, "action": action, "target": target,
        "request": {"id": "r", "addr": "127.0.0.1", "host": "x", "method": "PUT", "useragent": "test"},
        "actor": {}, "source": {"addr": "x", "instanceID": "i"},
    })
}

async fn sqlite_with_fixture() -> Harness {
    let h = Harness::new(common::Kind::Sqlite).await.unwrap();
    h.import_yaml(&base_fixture()).await;
    h
}

/// Pushes, re-tags, manifest lists, deletes by digest and by tag, nested
/// repositories and names SWR cannot hold, all through the registry's
/// notifications.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_follows_the_registry() {
    let Some(bin) = common::external("SWRD_TEST_REGISTRY", "a docker-registry binary") else {
        return;
    };
    let h = sqlite_with_fixture().await;
    let port = common::free_port();
    let swrd = Swrd::start(&h.store, &format!("http://127.0.0.1:{port}"), true).await;
    let reg = TestRegistry::start(&bin, port, Some(&swrd.events_url()), None).await;
    let p = Pusher::new(&reg.base);
    let blobs = p.blobs("team/app").await;
    let image_size = blobs.config.1 + blobs.layer.1;

    // Five tags, Docker v2 and OCI manifests alternating.
    let mut pushed = Vec::new();
    for i in 1..=5 {
        let mt = if i % 2 == 1 { DOCKER_V2 } else { OCI_MANIFEST };
        let body = Pusher::image(&blobs, mt, &format!("v{i}"));
        let d = p.put("team/app", &format!("v{i}"), mt, &body).await;
        pushed.push((format!("v{i}"), d, body));
    }
    swrd.wait_for("app", "five pushes", |d| d.len() == 5).await;
    let list = swrd.list("app").await.unwrap();
    // Default order: updated desc, ties by id desc = newest push first.
    let order: Vec<&str> = list.iter().map(|t| t["Tag"].as_str().unwrap()).collect();
    assert_eq!(order, ["v5", "v4", "v3", "v2", "v1"]);
    for (tag, d, body) in &pushed {
        let t = list.iter().find(|t| t["Tag"] == tag.as_str()).unwrap();
        assert_eq!(t["digest"], d.as_str());
        assert_eq!(t["manifest"], body.as_str());
        assert_eq!(t["size"], image_size);
        assert_eq!(t["tag_type"], 0);
        assert_eq!(t["schema"], 2);
        assert_eq!(t["image_id"], &blobs.config.0["sha256:".len()..]);
        assert_eq!(t["created"], t["updated"]);
        assert_eq!(t["path"], format!("swr.example/team/app:{tag}"));
    }

    // Re-tag v1: new digest, same record, `created` kept.
    let before = list.iter().find(|t| t["Tag"] == "v1").unwrap().clone();
    let body = Pusher::image(&blobs, DOCKER_V2, "v1-again");
    let d = p.put("team/app", "v1", DOCKER_V2, &body).await;
    swrd.wait_for("app", "re-tag", |m| m["v1"] == d).await;
    let list = swrd.list("app").await.unwrap();
    let after = list.iter().find(|t| t["Tag"] == "v1").unwrap();
    assert_eq!(after["id"], before["id"]);
    assert_eq!(after["created"], before["created"]);
    assert!(after["updated"].as_str() >= before["updated"].as_str());

    // A manifest list (OCI index) over two manifests pushed by digest only
    // (untagged: not tags in SWR either).
    let children: Vec<(String, usize)> = {
        let mut v = Vec::new();
        for arch in ["amd64", "arm64"] {
            let body = Pusher::image(&blobs, OCI_MANIFEST, arch);
            let digest = registry::manifest::sha256_digest(body.as_bytes());
            p.put("team/app", &digest, OCI_MANIFEST, &body).await;
            v.push((digest, body.len()));
        }
        v
    };
    let index = json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": children.iter().zip(["amd64", "arm64"]).map(|((d, len), arch)| json!({
            "mediaType": OCI_MANIFEST, "digest": d, "size": len, "platform": {"architecture": arch, "os": "linux"}
        })).collect::<Vec<_>>(),
    })
    .to_string();
    let index_digest = p.put("team/app", "multi", OCI_INDEX, &index).await;
    swrd.wait_for("app", "the index", |m| m.contains_key("multi"))
        .await;
    let list = swrd.list("app").await.unwrap();
    let multi = list.iter().find(|t| t["Tag"] == "multi").unwrap();
    assert_eq!(multi["digest"], index_digest.as_str());
    assert_eq!(
        (multi["tag_type"].as_i64(), multi["schema"].as_i64()),
        (Some(1), Some(2))
    );
    assert_eq!(multi["image_id"], "");
    assert_eq!(multi["size"], index.len());
    assert_eq!(list.len(), 6, "untagged pushes made no tags");

    // Delete by digest: v2 and an alias on the same manifest both go.
    let (_, d2, body2) = &pushed[1];
    p.put("team/app", "v2-alias", OCI_MANIFEST, body2).await;
    swrd.wait_for("app", "alias", |m| m.contains_key("v2-alias"))
        .await;
    p.delete("team/app", d2).await;
    swrd.wait_for("app", "delete by digest", |m| {
        !m.contains_key("v2") && !m.contains_key("v2-alias")
    })
    .await;
    assert_eq!(swrd.digests("app").await.len(), 5);

    // Delete by tag: Distribution 2.8.2 cannot (DELETE by tag is a 400
    // DIGEST_INVALID), so the event a registry that can would send.
    let r = p
        .http
        .delete(format!("{}/v2/team/app/manifests/v4", reg.base))
        .send()
        .await
        .unwrap();
    assert!(
        !r.status().is_success(),
        "2.8.2 refuses tag deletes; update this test if not"
    );
    let now = swrd::store::time::format_timestamp(swrd::store::time::now() + 1);
    let (status, body) = swrd
        .post_events(
            Some(SECRET),
            json!([wire_event(
                "synthetic-del-v4",
                &now,
                "delete",
                "team/app",
                Some("v4"),
                None,
                None
            )]),
        )
        .await;
    assert_eq!((status, body["applied"].as_u64()), (200, Some(1)), "{body}");
    assert!(!swrd.digests("app").await.contains_key("v4"));

    // A nested repository (blobs mounted from team/app).
    for (d, _) in [&blobs.config, &blobs.layer] {
        let r = p
            .http
            .post(format!(
                "{}/v2/team/tools/cli/blobs/uploads/?mount={d}&from=team/app",
                reg.base
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let cli = p
        .put(
            "team/tools/cli",
            "1.0",
            DOCKER_V2,
            &Pusher::image(&blobs, DOCKER_V2, "cli"),
        )
        .await;

    // Names SWR cannot hold, and a namespace swrd does not know: rejected
    // and acknowledged, so later events still flow.
    let single = p.blobs("busybox").await;
    p.put(
        "busybox",
        "latest",
        DOCKER_V2,
        &Pusher::image(&single, DOCKER_V2, "bb"),
    )
    .await;
    let stranger = p.blobs("stranger/app").await;
    p.put(
        "stranger/app",
        "latest",
        DOCKER_V2,
        &Pusher::image(&stranger, DOCKER_V2, "s"),
    )
    .await;
    p.put(
        "team/app",
        "last",
        DOCKER_V2,
        &Pusher::image(&blobs, DOCKER_V2, "last"),
    )
    .await;
    swrd.wait_for("app", "the push after the rejected ones", |m| {
        m.contains_key("last")
    })
    .await;
    assert_eq!(swrd.digests("tools/cli").await["1.0"], cli);
    assert_eq!(
        h.raw_count("SELECT count(*) FROM namespaces WHERE name IN ('stranger', 'busybox')")
            .await,
        0
    );

    // The registry and swrd agree on every tag (but v4, deleted only in swrd).
    let mut registry_state = p.state("team/app").await;
    registry_state.remove("v4");
    assert_eq!(swrd.digests("app").await, registry_state, "{}", reg.logs());
}

/// Redelivery and reordering over HTTP, with manifests a real registry serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_redelivery_and_reordering() {
    let Some(bin) = common::external("SWRD_TEST_REGISTRY", "a docker-registry binary") else {
        return;
    };
    let h = sqlite_with_fixture().await;
    let reg = TestRegistry::start(&bin, common::free_port(), None, None).await;
    let swrd = Swrd::start(&h.store, &reg.base, true).await;
    let p = Pusher::new(&reg.base);
    let blobs = p.blobs("team/app").await;
    let a = p
        .put(
            "team/app",
            "scratch-a",
            DOCKER_V2,
            &Pusher::image(&blobs, DOCKER_V2, "a"),
        )
        .await;
    let b = p
        .put(
            "team/app",
            "scratch-b",
            DOCKER_V2,
            &Pusher::image(&blobs, DOCKER_V2, "b"),
        )
        .await;
    let push = |id: &str, at: &str, d: &str| {
        wire_event(
            id,
            at,
            "push",
            "team/app",
            Some("t"),
            Some(d),
            Some(DOCKER_V2),
        )
    };

    let first = json!([push("e1", "2026-01-01T00:00:01.000000001Z", &a)]);
    let (status, r) = swrd.post_events(Some(SECRET), first.clone()).await;
    assert_eq!((status, r["applied"].as_u64()), (200, Some(1)), "{r}");
    // Redelivered: acknowledged, applied once.
    let (status, r) = swrd.post_events(Some(SECRET), first).await;
    assert_eq!(
        (status, r["duplicate"].as_u64(), r["applied"].as_u64()),
        (200, Some(1), Some(0)),
        "{r}"
    );

    // Newer then older: the older is ignored.
    let (_, r) = swrd
        .post_events(
            Some(SECRET),
            json!([push("e3", "2026-01-01T00:00:03Z", &b)]),
        )
        .await;
    assert_eq!(r["applied"], 1);
    let (_, r) = swrd
        .post_events(
            Some(SECRET),
            json!([push("e2", "2026-01-01T00:00:02Z", &a)]),
        )
        .await;
    assert_eq!(
        (r["stale"].as_u64(), r["applied"].as_u64()),
        (Some(1), Some(0)),
        "{r}"
    );
    assert_eq!(swrd.digests("app").await["t"], b);

    // A delete, then a push from before it arrives late: not resurrected.
    let del = wire_event(
        "e5",
        "2026-01-01T00:00:05Z",
        "delete",
        "team/app",
        Some("t"),
        None,
        None,
    );
    let (_, r) = swrd.post_events(Some(SECRET), json!([del])).await;
    assert_eq!(r["applied"], 1);
    let (_, r) = swrd
        .post_events(
            Some(SECRET),
            json!([push("e4", "2026-01-01T00:00:04Z", &a)]),
        )
        .await;
    assert_eq!(r["stale"], 1);
    assert!(!swrd.digests("app").await.contains_key("t"));

    // Pulls, blob pushes and mounts are ignored; one envelope mixes them.
    let pull = wire_event(
        "p1",
        "2026-01-01T00:00:06Z",
        "pull",
        "team/app",
        Some("t"),
        Some(&a),
        Some(DOCKER_V2),
    );
    let blob = wire_event(
        "b1",
        "2026-01-01T00:00:06Z",
        "push",
        "team/app",
        None,
        Some(&blobs.layer.0),
        Some("application/octet-stream"),
    );
    let again = push("e6", "2026-01-01T00:00:06Z", &a);
    let (status, r) = swrd
        .post_events(Some(SECRET), json!([pull, blob, again]))
        .await;
    assert_eq!(
        (status, r["ignored"].as_u64(), r["applied"].as_u64()),
        (200, Some(2), Some(1)),
        "{r}"
    );
    let list = swrd.list("app").await.unwrap();
    assert_eq!(list[0]["digest"], a.as_str());
    assert_eq!(
        list[0]["created"], "2026-01-01T00:00:06Z",
        "a new tag after the delete"
    );

    // A push whose manifest the registry no longer has is dropped (the
    // delete follows), not retried forever.
    let gone = wire_event(
        "g1",
        "2026-01-01T00:00:07Z",
        "push",
        "team/app",
        Some("gone"),
        Some(&digest(9)),
        Some(DOCKER_V2),
    );
    let (status, r) = swrd.post_events(Some(SECRET), json!([gone])).await;
    assert_eq!((status, r["ignored"].as_u64()), (200, Some(1)), "{r}");

    // The registry down: 503, nothing of the envelope kept; redelivery works.
    drop(reg);
    let late = json!([
        push("e8", "2026-01-01T00:00:08Z", &b),
        wire_event(
            "e9",
            "2026-01-01T00:00:09Z",
            "delete",
            "team/app",
            Some("other"),
            None,
            None
        ),
    ]);
    let (status, _) = swrd.post_events(Some(SECRET), late.clone()).await;
    assert_eq!(status, 503);
    assert_eq!(
        h.raw_count("SELECT count(*) FROM registry_events WHERE id IN ('e8', 'e9')")
            .await,
        0
    );
}

/// The secret is checked (401, nothing applied); without one configured the
/// endpoint does not exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_secret_is_required() {
    let Some(bin) = common::external("SWRD_TEST_REGISTRY", "a docker-registry binary") else {
        return;
    };
    let h = sqlite_with_fixture().await;
    let reg = TestRegistry::start(&bin, common::free_port(), None, None).await;
    let swrd = Swrd::start(&h.store, &reg.base, true).await;
    let del = json!([wire_event(
        "x1",
        "2030-01-01T00:00:00Z",
        "delete",
        "team/app",
        Some("t"),
        None,
        None
    )]);
    for secret in [
        None,
        Some("wrong"),
        Some("webhook-s3cre"),
        Some("Webhook-s3cret"),
    ] {
        let (status, _) = swrd.post_events(secret, del.clone()).await;
        assert_eq!(status, 401, "{secret:?}");
    }
    assert_eq!(h.raw_count("SELECT count(*) FROM registry_events").await, 0);
    assert_eq!(
        h.raw_count("SELECT count(*) FROM registry_tombstones")
            .await,
        0
    );
    // Not an envelope / wrong media type.
    let r = swrd
        .http
        .post(swrd.events_url())
        .header("authorization", format!("Bearer {SECRET}"))
        .header("content-type", "application/json")
        .body("[]")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = swrd
        .http
        .post(swrd.events_url())
        .header("authorization", format!("Bearer {SECRET}"))
        .header("content-type", "text/plain")
        .body("{\"events\":[]}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    // The right secret works.
    let (status, _) = swrd.post_events(Some(SECRET), del).await;
    assert_eq!(status, 200);

    let disabled = Swrd::start(&h.store, &reg.base, false).await;
    let (status, _) = disabled.post_events(Some(SECRET), json!([])).await;
    assert_eq!(status, 404);
}

/// `swrd sync` (the binary) makes the store match the registry: adds,
/// updates, removes, across catalog pages; and resumes an interrupted run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_matches_the_registry() {
    let Some(bin) = common::external("SWRD_TEST_REGISTRY", "a docker-registry binary") else {
        return;
    };
    let h = sqlite_with_fixture().await;
    // Stale data the registry does not have: a tag and a whole repository.
    h.import_yaml(&format!(
        "domains: [{{id: \"{ACME}\", name: acme}}]\nnamespaces: [{{name: team, domain: \"{ACME}\", repositories: [{{name: app, tags: [{{tag: stale, digest: \"{}\"}}]}}, {{name: gone, tags: [{{tag: x, digest: \"{}\"}}]}}]}}]",
        digest(1),
        digest(2)
    ))
    .await;
    // One repository per catalog page: pagination is followed.
    let reg = TestRegistry::start(&bin, common::free_port(), None, Some(1)).await;
    let p = Pusher::new(&reg.base);
    let repos = ["team/app", "team/tools/cli", "team/zeta"];
    let mut blobs = BTreeMap::new();
    for repo in repos {
        let b = p.blobs(repo).await;
        for i in 0..4 {
            p.put(
                repo,
                &format!("t{i}"),
                DOCKER_V2,
                &Pusher::image(&b, DOCKER_V2, &format!("{repo}{i}")),
            )
            .await;
        }
        blobs.insert(repo, b);
    }
    // Same manifest under many tags: fetched once.
    let shared = Pusher::image(&blobs["team/app"], OCI_MANIFEST, "shared");
    for i in 0..20 {
        p.put("team/app", &format!("s{i:02}"), OCI_MANIFEST, &shared)
            .await;
    }

    let run_sync = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_swrd"))
            .args(["sync", "--registry", &reg.base, "--database", &h.url])
            .args(extra)
            .env("SWRD_LOG", "warn")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let check = || async {
        let swrd = Swrd::start(&h.store, &reg.base, false).await;
        for repo in repos {
            let short = repo.strip_prefix("team/").unwrap();
            assert_eq!(swrd.digests(short).await, p.state(repo).await, "{repo}");
        }
        assert!(swrd.digests("gone").await.is_empty());
    };

    // Manifest requests the registry served (its access log), per method.
    let served = || {
        let count = |method| {
            repos
                .iter()
                .map(|repo| reg.manifest_requests(method, repo))
                .sum::<usize>() as u64
        };
        (count("GET"), count("HEAD"))
    };
    // The requests one run sent, as the registry saw them and as the report
    // says; `(GETs, HEADs)`.
    let requests_of = |r: &Value, before: (u64, u64)| {
        let after = served();
        let sent = (after.0 - before.0, after.1 - before.1);
        assert_eq!(
            (
                r["manifests"].as_u64().unwrap(),
                r["heads"].as_u64().unwrap()
            ),
            sent,
            "report against the access log: {r}"
        );
        sent
    };

    // First sync: one GET per tag, no HEAD (the store knew none of them),
    // even for the 20 tags that share one manifest.
    let before = served();
    let r = run_sync(&[]);
    assert_eq!(r["repositories"], 3, "{r}");
    assert_eq!(
        (r["added"].as_u64(), r["removed"].as_u64()),
        (Some(32), Some(2)),
        "{r}"
    );
    assert_eq!(r["repositories_gone"], 1, "{r}");
    assert_eq!(requests_of(&r, before), (32, 0), "{r}");
    check().await;
    let list = Swrd::start(&h.store, &reg.base, false)
        .await
        .list("app")
        .await
        .unwrap();
    let t0 = list.iter().find(|t| t["Tag"] == "t0").unwrap();
    assert_eq!(
        t0["size"],
        blobs["team/app"].config.1 + blobs["team/app"].layer.1
    );
    assert_eq!(t0["image_id"], &blobs["team/app"].config.0[7..]);

    // Nothing changed: nothing written, one HEAD per tag and no GET.
    let before = served();
    let r = run_sync(&[]);
    assert_eq!(
        (
            r["added"].as_u64(),
            r["updated"].as_u64(),
            r["removed"].as_u64(),
        ),
        (Some(0), Some(0), Some(0)),
        "{r}"
    );
    assert_eq!(r["unchanged"], 32, "{r}");
    assert_eq!(requests_of(&r, before), (0, 32), "{r}");

    // The registry moves on while nothing routes its events to swrd.
    let app = &blobs["team/app"];
    let d1 = p
        .put(
            "team/app",
            "t1",
            DOCKER_V2,
            &Pusher::image(app, DOCKER_V2, "moved"),
        )
        .await;
    p.put(
        "team/app",
        "new",
        DOCKER_V2,
        &Pusher::image(app, DOCKER_V2, "new"),
    )
    .await;
    p.delete(
        "team/app",
        &registry::manifest::sha256_digest(shared.as_bytes()),
    )
    .await;
    let zeta = p.state("team/zeta").await;
    p.delete("team/zeta", &zeta["t3"]).await;
    let before = served();
    let r = run_sync(&["--namespace", "team"]);
    assert_eq!(
        (
            r["added"].as_u64(),
            r["updated"].as_u64(),
            r["removed"].as_u64()
        ),
        (Some(1), Some(1), Some(21)),
        "{r}"
    );
    // GETs: the new tag's, and the moved tag's new digest after its HEAD.
    assert_eq!(requests_of(&r, before).0, 2, "{r}");
    check().await;
    let swrd = Swrd::start(&h.store, &reg.base, false).await;
    assert_eq!(swrd.digests("app").await["t1"], d1);

    // Resume: a run interrupted after team/app skips it.
    let client = RegistryClient::new(&RegistryConfig::new(&reg.base)).unwrap();
    let options = SyncOptions::default();
    let scope = registry::sync::scope(&client, &options);
    h.store
        .set_sync_checkpoint(
            &scope,
            Some(&swrd::store::SyncCheckpoint {
                started_at: 0,
                cursor: Some("team/app".into()),
            }),
        )
        .await
        .unwrap();
    p.delete("team/tools/cli", &p.state("team/tools/cli").await["t0"])
        .await;
    let r = registry::sync::run(&h.store, &client, &options)
        .await
        .unwrap();
    assert_eq!(r.resumed_after.as_deref(), Some("team/app"));
    assert_eq!((r.repositories_synced, r.removed), (2, 1), "{r:?}");
    assert_eq!(h.store.sync_checkpoint(&scope).await.unwrap(), None);
    check().await;
}

/// Waits (up to 20 s) until a `swrd serve` process lists `tag` in
/// `team/app`; returns tag -> digest.
async fn wait_for_tag(
    http: &reqwest::Client,
    swrd: &common::Swrd,
    tag: &str,
) -> BTreeMap<String, String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = http
            .get(format!(
                "{}/v2/manage/namespaces/team/repos/app/tags",
                swrd.base
            ))
            .header("x-auth-token", TOKEN)
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            let list: BTreeMap<String, String> = r
                .json::<Vec<Value>>()
                .await
                .unwrap()
                .iter()
                .map(|t| {
                    let field = |k: &str| t[k].as_str().unwrap().to_owned();
                    (field("Tag"), field("digest"))
                })
                .collect();
            if list.contains_key(tag) {
                return list;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{tag} never arrived:\n{}",
            swrd.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The `swrd serve` flags: `--registry`, `--registry-webhook-secret` and
/// `--sync-interval` (the first sync runs at start), and the rejection
/// counter in `/metrics`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_flags_wire_the_feed() {
    let Some(bin) = common::external("SWRD_TEST_REGISTRY", "a docker-registry binary") else {
        return;
    };
    // Tags pushed while no swrd listens.
    let reg = TestRegistry::start(&bin, common::free_port(), None, None).await;
    let p = Pusher::new(&reg.base);
    let blobs = p.blobs("team/app").await;
    let pre = p
        .put(
            "team/app",
            "pre",
            DOCKER_V2,
            &Pusher::image(&blobs, DOCKER_V2, "pre"),
        )
        .await;
    let dir = tempfile::tempdir().unwrap();
    let fixture = dir.path().join("fixture.yaml");
    std::fs::write(&fixture, base_fixture()).unwrap();
    let swrd = common::Swrd::start(
        None,
        &[
            "--fixtures",
            fixture.to_str().unwrap(),
            "--registry",
            &reg.base,
            "--registry-webhook-secret",
            SECRET,
            "--sync-interval",
            "3600",
        ],
    );
    let http = reqwest::Client::new();
    let wait = |tag: &'static str| wait_for_tag(&http, &swrd, tag);
    // The sync at start found the earlier push.
    assert_eq!(wait("pre").await["pre"], pre);
    // Now the registry notifies swrd.
    let reg = reg
        .restart(
            &bin,
            Some(&format!("{}{}", swrd.base, registry::webhook::PATH)),
        )
        .await;
    let live = p
        .put(
            "team/app",
            "live",
            DOCKER_V2,
            &Pusher::image(&blobs, DOCKER_V2, "live"),
        )
        .await;
    assert_eq!(wait("live").await["live"], live);
    let bb = p.blobs("busybox").await;
    p.put(
        "busybox",
        "latest",
        DOCKER_V2,
        &Pusher::image(&bb, DOCKER_V2, "bb"),
    )
    .await;
    p.put(
        "team/app",
        "after",
        DOCKER_V2,
        &Pusher::image(&blobs, DOCKER_V2, "after"),
    )
    .await;
    wait("after").await;
    let metrics = common::metrics(&swrd.base).await;
    assert!(
        metrics.contains("swrd_registry_events_total{outcome=\"rejected\"} 1"),
        "{metrics}"
    );
    // How far behind the feed is: the lag of the applied events ("live",
    // "after"), the newest event's time, and the scheduled sync at start.
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing:\n{metrics}"))
    };
    assert!(
        value("swrd_registry_event_lag_seconds_count") >= 2.0,
        "{metrics}"
    );
    assert!(
        value("swrd_registry_event_lag_seconds_bucket{le=\"+Inf\"}") >= 2.0,
        "{metrics}"
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let newest = value("swrd_registry_last_event_timestamp_seconds");
    assert!(
        now - newest < 60.0 && newest <= now + 5.0,
        "{newest} vs {now}"
    );
    assert_eq!(value("swrd_sync_runs_total{outcome=\"success\"}"), 1.0);
    assert!(now - value("swrd_sync_last_success_timestamp_seconds") < 120.0);
    assert_eq!(value("swrd_sync_running"), 0.0);
    assert_eq!(value("swrd_sync_tags{state=\"done\"}"), 1.0, "{metrics}");
    assert_eq!(value("swrd_sync_requests_total{method=\"GET\"}"), 1.0);
    // Readiness is the database's, whatever the feed does.
    let ready = reqwest::get(format!("{}/readyz", swrd.base)).await.unwrap();
    assert_eq!(ready.status(), 200);
    assert!(
        swrd.logs().contains("has a single component"),
        "{}",
        swrd.logs()
    );
    drop(reg);
}

/// A registry that answers `429` with `Retry-After` (or `503` without it)
/// before it serves a manifest: the sync waits as long as asked, and
/// retries sooner (jittered back-off) when not asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_honours_retry_after() {
    use axum::extract::{Path, State};
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use std::sync::Mutex;

    #[derive(Clone, Default)]
    struct Fake {
        /// When each manifest request came.
        at: Arc<Mutex<Vec<Instant>>>,
        /// `Retry-After` of the refusal, or none (a plain 503).
        retry_after: Option<&'static str>,
    }
    const BODY: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
    async fn manifest(
        State(f): State<Fake>,
        Path((_, _, reference)): Path<(String, String, String)>,
    ) -> axum::response::Response {
        let n = {
            let mut at = f.at.lock().unwrap();
            at.push(Instant::now());
            at.len()
        };
        assert_eq!(reference, "t1");
        if n == 1 {
            return match f.retry_after {
                Some(after) => {
                    (StatusCode::TOO_MANY_REQUESTS, [("retry-after", after)]).into_response()
                }
                None => StatusCode::SERVICE_UNAVAILABLE.into_response(),
            };
        }
        let digest = registry::manifest::sha256_digest(BODY.as_bytes());
        (
            [
                ("content-type", OCI_INDEX.to_owned()),
                ("docker-content-digest", digest),
            ],
            BODY,
        )
            .into_response()
    }
    async fn serve(fake: Fake) -> String {
        let app = axum::Router::new()
            .route(
                "/v2/_catalog",
                axum::routing::get(|| async { json!({"repositories": ["team/app"]}).to_string() }),
            )
            .route(
                "/v2/{ns}/{repo}/tags/list",
                axum::routing::get(|| async { json!({"tags": ["t1"]}).to_string() }),
            )
            .route(
                "/v2/{ns}/{repo}/manifests/{reference}",
                axum::routing::get(manifest),
            )
            .with_state(fake);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        base
    }
    for (retry_after, at_least, below) in [
        (Some("2"), Duration::from_secs(2), Duration::from_secs(4)),
        (
            None,
            Duration::from_millis(100),
            Duration::from_millis(1500),
        ),
    ] {
        let h = sqlite_with_fixture().await;
        let fake = Fake {
            retry_after,
            ..Fake::default()
        };
        let base = serve(fake.clone()).await;
        let client = RegistryClient::new(&RegistryConfig::new(&base)).unwrap();
        let r = registry::sync::run(&h.store, &client, &SyncOptions::default())
            .await
            .unwrap();
        assert_eq!((r.added, r.manifests), (1, 1), "{r:?}");
        let at = fake.at.lock().unwrap().clone();
        assert_eq!(at.len(), 2, "one refusal, one retry");
        let waited = at[1] - at[0];
        assert!(
            waited >= at_least && waited < below,
            "Retry-After {retry_after:?}: retried after {waited:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Measurements (run by hand; see the report in the PR)

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Manifest PUT -> tag visible in swrd's list, over N pushes (default 1000,
/// `SWRD_BENCH_PUSHES`). Polls the list (filtered to the tag) right after
/// each PUT returns.
///
/// `SWRD_TEST_REGISTRY=/usr/bin/docker-registry cargo test --release -p swrd
///  --test it -- --ignored --nocapture registry::push_latency`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement"]
async fn push_latency() {
    let Some(bin) = common::external("SWRD_TEST_REGISTRY", "a docker-registry binary") else {
        return;
    };
    let n: usize = std::env::var("SWRD_BENCH_PUSHES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let h = sqlite_with_fixture().await;
    let port = common::free_port();
    let swrd = Swrd::start(&h.store, &format!("http://127.0.0.1:{port}"), true).await;
    let reg = TestRegistry::start(&bin, port, Some(&swrd.events_url()), None).await;
    let p = Pusher::new(&reg.base);
    let blobs = p.blobs("team/app").await;
    let mut latencies = Vec::with_capacity(n);
    for i in 0..n {
        let tag = format!("t-{i:06}");
        let body = Pusher::image(&blobs, DOCKER_V2, &tag);
        p.put("team/app", &tag, DOCKER_V2, &body).await;
        let start = Instant::now();
        let query = format!("?tag={tag}");
        loop {
            if swrd
                .list_query("app", &query)
                .await
                .is_some_and(|l| l.len() == 1)
            {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{tag} never arrived"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        latencies.push(start.elapsed());
    }
    latencies.sort();
    eprintln!(
        "push -> visible over {n} pushes: p50 {:?}, p99 {:?}, max {:?}",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies[n - 1]
    );
}

/// `sync` of one repository with N tags (default 10,000,
/// `SWRD_BENCH_SYNC_TAGS`), all on one small manifest: the first sync (every
/// tag added) and a second (nothing changed).
///
/// `SWRD_TEST_REGISTRY=/usr/bin/docker-registry cargo test --release -p swrd
///  --test it -- --ignored --nocapture registry::large_sync`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement"]
async fn large_sync() {
    let Some(bin) = common::external("SWRD_TEST_REGISTRY", "a docker-registry binary") else {
        return;
    };
    let n: usize = std::env::var("SWRD_BENCH_SYNC_TAGS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let h = sqlite_with_fixture().await;
    let reg = TestRegistry::start(&bin, common::free_port(), None, None).await;
    let p = Pusher::new(&reg.base);
    let blobs = p.blobs("team/big").await;
    let body = Pusher::image(&blobs, DOCKER_V2, "big");
    let start = Instant::now();
    futures_util::StreamExt::for_each_concurrent(futures_util::stream::iter(0..n), 8, |i| {
        let (p, body) = (p.clone(), body.clone());
        async move {
            p.put("team/big", &format!("t-{i:06}"), DOCKER_V2, &body)
                .await;
        }
    })
    .await;
    eprintln!("pushed {n} tags in {:.1}s", start.elapsed().as_secs_f64());
    let client = RegistryClient::new(&RegistryConfig::new(&reg.base)).unwrap();
    let options = SyncOptions::default();
    let r = registry::sync::run(&h.store, &client, &options)
        .await
        .unwrap();
    assert_eq!(r.added as usize, n);
    eprintln!("first sync: {:.2}s ({:?})", r.seconds, r);
    let r = registry::sync::run(&h.store, &client, &options)
        .await
        .unwrap();
    assert_eq!(r.unchanged as usize, n);
    eprintln!("second sync (no change): {:.2}s", r.seconds);
}
