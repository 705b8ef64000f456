//! `cargo xtask <command>`: the project's automation, in Rust so it runs wherever
//! cargo does.
//!
//! - `test`: prepare what the tests need, then run every test in the workspace.
//!   This is the one test command of the README and of `.ci/run`.
//! - `bench [--quick]`: the load benchmarks side by side with their references
//!   (`target/bench/report.md`); `bench --micro`: the divan micro-benchmarks.
//! - `codegen [--check]`: write the generated-code snapshots, or fail with a diff
//!   when they are stale.
//! - `check [--spec PATH]`: every drift check between the spec and the code.
//! - `docs`: the static API reference page, `target/docs/index.html`.
//! - `conformance`: the conformance kit's binary against swrd (SQLite and
//!   PostgreSQL) and `examples/minimal_server.rs`, over sockets.
//! - `release`: keep the current spec as `openapi/released/{info.version}.yaml`,
//!   the baseline `check` classifies later changes against.
//! - `consumers`: package every crate and build the projects in `consumers/`
//!   against the packaged crates, as users outside this repository would.

use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};
use xtask::{check, codegen, docs, prepare, spec_path, workspace_root};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        Some("bench") => bench(&args[1..]),
        Some("__ceiling") => match args.get(1) {
            Some(page) => xtask::bench::ceiling_server(std::path::Path::new(page)),
            None => Err(anyhow::anyhow!("usage: xtask __ceiling PAGE.json")),
        },
        // The bench's sync row on its own (measuring while tuning).
        Some("bench-sync") => {
            let root = workspace_root();
            let quick = args.iter().any(|a| a == "--quick");
            let out = root.join("target/bench");
            xtask::bench_sync::run(&root.join("target/release"), &out, quick)
                .map(|lines| lines.iter().for_each(|l| println!("{l}")))
        }
        Some("codegen") => codegen_cmd(&args[1..]),
        Some("check") => check_cmd(&args[1..]),
        Some("docs") => docs_cmd(),
        Some("consumers") => xtask::consumers::run(&workspace_root()),
        Some("release") => release_cmd(),
        Some("conformance") => xtask::conformance::run(&workspace_root()),
        _ => {
            eprintln!(
                "usage: cargo xtask <test|bench|codegen [--check]|check [--spec PATH]|docs|consumers|conformance|release> [args...]"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `cargo` with `args` from the workspace root, failing on a non-zero exit.
fn cargo(args: &[&str]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .args(args)
        .current_dir(workspace_root())
        .status()
        .with_context(|| format!("running {cargo} {}", args.join(" ")))?;
    if !status.success() {
        bail!("`cargo {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

/// Every test of the workspace, with extra arguments passed to `cargo test`,
/// after preparing the external components the tests use (see [`prepare`]).
fn test(extra: &[String]) -> Result<()> {
    let env = prepare::test_environment(&workspace_root());
    let mut args = vec!["test", "--workspace", "--all-features"];
    args.extend(extra.iter().map(String::as_str));
    let cargo_bin = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo_bin)
        .args(&args)
        .envs(env)
        .current_dir(workspace_root())
        .status()
        .with_context(|| format!("running {cargo_bin} {}", args.join(" ")))?;
    if !status.success() {
        bail!("`cargo {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

/// `--micro`: the divan micro-benchmarks (extra arguments go to `cargo bench`);
/// otherwise the load benchmarks (`--quick` for the smoke-test size,
/// `--writes-only` for the cold start and reads-while-writing rows alone).
fn bench(extra: &[String]) -> Result<()> {
    if extra.iter().any(|a| a == "--micro") {
        let mut args = vec!["bench", "--workspace"];
        args.extend(extra.iter().filter(|a| *a != "--micro").map(String::as_str));
        return cargo(&args);
    }
    let flag = |name: &str| extra.iter().any(|a| a == name);
    xtask::bench::run(&workspace_root(), flag("--quick"), flag("--writes-only"))
}

fn codegen_cmd(args: &[String]) -> Result<()> {
    let root = workspace_root();
    let yaml = std::fs::read_to_string(spec_path())?;
    if args.iter().any(|a| a == "--check") {
        let stale = codegen::stale(&root, &yaml)?;
        for (path, diff) in &stale {
            eprintln!("{} is stale:\n{diff}", path.display());
        }
        if !stale.is_empty() {
            bail!(
                "{} generated snapshot(s) differ from openapi.yaml: run `cargo xtask codegen`",
                stale.len()
            );
        }
        println!("generated snapshots are up to date");
        return Ok(());
    }
    let changed = codegen::write(&root, &yaml)?;
    for path in &changed {
        println!("wrote {}", path.display());
    }
    if changed.is_empty() {
        println!("generated snapshots were already up to date");
    }
    Ok(())
}

fn check_cmd(args: &[String]) -> Result<()> {
    let spec = match args {
        [flag, path] if flag == "--spec" => std::path::PathBuf::from(path),
        [] => spec_path(),
        _ => bail!("usage: cargo xtask check [--spec PATH]"),
    };
    let problems = check::run(&workspace_root(), &spec)?;
    for p in &problems {
        eprintln!("{p}\n");
    }
    if !problems.is_empty() {
        bail!(
            "{} problem(s) between {} and the code",
            problems.len(),
            spec.display()
        );
    }
    println!("no drift: spec, generated code, snapshots and hand-written mirrors agree");
    Ok(())
}

fn docs_cmd() -> Result<()> {
    let spec: serde_json::Value = yaml_serde::from_str(&std::fs::read_to_string(spec_path())?)?;
    let dir = workspace_root().join("target/docs");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("index.html");
    std::fs::write(&path, docs::render(&spec))?;
    println!("wrote {}", path.display());
    Ok(())
}

/// Blesses the current spec as released (after a version bump, if it broke
/// anything): `check` compares every later change with it.
fn release_cmd() -> Result<()> {
    let root = workspace_root();
    let spec = std::fs::read_to_string(spec_path())?;
    let cargo = std::fs::read_to_string(root.join("Cargo.toml"))?;
    let version =
        xtask::compat::package_version(&cargo).context("no [package] version in Cargo.toml")?;
    let path = xtask::compat::bless(&root, &spec, &version)?;
    println!("released {} (swr-api {version})", path.display());
    Ok(())
}
