//! `cargo xtask bench [--quick]`: load benchmarks, every scenario measured side by
//! side in one session with its references, reported as ratios.
//!
//! The machines are shared and noisy (2 cores, load generator on the same
//! machine), so absolute numbers mean little; ratios measured minutes apart in
//! one run mean more. Each scenario runs `repeat` times; the report shows the
//! min and the median.
//!
//! - **ceiling**: a minimal axum server (`xtask __ceiling`, its own process) that
//!   serializes the same 100 tag objects with serde_json on every request;
//! - **swrd** on SQLite and PostgreSQL: 100-tag pages at offsets 0, middle and
//!   end, ordered by `updated_at desc` and by `tag asc`, with and without a
//!   `tag` substring filter;
//! - **Distribution** (`docker-registry`) `tags/list` next to swrd at the same
//!   repository sizes;
//! - the unpaged list of the whole repository: time and the server's peak RSS
//!   growth (`VmHWM` after resetting it through `/proc/PID/clear_refs`);
//! - the `swr` client's `--all` stream.
//!
//! `--quick` (CI's smoke test) uses small data and one short run of each, and
//! asserts nothing about speed. Results: `target/bench/report.{md,json}`.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::json;

mod writes;

const TOKEN: &str = "demo-token";
const NAMESPACE: &str = "bench";

/// Sizes and durations of one run.
struct Plan {
    quick: bool,
    big: u64,
    registry_sizes: Vec<u64>,
    duration: &'static str,
    repeat: usize,
    connections: u32,
}

impl Plan {
    fn new(quick: bool) -> Plan {
        if quick {
            Plan {
                quick,
                big: 20_000,
                registry_sizes: vec![1_000],
                duration: "2s",
                repeat: 1,
                connections: 32,
            }
        } else {
            Plan {
                quick,
                big: 1_000_000,
                registry_sizes: vec![10_000, 100_000],
                duration: "5s",
                repeat: 3,
                connections: 32,
            }
        }
    }
}

/// One measured scenario.
#[derive(Debug, Clone)]
pub struct Measured {
    pub name: String,
    pub rps: Vec<f64>,
    pub p50_ms: Vec<f64>,
    pub p99_ms: Vec<f64>,
    pub non_2xx: u64,
}

impl Measured {
    fn median(v: &[f64]) -> f64 {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    }
    fn min(v: &[f64]) -> f64 {
        v.iter().copied().fold(f64::INFINITY, f64::min)
    }
}

