//! The sync row of `cargo xtask bench`: how close `swrd sync` comes to the
//! registry's own speed.
//!
//! The limit of a sync is the registry's request rate, so the row is a ratio
//! measured in one run: swrd's manifest requests per second during a sync
//! (GETs and HEADs over the sync's own wall time, from its report) divided by
//! the registry's raw manifest requests per second, measured by `wrk` (GETs)
//! on the same tag set right before and right after each sync (the mean of
//! the two; the machine is shared and its load moves within minutes).
//! Distribution serves a manifest HEAD through the same handler as a GET
//! (the manifest is read, the body not written), and `wrk` cannot send HEADs
//! (after a HEAD's `Content-Length` it waits for a body), so the raw GET rate
//! is the reference for the first sync (GETs) and the re-sync (HEADs) alike.
//!
//! The registry is Debian's `docker-registry` (CNCF Distribution 2.8.2) with
//! one repository `bench/sync` of `n` tags, each its own manifest (pushed
//! once, kept under `target/bench/sync-registry-{n}`): 1,000 tags with
//! `--quick`, 100,000 otherwise. Access logging is off for both the load
//! generator's and swrd's requests, and blob descriptors are cached in
//! memory as in Debian's own `/etc/docker/registry/config.yml`. Results: `target/bench/sync.{md,json}`,
//! and the lines this returns go into the bench report.

use crate::bench::{spawn_registry, which};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

const REPO: &str = "bench/sync";
const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// The demo domain: `swrd synth` creates it and namespace `bench`.
const DOMAIN: &str = "0503dda878000fed0f75c0096d70a960";

/// Runs the sync scenario with the release `swrd` in `release`; returns the
/// report lines (empty, with a note, when `docker-registry` or `wrk` is
/// missing).
pub fn run(release: &Path, out: &Path, quick: bool) -> Result<Vec<String>> {
    let Some(registry_bin) = which("docker-registry") else {
        return Ok(vec![
            "sync: docker-registry is not installed; the sync row was skipped".into(),
        ]);
    };
    if which("wrk").is_none() {
        return Ok(vec![
            "sync: wrk is not installed; the sync row was skipped".into(),
        ]);
    }
    let n: u64 = std::env::var("SWRD_BENCH_SYNC_TAGS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 1_000 } else { 100_000 });
    let wrk_secs = if quick { 2 } else { 5 };
    let registry = Registry::start(&registry_bin, out, n)?;
    let swrd = release.join("swrd");

    let dir = tempfile::tempdir()?;
    let db = format!("sqlite://{}", dir.path().join("sync.db").display());
    // The namespace's owner: synth creates the demo domain and `bench`.
    let status = Command::new(&swrd)
        .args(["synth", "--namespace", "bench", "--repository", "seed"])
        .args(["--tags", "1", "--database", &db])
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        bail!("swrd synth failed");
    }

    println!("bench: sync of {n} tags against docker-registry");
    // The machine is shared: the raw rate is measured right before and
    // right after each sync, and each sync is compared with the mean of its
    // two neighbours.
    let before = registry.wrk("GET", n, wrk_secs)?;
    let first = sync(&swrd, &registry, &db)?;
    let between = registry.wrk("GET", n, wrk_secs)?;
    let resync = sync(&swrd, &registry, &db)?;
    let after = registry.wrk("GET", n, wrk_secs)?;
    drop(registry);
    let count = |r: &Value, k: &str| r[k].as_u64().unwrap_or(0);
    if count(&first, "added") != n || count(&resync, "unchanged") != n {
        bail!("sync did not see every tag: first {first}, re-sync {resync}");
    }
    let rate = |r: &Value| {
        (count(r, "manifests") + count(r, "heads")) as f64 / r["seconds"].as_f64().unwrap_or(1.0)
    };
    let (first_rate, resync_rate) = (rate(&first), rate(&resync));
    let rows = [
        ("first sync", &first, first_rate, (before, between)),
        ("unchanged re-sync", &resync, resync_rate, (between, after)),
    ];
    let mut md = format!(
        "# swrd sync against Distribution\n\n{n} tags (each its own manifest) in `{REPO}`; raw = `wrk -t2 -c32 -d{wrk_secs}s` on the same tags right before and right after each sync (their mean).\n\n\
         The ratio is over the sync's whole wall time; the fetch-phase ratio leaves out the time spent writing to the store (`store_seconds`).\n\n\
         CPU is per manifest request, user + system, of the `swrd sync` process and of the registry during the sync (2 cores in all).\n\n\
         | sync | wall s | store s | GET | HEAD | swrd req/s | raw req/s (before, after) | ratio | fetch-phase ratio | CPU µs/req swrd, registry |\n|---|---|---|---|---|---|---|---|---|---|\n"
    );
    let mut lines = Vec::new();
    let mut json_rows = Vec::new();
    for (name, r, mine, (before, after)) in rows {
        let raw = (before + after) / 2.0;
        let ratio = mine / raw.max(f64::MIN_POSITIVE);
        let seconds = r["seconds"].as_f64().unwrap_or(0.0);
        let store_seconds = r["store_seconds"].as_f64().unwrap_or(0.0);
        let fetching = (count(r, "manifests") + count(r, "heads")) as f64
            / (seconds - store_seconds).max(f64::MIN_POSITIVE);
        let fetch_ratio = fetching / raw.max(f64::MIN_POSITIVE);
        let requests = (count(r, "manifests") + count(r, "heads")).max(1) as f64;
        let cpu = |k: &str| r[k].as_f64().unwrap_or(0.0) * 1e6 / requests;
        md.push_str(&format!(
            "| {name} | {seconds:.1} | {store_seconds:.1} | {} | {} | {mine:.0} | {raw:.0} ({before:.0}, {after:.0}) | {ratio:.2} | {fetch_ratio:.2} | {:.0}, {:.0} |\n",
            count(r, "manifests"),
            count(r, "heads"),
            cpu("swrd_cpu_seconds"),
            cpu("registry_cpu_seconds"),
        ));
        lines.push(format!(
            "sync: {name} of {n} tags in {seconds:.1} s, {mine:.0} manifest requests/s = {ratio:.2}x the registry's raw manifest GET rate ({raw:.0}/s, wrk); {fetch_ratio:.2}x without the {store_seconds:.1} s of store writes",
        ));
        json_rows.push(
            json!({"sync": name, "report": r, "swrd_rps": mine, "raw_rps": raw,
            "raw_before": before, "raw_after": after, "ratio": ratio, "fetch_ratio": fetch_ratio}),
        );
    }
    std::fs::write(out.join("sync.md"), &md)?;
    std::fs::write(
        out.join("sync.json"),
        serde_json::to_string_pretty(&json!({"tags": n, "rows": json_rows}))?,
    )?;
    println!("{md}");
    Ok(lines)
}

