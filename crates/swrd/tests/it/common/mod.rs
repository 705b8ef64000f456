//! Test support shared by swrd's integration tests: a store on each backend
//! (SQLite temp file, or a fresh PostgreSQL database per test), external
//! components that skip locally but are required under `CI=true`, and a real
//! `swrd` process.

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use swrd::fixtures;
use swrd::store::{self, AnyStore, Import as _};

/// An external component named by `var` (set by `cargo xtask test`): `None`
/// with a skip notice locally, a panic under `CI=true` (CI never passes by
/// skipping).
pub fn external(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but {var} is not set: {what} must run in CI (cargo xtask test sets it)")
        }
        _ => {
            use std::io::Write as _;
            // Straight to stderr: libtest hides the output of passing tests.
            let _ = writeln!(
                std::io::stderr(),
                "skipped: {what} (set {var}, or run `cargo xtask test`)"
            );
            None
        }
    }
}

/// The Prometheus text of a running swrd's `/metrics`.
pub async fn metrics(base: &str) -> String {
    reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// A free TCP port on 127.0.0.1 (free when asked; the caller binds it right
/// after, for a child process that needs its port up front).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `swrd serve`, killed when dropped.
pub struct Swrd {
    pub base: String,
    child: Child,
    pub stderr_path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Swrd {
    /// Starts `swrd serve --listen 127.0.0.1:0 --database URL ARGS...` and waits
    /// until it prints its address. `database` `None`: a SQLite file in a temp dir.
    pub fn start(database: Option<&str>, args: &[&str]) -> Swrd {
        Self::start_with_env(database, args, &[])
    }

    /// [`Swrd::start`] with extra environment variables (after the default
    /// `SWRD_LOG=info`, so `("SWRD_LOG", "debug")` overrides it).
    pub fn start_with_env(database: Option<&str>, args: &[&str], env: &[(&str, &str)]) -> Swrd {
        let dir = tempfile::tempdir().unwrap();
        let db = database.map_or_else(
            || format!("sqlite://{}", dir.path().join("swrd.db").display()),
            str::to_owned,
        );
        let stderr_path = dir.path().join("stderr.log");
        let stderr = std::fs::File::create(&stderr_path).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_swrd"))
            .args(["serve", "--listen", "127.0.0.1:0", "--database", &db])
            .args(args)
            .env("SWRD_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start swrd");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(url) = line.strip_prefix("swrd listening on ") {
                        break url.trim().to_owned();
                    }
                }
                _ => {
                    let log = std::fs::read_to_string(&stderr_path).unwrap_or_default();
                    panic!("swrd exited before listening:\n{log}");
                }
            }
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Swrd {
            base,
            child,
            stderr_path,
            _dir: dir,
        }
    }

    /// What the server logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// The process id (to send signals).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to exit.
    pub fn wait(&mut self) -> std::process::ExitStatus {
        self.child.wait().unwrap()
    }
}

impl Drop for Swrd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Sqlite,
    Postgres,
}

pub struct Harness {
    pub url: String,
    pub store: AnyStore,
    _db: TestDb,
}

enum TestDb {
    Sqlite { _dir: tempfile::TempDir },
    Postgres { _db: PgDb },
}

/// A throwaway PostgreSQL database; dropped (with FORCE, which ends any open
/// connection) when this is dropped, including while a failed test unwinds.
struct PgDb {
    admin_url: String,
    name: String,
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs inside the test's runtime, which must not be blocked on;
        // a plain thread with its own runtime does the async work.
        let done = std::thread::spawn(move || {
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
        if let Ok(Err(e)) = done {
            eprintln!("warning: could not drop test database {}: {e}", self.name);
        }
    }
}

pub fn unique_name() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "swrd_test_{}_{}_{nanos:08x}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// `admin_url` with its database replaced by `db`.
pub fn with_database(admin_url: &str, db: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (admin_url, String::new()),
    };
    let host_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[host_start..].find('/') {
        Some(slash) => &base[..host_start + slash],
        None => base,
    };
    format!("{base}/{db}{query}")
}

impl Harness {
    pub async fn new(kind: Kind) -> Option<Harness> {
        match kind {
            Kind::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("swrd.db").display());
                let store = store::open(&url).await.unwrap();
                Some(Harness {
                    url,
                    store,
                    _db: TestDb::Sqlite { _dir: dir },
                })
            }
            Kind::Postgres => {
                let Ok(admin_url) = std::env::var("SWRD_TEST_DATABASE_URL") else {
                    if std::env::var("CI").is_ok_and(|v| v == "true") {
                        panic!(
                            "CI=true but SWRD_TEST_DATABASE_URL is not set: PostgreSQL tests must run in CI"
                        );
                    }
                    // Straight to stderr: libtest hides `eprintln!` of passing tests.
                    static NOTICE: std::sync::Once = std::sync::Once::new();
                    NOTICE.call_once(|| {
                        use std::io::Write as _;
                        let _ = writeln!(
                            std::io::stderr(),
                            "skipped: set SWRD_TEST_DATABASE_URL (e.g. \
                             postgres://postgres@127.0.0.1:5432/test) to run the PostgreSQL \
                             variants of the swrd store tests"
                        );
                    });
                    return None;
                };
                let name = unique_name();
                {
                    use sqlx::{Connection as _, Executor as _};
                    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
                    // A locale-aware default collation (ICU en-US) where the
                    // server has ICU, so that byte order must come from the
                    // schema's COLLATE "C" and not from the server's default.
                    let icu = format!(
                        "CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' \
                         LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
                    );
                    if admin.execute(icu.as_str()).await.is_err() {
                        admin
                            .execute(format!("CREATE DATABASE \"{name}\"").as_str())
                            .await
                            .unwrap();
                    }
                }
                let db = PgDb {
                    admin_url: admin_url.clone(),
                    name: name.clone(),
                };
                let url = with_database(&admin_url, &name);
                let store = store::open(&url).await.unwrap();
                Some(Harness {
                    url,
                    store,
                    _db: TestDb::Postgres { _db: db },
                })
            }
        }
    }

    /// A second, independent handle on the same database.
    pub async fn another(&self) -> AnyStore {
        store::open(&self.url).await.unwrap()
    }

    pub async fn import_yaml(&self, yaml: &str) -> store::ImportReport {
        self.store
            .import(&fixtures::parse(yaml, "test.yaml").unwrap())
            .await
            .unwrap()
    }

    /// One value from the database, bypassing the store.
    pub async fn raw_count(&self, sql: &str) -> i64 {
        match &self._db {
            TestDb::Sqlite { .. } => {
                let pool = sqlx::SqlitePool::connect(&self.url).await.unwrap();
                sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap()
            }
            TestDb::Postgres { .. } => {
                let pool = sqlx::PgPool::connect(&self.url).await.unwrap();
                sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap()
            }
        }
    }
}

pub async fn run<F, Fut>(kind: Kind, scenario: F)
where
    F: FnOnce(Harness) -> Fut,
    Fut: Future<Output = ()>,
{
    if let Some(h) = Harness::new(kind).await {
        scenario(h).await;
    }
}

/// Runs each scenario `async fn name(h: Harness)` on both backends.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test] async fn $name() { $crate::common::run($crate::common::Kind::Sqlite, super::$name).await } )*
        }
        mod postgres {
            $( #[tokio::test] async fn $name() { $crate::common::run($crate::common::Kind::Postgres, super::$name).await } )*
        }
    };
}

pub mod registry;
