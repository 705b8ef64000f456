//! The processes a benchmark talks to and the HTTP helpers around them:
//! release `swrd serve` ([`Server`]), the ceiling server ([`Ceiling`],
//! [`ceiling_server`]), `docker-registry` for the Distribution comparison
//! ([`Registry`]), and curl-based fetches, warm-up and the unpaged RSS probe.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::{NAMESPACE, TOKEN};

/// A release `swrd serve` with the demo credentials.
pub(super) struct Server {
    pub(super) base: String,
    child: Child,
}

impl Server {
    pub(super) fn start(bin: &Path, database: &str) -> Result<Server> {
        Server::start_at(bin, database, "127.0.0.1:0", &[])
    }

    /// Listening on `listen`, with `extra` flags.
    pub(super) fn start_at(
        bin: &Path,
        database: &str,
        listen: &str,
        extra: &[&str],
    ) -> Result<Server> {
        let mut child = Command::new(bin)
            .args([
                "serve",
                "--listen",
                listen,
                "--database",
                database,
                "--demo",
            ])
            .args(extra)
            .env("SWRD_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let base = read_address(&mut child, "swrd listening on ")?;
        Ok(Server { base, child })
    }

    fn status_kb(&self, key: &str) -> Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .with_context(|| format!("{key} in /proc/PID/status"))
    }

