//! The `swr-conformance` binary over real sockets: against the MemoryServer,
//! against swrd (a spawned `swrd serve` when `SWRD_BIN` names its binary,
//! else swrd's app served in this process), against a mutant (exit 1, FAIL
//! lines, JUnit), and with bad arguments (exit 2).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use swr_conformance::standard_fixture;

use super::common::{FIXTURE_PATH, kit, kit_against, memory_router, serve, sqlite_store, swrd_app};
use super::mutants;

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[track_caller]
fn assert_all_passed(what: &str, out: &std::process::Output) {
    let text = stdout(out);
    let n = swr_conformance::check_list().len();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what}:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        text.lines().last(),
        Some(format!("{n} passed, 0 failed").as_str()),
        "{what}:\n{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_passes_against_the_memory_server() {
    let base = serve(memory_router(&standard_fixture())).await;
    let out = kit_against(&base, &[]).await;
    assert_all_passed("MemoryServer on a socket", &out);
}

/// A `swrd serve` child process, killed when dropped.
struct SwrdProcess {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl SwrdProcess {
    fn start(bin: &str) -> SwrdProcess {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite://{}", dir.path().join("swrd.db").display());
        let mut child = Command::new(bin)
            .args(["serve", "--listen", "127.0.0.1:0", "--database", &db])
            .args(["--fixtures", FIXTURE_PATH])
            .env("SWRD_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start swrd");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(url) = line.strip_prefix("swrd listening on ") {
                        break url.trim().to_owned();
                    }
                }
                _ => panic!("swrd exited before listening"),
            }
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        SwrdProcess {
            child,
            base,
            _dir: dir,
        }
    }
}

impl Drop for SwrdProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_passes_against_swrd() {
    match std::env::var("SWRD_BIN") {
        Ok(bin) if !bin.is_empty() => {
            let swrd = SwrdProcess::start(&bin);
            let out = kit_against(&swrd.base, &[]).await;
            assert_all_passed("swrd serve (SWRD_BIN)", &out);
        }
        _ => {
            eprintln!("SWRD_BIN is not set: swrd's app is served from this process instead");
            let fixture = standard_fixture();
            let (store, _dir) = sqlite_store().await;
            let base = serve(swrd_app(store, &fixture).await).await;
            let out = kit_against(&base, &[]).await;
            assert_all_passed("swrd's app on a socket", &out);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_reports_a_mutant_with_fail_lines_and_junit() {
    let fixture = standard_fixture();
    let mutant = mutants::all(&fixture)
        .into_iter()
        .find(|m| m.name == "content_range_inclusive_end")
        .unwrap();
    let base = serve(mutant.router).await;
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    let out = kit_against(&base, &["--junit", junit.to_str().unwrap()]).await;
    let text = stdout(&out);
    println!("{text}");
    assert_eq!(out.status.code(), Some(1), "{text}");
    let fails: Vec<&str> = text.lines().filter(|l| l.starts_with("FAIL ")).collect();
    let line = fails
        .iter()
        .find(|l| l.starts_with("FAIL paging.content_range_count: sent GET http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no FAIL line for paging.content_range_count:\n{text}"));
    assert!(
        line.contains("/v2/manage/namespaces/conformance-a/repos/tags/tags?offset=0&limit=2"),
        "{line}"
    );
    assert!(
        line.contains("; got 200 [Content-Type: application/json] [Content-Range: 0-1/160]"),
        "{line}"
    );
    assert!(
        line.contains("; rule: Content-Range is {offset}-{count}/{total}"),
        "{line}"
    );
    let n = swr_conformance::check_list().len();
    let summary = format!("{} passed, {} failed", n - fails.len(), fails.len());
    assert_eq!(text.lines().last(), Some(summary.as_str()));

    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    assert!(xml.contains(&format!(
        "<testsuite name=\"swr-conformance\" tests=\"{n}\" failures=\"{}\" errors=\"0\" skipped=\"0\">",
        fails.len()
    )));
    assert_eq!(xml.matches("<testcase ").count(), n);
    assert_eq!(xml.matches("<failure message=").count(), fails.len());
    assert!(xml.contains(
        "<testcase classname=\"paging\" name=\"paging.content_range_count\">\n      <failure message=\"Content-Range is 0-1/160, expected 0-2/160"
    ), "{xml}");
}

#[test]
fn binary_usage_and_io_errors_exit_2() {
    let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    for (case, argv) in [
        ("no arguments", args(&[])),
        ("no --fixtures", args(&["--url", "http://127.0.0.1:1"])),
        (
            "unreadable fixture",
            args(&[
                "--url",
                "http://127.0.0.1:1",
                "--fixtures",
                "/nonexistent.yaml",
            ]),
        ),
        (
            "bad URL",
            args(&["--url", "not a url", "--fixtures", FIXTURE_PATH]),
        ),
        (
            "not http",
            args(&["--url", "ftp://127.0.0.1", "--fixtures", FIXTURE_PATH]),
        ),
        (
            "unknown group",
            args(&[
                "--url",
                "http://127.0.0.1:1",
                "--fixtures",
                FIXTURE_PATH,
                "--skip",
                "nosuch",
            ]),
        ),
    ] {
        let out = kit(&argv);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{case}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_skip_option_and_unreachable_server() {
    let base = serve(memory_router(&standard_fixture())).await;
    let out = kit_against(&base, &["--skip", "aksk", "--skip", "tenancy"]).await;
    let text = stdout(&out);
    let skipped = swr_conformance::check_list()
        .iter()
        .filter(|c| c.1 == "aksk" || c.1 == "tenancy")
        .count();
    let n = swr_conformance::check_list().len();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(
        text.lines().last(),
        Some(format!("{} passed, 0 failed, {skipped} skipped", n - skipped).as_str())
    );

    // Nothing listens on the port: every check fails, saying why; exit 1.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = kit_against(&format!("http://127.0.0.1:{port}"), &[]).await;
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("got no response"), "{text}");
}
