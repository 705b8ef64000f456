//! Two `swrd serve` processes on one PostgreSQL database, as replicas behind a
//! load balancer: what is written through one is what the other lists, on the
//! very next request. swrd caches pages (`swrd::listing`), so the other
//! tests write while a replica's cache is warm, and through both replicas
//! while both serve, on both backends (two processes can share one SQLite
//! file too).
//!
//! Needs `SWRD_TEST_DATABASE_URL`, an admin URL of a PostgreSQL server (a
//! fresh database is created and dropped); skipped without it, except under
//! `CI=true`.

use crate::common;

use std::num::NonZeroU32;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use common::{Harness, Kind, Swrd};
use swr_api::client::{Client, Error};
use swr_api::types::ShowReposTagResp;

const TOKEN: &str = "replica-token";
const DOMAIN: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";

/// The first state: three tags of `team/app`.
const SEED: &str = r#"
domains:
  - id: "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
    name: replicas
    tokens: ["replica-token"]
namespaces:
  - name: team
    domain: "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
    repositories:
      - name: app
        tags:
          - {tag: v1, digest: "sha256:1111111111111111111111111111111111111111111111111111111111111111", size: 100, updated: "2024-01-01T00:00:00Z"}
          - {tag: v2, digest: "sha256:2222222222222222222222222222222222222222222222222222222222222222", size: 200, updated: "2024-02-01T00:00:00Z"}
          - {tag: latest, digest: "sha256:2222222222222222222222222222222222222222222222222222222222222222", size: 200, updated: "2024-03-01T00:00:00Z"}
"#;

/// The second write: `v1` pushed again (new digest and time), `v3` added, and a
/// repository that did not exist before.
const UPDATE: &str = r#"
domains:
  - id: "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
    name: replicas
    tokens: ["replica-token"]
namespaces:
  - name: team
    domain: "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
    repositories:
      - name: app
        tags:
          - {tag: v1, digest: "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", size: 111, updated: "2025-06-01T00:00:00Z"}
          - {tag: v3, digest: "sha256:3333333333333333333333333333333333333333333333333333333333333333", size: 300, updated: "2025-05-01T00:00:00Z"}
      - name: tools/new
        tags:
          - {tag: "1.0", digest: "sha256:4444444444444444444444444444444444444444444444444444444444444444", updated: "2025-01-01T00:00:00Z"}
"#;

