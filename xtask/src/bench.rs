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

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Result, bail};

mod report;
mod servers;
mod writes;

pub use report::Measured;
use report::{check_statuses, measure, merge, write_report};
pub use servers::ceiling_server;
pub(crate) use servers::spawn_registry;
use servers::{Ceiling, Registry, Server, fetch, free_port, sha256_hex, unpaged, warm_up};

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

/// The repositories the reads-while-writing rows use: the big one, and the
/// 100,000-tag one in a full run (both backends hold it).
fn written_repositories(plan: &Plan) -> Vec<(String, u64)> {
    let mut repositories = vec![("big".to_owned(), plan.big)];
    if plan.registry_sizes.contains(&100_000) {
        repositories.push(("r100000".to_owned(), 100_000));
    }
    repositories
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
    let needs_100k = plan.registry_sizes.contains(&100_000)
        && !Command::new("psql")
            .args([
                &url,
                "-qtAc",
                "SELECT 1 FROM repositories WHERE name = 'r100000'",
            ])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "1");
    if needs_100k {
        synth(swrd, &url, "r100000", 100_000)?;
    }
    if !exists || needs_100k {
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