    pub(super) fn rss(&self) -> Result<u64> {
        Ok(self.status_kb("VmRSS:")? * 1024)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_address(child: &mut Child, prefix: &str) -> Result<String> {
    let stdout = child.stdout.take().context("stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        if let Some(url) = line?.strip_prefix(prefix) {
            let url = url.trim().to_owned();
            std::thread::spawn(move || for _ in lines {});
            return Ok(url);
        }
    }
    bail!("the server exited before listening")
}

/// Time of the unpaged list and the server's peak RSS growth during it.
pub(super) fn unpaged(server: &Server, url: &str) -> Result<(f64, u64)> {
    let before = server.rss()?;
    // Resets VmHWM to the current RSS (Linux >= 4.0).
    std::fs::write(format!("/proc/{}/clear_refs", server.child.id()), "5")?;
    let start = Instant::now();
    let status = Command::new("curl")
        .args([
            "-sf",
            "-o",
            "/dev/null",
            "-H",
            &format!("X-Auth-Token: {TOKEN}"),
            url,
        ])
        .status()?;
    let secs = start.elapsed().as_secs_f64();
    if !status.success() {
        bail!("unpaged list failed");
    }
    let peak = server.status_kb("VmHWM:")? * 1024;
    Ok((secs, peak.saturating_sub(before)))
}

/// Asks for `url` until swrd answers it from its page cache (its `/metrics`
/// counts a hit); the time that took.
pub(super) fn warm_up(server: &Server, url: &str) -> Result<f64> {
    let hits = || -> Result<u64> {
        let metrics = String::from_utf8(fetch(&format!("{}/metrics", server.base))?)?;
        Ok(metrics
            .lines()
            .find_map(|l| l.strip_prefix("swrd_page_cache_total{outcome=\"hit\"} "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0))
    };
    let start = Instant::now();
    let before = hits()?;
    while start.elapsed() < Duration::from_secs(300) {
        fetch(url)?;
        if hits()? > before {
            return Ok(start.elapsed().as_secs_f64());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("swrd did not answer {url} from its page cache within 300 s")
}

pub(super) fn fetch(url: &str) -> Result<Vec<u8>> {
    let out = Command::new("curl")
        .args(["-sf", "-H", &format!("X-Auth-Token: {TOKEN}"), url])
        .output()?;
    if !out.status.success() {
        bail!("GET {url} failed");
    }
    Ok(out.stdout)
}

/// The ceiling server, run as `xtask __ceiling FILE` in its own process.
pub(super) struct Ceiling {
    pub(super) base: String,
    child: Child,
}

impl Ceiling {
    pub(super) fn start(xtask: &Path, page: &Path) -> Result<Ceiling> {
        let mut child = Command::new(xtask)
            .arg("__ceiling")
            .arg(page)
            .stdout(Stdio::piped())
            .spawn()?;
        let base = read_address(&mut child, "ceiling listening on ")?;
        Ok(Ceiling { base, child })
    }
}

impl Drop for Ceiling {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `xtask __ceiling FILE`: serves `GET /tags`, serializing the tags of FILE with
/// serde_json on every request, on the same runtime and server stack as swrd.
pub fn ceiling_server(page: &Path) -> Result<()> {
    let tags: Vec<swr_api::types::ShowReposTagResp> =
        serde_json::from_slice(&std::fs::read(page)?)?;
    let tags = std::sync::Arc::new(tags);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let app = axum::Router::new().route(
            "/tags",
            axum::routing::get(move || {
                let tags = tags.clone();
                async move {
                    let body = serde_json::to_vec(&*tags).unwrap_or_default();
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        body,
                    )
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        println!("ceiling listening on http://{}", listener.local_addr()?);
        axum::serve(listener, app).await?;
        Ok(())
    })
}

/// A `docker-registry` with `n` tags in `bench/r{n}` (one small manifest
/// pushed under `n` names), its storage kept under `target/bench`.
/// Starts Debian's `docker-registry` on `port` over the storage at `root`,
/// configured as Debian configures it (blob descriptors cached in memory,
/// deletes enabled) but quiet: errors only, no access log.
pub(crate) fn spawn_registry(bin: &Path, config: &Path, root: &Path, port: u16) -> Result<Child> {
    std::fs::write(
        config,
        format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  cache:\n    blobdescriptor: inmemory\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            root.display()
        ),
    )?;
    Ok(Command::new(bin)
        .arg("serve")
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?)
}

pub(super) struct Registry {
    pub(super) base: String,
    child: Child,
}

impl Registry {
    pub(super) fn start(bin: &Path, out: &Path, n: u64) -> Result<Registry> {
        let root = out.join(format!("registry-{n}"));
        let port = free_port()?;
        let child = spawn_registry(bin, &out.join(format!("registry-{n}.yml")), &root, port)?;
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while fetch_plain(&format!("{base}/v2/")).is_err() {
            if Instant::now() > deadline {
                bail!("docker-registry did not start");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let registry = Registry { base, child };
        let marker = root.join(".bench-done");
        if !marker.exists() {
            registry.populate(n)?;
            std::fs::write(marker, "")?;
        }
        Ok(registry)
    }

    /// Pushes one config blob and one manifest, then tags it `n` times.
    fn populate(&self, n: u64) -> Result<()> {
        println!("bench: pushing {n} tags to docker-registry");
        let config =
            br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
        let digest = format!("sha256:{}", sha256_hex(config));
        let repo = format!("{}/v2/{NAMESPACE}/r{n}", self.base);
        let out = Command::new("curl")
            .args([
                "-sf",
                "-X",
                "POST",
                "-D",
                "-",
                "-o",
                "/dev/null",
                &format!("{repo}/blobs/uploads/"),
            ])
            .output()?;
        let headers = String::from_utf8_lossy(&out.stdout);
        let location = headers
            .lines()
            .find_map(|l| {
                l.strip_prefix("Location: ")
                    .or_else(|| l.strip_prefix("location: "))
            })
            .context("upload location")?
            .trim()
            .to_owned();
        let sep = if location.contains('?') { '&' } else { '?' };
        let put = format!("{location}{sep}digest={digest}");
        let put = if put.starts_with("http") {
            put
        } else {
            format!("{}{put}", self.base)
        };
        let mut child = Command::new("curl")
            .args([
                "-sf",
                "-X",
                "PUT",
                "-H",
                "Content-Type: application/octet-stream",
                "--data-binary",
                "@-",
                &put,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()?;
        std::io::Write::write_all(child.stdin.as_mut().context("stdin")?, config)?;
        if !child.wait()?.success() {
            bail!("config blob upload failed");
        }
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{{"mediaType":"application/vnd.docker.container.image.v1+json","size":{},"digest":"{digest}"}},"layers":[]}}"#,
            config.len()
        );
        let manifest_file = std::env::temp_dir().join(format!("bench-manifest-{n}.json"));
        std::fs::write(&manifest_file, &manifest)?;
        // Many PUTs per curl process: one config file listing every URL.
        let urls: String = (0..n)
            .map(|i| format!("url = \"{repo}/manifests/t{i:07}\"\n"))
            .collect();
        let list = std::env::temp_dir().join(format!("bench-urls-{n}.txt"));
        std::fs::write(&list, urls)?;
        let status = Command::new("curl")
            .args([
                "-sf",
                "-X",
                "PUT",
                "-H",
                "Content-Type: application/vnd.docker.distribution.manifest.v2+json",
            ])
            .arg("--data-binary")
            .arg(format!("@{}", manifest_file.display()))
            .args(["-o", "/dev/null", "-K"])
            .arg(&list)
            .status()?;
        if !status.success() {
            bail!("manifest pushes failed");
        }
        Ok(())
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn fetch_plain(url: &str) -> Result<()> {
    let ok = Command::new("curl")
        .args(["-sf", "-o", "/dev/null", url])
        .status()?
        .success();
    if ok { Ok(()) } else { bail!("not ready") }
}

pub(super) fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

pub(super) fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(data))
}