#[tokio::test]
async fn a_write_through_one_replica_is_listed_by_the_other_on_the_next_request() {
    let Some(_admin) = common::external("SWRD_TEST_DATABASE_URL", "PostgreSQL") else {
        return;
    };
    // Creates the database (dropped when `harness` is) and migrates it.
    let harness = Harness::new(Kind::Postgres)
        .await
        .expect("SWRD_TEST_DATABASE_URL is set");
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed.yaml");
    let update = dir.path().join("update.yaml");
    std::fs::write(&seed, SEED).unwrap();
    std::fs::write(&update, UPDATE).unwrap();

    // Replica A imports the seed as it starts; B starts on the same database.
    let a = Swrd::start(Some(&harness.url), &["--fixtures", seed.to_str().unwrap()]);
    let b = Swrd::start(Some(&harness.url), &[]);
    let (a_client, b_client) = (client(&a), client(&b));

    // B sees A's import, and B's answers are A's.
    let (range, tags) = list(&b_client, "app", None).await;
    assert_eq!(range, "0-3/3", "B after the seed");
    assert_eq!(names(&tags), ["latest", "v2", "v1"], "B after the seed");
    assert_eq!(tags[2].digest, format!("sha256:{}", "1".repeat(64)));
    assert!(tags.iter().all(|t| t.domain_id == DOMAIN), "{tags:?}");
    assert_eq!(list(&a_client, "app", None).await, (range, tags), "A vs B");
    // Pages too, so whatever B might keep of a paged answer is exercised.
    let (range, page) = list(&b_client, "app", Some((0, 2))).await;
    assert_eq!(range, "0-2/3", "B, first page");
    assert_eq!(names(&page), ["latest", "v2"]);
    // A repository that does not exist yet: B says 404 (and must not remember it).
    assert_eq!(not_found(&b_client, "tools$new").await, 404);

    // Another write, by another process (`swrd import`, the CLI).
    import(&harness.url, &update);

    // B's very next requests show the new state.
    let (range, tags) = list(&b_client, "app", None).await;
    assert_eq!(range, "0-4/4", "B after the update");
    assert_eq!(
        names(&tags),
        ["v1", "v3", "latest", "v2"],
        "B after the update: v1 was pushed again, v3 added"
    );
    assert_eq!(
        tags[0].digest,
        format!("sha256:{}", "a".repeat(64)),
        "v1's new digest"
    );
    assert_eq!(tags[0].size, 111);
    assert_eq!(tags[0].updated, "2025-06-01T00:00:00Z");
    let (range, page) = list(&b_client, "app", Some((0, 2))).await;
    assert_eq!(range, "0-2/4", "B, first page after the update");
    assert_eq!(names(&page), ["v1", "v3"]);
    let (range, new) = list(&b_client, "tools$new", None).await;
    assert_eq!(range, "0-1/1", "B, the new repository");
    assert_eq!(names(&new), ["1.0"]);
    assert_eq!(new[0].path, "swr.local/team/tools/new:1.0");

    // And A agrees.
    assert_eq!(
        list(&a_client, "app", None).await,
        list(&b_client, "app", None).await,
        "A vs B after the update"
    );

    // The same import again changes nothing anyone sees.
    import(&harness.url, &update);
    let (range, again) = list(&b_client, "app", None).await;
    assert_eq!(range, "0-4/4", "B after re-importing the update");
    assert_eq!(again, tags, "re-importing the same file");
}

on_both_backends!(
    a_warm_page_cache_never_serves_a_page_from_before_a_write,
    writes_through_both_replicas_while_both_serve,
);