/// Runs the benchmarks and writes the report.
/// The load benchmarks; `writes_only`: the cold start and the reads while
/// writes land, on both backends, and nothing else.
pub fn run(root: &Path, quick: bool, writes_only: bool) -> Result<()> {
    let plan = Plan::new(quick);
    let out = root.join("target/bench");
    std::fs::create_dir_all(&out)?;
    ensure_wrk()?;
    println!("bench: building release binaries");
    cargo(
        root,
        &["build", "--release", "-q", "-p", "swrd", "-p", "xtask"],
    )?;
    let release = root.join("target/release");
    let swrd_bin = release.join("swrd");

    // Data: one SQLite file, reused across runs of the same size.
    let sqlite = out.join(format!("sqlite-{}.db", plan.big));
    let sqlite_url = format!("sqlite://{}", sqlite.display());
    if !out.join(format!("sqlite-{}.done", plan.big)).exists() {
        let _ = std::fs::remove_file(&sqlite);
        synth(&swrd_bin, &sqlite_url, "big", plan.big)?;
        for &n in &plan.registry_sizes {
            synth(&swrd_bin, &sqlite_url, &format!("r{n}"), n)?;
        }
        std::fs::write(out.join(format!("sqlite-{}.done", plan.big)), "")?;
    }

    let mut results: Vec<Measured> = Vec::new();
    let mut notes: Vec<String> = Vec::new();

    // The ceiling: the same 100 tag objects, serialized per request.
    let server = Server::start(&swrd_bin, &sqlite_url)?;
    let page = fetch(&format!(
        "{}/v2/manage/namespaces/{NAMESPACE}/repos/big/tags?offset=0&limit=100",
        server.base
    ))?;
    let page_file = out.join("ceiling-page.json");
    std::fs::write(&page_file, &page)?;
    let ceiling = Ceiling::start(&release.join("xtask"), &page_file)?;
    let wrk = |name: &str, url: &str| -> Result<Measured> { measure(&plan, name, url) };

    let offsets = [0, plan.big / 2, plan.big.saturating_sub(100)];
    let pg = pg_bench_url(&swrd_bin, &plan)?;
    let backends: Vec<(&str, String)> = {
        let mut b = vec![("sqlite", sqlite_url.clone())];
        match &pg {
            Some(pg) => b.push(("postgres", pg.url.clone())),
            None => notes.push("PostgreSQL not reachable: its scenarios were skipped".into()),
        }
        b
    };
    drop(server);
    for (backend, url) in &backends {
        // First, before anything has warmed a cache: a cold start with the
        // load already there.
        notes.extend(writes::cold_start(
            &plan,
            &swrd_bin,
            backend,
            url,
            plan.big / 2,
        )?);
        if writes_only {
            writes::reads_while_writing(
                &plan,
                &swrd_bin,
                backend,
                url,
                &written_repositories(&plan),
                &mut results,
                &mut notes,
            )?;
            continue;
        }
        let server = Server::start(&swrd_bin, url)?;
        let warm = warm_up(
            &server,
            &format!(
                "{}/v2/manage/namespaces/{NAMESPACE}/repos/big/tags?offset=0&limit=100",
                server.base
            ),
        )?;
        notes.push(format!(
            "{backend}: page index of {} tags ready {warm:.2} s after the first request",
            plan.big
        ));
        for _ in 0..plan.repeat {
            let c = wrk("ceiling", &format!("{}/tags", ceiling.base))?;
            merge(&mut results, c);
            for &offset in &offsets {
                for (order, q) in [
                    ("updated_at desc", ""),
                    ("tag asc", "&order_column=tag&order_type=asc"),
                ] {
                    let name = format!("{backend}: offset {offset}, {order}");
                    let url = format!(
                        "{}/v2/manage/namespaces/{NAMESPACE}/repos/big/tags?offset={offset}&limit=100{q}",
                        server.base
                    );
                    merge(&mut results, wrk(&name, &url)?);
                }
            }
            let name = format!("{backend}: tag filter \"12\", offset 0");
            let url = format!(
                "{}/v2/manage/namespaces/{NAMESPACE}/repos/big/tags?offset=0&limit=100&tag=12",
                server.base
            );
            merge(&mut results, wrk(&name, &url)?);
        }
        notes.push(format!(
            "{backend}: swrd RSS after the paged scenarios: {:.1} MiB",
            server.rss()? as f64 / 1048576.0
        ));
        drop(server);
        writes::reads_while_writing(
            &plan,
            &swrd_bin,
            backend,
            url,
            &written_repositories(&plan),
            &mut results,
            &mut notes,
        )?;
        let server = Server::start(&swrd_bin, url)?;
        // Unpaged: the whole repository, time and RSS growth.
        let (secs, growth) = unpaged(
            &server,
            &format!(
                "{}/v2/manage/namespaces/{NAMESPACE}/repos/big/tags",
                server.base
            ),
        )?;
        notes.push(format!(
            "{backend}: unpaged list of {} tags in {secs:.2} s, server peak RSS growth {:.1} MiB (RSS now {:.1} MiB)",
            plan.big,
            growth as f64 / 1048576.0,
            server.rss()? as f64 / 1048576.0
        ));
    }

    if writes_only {
        write_report(&out, &plan, &results, &notes)?;
        return check_statuses(&results);
    }

    // Distribution next to swrd at the same sizes.
    match which("docker-registry") {
        Some(registry_bin) => {
            let server = Server::start(&swrd_bin, &sqlite_url)?;
            for &n in &plan.registry_sizes {
                let registry = Registry::start(&registry_bin, &out, n)?;
                warm_up(
                    &server,
                    &format!(
                        "{}/v2/manage/namespaces/{NAMESPACE}/repos/r{n}/tags?offset=0&limit=100",
                        server.base
                    ),
                )?;
                for _ in 0..plan.repeat {
                    let url = format!("{}/v2/{NAMESPACE}/r{n}/tags/list", registry.base);
                    merge(
                        &mut results,
                        wrk(&format!("distribution: tags/list, {n} tags"), &url)?,
                    );
                    let url = format!(
                        "{}/v2/manage/namespaces/{NAMESPACE}/repos/r{n}/tags?offset=0&limit=100",
                        server.base
                    );
                    merge(
                        &mut results,
                        wrk(&format!("sqlite: 100-tag page, {n} tags"), &url)?,
                    );
                }
            }
        }
        None => notes.push(
            "docker-registry is not installed: the Distribution comparison was skipped".into(),
        ),
    }

    // The client: `swr tags list --all` (the client's `tags_stream`) over
    // 100,000 tags (the big repository in quick mode).
    let (client_repo, client_tags) = if plan.quick {
        ("big".to_owned(), plan.big)
    } else {
        ("r100000".to_owned(), 100_000)
    };
    if cargo(root, &["build", "--release", "-q", "-p", "swr-cli"]).is_ok()
        && release.join("swr").is_file()
    {
        let server = Server::start(&swrd_bin, &sqlite_url)?;
        let start = Instant::now();
        let status = Command::new(release.join("swr"))
            .args([
                "--endpoint",
                &server.base,
                "--token",
                TOKEN,
                "tags",
                "list",
                &format!("{NAMESPACE}/{client_repo}"),
                "--all",
                "-o",
                "ndjson",
            ])
            .stdout(Stdio::null())
            .status()?;
        notes.push(format!(
            "client: `swr tags list --all -o ndjson` (tags_stream, 1000-tag pages) over {client_tags} tags took {:.2} s ({status})",
            start.elapsed().as_secs_f64()
        ));
    } else {
        notes.push("swr-cli is not in this workspace yet: the client stream was skipped".into());
    }
    drop(ceiling);
    notes.extend(crate::bench_sync::run(&release, &out, plan.quick)?);

    write_report(&out, &plan, &results, &notes)?;
    check_statuses(&results)
}

