//! `swrd`: the reference server for SWR's ListRepositoryTags API.
//!
//! ```text
//! swrd serve [--listen ADDR] [--database URL] [--fixtures FILE]... [--demo]
//! swrd import FILE... [--database URL]
//! swrd synth --namespace NS --repository REPO --tags N [--database URL]
//! swrd sync --registry URL [--namespace NS] [--registry-default-domain ID] [--database URL]
//! ```
//!
//! Settings come from flags, then `SWRD_*` environment variables, then a YAML
//! config file (`--config`), then defaults (listen `127.0.0.1:8080`, database
//! `sqlite://swrd.db`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use serde::Deserialize;
use swrd::api::Registry;
use swrd::http::{AppConfig, app_with_webhook};
use swrd::registry::{self, Feed, RegistryClient, RegistryConfig, SyncOptions, Webhook};
use swrd::store::{self, AnyStore, Store};
use swrd::{demo, fixtures, synth};

#[derive(Parser)]
#[command(
    name = "swrd",
    version,
    about = "Reference server for Huawei Cloud SWR's tag-listing API"
)]
struct Cli {
    /// YAML config file with the same keys as the long flags (snake_case).
    #[arg(long, global = true, env = "SWRD_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
// Parsed once at start: the size of the serve variant does not matter.
#[allow(clippy::large_enum_variant)]
enum Command {
    /// Serve the API (and, if configured, the registry webhook and a
    /// scheduled registry sync).
    Serve(ServeArgs),
    /// Reconcile the store with an OCI registry once: add missing tags,
    /// update changed digests, remove tags the registry no longer has.
    /// Resumes an interrupted run of the same registry and namespace.
    #[command(after_help = MAPPING_HELP)]
    Sync {
        /// Only this SWR namespace (the registry names' first component).
        #[arg(long)]
        namespace: Option<String>,
        #[command(flatten)]
        registry: RegistryArgs,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Load fixture files (YAML or JSON), each in one transaction.
    Import {
        /// Fixture files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Insert N synthetic tags (for demos and benchmarks).
    Synth {
        #[arg(long)]
        namespace: String,
        /// Repository name (with `/`, not `$`).
        #[arg(long)]
        repository: String,
        #[arg(long)]
        tags: u64,
        /// Owner domain id (default: the demo domain).
        #[arg(long)]
        domain: Option<String>,
        /// Seed of the generator: the same seed gives the same tags.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Args)]
struct DbArgs {
    /// `sqlite://PATH`, `sqlite::memory:` or `postgres://USER@HOST/DB`.
    #[arg(long, env = "SWRD_DATABASE_URL")]
    database: Option<String>,
    /// Seconds a request waits for a database connection (pool busy or
    /// database down) before it fails with a 500 [default: 3].
    #[arg(long, env = "SWRD_DB_ACQUIRE_TIMEOUT")]
    db_acquire_timeout: Option<u64>,
}

/// How registry names become SWR names; shown by `serve --help` and `sync --help`.
const MAPPING_HELP: &str = "\
Registry feed: registry repository `ns/repo` (or `ns/a/b`) is SWR namespace `ns`, \
repository `repo` (`a/b`); a single-component name (`busybox`) is rejected. A namespace \
that exists in the store keeps its domain. An unknown namespace is created for \
--registry-default-domain; without it the event (or, for sync, the repository) is rejected: \
logged and counted (webhook: swrd_registry_events_total{outcome=\"rejected\"}; sync: \
repositories_rejected in its report); a webhook rejection is acknowledged so the registry \
does not redeliver it forever.

Registry endpoint config (Distribution): notifications.endpoints[].url = \
http://SWRD/registry/events, headers: {Authorization: [\"Bearer SECRET\"]}, with SECRET = \
--registry-webhook-secret; set its timeout above the time swrd needs to fetch a manifest.";

/// Where the registry feed reads from.
#[derive(Args)]
struct RegistryArgs {
    /// Registry base URL (e.g. `http://127.0.0.1:5000`): manifests of webhook
    /// events are fetched from it, and `sync` walks it.
    #[arg(long = "registry", env = "SWRD_REGISTRY_URL")]
    url: Option<String>,
    /// Basic-auth user for the registry.
    #[arg(long, env = "SWRD_REGISTRY_USERNAME")]
    registry_username: Option<String>,
    /// Basic-auth password for the registry.
    #[arg(long, env = "SWRD_REGISTRY_PASSWORD", hide_env_values = true)]
    registry_password: Option<String>,
    /// Domain that owns namespaces the registry feed creates; without it,
    /// events for an unknown namespace are rejected.
    #[arg(long, env = "SWRD_REGISTRY_DEFAULT_DOMAIN")]
    registry_default_domain: Option<String>,
}

#[derive(Args)]
#[command(after_help = MAPPING_HELP)]
struct ServeArgs {
    /// Address to listen on (`127.0.0.1:0` picks a free port; the chosen one is printed).
    #[arg(long, env = "SWRD_LISTEN")]
    listen: Option<SocketAddr>,
    #[command(flatten)]
    db: DbArgs,
    /// Fixture files to import before serving.
    #[arg(long = "fixtures")]
    fixtures: Vec<PathBuf>,
    /// Load the demo domain and data, and print credentials and a first request.
    #[arg(long)]
    demo: bool,
    /// External registry host shown in `path`.
    #[arg(long, env = "SWRD_REGISTRY_HOST")]
    registry_host: Option<String>,
    /// In-cluster registry host shown in `internal_path`.
    #[arg(long, env = "SWRD_INTERNAL_REGISTRY_HOST")]
    internal_registry_host: Option<String>,
    /// Longest time to a response head, in seconds.
    #[arg(long, env = "SWRD_REQUEST_TIMEOUT")]
    request_timeout: Option<u64>,
    /// Seconds a client has to send a request's headers; a slower one
    /// (slowloris) is disconnected [default: 10].
    #[arg(long, env = "SWRD_HEADER_READ_TIMEOUT")]
    header_read_timeout: Option<u64>,
    /// Log as JSON lines instead of text.
    #[arg(long, env = "SWRD_LOG_JSON")]
    log_json: bool,
    #[command(flatten)]
    registry: RegistryArgs,
    /// Shared secret of the registry webhook (`POST /registry/events`, sent
    /// as `Authorization: Bearer SECRET`); without it the endpoint is a 404.
    /// Needs --registry.
    #[arg(long, env = "SWRD_REGISTRY_WEBHOOK_SECRET", hide_env_values = true)]
    registry_webhook_secret: Option<String>,
    /// Registry to sync from on a schedule (default: --registry).
    #[arg(long, env = "SWRD_SYNC_REGISTRY")]
    sync_registry: Option<String>,
    /// Seconds between scheduled syncs (the first runs at start); no
    /// scheduled sync without it.
    #[arg(long, env = "SWRD_SYNC_INTERVAL")]
    sync_interval: Option<u64>,
    /// Only this namespace in scheduled syncs.
    #[arg(long, env = "SWRD_SYNC_NAMESPACE")]
    sync_namespace: Option<String>,
}

/// The config file's keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    database: Option<String>,
    db_acquire_timeout: Option<u64>,
    header_read_timeout: Option<u64>,
    #[serde(default)]
    fixtures: Vec<PathBuf>,
    registry_host: Option<String>,
    internal_registry_host: Option<String>,
    request_timeout: Option<u64>,
    registry: Option<String>,
    registry_username: Option<String>,
    registry_password: Option<String>,
    registry_default_domain: Option<String>,
    registry_webhook_secret: Option<String>,
    sync_registry: Option<String>,
    sync_interval: Option<u64>,
    sync_namespace: Option<String>,
}

const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
const DEFAULT_DATABASE: &str = "sqlite://swrd.db";

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("swrd: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("swrd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    let file = match &cli.config {
        Some(path) => load_config(path)?,
        None => FileConfig::default(),
    };
    match cli.command {
        Command::Serve(args) => serve(args, file).await,
        Command::Import { files, db } => {
            init_logging(false);
            let store = open(&db, &file).await?;
            for path in &files {
                let fixture = fixtures::load(path)?;
                let report = store
                    .import(&fixture)
                    .await
                    .with_context(|| format!("importing {}", path.display()))?;
                println!("{}: {report:?}", path.display());
            }
            Ok(())
        }
        Command::Synth {
            namespace,
            repository,
            tags,
            domain,
            seed,
            db,
        } => {
            init_logging(false);
            let store = open(&db, &file).await?;
            let start = std::time::Instant::now();
            let report = synth::synth(
                &store,
                domain.as_deref(),
                &namespace,
                &repository,
                tags,
                seed,
            )
            .await?;
            println!(
                "{namespace}/{repository}: generated {}, inserted {} in {:.1}s",
                report.generated,
                report.inserted,
                start.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Sync {
            namespace,
            registry: reg,
            db,
        } => {
            init_logging(false);
            let Some(url) = reg.url.clone().or_else(|| file.registry.clone()) else {
                anyhow::bail!("sync needs --registry URL");
            };
            let client = registry_client(&reg, &file, &url)?;
            let store = open(&db, &file).await?;
            let options = SyncOptions {
                namespace,
                default_domain: reg
                    .registry_default_domain
                    .or_else(|| file.registry_default_domain.clone()),
            };
            let report = registry::sync::run(&store, &client, &options)
                .await
                .context("sync failed; run it again to resume")?;
            println!("{}", serde_json::to_string(&report)?);
            Ok(())
        }
    }
}

/// The registry client of `url`, with credentials from flags or the file.
fn registry_client(reg: &RegistryArgs, file: &FileConfig, url: &str) -> Result<RegistryClient> {
    let mut config = RegistryConfig::new(url);
    config.username = reg
        .registry_username
        .clone()
        .or_else(|| file.registry_username.clone());
    config.password = reg
        .registry_password
        .clone()
        .or_else(|| file.registry_password.clone());
    RegistryClient::new(&config).with_context(|| format!("registry {url}"))
}

fn load_config(path: &Path) -> Result<FileConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    yaml_serde::from_str(&text).with_context(|| format!("{}: invalid config", path.display()))
}

async fn open(db: &DbArgs, file: &FileConfig) -> Result<AnyStore> {
    let url = db
        .database
        .clone()
        .or_else(|| file.database.clone())
        .unwrap_or_else(|| DEFAULT_DATABASE.into());
    let acquire_timeout = db
        .db_acquire_timeout
        .or(file.db_acquire_timeout)
        .map_or(store::DEFAULT_ACQUIRE_TIMEOUT, Duration::from_secs);
    store::open_with(&url, acquire_timeout)
        .await
        .with_context(|| format!("opening the database {}", redact(&url)))
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SWRD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn serve(args: ServeArgs, file: FileConfig) -> Result<()> {
    init_logging(args.log_json);
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .context("installing the metrics recorder")?;
    // The exporter's histograms keep every sample until upkeep drains them into
    // their summaries; without it memory grows with every request.
    let upkeep = metrics.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            upkeep.run_upkeep();
        }
    });
    let store = Arc::new(open(&args.db, &file).await?);
    for path in file.fixtures.iter().chain(&args.fixtures) {
        let fixture = fixtures::load(path)?;
        let report = store
            .import(&fixture)
            .await
            .with_context(|| format!("importing {}", path.display()))?;
        tracing::info!(file = %path.display(), ?report, "fixtures imported");
    }
    if args.demo {
        demo::load(&store).await.context("loading the demo data")?;
    }
    let listen = args
        .listen
        .or(file.listen)
        .unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("valid default"));
    let registry = Registry {
        host: args
            .registry_host
            .or_else(|| file.registry_host.clone())
            .unwrap_or_else(|| "swr.local".into()),
        internal_host: args
            .internal_registry_host
            .or_else(|| file.internal_registry_host.clone())
            .unwrap_or_else(|| "127.0.0.1:5000".into()),
    };
    let request_timeout =
        Duration::from_secs(args.request_timeout.or(file.request_timeout).unwrap_or(30));
    let default_domain = args
        .registry
        .registry_default_domain
        .clone()
        .or_else(|| file.registry_default_domain.clone());
    let registry_url = args.registry.url.clone().or_else(|| file.registry.clone());
    let webhook = match args
        .registry_webhook_secret
        .clone()
        .or_else(|| file.registry_webhook_secret.clone())
    {
        Some(secret) => {
            let Some(url) = &registry_url else {
                anyhow::bail!(
                    "--registry-webhook-secret needs --registry URL (to fetch manifests)"
                );
            };
            let client = registry_client(&args.registry, &file, url)?;
            tracing::info!(registry = %url, path = registry::webhook::PATH, "registry webhook enabled");
            Some(Webhook {
                feed: Arc::new(Feed {
                    store: store.clone(),
                    client: Arc::new(client),
                    default_domain: default_domain.clone(),
                }),
                secret,
            })
        }
        None => None,
    };
    if let Some(interval) = args.sync_interval.or(file.sync_interval) {
        let Some(url) = args
            .sync_registry
            .clone()
            .or_else(|| file.sync_registry.clone())
            .or_else(|| registry_url.clone())
        else {
            anyhow::bail!("--sync-interval needs --sync-registry URL (or --registry URL)");
        };
        let client = registry_client(&args.registry, &file, &url)?;
        let options = SyncOptions {
            namespace: args
                .sync_namespace
                .clone()
                .or_else(|| file.sync_namespace.clone()),
            default_domain: default_domain.clone(),
        };
        tokio::spawn(scheduled_sync(
            store.clone(),
            client,
            options,
            Duration::from_secs(interval.max(1)),
        ));
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, backend = store.backend(), "swrd listening");
    // Tests and scripts read this line to find the port.
    println!("swrd listening on http://{addr}");
    if args.demo {
        println!("{}", demo::banner(&format!("http://{addr}")));
    }
    let app = app_with_webhook(
        store,
        AppConfig {
            registry,
            request_timeout,
            metrics: Some(metrics),
        },
        webhook,
    );
    let header_read_timeout = Duration::from_secs(
        args.header_read_timeout
            .or(file.header_read_timeout)
            .unwrap_or(10)
            .max(1),
    );
    serve_http(listener, app, header_read_timeout).await;
    tracing::info!("swrd stopped");
    Ok(())
}

/// Largest request head (request line and headers) accepted; a larger one is
/// answered 431 without being buffered further.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Serves HTTP/1.1 on `listener` until SIGINT/SIGTERM, then stops accepting
/// and waits for in-flight requests. `axum::serve` does the same but cannot
/// time out a client that sends its headers slowly (it sets no timer), so a
/// slowloris client held a connection and a task forever.
async fn serve_http(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    header_read_timeout: Duration,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;

    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES);
    // Closed (dropped) when shutdown starts; every connection watches it.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(());
    // Every connection task holds a clone; `recv` ends when the last is gone.
    let (done_tx, mut done_rx) = tokio::sync::mpsc::channel::<()>(1);
    let mut shutdown = std::pin::pin!(shutdown_signal());
    loop {
        let (tcp, _remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // EMFILE and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // TCP_NODELAY: a streamed response is several small writes, and with
        // Nagle on, a keep-alive client (SDKs pool connections) waited ~40 ms
        // for each (its delayed ACK) — measured with the registry latency test.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let service = TowerToHyperService::new(app.clone());
        let conn = http.serve_connection(TokioIo::new(tcp), service);
        let (mut stop_rx, done_tx) = (stop_rx.clone(), done_tx.clone());
        tokio::spawn(async move {
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    return;
                }
                _ = stop_rx.changed() => conn.as_mut().graceful_shutdown(),
            }
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(done_tx);
        });
    }
    // Refuse new connections from now on.
    drop(listener);
    drop(stop_tx);
    drop(done_tx);
    let _ = done_rx.recv().await;
}

/// Syncs now, then every `interval` (measured from the end of a run). A
/// failed run is logged; the next one resumes it.
async fn scheduled_sync(
    store: Arc<AnyStore>,
    client: RegistryClient,
    options: SyncOptions,
    interval: Duration,
) {
    loop {
        match registry::sync::run(&store, &client, &options).await {
            Ok(report) => tracing::info!(registry = client.base(), ?report, "scheduled sync done"),
            Err(e) => {
                tracing::warn!(registry = client.base(), error = %e, "scheduled sync failed; the next run resumes it")
            }
        }
        tokio::time::sleep(interval).await;
    }
}

/// SIGINT or SIGTERM: stop accepting, let in-flight requests finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down: finishing in-flight requests");
}