/// One `swrd sync` run; its JSON report, with the CPU seconds it and the
/// registry used (`swrd_cpu_seconds`, `registry_cpu_seconds`).
fn sync(swrd: &Path, registry: &Registry, db: &str) -> Result<Value> {
    let start = Instant::now();
    let (children, served) = (cpu_seconds("self", true)?, registry.cpu_seconds()?);
    let out = Command::new(swrd)
        .args(["sync", "--registry", &registry.base, "--database", db])
        .args(["--namespace", "bench", "--registry-default-domain", DOMAIN])
        .env("SWRD_LOG", "warn")
        .stderr(Stdio::inherit())
        .output()?;
    if !out.status.success() {
        bail!("swrd sync failed ({})", out.status);
    }
    let mut report: Value = serde_json::from_slice(&out.stdout).context("swrd sync's report")?;
    report["swrd_cpu_seconds"] = json!(cpu_seconds("self", true)? - children);
    report["registry_cpu_seconds"] = json!(registry.cpu_seconds()? - served);
    println!(
        "bench: sync done in {:.1} s (process), {report}",
        start.elapsed().as_secs_f64()
    );
    Ok(report)
}

/// CPU seconds (user + system) of process `pid` (`self` or a number) from
/// `/proc/PID/stat`, or of its waited-for children with `children`.
fn cpu_seconds(pid: &str, children: bool) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name: state is the 3rd field of the line,
    // utime and stime the 14th and 15th, cutime and cstime the 16th and 17th.
    let rest = stat.rsplit_once(')').context("/proc/PID/stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let at = if children { 13 } else { 11 };
    let ticks: f64 = fields
        .get(at..at + 2)
        .context("/proc/PID/stat fields")?
        .iter()
        .map(|f| f.parse::<f64>().unwrap_or(0.0))
        .sum();
    // USER_HZ, 100 on every Linux this runs on.
    Ok(ticks / 100.0)
}

/// A `docker-registry` holding `n` tags of distinct manifests in [`REPO`].
struct Registry {
    base: String,
    child: Child,
    dir: std::path::PathBuf,
}