/// Replica A's page cache is warm (its `/metrics` counts cache hits) each time
/// another process writes; A's next answer already has the write.
async fn a_warm_page_cache_never_serves_a_page_from_before_a_write(harness: Harness) {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed.yaml");
    std::fs::write(&seed, SEED).unwrap();
    let a = Swrd::start(Some(&harness.url), &["--fixtures", seed.to_str().unwrap()]);
    let a_client = client(&a);
    let hits = || async {
        common::metrics(&a.base)
            .await
            .lines()
            .find_map(|l| l.strip_prefix("swrd_page_cache_total{outcome=\"hit\"} "))
            .map_or(0, |n| n.trim().parse::<u64>().unwrap())
    };
    for round in 0..6u32 {
        // Warm: ask until A answers from its cache.
        let before = hits().await;
        let mut warm = false;
        for _ in 0..200 {
            let (range, _) = list(&a_client, "app", Some((0, 2))).await;
            assert_eq!(
                range,
                format!("0-2/{}", 3 + round),
                "round {round}, warming"
            );
            if hits().await > before {
                warm = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(warm, "round {round}: A never answered from its page cache");

        // Another process writes: a tag newer than all, and (after the first
        // round) a change to the tag of the previous round.
        let file = dir.path().join(format!("round{round}.yaml"));
        let mut tags = format!(
            "          - {{tag: n{round}, digest: \"sha256:{}\", size: {round}, updated: \"2030-01-0{}T00:00:00Z\"}}\n",
            "c".repeat(64),
            round + 1
        );
        if round > 0 {
            tags.push_str(&format!(
                "          - {{tag: n{}, digest: \"sha256:{}\", size: 999, updated: \"2030-01-0{}T00:00:00Z\"}}\n",
                round - 1,
                "d".repeat(64),
                round
            ));
        }
        std::fs::write(
            &file,
            format!(
                "domains:\n  - id: \"{DOMAIN}\"\n    name: replicas\n    tokens: [\"{TOKEN}\"]\nnamespaces:\n  - name: team\n    domain: \"{DOMAIN}\"\n    repositories:\n      - name: app\n        tags:\n{tags}"
            ),
        )
        .unwrap();
        import(&harness.url, &file);

        // A's very next page has it.
        let (range, page) = list(&a_client, "app", Some((0, 2))).await;
        assert_eq!(
            range,
            format!("0-2/{}", 4 + round),
            "round {round}: total after the write"
        );
        assert_eq!(
            page[0].tag,
            format!("n{round}"),
            "round {round}: the new tag first"
        );
        assert_eq!(page[0].size, i64::from(round), "round {round}");
        if round > 0 {
            assert_eq!(page[1].tag, format!("n{}", round - 1), "round {round}");
            assert_eq!(
                page[1].size, 999,
                "round {round}: the overwritten tag's new size"
            );
        }
        // And an offset deep into the repository agrees with the total.
        let (range, _) = list(&a_client, "app", Some((3, 5))).await;
        assert!(
            range.ends_with(&format!("/{}", 4 + round)),
            "round {round}: {range}"
        );
    }
}

/// Two replicas serve while pushes land through both (the registry webhook,
/// alternating): every read that starts after a push was acknowledged, by
/// either replica, lists it with the right total, on both replicas; at the
/// end both list the same tags.
async fn writes_through_both_replicas_while_both_serve(harness: Harness) {
    const PUSHES: usize = 40;
    let registry = ManifestStub::start().await;
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed.yaml");
    std::fs::write(&seed, SEED).unwrap();
    let feed = [
        "--registry",
        registry.base.as_str(),
        "--registry-webhook-secret",
        WEBHOOK_SECRET,
    ];
    let mut with_seed = vec!["--fixtures", seed.to_str().unwrap()];
    with_seed.extend(feed);
    let a = Swrd::start(Some(&harness.url), &with_seed);
    let b = Swrd::start(Some(&harness.url), &feed);
    let acked = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));

    let mut readers = Vec::new();
    for (replica, base) in [("A", a.base.clone()), ("B", b.base.clone())] {
        for reader in 0..2 {
            let (acked, done) = (acked.clone(), done.clone());
            let client = Client::new(&base).expect("a client");
            readers.push(tokio::spawn(async move {
                let mut reads = 0;
                while !done.load(Ordering::SeqCst) {
                    let before = acked.load(Ordering::SeqCst);
                    let (range, page) = list(&client, "app", Some((0, 100))).await;
                    let total: usize = range.rsplit('/').next().unwrap().parse().unwrap();
                    assert!(
                        total >= 3 + before,
                        "replica {replica}, reader {reader}: {range} after {before} acknowledged pushes"
                    );
                    let listed = names(&page);
                    for n in 0..before {
                        assert!(
                            listed.contains(&format!("w{n}").as_str()),
                            "replica {replica}, reader {reader}: w{n} was acknowledged before the read, not listed: {listed:?}"
                        );
                    }
                    // A deep page agrees with the total of the same moment or later.
                    let (range, _) = list(&client, "app", Some((2, 5))).await;
                    let deep: usize = range.rsplit('/').next().unwrap().parse().unwrap();
                    assert!(deep >= total, "replica {replica}: {range} after a total of {total}");
                    reads += 1;
                }
                reads
            }));
        }
    }

    let http = reqwest::Client::new();
    for n in 0..PUSHES {
        let base = if n % 2 == 0 { &a.base } else { &b.base };
        let event = serde_json::json!({"events": [{
            "id": format!("replicas-{n}"),
            "timestamp": format!("2031-01-01T00:{:02}:{:02}Z", n / 60, n % 60),
            "action": "push",
            "target": {"mediaType": MANIFEST_TYPE, "digest": registry.digest,
                       "repository": "team/app", "tag": format!("w{n}")},
        }]});
        let response = http
            .post(format!("{base}/registry/events"))
            .bearer_auth(WEBHOOK_SECRET)
            .header(
                "content-type",
                "application/vnd.docker.distribution.events.v1+json",
            )
            .body(event.to_string())
            .send()
            .await
            .expect("the webhook answers");
        assert!(
            response.status().is_success(),
            "push {n}: {}",
            response.status()
        );
        acked.store(n + 1, Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    done.store(true, Ordering::SeqCst);
    for reader in readers {
        let reads = reader.await.expect("a reader");
        assert!(reads > 0, "a reader never finished a read");
    }

    let (range_a, all_a) = list(&client(&a), "app", None).await;
    let (range_b, all_b) = list(&client(&b), "app", None).await;
    assert_eq!(range_a, format!("0-{0}/{0}", 3 + PUSHES));
    assert_eq!((range_a, names(&all_a)), (range_b, names(&all_b)));
}

const WEBHOOK_SECRET: &str = "replicas-webhook-secret";
const MANIFEST_TYPE: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// A registry that answers every manifest fetch with one manifest.
struct ManifestStub {
    base: String,
    digest: String,
}

impl ManifestStub {
    async fn start() -> ManifestStub {
        use sha2::Digest as _;
        let body = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1000,
                       "digest": format!("sha256:{}", "c".repeat(64))},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                        "size": 2000, "digest": format!("sha256:{}", "d".repeat(64))}],
        }))
        .unwrap();
        let digest = format!("sha256:{}", hex::encode(sha2::Sha256::digest(&body)));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let header = digest.clone();
        let app = axum::Router::new().fallback(move || {
            let (body, digest) = (body.clone(), header.clone());
            async move {
                (
                    [
                        ("content-type", MANIFEST_TYPE.to_owned()),
                        ("docker-content-digest", digest),
                    ],
                    body,
                )
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        ManifestStub { base, digest }
    }
}

fn client(swrd: &Swrd) -> Client {
    Client::new(&swrd.base).expect("a client")
}

fn names(tags: &[ShowReposTagResp]) -> Vec<&str> {
    tags.iter().map(|t| t.tag.as_str()).collect()
}

/// Lists `team/REPO` (`$` for `/`) with the token; `page` is `(offset, limit)`.
async fn list(
    client: &Client,
    repository: &str,
    page: Option<(i64, u32)>,
) -> (String, Vec<ShowReposTagResp>) {
    let mut request = client
        .list_repository_tags()
        .namespace("team")
        .repository(repository)
        .x_auth_token(TOKEN);
    if let Some((offset, limit)) = page {
        request = request
            .offset(offset)
            .limit(NonZeroU32::new(limit).unwrap());
    }
    match request.send().await {
        Ok(response) => {
            let range = response
                .headers()
                .get("content-range")
                .expect("a Content-Range header")
                .to_str()
                .unwrap()
                .to_owned();
            (range, response.into_inner())
        }
        Err(e) => panic!("listing team/{repository}: {}", describe(e)),
    }
}

/// The status of a listing that must fail with `SVCSTG.SWR.4040010`.
async fn not_found(client: &Client, repository: &str) -> u16 {
    match client
        .list_repository_tags()
        .namespace("team")
        .repository(repository)
        .x_auth_token(TOKEN)
        .send()
        .await
    {
        Ok(r) => panic!("team/{repository} exists: {:?}", names(&r.into_inner())),
        Err(Error::ErrorResponse(rv)) => {
            let status = rv.status().as_u16();
            let body = rv.into_inner();
            assert_eq!(body.error_code, "SVCSTG.SWR.4040010", "{}", body.error_msg);
            status
        }
        Err(e) => panic!("listing team/{repository}: {}", describe(e)),
    }
}

fn describe(e: Error<swr_api::types::ErrorResponse>) -> String {
    match e {
        Error::ErrorResponse(rv) => {
            let status = rv.status();
            let body = rv.into_inner();
            format!("{status}: {} {}", body.error_code, body.error_msg)
        }
        other => other.to_string(),
    }
}

/// `swrd import FILE --database URL`, as an operator would run it.
fn import(database: &str, file: &Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_swrd"))
        .args(["import", file.to_str().unwrap(), "--database", database])
        .env("SWRD_LOG", "warn")
        .output()
        .expect("run swrd import");
    assert!(
        out.status.success(),
        "swrd import {} failed: {}\n{}",
        file.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
