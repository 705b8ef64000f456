//! `swrd`: the reference server for SWR's ListRepositoryTags API.
//!
//! ```text
//! swrd serve [--listen ADDR] [--database URL] [--fixtures FILE]... [--demo] ...
//! swrd sync [--registry URL] [--namespace NS] [--registry-default-domain ID] ...
//! swrd import FILE... [--database URL]
//! swrd synth --namespace NS --repository REPO --tags N [--database URL]
//! swrd config [SERVE FLAGS]      the effective configuration, secrets redacted
//! ```
//!
//! Settings: flags > `SWRD_*` environment > YAML file (`--config`) >
//! defaults; see [`config`].

mod config;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use swrd::registry::{self, SyncProgress};
use swrd::store::Import as _;
use swrd::synth;

use config::{Config, DbFlags, ServeFlags, SyncFlags};

#[derive(Parser)]
#[command(
    name = "swrd",
    version,
    about = "Reference server for Huawei Cloud SWR's tag-listing API",
    after_help = SETTINGS_HELP
)]
struct Cli {
    /// YAML config file: the same keys as the long flags, in snake_case (an
    /// unknown key is an error). `swrd config` prints the effective settings.
    #[arg(long, global = true, env = "SWRD_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

const SETTINGS_HELP: &str = "\
Settings, highest priority first: flags, SWRD_* environment variables (shown with each \
flag), the YAML file of --config, defaults. `swrd config` prints what a command line gives, \
secrets redacted. Logging: SWRD_LOG (tracing filter, default `info`).";

#[derive(Subcommand)]
// Parsed once at start: the size of the serve variant does not matter.
#[allow(clippy::large_enum_variant)]
enum Command {
    /// Serve the API (and, if configured, the registry webhook and a
    /// scheduled registry sync).
    #[command(after_help = MAPPING_HELP)]
    Serve(ServeFlags),
    /// Reconcile the store with an OCI registry once: add missing tags,
    /// update changed digests, remove tags the registry no longer has.
    /// Resumes an interrupted run of the same registry and namespace. One
    /// manifest request per tag: GET for a tag the store lacks, HEAD for one
    /// it has. Progress on a terminal, the report (JSON) on stdout.
    #[command(after_help = MAPPING_HELP)]
    Sync(SyncFlags),
    /// Load fixture files (YAML or JSON), each in one transaction.
    Import {
        /// Fixture files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        db: DbFlags,
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
        db: DbFlags,
    },
    /// Print the effective configuration (YAML, the config file's keys) that
    /// these flags, the environment and the file give, secrets redacted.
    Config(ServeFlags),
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `swrd sync` waits on the registry, not the CPU: one thread does the
    // work, and no task hops between workers (on 2 cores a multi-thread
    // runtime cost a third more CPU per manifest, CPU the registry needs).
    let mut builder = match cli.command {
        Command::Sync(_) => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    let runtime = match builder.enable_all().build() {
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
    let file = cli.config.as_deref();
    let load = |flags: &dyn erased::Flags| -> Result<Config> {
        Config::load(file, &flags.value()).context("invalid configuration")
    };
    match cli.command {
        Command::Serve(flags) => serve::serve(load(&flags)?).await,
        Command::Config(flags) => {
            print!("{}", load(&flags)?.to_yaml());
            Ok(())
        }
        Command::Import { files, db } => {
            let config = load(&db)?;
            serve::init_logging(config.log_json);
            let store = serve::open(&config).await?;
            for path in &files {
                let fixture = swrd::fixtures::load(path)?;
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
            let config = load(&db)?;
            serve::init_logging(config.log_json);
            let store = serve::open(&config).await?;
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
        Command::Sync(flags) => sync(load(&flags)?).await,
    }
}

/// `swrd sync`: one run, a progress bar on a terminal, the report on stdout.
async fn sync(config: Config) -> Result<()> {
    serve::init_logging(config.log_json);
    let Some(url) = config.sync_registry() else {
        anyhow::bail!("sync needs --registry URL (or --sync-registry URL)");
    };
    let client = serve::registry_client(&config, url)?;
    let store = serve::open(&config).await?;
    let options = serve::sync_options(&config);
    let (done, bar) = progress_bar(options.progress.clone());
    let result = registry::sync::run(&store, &client, &options).await;
    let _ = done.send(());
    let _ = bar.await;
    let report = result.context("sync failed; run it again to resume")?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// Draws `progress` on stderr while it is a terminal (indicatif hides itself
/// otherwise); the sync's own log lines carry the same numbers.
fn progress_bar(
    progress: Arc<SyncProgress>,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let (done, mut finished) = tokio::sync::oneshot::channel::<()>();
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {pos}/{len} tags {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    let start = std::time::Instant::now();
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = &mut finished => break,
            }
            bar.set_length(progress.tags.load(Relaxed));
            bar.set_position(progress.tags_done.load(Relaxed));
            let rate = progress.tags_done.load(Relaxed) as f64 / start.elapsed().as_secs_f64();
            bar.set_message(format!(
                "({rate:.0}/s), repositories {}/{}, {} GET {} HEAD",
                progress.repositories_done.load(Relaxed),
                progress.repositories.load(Relaxed),
                progress.gets.load(Relaxed),
                progress.heads.load(Relaxed),
            ));
        }
        bar.finish_and_clear();
    });
    (done, task)
}

/// The flag structs behind one object-safe trait (a closure cannot be
/// generic): each is serialized to the value figment lays over the file.
mod erased {
    pub trait Flags {
        fn value(&self) -> serde_json::Value;
    }

    impl<T: serde::Serialize> Flags for T {
        fn value(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap_or_default()
        }
    }
}