impl Registry {
    fn start(bin: &Path, out: &Path, n: u64) -> Result<Registry> {
        let dir = out.join(format!("sync-registry-{n}"));
        std::fs::create_dir_all(&dir)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = spawn_registry(bin, &dir.join("config.yml"), &dir.join("data"), port)?;
        let registry = Registry {
            base: format!("http://127.0.0.1:{port}"),
            child,
            dir,
        };
        swr_api::tls::install_default_provider();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        runtime.block_on(registry.wait_ready())?;
        let marker = registry.dir.join(".populated");
        if !marker.exists() {
            let start = Instant::now();
            runtime.block_on(registry.populate(n))?;
            println!(
                "bench: pushed {n} manifests in {:.0} s",
                start.elapsed().as_secs_f64()
            );
            std::fs::write(marker, "")?;
        }
        Ok(registry)
    }

    async fn wait_ready(&self) -> Result<()> {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(r) = http.get(format!("{}/v2/", self.base)).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("docker-registry did not start");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn upload(&self, http: &reqwest::Client, data: &[u8]) -> Result<(String, usize)> {
        use sha2::Digest as _;
        let digest = format!("sha256:{:x}", sha2::Sha256::digest(data));
        let r = http
            .post(format!("{}/v2/{REPO}/blobs/uploads/", self.base))
            .send()
            .await?;
        let location = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .context("upload location")?
            .to_owned();
        let sep = if location.contains('?') { '&' } else { '?' };
        let r = http
            .put(format!("{location}{sep}digest={digest}"))
            .header("content-type", "application/octet-stream")
            .body(data.to_vec())
            .send()
            .await?;
        if r.status() != 201 {
            bail!("blob upload: {}", r.status());
        }
        Ok((digest, data.len()))
    }

    /// One config blob and one layer; `n` manifests that differ by an
    /// annotation, each under its own tag, 16 PUTs at a time.
    async fn populate(&self, n: u64) -> Result<()> {
        use futures_util::StreamExt as _;
        println!("bench: pushing {n} manifests to docker-registry (once)");
        let http = reqwest::Client::new();
        let config = self
            .upload(
                &http,
                br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#,
            )
            .await?;
        let layer = self.upload(&http, b"bench layer, not a tarball").await?;
        let results: Vec<Result<()>> = futures_util::stream::iter(0..n)
            .map(|i| {
                let http = &http;
                let body = json!({
                    "schemaVersion": 2,
                    "mediaType": DOCKER_V2,
                    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": config.1, "digest": config.0},
                    "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": layer.1, "digest": layer.0}],
                    "annotations": {"bench.tag": format!("t{i:07}")},
                })
                .to_string();
                async move {
                    let r = http
                        .put(format!("{}/v2/{REPO}/manifests/t{i:07}", self.base))
                        .header("content-type", DOCKER_V2)
                        .body(body)
                        .send()
                        .await?;
                    if r.status() != 201 {
                        bail!("manifest push: {}", r.status());
                    }
                    Ok(())
                }
            })
            .buffer_unordered(16)
            .collect()
            .await;
        results.into_iter().collect()
    }

    /// `wrk` sending `method` for the manifests of every tag in turn; its
    /// requests/s. Any non-2xx answer fails the bench.
    fn wrk(&self, method: &str, n: u64, secs: u32) -> Result<f64> {
        let script = self.dir.join(format!("{method}.lua"));
        std::fs::write(
            &script,
            format!(
                r#"local n, i = {n}, 0
function setup(thread) thread:set("offset", i * 7919); i = i + 1 end
function init(args) k = offset or 0 end
request = function()
  k = (k + 1) % n
  return wrk.format("{method}", string.format("/v2/{REPO}/manifests/t%07d", k), {{["Accept"] = "{ACCEPT}"}})
end
done = function(summary, latency, requests)
  io.write(string.format("non2xx %d\n", summary.errors.status))
end
"#
            ),
        )?;
        let out = Command::new("wrk")
            .args(["-t2", "-c32", &format!("-d{secs}s"), "-s"])
            .arg(&script)
            .arg(&self.base)
            .output()
            .context("running wrk")?;
        let text = String::from_utf8_lossy(&out.stdout);
        let number = |key: &str| -> Option<f64> {
            text.lines()
                .find_map(|l| l.trim().strip_prefix(key))
                .and_then(|v| v.trim().parse().ok())
        };
        let rps = number("Requests/sec:").with_context(|| format!("wrk output:\n{text}"))?;
        if number("non2xx").unwrap_or(0.0) > 0.0 || text.contains("Socket errors") {
            bail!("wrk {method} got errors from the registry:\n{text}");
        }
        println!("bench: registry raw manifest {method}: {rps:.0} requests/s");
        Ok(rps)
    }
}

impl Registry {
    /// CPU seconds the registry process used so far.
    fn cpu_seconds(&self) -> Result<f64> {
        cpu_seconds(&self.child.id().to_string(), false)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
