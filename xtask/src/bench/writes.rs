//! The scenarios where a cache can hide a cliff: reads while writes land
//! (through the registry webhook, swrd's real write path), and a cold start
//! with the load already there.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::{Measured, NAMESPACE, Plan, Server, TOKEN, measure, merge};

/// The webhook secret swrd is started with.
const SECRET: &str = "bench-webhook-secret";
/// Pushes per second while reads are measured.
const WRITES_PER_SEC: u64 = 10;

/// One manifest, its digest and media type: what a push event names.
fn manifest() -> (Vec<u8>, String) {
    let body = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1000,
                   "digest": format!("sha256:{}", "c".repeat(64))},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 2000,
                    "digest": format!("sha256:{}", "d".repeat(64))}],
    }))
    .expect("JSON");
    let digest = format!("sha256:{}", super::sha256_hex(&body));
    (body, digest)
}

/// A registry stand-in for swrd's manifest fetches: every manifest is the
/// same one, so the bench measures swrd, not a registry.
struct ManifestStub {
    base: String,
    _runtime: tokio::runtime::Runtime,
}

impl ManifestStub {
    fn start() -> Result<ManifestStub> {
        use axum::http::header::CONTENT_TYPE;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let base = format!("http://{}", listener.local_addr()?);
        let (body, digest) = manifest();
        let app = axum::Router::new().fallback(move || {
            let (body, digest) = (body.clone(), digest.clone());
            async move {
                (
                    [
                        (
                            CONTENT_TYPE,
                            "application/vnd.docker.distribution.manifest.v2+json".to_owned(),
                        ),
                        (
                            axum::http::HeaderName::from_static("docker-content-digest"),
                            digest,
                        ),
                    ],
                    body,
                )
            }
        });
        runtime.spawn(async move { axum::serve(listener, app).await });
        Ok(ManifestStub {
            base,
            _runtime: runtime,
        })
    }
}

/// Pushes a new tag of `repository` through swrd's webhook every
/// `1 / WRITES_PER_SEC` s until dropped; counts the failures.
struct Writer {
    stop: Arc<AtomicBool>,
    failed: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<u64>>,
}

impl Writer {
    fn start(swrd: &str, repository: &str, first: u64) -> Writer {
        let (stop, failed) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicU64::new(0)),
        );
        let url = format!("{swrd}/registry/events");
        let name = format!("{NAMESPACE}/{repository}");
        let (s, f) = (stop.clone(), failed.clone());
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            swr_api::tls::install_default_provider();
            let client = reqwest::Client::new();
            let (_, digest) = manifest();
            let mut n = first;
            let started = Instant::now();
            while !s.load(Ordering::Relaxed) {
                n += 1;
                let event = serde_json::json!({"events": [{
                    "id": format!("bench-{n}"),
                    "timestamp": swr_api::time::format_rfc3339(unix_now()).unwrap_or_default(),
                    "action": "push",
                    "target": {"mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                               "digest": digest, "repository": name, "tag": format!("w{n}")},
                }]});
                let ok = runtime.block_on(async {
                    client
                        .post(&url)
                        .bearer_auth(SECRET)
                        .header(
                            "content-type",
                            "application/vnd.docker.distribution.events.v1+json",
                        )
                        .body(event.to_string())
                        .send()
                        .await
                        .is_ok_and(|r| r.status().is_success())
                });
                if !ok {
                    f.fetch_add(1, Ordering::Relaxed);
                }
                let next = Duration::from_millis((n - first) * 1000 / WRITES_PER_SEC);
                std::thread::sleep(next.saturating_sub(started.elapsed()));
            }
            n
        });
        Writer {
            stop,
            failed,
            thread: Some(thread),
        }
    }

    /// Stops; returns the last tag number used and how many pushes failed.
    fn finish(mut self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        let last = self.thread.take().map_or(0, |t| t.join().unwrap_or(0));
        (last, self.failed.load(Ordering::Relaxed))
    }
}

