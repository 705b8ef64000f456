//! What `cargo xtask test` prepares before the tests run: each external
//! component a test needs is found or installed here and handed to the tests as
//! an environment variable. A test whose variable is missing prints a skip
//! locally and fails when `CI=true` (see `swrd`'s test support), so CI can never
//! pass by skipping.
//!
//! | variable | component | how |
//! |---|---|---|
//! | `SWRD_TEST_DATABASE_URL` | PostgreSQL admin URL | kept if set; else the local server on 127.0.0.1:5432 if it answers |
//! | `SWRD_TEST_PYTHON` | Python with the official `huaweicloudsdkswr` | a venv in `.venv`, created and filled from PyPI once |
//! | `SWRD_TEST_SCHEMATHESIS` | schemathesis (spec conformance) | the same venv |
//! | `SWRD_TEST_CHROMIUM` | headless Chromium | `chromium` on the PATH (`.ci/run` installs Debian's) |
//! | `SWRD_TEST_REGISTRY` | CNCF Distribution registry | `docker-registry` on the PATH (`.ci/run` installs Debian's) |
//! | `SWRD_TEST_PG_BIN` | PostgreSQL server binaries (a private cluster for fault tests) | `/usr/lib/postgresql/*/bin` |

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// The official SDK release the tests are written against (the fact sheet's).
pub const SDK_VERSION: &str = "3.1.219";
/// The schemathesis release the conformance test is tuned for.
pub const SCHEMATHESIS_VERSION: &str = "4.32.5";

/// Environment variables for the test run.
pub fn test_environment(root: &Path) -> Vec<(String, String)> {
    let mut env = Vec::new();
    match std::env::var("SWRD_TEST_DATABASE_URL") {
        Ok(url) => env.push(("SWRD_TEST_DATABASE_URL".into(), url)),
        Err(_) if reachable("127.0.0.1:5432") => env.push((
            "SWRD_TEST_DATABASE_URL".into(),
            "postgres://postgres@127.0.0.1:5432/test".into(),
        )),
        Err(_) => eprintln!("xtask: no PostgreSQL on 127.0.0.1:5432; PostgreSQL tests will skip"),
    }
    match python_with_sdk(root) {
        Ok(python) => {
            let schemathesis = root.join(".venv/bin/schemathesis");
            let requirement = format!("schemathesis=={SCHEMATHESIS_VERSION}");
            match ensure_pip(&python, &requirement, &schemathesis) {
                Ok(()) => env.push((
                    "SWRD_TEST_SCHEMATHESIS".into(),
                    schemathesis.display().to_string(),
                )),
                Err(e) => eprintln!("xtask: no schemathesis ({e}); the conformance test will skip"),
            }
            env.push(("SWRD_TEST_PYTHON".into(), python));
        }
        Err(e) => {
            eprintln!("xtask: no Python with huaweicloudsdkswr ({e}); official-SDK tests will skip")
        }
    }
    let pg_bin = std::fs::read_dir("/usr/lib/postgresql")
        .ok()
        .and_then(|versions| {
            versions
                .filter_map(|v| Some(v.ok()?.path().join("bin")))
                .filter(|bin| bin.join("initdb").is_file())
                .max()
        });
    match pg_bin {
        Some(bin) => env.push(("SWRD_TEST_PG_BIN".into(), bin.display().to_string())),
        None => eprintln!("xtask: no PostgreSQL server binaries; fault tests will skip"),
    }
    for (program, var, what) in [
        ("chromium", "SWRD_TEST_CHROMIUM", "browser tests"),
        (
            "docker-registry",
            "SWRD_TEST_REGISTRY",
            "registry feed tests",
        ),
    ] {
        match which(program) {
            Some(path) => env.push((var.into(), path)),
            None => eprintln!("xtask: no {program} on the PATH; {what} will skip"),
        }
    }
    env
}

fn reachable(addr: &str) -> bool {
    addr.parse::<SocketAddr>()
        .is_ok_and(|a| TcpStream::connect_timeout(&a, Duration::from_secs(1)).is_ok())
}

fn which(program: &str) -> Option<String> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string())
}

/// Installs `requirement` into the venv of `python` unless `marker` exists.
fn ensure_pip(python: &str, requirement: &str, marker: &Path) -> Result<(), String> {
    if marker.is_file() {
        return Ok(());
    }
    eprintln!("xtask: installing {requirement} into .venv (once)");
    let out = Command::new(python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            requirement,
        ])
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() && marker.is_file() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr)
            .lines()
            .last()
            .unwrap_or("failed")
            .to_owned())
    }
}

/// `.venv/bin/python` with the official SDK, creating the venv if needed.
fn python_with_sdk(root: &Path) -> Result<String, String> {
    let venv = root.join(".venv");
    let python = venv.join("bin/python");
    let has_sdk = |python: &Path| {
        Command::new(python)
            .args(["-c", "import huaweicloudsdkswr.v2"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if python.is_file() && has_sdk(&python) {
        return Ok(python.display().to_string());
    }
    let run = |cmd: &mut Command| -> Result<(), String> {
        let out = cmd.output().map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("failed")
                .to_owned())
        }
    };
    eprintln!("xtask: creating .venv with huaweicloudsdkswr=={SDK_VERSION} (once)");
    run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    run(Command::new(&python).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        &format!("huaweicloudsdkswr=={SDK_VERSION}"),
    ]))?;
    if has_sdk(&python) {
        Ok(python.display().to_string())
    } else {
        Err("installed, but `import huaweicloudsdkswr.v2` fails".into())
    }
}
