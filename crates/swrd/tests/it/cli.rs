//! swrd's settings through its command line: `swrd config` prints what a
//! command gets from flags, `SWRD_*` variables, the `--config` file and the
//! defaults (in that order of priority), with secrets redacted; a bad file
//! stops swrd with a message naming the key. And the one request-id rule,
//! over HTTP.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};

fn swrd(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_swrd"));
    // Only what the test sets: no SWRD_* from the caller's environment.
    for (key, _) in std::env::vars() {
        if key.starts_with("SWRD_") {
            cmd.env_remove(key);
        }
    }
    cmd.args(args).envs(env.iter().copied()).output().unwrap()
}

fn config_file(dir: &Path, text: &str) -> String {
    let path = dir.join("swrd.yaml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// `swrd config`'s YAML as a map.
fn effective(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    yaml_serde::from_slice(&out.stdout).unwrap()
}

#[test]
fn flags_beat_environment_beat_file_beat_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let file = config_file(
        dir.path(),
        "listen: 127.0.0.1:7001\nrequest_timeout: 11\nheader_read_timeout: 12\nregistry_host: file.example\n",
    );
    let out = swrd(
        &["--config", &file, "config", "--listen", "127.0.0.1:7003"],
        &[
            ("SWRD_LISTEN", "127.0.0.1:7002"),
            ("SWRD_REQUEST_TIMEOUT", "21"),
        ],
    );
    let c = effective(&out);
    // flag over environment over file
    assert_eq!(c["listen"], "127.0.0.1:7003");
    // environment over file
    assert_eq!(c["request_timeout"], 21);
    // file over default
    assert_eq!(c["header_read_timeout"], 12);
    assert_eq!(c["registry_host"], "file.example");
    // default
    assert_eq!(c["database"], "sqlite://swrd.db");
    assert_eq!(c["registry_concurrency"], 16);
    // The file can also come from the environment.
    let c = effective(&swrd(&["config"], &[("SWRD_CONFIG", &file)]));
    assert_eq!(c["listen"], "127.0.0.1:7001");
}

#[test]
fn secrets_are_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let file = config_file(
        dir.path(),
        "registry: http://127.0.0.1:5000\nregistry_username: bot\nregistry_password: file-pass-123\n",
    );
    let out = swrd(
        &[
            "--config",
            &file,
            "config",
            "--database",
            "postgres://app:db-pass-456@db.example/swrd",
        ],
        &[("SWRD_REGISTRY_WEBHOOK_SECRET", "hook-secret-789")],
    );
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    for secret in ["file-pass-123", "db-pass-456", "hook-secret-789"] {
        assert!(!text.contains(secret), "{secret} printed:\n{text}");
    }
    let c = effective(&out);
    assert_eq!(c["registry_password"], "<redacted>");
    assert_eq!(c["registry_webhook_secret"], "<redacted>");
    assert_eq!(c["database"], "postgres://app:<redacted>@db.example/swrd");
    assert_eq!(c["registry_username"], "bot");
    assert_eq!(c["registry"], "http://127.0.0.1:5000");
}

#[test]
fn an_unknown_or_mistyped_key_names_itself_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = config_file(dir.path(), "listen: 127.0.0.1:7001\nregistry_pasword: x\n");
    for command in [&["config"][..], &["serve"], &["sync"]] {
        let mut args = vec!["--config", &file];
        args.extend_from_slice(command);
        let out = swrd(&args, &[]);
        assert!(!out.status.success(), "{command:?} accepted a bad file");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("registry_pasword") && err.contains(&file),
            "{command:?}: {err}"
        );
    }
    let file = config_file(dir.path(), "request_timeout: soon\n");
    let err =
        String::from_utf8_lossy(&swrd(&["--config", &file, "config"], &[]).stderr).into_owned();
    assert!(err.contains("request_timeout"), "{err}");
}

#[test]
fn help_documents_every_setting() {
    let out = swrd(&["serve", "--help"], &[]);
    let help = String::from_utf8_lossy(&out.stdout);
    let c = effective(&swrd(&["config"], &[]));
    for key in c.as_object().unwrap().keys() {
        let flag = format!("--{}", key.replace('_', "-"));
        assert!(help.contains(&flag), "{flag} is not in serve --help");
    }
    assert!(help.contains("[env: SWRD_LISTEN="), "{help}");
}

/// Every route answers with the id the API router would use: the client's
/// when it is valid, otherwise a fresh one, the same in the log.
#[tokio::test]
async fn one_request_id_rule_on_every_route() {
    // tower-http logs each response at debug, inside the request's span.
    let swrd =
        common::Swrd::start_with_env(None, &["--demo"], &[("SWRD_LOG", "info,tower_http=debug")]);
    swr_api::tls::install_default_provider();
    let http = reqwest::Client::new();
    for path in [
        "/healthz",
        "/metrics",
        "/v2/manage/namespaces/group/repos/busybox/tags?limit=1&offset=0",
        "/no/such/route",
    ] {
        let get = |id: &'static str| {
            http.get(format!("{}{path}", swrd.base))
                .header("x-auth-token", "demo-token")
                .header("x-request-id", id)
                .send()
        };
        let r = get("client-id-1").await.unwrap();
        assert_eq!(r.headers()["x-request-id"], "client-id-1", "{path}");
        // Not a valid id (a space): replaced, on every route alike.
        let r = get("has space").await.unwrap();
        let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_eq!(id.len(), 36, "{path}: {id}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !swrd.logs().contains(&id) {
            assert!(
                std::time::Instant::now() < deadline,
                "{path}: {id} is not in the log:\n{}",
                swrd.logs()
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}