/// Each page scenario measured without writes and then with
/// [`WRITES_PER_SEC`] pushes landing on the same repository, side by side.
pub(super) fn reads_while_writing(
    plan: &Plan,
    swrd_bin: &std::path::Path,
    backend: &str,
    database: &str,
    repositories: &[(String, u64)],
    results: &mut Vec<Measured>,
    notes: &mut Vec<String>,
) -> Result<()> {
    let stub = ManifestStub::start()?;
    let extra = [
        "--registry",
        stub.base.as_str(),
        "--registry-webhook-secret",
        SECRET,
    ];
    let server = Server::start_at(swrd_bin, database, "127.0.0.1:0", &extra)?;
    let mut tag = 0;
    for (repository, n) in repositories {
        for offset in [0, n / 2, n.saturating_sub(100)] {
            let url = format!(
                "{}/v2/manage/namespaces/{NAMESPACE}/repos/{repository}/tags?offset={offset}&limit=100",
                server.base
            );
            let quiet = format!("{backend}: {n} tags, offset {offset}, no writes");
            let busy = format!("{backend}: {n} tags, offset {offset}, {WRITES_PER_SEC} writes/s");
            // Both sides of the ratio are steady state: the cold start has its
            // own row ([`cold_start`]), so the index is built before either.
            super::warm_up(&server, &url)?;
            for _ in 0..plan.repeat {
                merge(results, measure(plan, &quiet, &url)?);
                let writer = Writer::start(&server.base, repository, tag);
                // Let the writes start landing before measuring.
                std::thread::sleep(Duration::from_millis(300));
                let m = measure(plan, &busy, &url);
                let (last, failed) = writer.finish();
                tag = last;
                if failed > 0 {
                    notes.push(format!("{busy}: {failed} pushes failed"));
                }
                merge(results, m?);
            }
            let get = |name: &str| {
                results
                    .iter()
                    .find(|r| r.name == name)
                    .cloned()
                    .context("measured")
            };
            let (q, b) = (get(&quiet)?, get(&busy)?);
            notes.push(format!(
                "{backend}, {n} tags, offset {offset}: with {WRITES_PER_SEC} writes/s {:.0} rps ({:.2}x without), p99 {:.2} ms (without: {:.2} ms)",
                Measured::median(&b.rps),
                Measured::median(&b.rps) / Measured::median(&q.rps).max(1.0),
                Measured::median(&b.p99_ms),
                Measured::median(&q.p99_ms),
            ));
        }
    }
    Ok(())
}

/// swrd started on the existing database while `connections` clients are
/// already asking for a deep page: a per-second timeline from the first
/// answer (answers, errors, slowest), nothing warmed first.
pub(super) fn cold_start(
    plan: &Plan,
    swrd_bin: &std::path::Path,
    backend: &str,
    database: &str,
    offset: u64,
) -> Result<Vec<String>> {
    swr_api::tls::install_default_provider();
    let port = super::free_port()?;
    let url = format!(
        "http://127.0.0.1:{port}/v2/manage/namespaces/{NAMESPACE}/repos/big/tags?offset={offset}&limit=100"
    );
    let seconds: u64 = if plan.quick { 6 } else { 12 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let first = Arc::new(std::sync::OnceLock::<Instant>::new());
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..plan.connections {
        let (url, first, stop) = (url.clone(), first.clone(), stop.clone());
        tasks.push(runtime.spawn(async move {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .expect("client");
            // (seconds since the first answer, latency ms, ok)
            let mut seen: Vec<(u64, f64, bool)> = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let sent = Instant::now();
                match client.get(&url).header("X-Auth-Token", TOKEN).send().await {
                    Ok(r) => {
                        let ok = r.status().is_success() && r.bytes().await.is_ok();
                        let at = *first.get_or_init(Instant::now);
                        let secs = sent.saturating_duration_since(at).as_secs();
                        seen.push((secs, sent.elapsed().as_secs_f64() * 1000.0, ok));
                    }
                    // Not listening yet: the load is waiting, like a real one.
                    Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                }
            }
            seen
        }));
    }
    let started = Instant::now();
    let server = Server::start_at(swrd_bin, database, &format!("127.0.0.1:{port}"), &[]);
    let server = server.context("starting swrd for the cold start")?;
    let deadline = Instant::now() + Duration::from_secs(seconds + 30);
    while first
        .get()
        .is_none_or(|f| f.elapsed() < Duration::from_secs(seconds))
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for t in tasks {
        all.extend(runtime.block_on(t)?);
    }
    drop(server);
    let up = first
        .get()
        .map(|f| f.duration_since(started).as_secs_f64())
        .unwrap_or(f64::NAN);
    let mut lines = vec![format!(
        "{backend}: cold start under load ({} connections, offset {offset}, nothing warmed): first answer {up:.2} s after swrd was started; per second after it:",
        plan.connections
    )];
    let worst = all.iter().map(|s| s.1).fold(0.0, f64::max);
    let errors = all.iter().filter(|s| !s.2).count();
    for sec in 0..seconds {
        let in_sec: Vec<&(u64, f64, bool)> = all.iter().filter(|s| s.0 == sec).collect();
        let slowest = in_sec.iter().map(|s| s.1).fold(0.0, f64::max);
        lines.push(format!(
            "  s{sec}: {} answers, {} errors, slowest {slowest:.0} ms",
            in_sec.len(),
            in_sec.iter().filter(|s| !s.2).count()
        ));
    }
    lines.push(format!(
        "  slowest request overall {worst:.0} ms, {errors} errors"
    ));
    Ok(lines)
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
