//! `swrd serve`: the store, the HTTP surface, the registry feed (webhook and
//! scheduled sync), and the accept loop with graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use swrd::api::Registry;
use swrd::http::{AppConfig, app_with_webhook};
use swrd::registry::{self, Feed, RegistryClient, RegistryConfig, SyncOptions, Webhook};
use swrd::store::{self, AnyStore, Import as _};
use swrd::{demo, fixtures};

use crate::config::{Config, redact_url};

/// Buckets of the event lag histogram, seconds: a webhook event is normally
/// committed within milliseconds; minutes mean the feed is behind.
const LAG_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0,
];

/// Logs to stderr, as text or JSON lines; `SWRD_LOG` filters (default `info`).
pub fn init_logging(json: bool) {
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

/// Opens the configured store.
pub async fn open(config: &Config) -> Result<AnyStore> {
    store::open_with(
        &config.database,
        Duration::from_secs(config.db_acquire_timeout),
    )
    .await
    .with_context(|| format!("opening the database {}", redact_url(&config.database)))
}

/// The registry client of `url`, with the configured credentials and
/// concurrency.
pub fn registry_client(config: &Config, url: &str) -> Result<RegistryClient> {
    let mut c = RegistryConfig::new(url);
    c.username.clone_from(&config.registry_username);
    c.password.clone_from(&config.registry_password);
    c.concurrency = config.registry_concurrency;
    RegistryClient::new(&c).with_context(|| format!("registry {}", redact_url(url)))
}

/// The sync options of `config`.
pub fn sync_options(config: &Config) -> SyncOptions {
    SyncOptions {
        namespace: config.sync_namespace.clone(),
        default_domain: config.registry_default_domain.clone(),
        ..SyncOptions::default()
    }
}

fn metrics_recorder() -> Result<PrometheusHandle> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("swrd_registry_event_lag_seconds".into()),
            LAG_BUCKETS,
        )
        .context("metrics buckets")?
        .install_recorder()
        .context("installing the metrics recorder")?;
    // The exporter's histograms keep every sample until upkeep drains them into
    // their summaries; without it memory grows with every request.
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            upkeep.run_upkeep();
        }
    });
    Ok(handle)
}

/// Runs `swrd serve` until SIGINT/SIGTERM.
pub async fn serve(config: Config) -> Result<()> {
    init_logging(config.log_json);
    let metrics = metrics_recorder()?;
    let store = Arc::new(open(&config).await?);
    for path in &config.fixtures {
        let fixture = fixtures::load(path)?;
        let report = store
            .import(&fixture)
            .await
            .with_context(|| format!("importing {}", path.display()))?;
        tracing::info!(file = %path.display(), ?report, "fixtures imported");
    }
    if config.demo {
        demo::load(&store).await.context("loading the demo data")?;
    }
    let registry = Registry {
        host: config.registry_host.clone(),
        internal_host: config.internal_registry_host.clone(),
    };
    let webhook = match &config.registry_webhook_secret {
        Some(secret) => {
            let Some(url) = &config.registry else {
                anyhow::bail!(
                    "--registry-webhook-secret needs --registry URL (to fetch manifests)"
                );
            };
            let client = registry_client(&config, url)?;
            tracing::info!(registry = %redact_url(url), path = registry::webhook::PATH, "registry webhook enabled");
            Some(Webhook {
                feed: Arc::new(Feed {
                    store: store.clone(),
                    client: Arc::new(client),
                    default_domain: config.registry_default_domain.clone(),
                }),
                secret: secret.clone(),
            })
        }
        None => None,
    };
    if let Some(interval) = config.sync_interval {
        let Some(url) = config.sync_registry() else {
            anyhow::bail!("--sync-interval needs --sync-registry URL (or --registry URL)");
        };
        let client = registry_client(&config, url)?;
        tokio::spawn(scheduled_sync(
            store.clone(),
            client,
            sync_options(&config),
            Duration::from_secs(interval.max(1)),
        ));
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, backend = store.backend(), "swrd listening");
    // Tests and scripts read this line to find the port.
    println!("swrd listening on http://{addr}");
    if config.demo {
        println!("{}", demo::banner(&format!("http://{addr}")));
    }
    let app = app_with_webhook(
        store,
        AppConfig {
            registry,
            request_timeout: Duration::from_secs(config.request_timeout),
            metrics: Some(metrics),
        },
        webhook,
    );
    let header_read_timeout = Duration::from_secs(config.header_read_timeout.max(1));
    serve_http(listener, app, header_read_timeout).await;
    tracing::info!("swrd stopped");
    Ok(())
}

/// Largest request head (request line and headers) accepted; a larger one is
/// answered 431 without being buffered further.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Serves HTTP/1.1 on `listener` until SIGINT/SIGTERM, then stops accepting
/// and waits for in-flight requests (hyper-util's `GracefulShutdown`).
/// `axum::serve` does the same but cannot time out a client that sends its
/// headers slowly (it sets no timer), so a slowloris client held a
/// connection and a task forever.
async fn serve_http(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    header_read_timeout: Duration,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::server::graceful::GracefulShutdown;
    use hyper_util::service::TowerToHyperService;

    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES);
    let graceful = GracefulShutdown::new();
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
        let conn = graceful.watch(http.serve_connection(TokioIo::new(tcp), service));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    // Refuse new connections from now on, then let the open ones finish.
    drop(listener);
    graceful.shutdown().await;
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
