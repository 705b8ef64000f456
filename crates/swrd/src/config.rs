//! swrd's settings: one struct, [`Config`], filled in layers by figment.
//!
//! From lowest to highest priority: the defaults, a YAML file (`--config
//! FILE` or `SWRD_CONFIG`; keys are the long flags in snake_case), the
//! environment (`SWRD_*`, one per flag, listed in `--help`), then the flags.
//! clap reads the environment into the flags it backs, so a flag beats its
//! variable; figment lays the result over the file and the defaults. An
//! unknown or mistyped key in the file is an error naming the key and the
//! file. Lists (`fixtures`) add up across layers; everything else is
//! replaced by the higher layer.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Args;
use figment::providers::Serialized;
use figment::value::{Dict, Map};
use figment::{Figment, Metadata, Profile, Provider};
use serde::{Deserialize, Serialize};

use swrd::registry::fetch::DEFAULT_CONCURRENCY;

/// Every setting, as the running command sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// `sqlite://PATH`, `sqlite::memory:` or `postgres://USER@HOST/DB`.
    pub database: String,
    /// Seconds a request waits for a database connection.
    pub db_acquire_timeout: u64,
    /// Fixture files to import before serving.
    pub fixtures: Vec<PathBuf>,
    /// Load the demo domain and data.
    pub demo: bool,
    /// External registry host shown in `path`.
    pub registry_host: String,
    /// In-cluster registry host shown in `internal_path`.
    pub internal_registry_host: String,
    /// Longest time to a response head, seconds.
    pub request_timeout: u64,
    /// Seconds a client has to send a request's headers.
    pub header_read_timeout: u64,
    /// Log as JSON lines.
    pub log_json: bool,
    /// Registry base URL (webhook manifest fetches, and sync by default).
    pub registry: Option<String>,
    /// Basic-auth user for the registry.
    pub registry_username: Option<String>,
    /// Basic-auth password for the registry (secret).
    pub registry_password: Option<String>,
    /// Domain that owns namespaces the registry feed creates.
    pub registry_default_domain: Option<String>,
    /// Registry requests in flight at most.
    pub registry_concurrency: usize,
    /// Shared secret of the registry webhook (secret).
    pub registry_webhook_secret: Option<String>,
    /// Registry to sync from (default: `registry`).
    pub sync_registry: Option<String>,
    /// Seconds between scheduled syncs of `swrd serve`.
    pub sync_interval: Option<u64>,
    /// Only this namespace in syncs.
    pub sync_namespace: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database: "sqlite://swrd.db".into(),
            db_acquire_timeout: 3,
            fixtures: Vec::new(),
            demo: false,
            registry_host: "swr.local".into(),
            internal_registry_host: "127.0.0.1:5000".into(),
            request_timeout: 30,
            header_read_timeout: 10,
            log_json: false,
            registry: None,
            registry_username: None,
            registry_password: None,
            registry_default_domain: None,
            registry_concurrency: DEFAULT_CONCURRENCY,
            registry_webhook_secret: None,
            sync_registry: None,
            sync_interval: None,
            sync_namespace: None,
        }
    }
}

/// A bad configuration: the message names the key and where it came from.
#[derive(Debug)]
pub struct ConfigError(Box<figment::Error>);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line per problem (figment collects them all).
        let mut first = true;
        for e in (*self.0).clone() {
            if !first {
                f.write_str("; ")?;
            }
            first = false;
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Defaults < `file` < `flags` (which already hold the environment).
    pub fn load(file: Option<&Path>, flags: &impl Serialize) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            figment = figment.admerge(YamlFile(path.to_owned()));
        }
        figment
            .admerge(Serialized::defaults(flags))
            .extract()
            .map_err(|e| ConfigError(Box::new(e)))
    }

    /// The registry a sync reads: `sync_registry`, else `registry`.
    pub fn sync_registry(&self) -> Option<&str> {
        self.sync_registry.as_deref().or(self.registry.as_deref())
    }

    /// A copy fit to print: passwords and secrets replaced, the database
    /// URL without its password.
    pub fn redacted(&self) -> Config {
        let hide = |s: &Option<String>| s.as_ref().map(|_| REDACTED.to_owned());
        Config {
            database: redact_url(&self.database),
            registry: self.registry.as_deref().map(redact_url),
            sync_registry: self.sync_registry.as_deref().map(redact_url),
            registry_password: hide(&self.registry_password),
            registry_webhook_secret: hide(&self.registry_webhook_secret),
            ..self.clone()
        }
    }

    /// [`redacted`](Self::redacted) as YAML, with the same keys as the file.
    pub fn to_yaml(&self) -> String {
        yaml_serde::to_string(&self.redacted()).unwrap_or_default()
    }
}

