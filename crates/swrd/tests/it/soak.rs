//! A bounded loopback soak: two `swrd serve` replicas on one PostgreSQL
//! database, a few concurrent clients sending a mix of good pages, filters
//! (both query forms), bad requests and unauthenticated ones, while tags are
//! pushed (`swrd import` of small fixture files, as another process) and each
//! is checked through a replica, alternating. Asserts: every answer is exactly
//! the expected one (no 5xx, no surprise status or code), no RSS growth trend
//! in either replica, and every pushed tag listed by both at the end.
//!
//! `SWRD_SOAK_SECS` sets the duration (default 30; the full run uses 300).
//! Needs `SWRD_TEST_DATABASE_URL`; skipped without it, except under `CI=true`.

use crate::common;

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{Harness, Kind, Swrd};
use fastrand::Rng;
use serde_json::Value;

const TOKEN: &str = "soak-token-0123456789";
const DOMAIN: &str = "50a450a450a450a450a450a450a450a4";
/// Tags `t0000`…`t0199` of `soak/app` (byte order = number order).
const SEEDED: u64 = 200;
const CLIENTS: usize = 4;

fn seed_yaml() -> String {
    let mut y = format!(
        "domains:\n  - id: \"{DOMAIN}\"\n    name: soak\n    tokens: [\"{TOKEN}\"]\n\
         namespaces:\n  - name: soak\n    domain: \"{DOMAIN}\"\n    repositories:\n\
         \x20     - name: app\n        tags:\n"
    );
    for i in 0..SEEDED {
        writeln!(
            y,
            "          - {{tag: t{i:04}, digest: \"sha256:{:064x}\", size: {}, updated: \"2024-01-01T00:{:02}:{:02}Z\"}}",
            i + 1,
            1000 + i,
            (i / 60) % 60,
            i % 60
        )
        .unwrap();
    }
    y
}

fn push_yaml(n: u64) -> String {
    format!(
        "domains:\n  - id: \"{DOMAIN}\"\n    name: soak\n    tokens: [\"{TOKEN}\"]\n\
         namespaces:\n  - name: soak\n    domain: \"{DOMAIN}\"\n    repositories:\n\
         \x20     - name: pushed\n        tags:\n\
         \x20         - {{tag: push-{n:05}, digest: \"sha256:{:064x}\"}}\n",
        n + 0x1000
    )
}

/// `swrd import FILE --database URL`, as an operator (or a registry feed) would.
fn import(database: &str, file: &Path) -> Result<(), String> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_swrd"))
        .args(["import", file.to_str().unwrap(), "--database", database])
        .env("SWRD_LOG", "warn")
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "swrd import {}: {}\n{}",
            file.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn vm_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[derive(Default)]
struct Tally {
    requests: AtomicU64,
    ok: AtomicU64,
    expected_errors: AtomicU64,
    server_errors: AtomicU64,
    unexpected: std::sync::Mutex<Vec<String>>,
}

impl Tally {
    fn unexpected(&self, what: String) {
        let mut u = self.unexpected.lock().unwrap();
        if u.len() < 50 {
            u.push(what);
        }
    }
}

struct Answer {
    status: u16,
    range: String,
    body: Value,
}

async fn get(http: &reqwest::Client, url: &str, token: Option<&str>) -> Result<Answer, String> {
    let mut req = http.get(url);
    if let Some(token) = token {
        req = req.header("X-Auth-Token", token);
    }
    let resp = req.send().await.map_err(|e| format!("{url}: {e}"))?;
    let status = resp.status().as_u16();
    let range = resp
        .headers()
        .get("content-range")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = resp.bytes().await.map_err(|e| format!("{url}: {e}"))?;
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok(Answer {
        status,
        range,
        body,
    })
}