/// Speed is reported, never asserted; errors are: a benchmark that got
/// non-2xx answers from swrd measured something broken.
fn check_statuses(results: &[Measured]) -> Result<()> {
    let failed: Vec<String> = results
        .iter()
        .filter(|r| r.non_2xx > 0 && !r.name.starts_with("distribution"))
        .map(|r| format!("{} ({} non-2xx)", r.name, r.non_2xx))
        .collect();
    if !failed.is_empty() {
        bail!("swrd answered errors under load: {}", failed.join(", "));
    }
    Ok(())
}

/// The repositories the reads-while-writing rows use: the big one, and the
/// 100,000-tag one in a full run (both backends hold it).
fn written_repositories(plan: &Plan) -> Vec<(String, u64)> {
    let mut repositories = vec![("big".to_owned(), plan.big)];
    if plan.registry_sizes.contains(&100_000) {
        repositories.push(("r100000".to_owned(), 100_000));
    }
    repositories
}

fn merge(results: &mut Vec<Measured>, m: Measured) {
    match results.iter_mut().find(|r| r.name == m.name) {
        Some(r) => {
            r.rps.extend(m.rps);
            r.p50_ms.extend(m.p50_ms);
            r.p99_ms.extend(m.p99_ms);
            r.non_2xx += m.non_2xx;
        }
        None => results.push(m),
    }
}