/// What a secret prints as.
pub const REDACTED: &str = "<redacted>";

/// A URL without the password of its userinfo, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:{REDACTED}{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// The YAML file layer, read with yaml_serde (figment's own YAML support is
/// serde_yaml, which is deprecated).
struct YamlFile(PathBuf);

impl Provider for YamlFile {
    fn metadata(&self) -> Metadata {
        Metadata::named("config file").source(self.0.as_path())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let text = std::fs::read_to_string(&self.0)
            .map_err(|e| figment::Error::from(format!("reading {}: {e}", self.0.display())))?;
        let dict: Dict = if text.trim().is_empty() {
            Dict::new()
        } else {
            yaml_serde::from_str(&text)
                .map_err(|e| figment::Error::from(format!("{}: {e}", self.0.display())))?
        };
        Ok(Profile::Default.collect(dict))
    }
}

fn not(b: &bool) -> bool {
    !*b
}

/// Where the store is.
#[derive(Args, Debug, Default, Serialize)]
pub struct DbFlags {
    /// `sqlite://PATH`, `sqlite::memory:` or `postgres://USER@HOST/DB`
    /// [default: sqlite://swrd.db].
    #[arg(long, env = "SWRD_DATABASE_URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// Seconds a request waits for a database connection (pool busy or
    /// database down) before it fails with a 500 [default: 3].
    #[arg(long, env = "SWRD_DB_ACQUIRE_TIMEOUT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db_acquire_timeout: Option<u64>,
}

/// Where the registry feed reads from.
#[derive(Args, Debug, Default, Serialize)]
pub struct RegistryFlags {
    /// Registry base URL (e.g. `http://127.0.0.1:5000`): manifests of webhook
    /// events are fetched from it, and `sync` walks it.
    #[arg(long = "registry", env = "SWRD_REGISTRY_URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// Basic-auth user for the registry.
    #[arg(long, env = "SWRD_REGISTRY_USERNAME")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry_username: Option<String>,
    /// Basic-auth password for the registry.
    #[arg(long, env = "SWRD_REGISTRY_PASSWORD", hide_env_values = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry_password: Option<String>,
    /// Domain that owns namespaces the registry feed creates; without it,
    /// events for an unknown namespace are rejected.
    #[arg(long, env = "SWRD_REGISTRY_DEFAULT_DOMAIN")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry_default_domain: Option<String>,
    /// Registry requests in flight at most (webhook fetches and sync
    /// together) [default: 16].
    #[arg(long, env = "SWRD_REGISTRY_CONCURRENCY", value_parser = clap::value_parser!(u16).range(1..=1024))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry_concurrency: Option<u16>,
}