fn tags(body: &Value) -> Vec<String> {
    body.as_array()
        .map(|a| {
            a.iter()
                .map(|t| t["Tag"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// One random request and what exactly it must answer; `Err` describes a miss.
async fn one_request(
    http: &reqwest::Client,
    base: &str,
    rng: &mut Rng,
) -> (bool, Result<(), String>) {
    let app = format!("{base}/v2/manage/namespaces/soak/repos/app/tags");
    match rng.u64(..10) {
        // A page at a random offset (some past the end).
        0..=2 => {
            let (offset, limit) = (rng.u64(..SEEDED + 20), 1 + rng.u64(..100));
            let order = ["tag&order_type=asc", "updated_at&order_type=desc"][rng.usize(..2)];
            let url = format!("{app}?offset={offset}&limit={limit}&order_column={order}");
            let a = match get(http, &url, Some(TOKEN)).await {
                Ok(a) => a,
                Err(e) => return (true, Err(e)),
            };
            let count = limit.min(SEEDED.saturating_sub(offset));
            let got = tags(&a.body);
            let first_ok =
                !order.starts_with("tag") || count == 0 || got[0] == format!("t{offset:04}");
            let ok = a.status == 200
                && a.range == format!("{offset}-{count}/{SEEDED}")
                && got.len() as u64 == count
                && first_ok;
            (true, check(ok, &url, &a))
        }
        // A tag filter (separate parameters), unpaged.
        3..=4 => {
            let needle = format!("{}{}", rng.u64(..10), rng.u64(..10));
            let url = format!("{app}?tag={needle}");
            let a = match get(http, &url, Some(TOKEN)).await {
                Ok(a) => a,
                Err(e) => return (true, Err(e)),
            };
            let got = tags(&a.body);
            let want = (0..SEEDED)
                .filter(|i| format!("t{i:04}").contains(&needle))
                .count();
            let ok = a.status == 200
                && got.len() == want
                && got.iter().all(|t| t.contains(&needle))
                && a.range == format!("0-{want}/{want}");
            (true, check(ok, &url, &a))
        }
        // The `filter` form.
        5..=6 => {
            let (offset, limit) = (rng.u64(..SEEDED), 1 + rng.u64(..50));
            let url = format!(
                "{app}?filter=offset::{offset}%7Climit::{limit}%7Corder_column::tag%7Corder_type::asc"
            );
            let a = match get(http, &url, Some(TOKEN)).await {
                Ok(a) => a,
                Err(e) => return (true, Err(e)),
            };
            let count = limit.min(SEEDED - offset);
            let want: Vec<String> = (offset..offset + count)
                .map(|i| format!("t{i:04}"))
                .collect();
            let ok = a.status == 200
                && tags(&a.body) == want
                && a.range == format!("{offset}-{count}/{SEEDED}");
            (true, check(ok, &url, &a))
        }
        // Bad requests: exact 400s.
        7..=8 => {
            let (query, code) = [
                ("offset=0&limit=0", "SVCSTG.SWR.4000056"),
                ("offset=0&limit=1001", "SVCSTG.SWR.4000056"),
                ("offset=-1&limit=10", "SVCSTG.SWR.4001025"),
                ("order_column=size&order_type=asc", "SVCSTG.SWR.4001035"),
                ("limit=10", "SVCSTG.SWR.4001072"),
                ("filter=limit::2%7Coffset::0&limit=3", "SVCSTG.SWR.4001035"),
            ][rng.usize(..6)];
            let url = format!("{app}?{query}");
            let a = match get(http, &url, Some(TOKEN)).await {
                Ok(a) => a,
                Err(e) => return (false, Err(e)),
            };
            (
                false,
                check(a.status == 400 && a.body["error_code"] == code, &url, &a),
            )
        }
        // Unauthenticated, or a token nobody issued: exact 401s.
        _ => {
            let token = [None, Some("soak-not-a-token")][rng.usize(..2)];
            let url = format!("{app}?offset=0&limit=10");
            let a = match get(http, &url, token).await {
                Ok(a) => a,
                Err(e) => return (false, Err(e)),
            };
            let ok = a.status == 401 && a.body["error_code"] == "SVCSTG.SWR.4010000";
            (false, check(ok, &url, &a))
        }
    }
}

fn check(ok: bool, url: &str, a: &Answer) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        let body = a.body.to_string();
        Err(format!(
            "{url}: {} {} {}",
            a.status,
            a.range,
            &body[..body.len().min(300)]
        ))
    }
}

/// All tags of `soak/pushed` through `base`.
async fn pushed(http: &reqwest::Client, base: &str) -> Result<Vec<String>, String> {
    let a = get(
        http,
        &format!(
            "{base}/v2/manage/namespaces/soak/repos/pushed/tags?order_column=tag&order_type=asc"
        ),
        Some(TOKEN),
    )
    .await?;
    if a.status != 200 {
        return Err(format!("listing pushed: {} {}", a.status, a.body));
    }
    Ok(tags(&a.body))
}

fn report(line: &str) {
    use std::io::Write as _;
    // Straight to stderr: libtest hides the output of passing tests.
    let _ = writeln!(std::io::stderr(), "soak: {line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_under_mixed_load() {
    let Some(_admin) = common::external("SWRD_TEST_DATABASE_URL", "PostgreSQL") else {
        return;
    };
    let secs: u64 = std::env::var("SWRD_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let duration = Duration::from_secs(secs);
    let harness = Harness::new(Kind::Postgres)
        .await
        .expect("SWRD_TEST_DATABASE_URL is set");
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed.yaml");
    std::fs::write(&seed, seed_yaml()).unwrap();
    let replicas = [
        Swrd::start(Some(&harness.url), &["--fixtures", seed.to_str().unwrap()]),
        Swrd::start(Some(&harness.url), &[]),
    ];
    let bases: Arc<[String; 2]> = Arc::new([replicas[0].base.clone(), replicas[1].base.clone()]);
    let pids = [replicas[0].pid(), replicas[1].pid()];
    swr_api::tls::install_default_provider();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();

    // Readers.
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (http, bases, tally, stop) = (http.clone(), bases.clone(), tally.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng::with_seed(0x9E37_79B9_7F4A_7C15 ^ (c as u64 + 1));
            let mut i = c;
            while !stop.load(Ordering::Relaxed) {
                let base = &bases[i % 2];
                i += 1;
                let (good, result) = one_request(&http, base, &mut rng).await;
                tally.requests.fetch_add(1, Ordering::Relaxed);
                match result {
                    Ok(()) if good => tally.ok.fetch_add(1, Ordering::Relaxed),
                    Ok(()) => tally.expected_errors.fetch_add(1, Ordering::Relaxed),
                    Err(e) => {
                        if e.contains(": 5") {
                            tally.server_errors.fetch_add(1, Ordering::Relaxed);
                        }
                        tally.unexpected(e);
                        0
                    }
                };
            }
        }));
    }

    // The pusher: one new tag per import, checked at once through replica
    // n % 2 (the import is another process; neither replica wrote it).
    let pusher = {
        let (http, bases, tally, stop) = (http.clone(), bases.clone(), tally.clone(), stop.clone());
        let (url, dir) = (harness.url.clone(), dir.path().to_owned());
        tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let file = dir.join(format!("soak-push-{n}.yaml"));
                std::fs::write(&file, push_yaml(n)).unwrap();
                let (u, f) = (url.clone(), file.clone());
                if let Err(e) = tokio::task::spawn_blocking(move || import(&u, &f))
                    .await
                    .unwrap()
                {
                    tally.unexpected(e);
                    break;
                }
                let base = &bases[(n % 2) as usize];
                let tag = format!("push-{n:05}");
                let url = format!("{base}/v2/manage/namespaces/soak/repos/pushed/tags?tag={tag}");
                tally.requests.fetch_add(1, Ordering::Relaxed);
                match get(&http, &url, Some(TOKEN)).await {
                    Ok(a) if a.status == 200 && tags(&a.body) == [tag.clone()] => {
                        tally.ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(a) => tally.unexpected(format!("{url}: {} {}", a.status, a.body)),
                    Err(e) => tally.unexpected(e),
                }
                n += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            n
        })
    };

    // RSS of both replicas, every 2 s.
    let mut rss: [Vec<u64>; 2] = [Vec::new(), Vec::new()];
    while start.elapsed() < duration {
        for (samples, pid) in rss.iter_mut().zip(pids) {
            samples.push(vm_rss_kib(pid));
        }
        tokio::time::sleep(Duration::from_secs(2).min(duration.saturating_sub(start.elapsed())))
            .await;
    }
    for (samples, pid) in rss.iter_mut().zip(pids) {
        samples.push(vm_rss_kib(pid));
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let pushes = pusher.await.unwrap();
    let elapsed = start.elapsed().as_secs_f64();

    // Every pushed tag, through both replicas.
    let want: Vec<String> = (0..pushes).map(|n| format!("push-{n:05}")).collect();
    for base in bases.iter() {
        match pushed(&http, base).await {
            Ok(got) => assert_eq!(got, want, "pushed tags listed by {base}"),
            Err(e) => panic!("{e}"),
        }
    }

    let requests = tally.requests.load(Ordering::Relaxed);
    let unexpected = tally.unexpected.lock().unwrap().clone();
    report(&format!(
        "{secs} s: {requests} requests ({:.0}/s), {} ok, {} expected 4xx, {} unexpected, {} 5xx; \
         {pushes} pushes, all listed by both replicas",
        requests as f64 / elapsed,
        tally.ok.load(Ordering::Relaxed),
        tally.expected_errors.load(Ordering::Relaxed),
        unexpected.len(),
        tally.server_errors.load(Ordering::Relaxed),
    ));
    let mut growth = Vec::new();
    for (i, samples) in rss.iter().enumerate() {
        let third = (samples.len() / 3).max(1);
        let avg = |s: &[u64]| s.iter().sum::<u64>() as f64 / s.len() as f64 / 1024.0;
        let (first, last) = (
            avg(&samples[..third]),
            avg(&samples[samples.len() - third..]),
        );
        report(&format!(
            "replica {i} VmRSS MiB: first third {first:.1}, last third {last:.1}; samples (KiB) {samples:?}"
        ));
        growth.push((i, first, last));
    }
    assert!(
        unexpected.is_empty(),
        "{} unexpected answer(s), first ones:\n{}",
        unexpected.len(),
        unexpected.join("\n")
    );
    assert_eq!(tally.server_errors.load(Ordering::Relaxed), 0);
    assert!(pushes > 0, "no push completed");
    for (i, first, last) in growth {
        assert!(
            last - first < 20.0,
            "replica {i}: VmRSS grew from {first:.1} MiB to {last:.1} MiB"
        );
    }
}
