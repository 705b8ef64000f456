//! Servers for the kit to check: the reference MemoryServer and swrd (SQLite,
//! PostgreSQL) in process or on a socket, and the kit's binary.

use std::net::SocketAddr;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use swr_api::fixture::Fixture;
use swr_api::server::axum::Router;
use swr_api::server::memory::MemoryServer;
use swr_api::server::{router, spec_routes};
use swr_conformance::{Outcome, Report};
use swrd::api::Registry;
use swrd::http::{AppConfig, app};
use swrd::store::{AnyStore, Import as _};

/// The standard fixture file, as implementers pass it to the binary.
pub const FIXTURE_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/standard.yaml");

/// The reference server: MemoryServer's router plus `/openapi.json`.
pub fn memory_router(fixture: &Fixture) -> Router {
    router(Arc::new(MemoryServer::new(fixture))).merge(spec_routes())
}

/// swrd's whole HTTP app on `store`, seeded with `fixture`.
pub async fn swrd_app(store: AnyStore, fixture: &Fixture) -> Router {
    store.import(fixture).await.expect("import the fixture");
    let config = AppConfig {
        registry: Registry {
            host: "swr.example".into(),
            internal_host: "10.0.0.1:5000".into(),
        },
        request_timeout: Duration::from_secs(30),
        metrics: None,
    };
    app(Arc::new(store), config)
}

/// A SQLite store in a temp dir (kept alive by the returned guard).
pub async fn sqlite_store() -> (AnyStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("swrd.db").display());
    (swrd::store::open(&url).await.unwrap(), dir)
}

/// `router` served on 127.0.0.1 (a free port) until the test ends.
pub async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

/// Runs the kit's binary (blocking; call from `spawn_blocking`).
pub fn kit(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_swr-conformance"))
        .args(args)
        .output()
        .expect("run swr-conformance")
}

/// The binary against `base` with the standard fixture file and `extra`.
pub async fn kit_against(base: &str, extra: &[&str]) -> Output {
    let mut args: Vec<String> = ["--url", base, "--fixtures", FIXTURE_PATH]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    tokio::task::spawn_blocking(move || kit(&args))
        .await
        .unwrap()
}

/// Every check ran and passed.
#[track_caller]
pub fn assert_clean(what: &str, report: &Report) {
    let skipped: Vec<String> = report
        .checks
        .iter()
        .filter_map(|c| match &c.outcome {
            Outcome::Skipped(why) => Some(format!("{}: {why}", c.name)),
            _ => None,
        })
        .collect();
    assert!(
        report.is_success() && skipped.is_empty(),
        "{what}: the kit reports\n{report}skipped:\n{}",
        skipped.join("\n")
    );
    assert_eq!(report.checks.len(), swr_conformance::check_list().len());
}

/// An external component named by `var`: `None` with a notice locally, a
/// panic under `CI=true` (CI never passes by skipping), as swrd's tests do.
pub fn external(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but {var} is not set: {what} must run in CI")
        }
        _ => {
            use std::io::Write as _;
            let _ = writeln!(std::io::stderr(), "skipped: {what} (set {var})");
            None
        }
    }
}

/// A fresh PostgreSQL database named uniquely, dropped (FORCE) with the guard.
pub struct PgDb {
    admin_url: String,
    name: String,
    pub url: String,
}

impl PgDb {
    pub async fn create(admin_url: &str) -> PgDb {
        use sqlx::{Connection as _, Executor as _};
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!("swr_conformance_{}_{nanos:08x}", std::process::id());
        let mut admin = sqlx::PgConnection::connect(admin_url).await.unwrap();
        admin
            .execute(format!("CREATE DATABASE \"{name}\"").as_str())
            .await
            .unwrap();
        let (base, query) = match admin_url.split_once('?') {
            Some((b, q)) => (b, format!("?{q}")),
            None => (admin_url, String::new()),
        };
        let host_start = base.find("://").map_or(0, |i| i + 3);
        let base = match base[host_start..].find('/') {
            Some(slash) => &base[..host_start + slash],
            None => base,
        };
        PgDb {
            admin_url: admin_url.to_owned(),
            url: format!("{base}/{name}{query}"),
            name,
        }
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Not on the test's runtime, which must not block: a thread of its own.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                use sqlx::{Connection as _, Executor as _};
                let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
                admin
                    .execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
                    .await?;
                Ok::<(), sqlx::Error>(())
            })
        })
        .join();
        if let Ok(Err(e)) = dropped {
            eprintln!("warning: could not drop test database {}: {e}", self.name);
        }
    }
}
