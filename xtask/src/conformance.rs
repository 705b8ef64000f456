//! `cargo xtask conformance`: the conformance kit's binary, over real sockets,
//! against every server this repository ships: swrd on SQLite, swrd on
//! PostgreSQL (a database of its own, dropped after), and
//! `examples/minimal_server.rs`. Each is seeded with the kit's standard
//! fixture; JUnit reports go to `target/conformance/`.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail, ensure};

use crate::consumers::{KillOnDrop, cargo, wait_until_listening};

/// Every server in turn; fails on the first that does not pass every check.
pub fn run(root: &Path) -> Result<()> {
    let status = Command::new(cargo())
        .current_dir(root)
        .args(["build", "-p", "swrd", "-p", "swr-conformance"])
        .status()?;
    ensure!(status.success(), "building swrd and the kit failed");
    let status = Command::new(cargo())
        .current_dir(root)
        .args([
            "build",
            "-p",
            "swr-api",
            "--example",
            "minimal_server",
            "--features",
            "docs",
        ])
        .status()?;
    ensure!(status.success(), "building examples/minimal_server failed");
    let debug = root.join("target/debug");
    let out = root.join("target/conformance");
    std::fs::create_dir_all(&out)?;
    let dir = tempfile::tempdir()?;
    let fixture = dir.path().join("standard.yaml");
    let printed = Command::new(debug.join("swr-conformance"))
        .arg("--print-fixture")
        .output()?;
    ensure!(
        printed.status.success(),
        "swr-conformance --print-fixture failed"
    );
    std::fs::write(&fixture, &printed.stdout)?;
    let fixture = fixture.display().to_string();
    let swrd = debug.join("swrd").display().to_string();

    let sqlite = format!("sqlite://{}", dir.path().join("swrd.db").display());
    check(
        &out,
        "swrd-sqlite",
        &[
            &swrd,
            "serve",
            "--database",
            &sqlite,
            "--fixtures",
            &fixture,
        ],
        &fixture,
        "--listen",
    )?;
    match postgres_database()? {
        Some(db) => {
            let result = check(
                &out,
                "swrd-postgres",
                &[
                    &swrd,
                    "serve",
                    "--database",
                    &db.url,
                    "--fixtures",
                    &fixture,
                ],
                &fixture,
                "--listen",
            );
            drop(db);
            result?;
        }
        None if std::env::var("CI").is_ok_and(|v| v == "true") => {
            bail!("CI=true but PostgreSQL is not reachable")
        }
        None => {
            eprintln!("conformance: no PostgreSQL on 127.0.0.1:5432; swrd on PostgreSQL skipped")
        }
    }
    let example = debug.join("examples/minimal_server").display().to_string();
    check(&out, "minimal-server", &[&example, &fixture], &fixture, "")?;
    Ok(())
}

/// Starts `command` listening on a free port (`listen_flag PORT`, or the
/// port as the last argument when the flag is empty), runs the kit against
/// it, and requires every check to pass.
fn check(out: &Path, name: &str, command: &[&str], fixture: &str, listen_flag: &str) -> Result<()> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut cmd = Command::new(command[0]);
    cmd.args(&command[1..]);
    if listen_flag.is_empty() {
        cmd.arg(&addr);
    } else {
        cmd.args([listen_flag, &addr]);
    }
    let server = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {name}"))?;
    let _server = KillOnDrop(server);
    wait_until_listening(port)?;
    let junit = out.join(format!("{name}.xml"));
    let kit = Command::new(out.join("../debug/swr-conformance"))
        .args([
            "--url",
            &format!("http://{addr}"),
            "--fixtures",
            fixture,
            "--junit",
        ])
        .arg(&junit)
        .output()
        .context("running swr-conformance")?;
    let report = String::from_utf8_lossy(&kit.stdout);
    let summary = report.lines().last().unwrap_or_default();
    println!("conformance: {name}: {summary}");
    if !kit.status.success() {
        bail!(
            "{name} does not conform ({}):\n{report}{}",
            kit.status,
            String::from_utf8_lossy(&kit.stderr)
        );
    }
    Ok(())
}

/// A fresh PostgreSQL database, dropped with the value.
struct PgDatabase {
    url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let _ = psql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

fn postgres_database() -> Result<Option<PgDatabase>> {
    if std::net::TcpStream::connect("127.0.0.1:5432").is_err() {
        return Ok(None);
    }
    let name = format!("swr_conformance_{}", std::process::id());
    psql(&format!("CREATE DATABASE {name}"))?;
    Ok(Some(PgDatabase {
        url: format!("postgres://postgres@127.0.0.1:5432/{name}"),
        name,
    }))
}

fn psql(sql: &str) -> Result<()> {
    let status = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-q",
            "-c",
            sql,
        ])
        .status()
        .context("running psql")?;
    ensure!(status.success(), "psql -c {sql:?} failed");
    Ok(())
}
