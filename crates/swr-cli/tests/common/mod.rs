//! A live swrd in the test process (SQLite in a temp dir, served on
//! 127.0.0.1), tiny scripted servers, and a runner for the `swr` binary.
#![allow(dead_code)] // each test binary uses a different part

use std::future::Future;
use std::pin::Pin;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use swrd::api::Registry;
use swrd::http::AppConfig;
use swrd::store::{AnyStore, Import as _};

/// The demo domain: `swrd::synth` puts its tags there by default.
pub const DOMAIN: &str = "0503dda878000fed0f75c0096d70a960";
pub const TOKEN: &str = "tok-test";
pub const AK: &str = "AKTEST";
pub const SK: &str = "SKTEST";
/// The clock `swr` sees (`SWR_NOW`), so ages are stable.
pub const NOW: &str = "2024-06-01T12:00:00Z";

/// Two accounts; `group/busybox` has six tags with every column varied.
pub const FIXTURE: &str = r#"
domains:
  - id: "0503dda878000fed0f75c0096d70a960"
    name: demo
    tokens: ["tok-test"]
    credentials: [{ak: "AKTEST", sk: "SKTEST"}]
  - id: "other-domain"
    name: other
    tokens: ["tok-other"]
namespaces:
  - name: group
    domain: "0503dda878000fed0f75c0096d70a960"
    repositories:
      - name: busybox
        tags:
          - {tag: latest, digest: "sha256:57b605845a6367c34bfb6ea6477f16852f59aa1861a2b51d10ab77ae0a1dc9c3", image_id: "741f24a795d6d93d7c6edd11780d63c13e16c39615dd9d223378a57a836f2ee6", size: 1304902, created: "2018-07-06T06:18:55Z", updated: "2024-05-31T12:00:00Z"}
          - {tag: v1.36.1, digest: "sha256:1111111111111111111111111111111111111111111111111111111111111111", size: 2200000, scanned: true, created: "2024-05-01T10:00:00Z", updated: "2024-05-01T10:00:00Z"}
          - {tag: v1.36.0, digest: "sha256:2222222222222222222222222222222222222222222222222222222222222222", size: 2150000, created: "2024-03-01T08:30:00Z", updated: "2024-03-01T08:30:00Z"}
          - {tag: v1.35.0, digest: "sha256:3333333333333333333333333333333333333333333333333333333333333333", size: 523456789, tag_type: 1, created: "2023-11-15T00:00:00Z", updated: "2023-11-15T00:00:00Z"}
          - {tag: v1.0, digest: "sha256:4444444444444444444444444444444444444444444444444444444444444444", size: 999, is_trusted: true, schema: 1, created: "2018-07-06T06:18:55Z", updated: "2018-07-06T06:18:55Z"}
          - {tag: edge, digest: "sha256:5555555555555555555555555555555555555555555555555555555555555555", size: 0, created: "2024-06-01T11:59:30Z", updated: "2024-06-01T11:59:30Z"}
      - name: tools/busybox
        tags:
          - {tag: "1.36", digest: "sha256:6666666666666666666666666666666666666666666666666666666666666666", size: 2200000, created: "2024-05-01T10:00:00Z", updated: "2024-05-01T10:00:00Z"}
  - name: secret
    domain: "other-domain"
    repositories:
      - name: busybox
        tags:
          - {tag: latest, digest: "sha256:7777777777777777777777777777777777777777777777777777777777777777"}
"#;

/// Runs before a request is answered, with its 1-based number.
pub type Hook = Arc<dyn Fn(usize) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// A swrd router on 127.0.0.1, on its own runtime so tests stay synchronous.
pub struct Swrd {
    pub base: String,
    pub store: Arc<AnyStore>,
    pub runtime: tokio::runtime::Runtime,
    requests: Arc<AtomicUsize>,
    _dir: tempfile::TempDir,
}

impl Swrd {
    pub fn start() -> Swrd {
        Swrd::start_with(None)
    }