fn write_report(out: &Path, plan: &Plan, results: &[Measured], notes: &[String]) -> Result<()> {
    let ceiling = results
        .iter()
        .find(|r| r.name == "ceiling")
        .map_or(1.0, |c| Measured::median(&c.rps));
    let mut md = format!(
        "# swrd benchmark{}\n\n{} tags in the big repository, {} connections, wrk `-d {}`, {} repeat(s); \
         median (min) per scenario. Ratio = median rps / ceiling's median rps.\n\n\
         | scenario | rps | p50 ms | p99 ms | ratio to ceiling | non-2xx |\n|---|---|---|---|---|---|\n",
        if plan.quick { " (quick)" } else { "" },
        plan.big,
        plan.connections,
        plan.duration,
        plan.repeat
    );
    let mut rows = Vec::new();
    for r in results {
        let rps = Measured::median(&r.rps);
        md.push_str(&format!(
            "| {} | {:.0} ({:.0}) | {:.2} | {:.2} | {:.2}x | {} |\n",
            r.name,
            rps,
            Measured::min(&r.rps),
            Measured::median(&r.p50_ms),
            Measured::median(&r.p99_ms),
            rps / ceiling,
            r.non_2xx
        ));
        rows.push(json!({"name": r.name, "rps": r.rps, "p50_ms": r.p50_ms, "p99_ms": r.p99_ms, "ratio": rps / ceiling, "non_2xx": r.non_2xx}));
    }
    md.push('\n');
    // swrd against Distribution at the same size.
    for r in results
        .iter()
        .filter(|r| r.name.starts_with("distribution: "))
    {
        let size = r.name.trim_start_matches("distribution: tags/list, ");
        let ours = format!("sqlite: 100-tag page, {size}");
        if let Some(s) = results.iter().find(|s| s.name == ours) {
            let (theirs, mine) = (Measured::median(&r.rps), Measured::median(&s.rps));
            md.push_str(&format!(
                "- at {size}: swrd's 100-tag page answers {:.0}x the requests/s of Distribution's tags/list\n",
                mine / theirs.max(f64::MIN_POSITIVE)
            ));
        }
    }
    for n in notes {
        md.push_str(&format!("- {n}\n"));
    }
    std::fs::write(out.join("report.md"), &md)?;
    std::fs::write(
        out.join("report.json"),
        serde_json::to_string_pretty(
            &json!({"quick": plan.quick, "tags": plan.big, "results": rows, "notes": notes}),
        )?,
    )?;
    println!("{md}");
    println!("wrote {}", out.join("report.md").display());
    Ok(())
}

/// One wrk run: requests/s, p50, p99 and non-2xx responses.
fn measure(plan: &Plan, name: &str, url: &str) -> Result<Measured> {
    let out = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{}", plan.connections),
            &format!("-d{}", plan.duration),
            "--latency",
        ])
        .args(["-H", &format!("X-Auth-Token: {TOKEN}"), url])
        .output()
        .context("running wrk")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let number = |prefix: &str| -> Option<f64> {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .and_then(|v| v.split_whitespace().next())
            .and_then(parse_value)
    };
    let rps = number("Requests/sec:").with_context(|| format!("wrk output for {name}:\n{text}"))?;
    let non_2xx = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let m = Measured {
        name: name.to_owned(),
        rps: vec![rps],
        p50_ms: vec![number("50%").unwrap_or(0.0)],
        p99_ms: vec![number("99%").unwrap_or(0.0)],
        non_2xx,
    };
    println!(
        "  {name}: {rps:.0} rps, p50 {:.2} ms, p99 {:.2} ms",
        m.p50_ms[0], m.p99_ms[0]
    );
    Ok(m)
}

/// wrk's `1.23ms` / `456.00us` / `1.2s` / `12345.67` as milliseconds (or a plain number).
fn parse_value(v: &str) -> Option<f64> {
    for (suffix, factor) in [("us", 0.001), ("ms", 1.0), ("s", 1000.0), ("m", 60000.0)] {
        if let Some(n) = v.strip_suffix(suffix) {
            return n.parse::<f64>().ok().map(|n| n * factor);
        }
    }
    v.parse().ok()
}

