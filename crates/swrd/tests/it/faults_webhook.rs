//! A crash in the middle of a webhook envelope: `swrd serve` is SIGKILLed
//! while it applies one large Distribution envelope; after a restart on the
//! same SQLite file the store holds all of the envelope or none of it, and
//! the registry's redelivery (the same envelope again) completes it.
//!
//! Needs a real CNCF Distribution `docker-registry` (named by
//! `SWRD_TEST_REGISTRY`; skipped locally without it, required under
//! `CI=true`) to serve the pushed manifest swrd fetches for each event.
//!
//! The kill is aimed, not guessed: the registry's access log (its stdout)
//! counts swrd's manifest fetches, and swrd is killed once all of them have
//! been served (the fetches come before the one store transaction), plus
//! `SWRD_TEST_KILL_AFTER_MS` (default 300; applying the envelope takes ~2 s
//! in a debug build on 2 cores). Where the kill landed is printed; the
//! assertion holds either way.

use crate::common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::registry::{DOCKER_V2, Pusher, SECRET, TestRegistry};
use serde_json::{Value, json};
use swrd::registry;

const DOMAIN: &str = "0503dda878000fed0f75c0096d70a960";
const TOKEN: &str = "tok-acme";
/// Events in the envelope: as many as fit under the webhook's body limit
/// (axum's default 2 MiB) with a margin.
const N: usize = 6_000;

/// Pushes one image manifest to `ns/app:seed`; returns (digest, size).
async fn push_image(p: &Pusher) -> (String, usize) {
    let blobs = p.blobs("ns/app").await;
    let body = Pusher::image(&blobs, DOCKER_V2, "seed");
    (p.put("ns/app", "seed", DOCKER_V2, &body).await, body.len())
}

/// One envelope: `N` pushes of the same manifest to tags `t00000`…, distinct
/// ids and timestamps.
fn envelope(digest: &str, size: usize) -> String {
    let events: Vec<Value> = (0..N)
        .map(|i| {
            json!({
                "id": format!("crash-{i:05}"),
                "timestamp": format!("2026-01-01T00:00:00.{i:09}Z"),
                "action": "push",
                "target": {
                    "mediaType": DOCKER_V2,
                    "digest": digest,
                    "size": size,
                    "repository": "ns/app",
                    "tag": format!("t{i:05}"),
                },
            })
        })
        .collect();
    json!({ "events": events }).to_string()
}

async fn post(http: &reqwest::Client, base: &str, body: String) -> reqwest::Result<(u16, Value)> {
    let r = http
        .post(format!("{base}{}", registry::webhook::PATH))
        .header("authorization", format!("Bearer {SECRET}"))
        .header(
            "content-type",
            "application/vnd.docker.distribution.events.v1+json",
        )
        .body(body)
        .send()
        .await?;
    let status = r.status().as_u16();
    Ok((status, r.json().await.unwrap_or(Value::Null)))
}

/// Tags of `ns/app` swrd lists (the `Content-Range` total; 0 on a 404).
async fn count_tags(http: &reqwest::Client, base: &str) -> u64 {
    let r = http
        .get(format!(
            "{base}/v2/manage/namespaces/ns/repos/app/tags?offset=0&limit=1"
        ))
        .header("x-auth-token", TOKEN)
        .send()
        .await
        .unwrap();
    if r.status() == 404 {
        return 0;
    }
    assert_eq!(r.status(), 200);
    let range = r.headers()["content-range"].to_str().unwrap().to_owned();
    let (_, total) = range.rsplit_once('/').expect("offset-end/total");
    total.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_envelope_is_all_or_nothing() {
    let Some(bin) = common::external("SWRD_TEST_REGISTRY", "a docker-registry binary") else {
        return;
    };
    swr_api::tls::install_default_provider();
    let kill_after = Duration::from_millis(
        std::env::var("SWRD_TEST_KILL_AFTER_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(300),
    );
    let reg = TestRegistry::start(&bin, common::free_port(), None, None).await;
    let (digest, size) = push_image(&Pusher::new(&reg.base)).await;
    let dir = tempfile::tempdir().unwrap();
    let fixture = dir.path().join("fixture.yaml");
    std::fs::write(
        &fixture,
        format!("domains:\n  - {{id: \"{DOMAIN}\", name: acme, tokens: [{TOKEN}]}}\n"),
    )
    .unwrap();
    let db = format!("sqlite://{}", dir.path().join("swrd.db").display());
    let args = [
        "--fixtures",
        fixture.to_str().unwrap(),
        "--registry",
        &reg.base,
        "--registry-webhook-secret",
        SECRET,
        "--registry-default-domain",
        DOMAIN,
    ];
    let body = envelope(&digest, size);
    let http = reqwest::Client::new();

    let mut swrd = common::Swrd::start(Some(&db), &args);
    let started = Instant::now();
    let in_flight = tokio::spawn({
        let (http, base, body) = (http.clone(), swrd.base.clone(), body.clone());
        async move {
            let r = post(&http, &base, body).await;
            (r, started.elapsed())
        }
    });
    // Every manifest served: swrd is past the fetches, in (or after) the
    // one transaction that applies the envelope.
    let deadline = Instant::now() + Duration::from_secs(120);
    while reg.manifest_requests("GET", "ns/app") < N && !in_flight.is_finished() {
        assert!(Instant::now() < deadline, "the fetches never finished");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let fetched_at = started.elapsed();
    tokio::time::sleep(kill_after).await;
    let status = Command::new("kill")
        .args(["-KILL", &swrd.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let killed_at = started.elapsed();
    swrd.wait();
    let (answer, answered_at) = in_flight.await.unwrap();
    let killed_log = swrd.logs();
    drop(swrd);

    let swrd = common::Swrd::start(Some(&db), &args);
    let after_crash = count_tags(&http, &swrd.base).await;
    eprintln!(
        "{} bytes; fetches done at {fetched_at:?}, killed at {killed_at:?}; POST {}; \
         after restart {after_crash} of {N} tags",
        body.len(),
        match &answer {
            Ok((s, _)) => format!("completed ({s}) at {answered_at:?}, before the kill"),
            Err(_) => "cut off by the kill".to_owned(),
        }
    );
    assert!(
        after_crash == 0 || after_crash == N as u64,
        "partial envelope after the crash: {after_crash} of {N}\n{killed_log}"
    );

    // The registry redelivers: the envelope completes.
    let (status, summary) = post(&http, &swrd.base, body).await.unwrap();
    assert_eq!(status, 200, "{summary}\n{}", swrd.logs());
    assert_eq!(
        summary["applied"].as_u64().unwrap() + summary["duplicate"].as_u64().unwrap(),
        N as u64,
        "{summary}"
    );
    assert_eq!(count_tags(&http, &swrd.base).await, N as u64);
}