    /// With `hook` run before each request (to change data between pages).
    pub fn start_with(hook: Option<Hook>) -> Swrd {
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let url = format!("sqlite://{}", dir.path().join("swrd.db").display());
        let counter = requests.clone();
        let (base, store) = runtime.block_on(async move {
            let store = swrd::store::open(&url).await.unwrap();
            store
                .import(&swrd::fixtures::parse(FIXTURE, "fixture").unwrap())
                .await
                .unwrap();
            let store = Arc::new(store);
            let app = swrd::http::app(
                store.clone(),
                AppConfig {
                    registry: Registry {
                        host: "swr.test.example".into(),
                        internal_host: "10.0.0.1:20202".into(),
                    },
                    request_timeout: Duration::from_secs(30),
                    metrics: None,
                },
            )
            .layer(axum::middleware::from_fn(
                move |req: Request, next: Next| {
                    let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                    let hook = hook.clone();
                    async move {
                        if let Some(hook) = hook {
                            hook(n).await;
                        }
                        next.run(req).await
                    }
                },
            ));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            (base, store)
        });
        Swrd {
            base,
            store,
            runtime,
            requests,
            _dir: dir,
        }
    }

    /// `n` synthetic tags in `group/{repository}`.
    pub fn synth(&self, repository: &str, n: u64) {
        self.runtime
            .block_on(swrd::synth::synth(
                &self.store,
                None,
                "group",
                repository,
                n,
                1,
            ))
            .unwrap();
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// `swr --endpoint BASE --token TOKEN ARGS…`.
    pub fn swr(&self, args: &[&str]) -> Run {
        let mut all = vec!["--endpoint", &self.base, "--token", TOKEN];
        all.extend(args);
        swr(&all, &[])
    }
}

/// Imports tags into `group/{repository}` (as a fixture, so they are new).
pub async fn import_tags(store: &AnyStore, repository: &str, tags: &[(&str, &str)]) {
    let mut yaml = format!(
        "domains: [{{id: \"{DOMAIN}\", name: demo}}]\nnamespaces:\n  - name: group\n    domain: \"{DOMAIN}\"\n    repositories:\n      - name: {repository}\n        tags:\n"
    );
    for (i, (tag, updated)) in tags.iter().enumerate() {
        yaml.push_str(&format!(
            "          - {{tag: \"{tag}\", digest: \"sha256:{:064x}\", updated: \"{updated}\"}}\n",
            1000 + i
        ));
    }
    store
        .import(&swrd::fixtures::parse(&yaml, "insert").unwrap())
        .await
        .unwrap();
}

/// What `swr` did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the binary with a clean environment (no SWR_/HUAWEICLOUD_ settings
/// leak in) plus `env`, and the fixed clock.
pub fn swr(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_swr"));
    for (k, _) in std::env::vars() {
        if k.starts_with("SWR_") || k.starts_with("HUAWEICLOUD_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("SWR_NOW", NOW).args(args).envs(env.iter().copied());
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("run swr");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8(stdout).unwrap(),
        stderr: String::from_utf8(stderr).unwrap(),
    }
}

/// A server answering from a script (the last answer repeats), counting
/// requests.
pub struct Scripted {
    pub base: String,
    pub requests: Arc<AtomicUsize>,
    _runtime: tokio::runtime::Runtime,
}

pub fn scripted(answers: Vec<(u16, &'static str)>) -> Scripted {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let requests = Arc::new(AtomicUsize::new(0));
    let script = Arc::new(Mutex::new(answers));
    let count = requests.clone();
    let app = axum::Router::new().fallback(move |_: Request| {
        let (script, count) = (script.clone(), count.clone());
        async move {
            count.fetch_add(1, Ordering::SeqCst);
            let mut script = script.lock().unwrap();
            let (status, body) = if script.len() > 1 {
                script.remove(0)
            } else {
                script[0]
            };
            let range = if status == 200 { "0-0/0" } else { "" };
            let mut response = Response::builder()
                .status(status)
                .header("x-request-id", format!("rid-{status}"));
            if !range.is_empty() {
                response = response.header("content-range", range);
            }
            response.body(Body::from(body)).unwrap()
        }
    });
    let base = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        base
    });
    Scripted {
        base,
        requests,
        _runtime: runtime,
    }
}

/// Compares with `tests/snapshots/{name}`; `UPDATE_SNAPSHOTS=1` rewrites it.
pub fn snapshot(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "{} is missing: run with UPDATE_SNAPSHOTS=1 and review it",
            path.display()
        )
    });
    assert_eq!(
        actual, expected,
        "{name} changed: run with UPDATE_SNAPSHOTS=1 and review the diff"
    );
}