fn ensure_wrk() -> Result<()> {
    if which("wrk").is_some() {
        return Ok(());
    }
    println!("bench: installing wrk (Debian)");
    let ok = Command::new("apt-get")
        .args(["install", "-y", "-qq", "wrk"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok || which("wrk").is_none() {
        bail!("wrk is needed: `apt-get install -y wrk`");
    }
    Ok(())
}

pub(crate) fn which(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

fn cargo(root: &Path, args: &[&str]) -> Result<()> {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .current_dir(root)
        .status()?;
    if !status.success() {
        bail!("cargo {} failed", args.join(" "));
    }
    Ok(())
}

fn synth(swrd: &Path, url: &str, repository: &str, n: u64) -> Result<()> {
    println!(
        "bench: synth {n} tags into {NAMESPACE}/{repository} ({})",
        url.split("://").next().unwrap_or("")
    );
    let status = Command::new(swrd)
        .args([
            "synth",
            "--namespace",
            NAMESPACE,
            "--repository",
            repository,
            "--tags",
            &n.to_string(),
            "--database",
            url,
        ])
        .status()?;
    if !status.success() {
        bail!("swrd synth failed");
    }
    Ok(())
}

/// A PostgreSQL database with the big repository, or `None` if no server
/// answers. The full run keeps it (`swrd_bench_N`) for the next run; `--quick`
/// makes a uniquely named one and drops it at the end.
fn pg_bench_url(swrd: &Path, plan: &Plan) -> Result<Option<PgBench>> {
    let admin = std::env::var("SWRD_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let db = if plan.quick {
        format!("swrd_bench_quick_{}", std::process::id())
    } else {
        format!("swrd_bench_{}", plan.big)
    };
    let psql = |sql: &str| Command::new("psql").args([&admin, "-qtAc", sql]).output();
    let exists = match psql(&format!("SELECT 1 FROM pg_database WHERE datname = '{db}'")) {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim() == "1",
        _ => return Ok(None),
    };
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    let url = format!("{base}/{db}");
    if !exists {
        psql(&format!("CREATE DATABASE {db}"))?;
        synth(swrd, &url, "big", plan.big)?;
    }
    // The 100,000-tag repository of the reads-while-writing rows (added to a
    // database made before it was part of the bench).
    let has_100k = Command::new("psql")
        .args([
            &url,
            "-qtAc",
            "SELECT 1 FROM repositories WHERE name = 'r100000'",
        ])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "1");
    if plan.registry_sizes.contains(&100_000) && !has_100k {
        synth(swrd, &url, "r100000", 100_000)?;
    }
    if !exists || !has_100k {
        let _ = Command::new("psql")
            .args([&url, "-qc", "VACUUM ANALYZE"])
            .status();
    }
    Ok(Some(PgBench {
        url,
        drop: plan.quick.then(|| (admin.clone(), db)),
    }))
}

/// The benchmark's PostgreSQL database; dropped on drop when it was made for
/// one run.
struct PgBench {
    url: String,
    drop: Option<(String, String)>,
}

impl Drop for PgBench {
    fn drop(&mut self) {
        if let Some((admin, db)) = &self.drop {
            let sql = format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)");
            let _ = Command::new("psql")
                .args([admin.as_str(), "-qc", &sql])
                .status();
        }
    }
}

/// A release `swrd serve` with the demo credentials.
struct Server {
    base: String,
    child: Child,
}

impl Server {
    fn start(bin: &Path, database: &str) -> Result<Server> {
        Server::start_at(bin, database, "127.0.0.1:0", &[])
    }

    /// Listening on `listen`, with `extra` flags.
    fn start_at(bin: &Path, database: &str, listen: &str, extra: &[&str]) -> Result<Server> {
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

    fn rss(&self) -> Result<u64> {
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
fn unpaged(server: &Server, url: &str) -> Result<(f64, u64)> {
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
fn warm_up(server: &Server, url: &str) -> Result<f64> {
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

fn fetch(url: &str) -> Result<Vec<u8>> {
    let out = Command::new("curl")
        .args(["-sf", "-H", &format!("X-Auth-Token: {TOKEN}"), url])
        .output()?;
    if !out.status.success() {
        bail!("GET {url} failed");
    }
    Ok(out.stdout)
}

/// The ceiling server, run as `xtask __ceiling FILE` in its own process.
struct Ceiling {
    base: String,
    child: Child,
}

impl Ceiling {
    fn start(xtask: &Path, page: &Path) -> Result<Ceiling> {
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
struct Registry {
    base: String,
    child: Child,
}

impl Registry {
    fn start(bin: &Path, out: &Path, n: u64) -> Result<Registry> {
        let root = out.join(format!("registry-{n}"));
        let port = free_port()?;
        let config = out.join(format!("registry-{n}.yml"));
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
                root.display()
            ),
        )?;
        let child = Command::new(bin)
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
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

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(data))
}
