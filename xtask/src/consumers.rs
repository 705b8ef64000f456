//! `cargo xtask consumers`: the crates as a user outside this repository gets
//! them.
//!
//! 1. `cargo package --workspace` (cargo builds every crate from its own
//!    tarball, so a file missing from `include` or a path-only dependency
//!    fails here);
//! 2. the `.crate` files are unpacked into `target/consumers/crates/`;
//! 3. the projects under `consumers/` (their own workspaces, outside ours)
//!    are built against those unpacked crates (`[patch.crates-io]` given on
//!    the command line, so no path into the source tree is ever involved):
//!    `client` lists tags from a real `swrd` on SQLite, `server` runs the
//!    conformance kit against the in-memory reference server.
//!
//! The client's build is timed: it starts from an empty target directory,
//! so it is the cold build a new user pays (crates already downloaded).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

/// Every step above; fails on the first one that does.
pub fn run(root: &Path) -> Result<()> {
    let out = root.join("target/consumers");
    let crates = package(root, &out)?;
    let patches: Vec<String> = crates
        .iter()
        .map(|(name, dir)| {
            format!(
                "patch.crates-io.{name}.path={:?}",
                dir.display().to_string()
            )
        })
        .collect();
    let target = out.join("target");
    // Cold: the client is what a new user builds first.
    let _ = std::fs::remove_dir_all(&target);
    let started = Instant::now();
    cargo_in(root, "consumers/client", &["build"], &patches, &target)?;
    println!(
        "consumers: client built cold in {:.1} s (fresh target dir)",
        started.elapsed().as_secs_f64()
    );
    list_tags_from_swrd(root, &target)?;
    cargo_in(root, "consumers/server", &["test"], &patches, &target)?;
    println!("consumers: the server consumer passes the conformance kit");
    Ok(())
}

/// `cargo package --workspace` and the unpacked crates, by name.
fn package(root: &Path, out: &Path) -> Result<Vec<(String, PathBuf)>> {
    // Only this run's tarballs: an older version left there would be patched in too.
    if let Ok(entries) = std::fs::read_dir(root.join("target/package")) {
        for entry in entries.flatten() {
            if entry.path().extension().is_some_and(|e| e == "crate") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    let status = Command::new(cargo())
        .current_dir(root)
        .args([
            "package",
            "--workspace",
            "--exclude",
            "xtask",
            "--allow-dirty",
        ])
        .status()
        .context("running cargo package")?;
    ensure!(
        status.success(),
        "`cargo package --workspace` failed ({status})"
    );
    let unpacked = out.join("crates");
    let _ = std::fs::remove_dir_all(&unpacked);
    std::fs::create_dir_all(&unpacked)?;
    let mut crates = Vec::new();
    for entry in std::fs::read_dir(root.join("target/package"))? {
        let path = entry?.path();
        let Some(file) = path.file_name().and_then(|f| f.to_str()) else {
            continue;
        };
        let Some(stem) = file.strip_suffix(".crate") else {
            continue;
        };
        let status = Command::new("tar")
            .arg("-xzf")
            .arg(&path)
            .arg("-C")
            .arg(&unpacked)
            .status()
            .context("running tar")?;
        ensure!(status.success(), "unpacking {file} failed");
        // `swr-api-0.1.0`: the name is everything before the last `-`.
        let name = stem.rsplit_once('-').map_or(stem, |(n, _)| n).to_owned();
        crates.push((name, unpacked.join(stem)));
    }
    ensure!(!crates.is_empty(), "cargo package wrote no .crate file");
    Ok(crates)
}

fn cargo_in(
    root: &Path,
    project: &str,
    args: &[&str],
    patches: &[String],
    target: &Path,
) -> Result<()> {
    let mut cmd = Command::new(cargo());
    cmd.current_dir(root.join(project))
        .args(args)
        .arg("--target-dir")
        .arg(target);
    for p in patches {
        cmd.arg("--config").arg(p);
    }
    let status = cmd
        .status()
        .with_context(|| format!("running cargo in {project}"))?;
    ensure!(
        status.success(),
        "`cargo {}` in {project} failed ({status})",
        args.join(" ")
    );
    Ok(())
}

/// Runs the client consumer against `swrd serve --demo` on a temporary
/// SQLite file and checks it printed the demo repository's tags.
fn list_tags_from_swrd(root: &Path, target: &Path) -> Result<()> {
    let status = Command::new(cargo())
        .current_dir(root)
        .args(["build", "-p", "swrd"])
        .status()?;
    ensure!(status.success(), "building swrd failed");
    let dir = tempfile::tempdir()?;
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let base = format!("http://127.0.0.1:{port}");
    let swrd = Command::new(root.join("target/debug/swrd"))
        .args([
            "serve",
            "--demo",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--database",
        ])
        .arg(format!("sqlite://{}", dir.path().join("swrd.db").display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting swrd")?;
    let _swrd = KillOnDrop(swrd);
    wait_until_listening(port)?;
    let output = Command::new(target.join("debug/swr-consumer-client"))
        .args(["group", "busybox"])
        .env("SWR_ENDPOINT", &base)
        .env("SWR_TOKEN", "demo-token")
        .output()
        .context("running the client consumer")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success()
        || !stdout.contains("latest\tsha256:")
        || !stdout.contains("of Some(300) tags")
    {
        bail!(
            "the client consumer did not list the demo tags ({}):\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    println!("consumers: the client consumer listed group/busybox from swrd");
    Ok(())
}

pub(crate) fn wait_until_listening(port: u16) -> Result<()> {
    for _ in 0..300 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("the server did not listen on port {port} within 30 s")
}

pub(crate) struct KillOnDrop(pub(crate) Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}