/// `swrd serve`'s settings (also what `swrd config` accepts).
#[derive(Args, Debug, Default, Serialize)]
pub struct ServeFlags {
    /// Address to listen on (`127.0.0.1:0` picks a free port; the chosen one
    /// is printed) [default: 127.0.0.1:8080].
    #[arg(long, env = "SWRD_LISTEN")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[command(flatten)]
    #[serde(flatten)]
    pub db: DbFlags,
    /// Fixture files to import before serving (added to the file's).
    #[arg(long = "fixtures")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fixtures: Vec<PathBuf>,
    /// Load the demo domain and data, and print credentials and a first request.
    #[arg(long)]
    #[serde(skip_serializing_if = "not")]
    pub demo: bool,
    /// External registry host shown in `path` [default: swr.local].
    #[arg(long, env = "SWRD_REGISTRY_HOST")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry_host: Option<String>,
    /// In-cluster registry host shown in `internal_path` [default: 127.0.0.1:5000].
    #[arg(long, env = "SWRD_INTERNAL_REGISTRY_HOST")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub internal_registry_host: Option<String>,
    /// Longest time to a response head, in seconds [default: 30].
    #[arg(long, env = "SWRD_REQUEST_TIMEOUT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_timeout: Option<u64>,
    /// Seconds a client has to send a request's headers; a slower one
    /// (slowloris) is disconnected [default: 10].
    #[arg(long, env = "SWRD_HEADER_READ_TIMEOUT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header_read_timeout: Option<u64>,
    /// Log as JSON lines instead of text.
    #[arg(long, env = "SWRD_LOG_JSON")]
    #[serde(skip_serializing_if = "not")]
    pub log_json: bool,
    #[command(flatten)]
    #[serde(flatten)]
    pub registry: RegistryFlags,
    /// Shared secret of the registry webhook (`POST /registry/events`, sent
    /// as `Authorization: Bearer SECRET`); without it the endpoint is a 404.
    /// Needs --registry.
    #[arg(long, env = "SWRD_REGISTRY_WEBHOOK_SECRET", hide_env_values = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry_webhook_secret: Option<String>,
    /// Registry to sync from (default: --registry).
    #[arg(long, env = "SWRD_SYNC_REGISTRY")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_registry: Option<String>,
    /// Seconds between scheduled syncs (the first runs at start); no
    /// scheduled sync without it.
    #[arg(long, env = "SWRD_SYNC_INTERVAL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_interval: Option<u64>,
    /// Only this namespace in scheduled syncs.
    #[arg(long, env = "SWRD_SYNC_NAMESPACE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_namespace: Option<String>,
}

/// `swrd sync`'s settings.
#[derive(Args, Debug, Default, Serialize)]
pub struct SyncFlags {
    /// Only this SWR namespace (the registry names' first component).
    #[arg(long, env = "SWRD_SYNC_NAMESPACE")]
    #[serde(rename = "sync_namespace", skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Registry to sync from (default: --registry).
    #[arg(long, env = "SWRD_SYNC_REGISTRY")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_registry: Option<String>,
    #[command(flatten)]
    #[serde(flatten)]
    pub registry: RegistryFlags,
    #[command(flatten)]
    #[serde(flatten)]
    pub db: DbFlags,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    #[test]
    fn layers_and_errors() {
        let f = file("listen: 127.0.0.1:9000\nrequest_timeout: 5\nfixtures: [a.yaml]\n");
        let flags = ServeFlags {
            request_timeout: Some(7),
            fixtures: vec!["b.yaml".into()],
            ..ServeFlags::default()
        };
        let c = Config::load(Some(f.path()), &flags).unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.request_timeout, 7);
        assert_eq!(c.fixtures, [PathBuf::from("a.yaml"), "b.yaml".into()]);
        assert_eq!(c.database, Config::default().database);

        let f = file("listen: 127.0.0.1:9000\nlisen: x\n");
        let e = Config::load(Some(f.path()), &ServeFlags::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("lisen") && e.contains(&f.path().display().to_string()),
            "{e}"
        );
        let f = file("request_timeout: soon\n");
        let e = Config::load(Some(f.path()), &ServeFlags::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("request_timeout"), "{e}");
        // The sync command's --namespace is the file's sync_namespace.
        let c = Config::load(
            None,
            &SyncFlags {
                namespace: Some("ns".into()),
                ..SyncFlags::default()
            },
        )
        .unwrap();
        assert_eq!(c.sync_namespace.as_deref(), Some("ns"));
    }

    #[test]
    fn secrets_are_redacted() {
        let c = Config {
            database: "postgres://app:pw@db/swrd".into(),
            registry_password: Some("hunter2".into()),
            registry_webhook_secret: Some("s3cret".into()),
            ..Config::default()
        };
        let y = c.to_yaml();
        assert!(
            !y.contains("hunter2") && !y.contains("s3cret") && !y.contains(":pw@"),
            "{y}"
        );
        assert!(y.contains("postgres://app:<redacted>@db/swrd"), "{y}");
        assert_eq!(redact_url("sqlite://swrd.db"), "sqlite://swrd.db");
    }
}
