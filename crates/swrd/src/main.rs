//! `swrd`: the reference server for SWR's ListRepositoryTags API.
//!
//! ```text
//! swrd serve [--listen ADDR] [--database URL] [--fixtures FILE]... [--demo]
//! swrd import FILE... [--database URL]
//! swrd synth --namespace NS --repository REPO --tags N [--database URL]
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
use swrd::http::{AppConfig, app};
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
enum Command {
    /// Serve the API.
    Serve(ServeArgs),
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
}

#[derive(Args)]
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
    /// Log as JSON lines instead of text.
    #[arg(long, env = "SWRD_LOG_JSON")]
    log_json: bool,
}

/// The config file's keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    database: Option<String>,
    #[serde(default)]
    fixtures: Vec<PathBuf>,
    registry_host: Option<String>,
    internal_registry_host: Option<String>,
    request_timeout: Option<u64>,
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
    }
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
    store::open(&url)
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
            .or(file.registry_host)
            .unwrap_or_else(|| "swr.local".into()),
        internal_host: args
            .internal_registry_host
            .or(file.internal_registry_host)
            .unwrap_or_else(|| "127.0.0.1:5000".into()),
    };
    let request_timeout =
        Duration::from_secs(args.request_timeout.or(file.request_timeout).unwrap_or(30));
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
    let app = app(
        store,
        AppConfig {
            registry,
            request_timeout,
            metrics: Some(metrics),
        },
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("swrd stopped");
    Ok(())
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
