//! A real CNCF Distribution `docker-registry` for the registry feed's tests:
//! [`TestRegistry`] runs one (own config on 127.0.0.1, storage in a temp dir,
//! access log kept so tests can count the requests swrd sent), [`Pusher`]
//! writes to it through its HTTP API.

use std::collections::BTreeMap;
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use swrd::registry::{self, RegistryClient, RegistryConfig};

/// The webhook secret the registry is configured to send.
pub const SECRET: &str = "webhook-s3cret";
pub const DOCKER_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// A running `docker-registry serve`, killed when dropped.
pub struct TestRegistry {
    pub base: String,
    pub port: u16,
    child: Child,
    dir: Arc<tempfile::TempDir>,
}

impl TestRegistry {
    /// A registry on `port` with storage in a temp dir, deletes enabled, no
    /// auth, and (if `webhook`) notifications to that URL with [`SECRET`];
    /// `catalog_page` sets `catalog.maxentries`.
    pub async fn start(
        bin: &str,
        port: u16,
        webhook: Option<&str>,
        catalog_page: Option<u32>,
    ) -> Self {
        let dir = Arc::new(tempfile::tempdir().unwrap());
        Self::start_in(dir, bin, port, webhook, catalog_page).await
    }

    /// The same registry (storage, port) restarted with another webhook.
    pub async fn restart(self, bin: &str, webhook: Option<&str>) -> Self {
        let (dir, port) = (self.dir.clone(), self.port);
        drop(self);
        Self::start_in(dir, bin, port, webhook, None).await
    }

    async fn start_in(
        dir: Arc<tempfile::TempDir>,
        bin: &str,
        port: u16,
        webhook: Option<&str>,
        catalog_page: Option<u32>,
    ) -> Self {
        let mut config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        );
        if let Some(n) = catalog_page {
            config.push_str(&format!("catalog:\n  maxentries: {n}\n"));
        }
        if let Some(url) = webhook {
            // 2.8.2 still sends pulls despite `ignore.actions` (swrd ignores
            // them); threshold/backoff short so a refused envelope is
            // retried quickly.
            config.push_str(&format!(
                "notifications:\n  endpoints:\n    - name: swrd\n      url: {url}\n      headers:\n        Authorization: [\"Bearer {SECRET}\"]\n      timeout: 5s\n      threshold: 1000\n      backoff: 100ms\n      ignore:\n        actions: [pull]\n"
            ));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let open = |name: &str| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.path().join(name))
                .unwrap()
        };
        let child = Command::new(bin)
            .arg("serve")
            .arg(&config_path)
            // The access log (one line per request) on stdout.
            .stdout(open("access.log"))
            .stderr(open("registry.log"))
            .spawn()
            .expect("start docker-registry");
        let reg = TestRegistry {
            base: format!("http://127.0.0.1:{port}"),
            port,
            child,
            dir,
        };
        swr_api::tls::install_default_provider();
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(r) = http.get(format!("{}/v2/", reg.base)).send().await
                && r.status().is_success()
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "registry did not start:\n{}",
                reg.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        reg
    }

    /// The registry's own log.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// `METHOD /v2/{repo}/manifests/...` requests served so far, from the
    /// access log (requests start a line's quoted request field).
    pub fn manifest_requests(&self, method: &str, repo: &str) -> usize {
        let needle = format!("\"{method} /v2/{repo}/manifests/");
        std::fs::read_to_string(self.dir.path().join("access.log"))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(&needle))
            .count()
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Pushes through the registry's HTTP API.
#[derive(Clone)]
pub struct Pusher {
    pub http: reqwest::Client,
    pub base: String,
}

/// A config blob and a layer blob, uploaded once per repository.
#[derive(Clone)]
pub struct Blobs {
    pub config: (String, i64),
    pub layer: (String, i64),
}

impl Pusher {
    pub fn new(base: &str) -> Self {
        swr_api::tls::install_default_provider();
        Pusher {
            http: reqwest::Client::new(),
            base: base.to_owned(),
        }
    }

    pub async fn upload_blob(&self, repo: &str, data: &[u8]) -> (String, i64) {
        let digest = registry::manifest::sha256_digest(data);
        let r = self
            .http
            .post(format!("{}/v2/{repo}/blobs/uploads/", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        let sep = if location.contains('?') { '&' } else { '?' };
        let r = self
            .http
            .put(format!("{location}{sep}digest={digest}"))
            .header("content-type", "application/octet-stream")
            .body(data.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        (digest, data.len() as i64)
    }

    pub async fn blobs(&self, repo: &str) -> Blobs {
        let config =
            br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
        Blobs {
            config: self.upload_blob(repo, config).await,
            layer: self
                .upload_blob(repo, b"layer bytes, not really a tarball")
                .await,
        }
    }

    /// An image manifest over `blobs`, made distinct by `variant`.
    pub fn image(blobs: &Blobs, media_type: &str, variant: &str) -> String {
        let config_type = if media_type == OCI_MANIFEST {
            "application/vnd.oci.image.config.v1+json"
        } else {
            "application/vnd.docker.container.image.v1+json"
        };
        json!({
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {"mediaType": config_type, "size": blobs.config.1, "digest": blobs.config.0},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": blobs.layer.1, "digest": blobs.layer.0}],
            "annotations": {"variant": variant},
        })
        .to_string()
    }

    /// PUTs a manifest; returns its digest.
    pub async fn put(&self, repo: &str, reference: &str, media_type: &str, body: &str) -> String {
        let r = self
            .http
            .put(format!("{}/v2/{repo}/manifests/{reference}", self.base))
            .header("content-type", media_type)
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        let digest = r.headers()["docker-content-digest"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(digest, registry::manifest::sha256_digest(body.as_bytes()));
        digest
    }

    pub async fn delete(&self, repo: &str, digest: &str) {
        let r = self
            .http
            .delete(format!("{}/v2/{repo}/manifests/{digest}", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
    }

    /// tag -> digest, as the registry has it.
    pub async fn state(&self, repo: &str) -> BTreeMap<String, String> {
        let client = RegistryClient::new(&RegistryConfig::new(&self.base)).unwrap();
        let mut out = BTreeMap::new();
        for tag in client.tags(repo).await.unwrap() {
            if let Some(d) = client.head_digest(repo, &tag).await.unwrap() {
                out.insert(tag, d);
            }
        }
        out
    }
}
