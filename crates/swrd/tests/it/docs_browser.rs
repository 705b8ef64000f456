//! `/docs` in a real browser: headless Chromium loads swrd's Swagger UI with
//! every host name but swrd's unresolvable, so the page has to work from what
//! swrd serves alone, and the rendered DOM must show the operation, expanded
//! through Swagger UI's deep link, with its parameters.
//!
//! Needs `SWRD_TEST_CHROMIUM`, a Chromium binary (`cargo xtask test` sets it);
//! skipped without it, except under `CI=true`.

use crate::common;

use std::collections::BTreeSet;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Swrd;
use serde_json::Value;

const OPERATION_PATH: &str = "/v2/manage/namespaces/{namespace}/repos/{repository}/tags";
const SUMMARY: &str = "List the tags of an image repository";
/// Swagger UI's deep link to the operation (`deepLinking` is on by default in
/// utoipa-swagger-ui): the operation opens expanded, parameters and all.
const DEEP_LINK: &str = "/docs/#/tags/list_repository_tags";
/// Longest time one Chromium run may take (about 2 s here).
const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(60);

#[test]
fn docs_page_renders_the_operation_with_no_network() {
    let Some(chromium) =
        common::external("SWRD_TEST_CHROMIUM", "headless Chromium for the /docs page")
    else {
        return;
    };
    let swrd = Swrd::start(None, &[]);
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("{}{DEEP_LINK}", swrd.base);
    // Every name resolves to nothing except the loopback address swrd is on.
    let offline = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1";

    let net_log = tmp.path().join("net-log.json");
    let dom = run_chromium(
        &chromium,
        &swrd,
        tmp.path(),
        "dom",
        &[
            offline,
            &format!("--log-net-log={}", net_log.display()),
            "--dump-dom",
            &url,
        ],
    );
    let failed = |what: &str| -> String {
        format!(
            "{what}\n--- rendered text ---\n{}\n--- swrd log ---\n{}",
            text_of(&dom),
            swrd.logs()
        )
    };
    assert!(
        !dom.contains("Failed to load API definition"),
        "{}",
        failed("Swagger UI could not load /openapi.json")
    );

    // The operation, as Swagger UI renders it (`<wbr>` between path segments).
    let text = text_of(&dom);
    assert!(
        text.contains("Huawei Cloud SWR"),
        "{}",
        failed("no spec title")
    );
    assert!(
        text.contains(OPERATION_PATH),
        "{}",
        failed("the operation's path is not rendered")
    );
    assert!(
        text.contains(SUMMARY),
        "{}",
        failed("the operation's summary is not rendered")
    );

    // Expanded by the deep link: the parameter table is there.
    let params = parameter_names(&dom);
    for name in [
        "namespace",
        "repository",
        "order_column",
        "filter",
        "X-Auth-Token",
    ] {
        assert!(
            params.contains(name),
            "parameter {name} is not rendered; rendered parameters: {params:?}\n{}",
            failed("")
        );
    }

    // Nothing the page asked for went anywhere but swrd, and the spec came
    // from swrd.
    let origin = swrd.base.trim_end_matches('/');
    let requested = page_requests(&net_log, origin);
    let foreign: Vec<&String> = requested
        .iter()
        .filter(|u| !u.starts_with(&format!("{origin}/")))
        .collect();
    assert!(
        foreign.is_empty(),
        "the page fetched from outside swrd: {foreign:?}"
    );
    assert!(
        requested.contains(&format!("{origin}/openapi.json")),
        "the page never fetched {origin}/openapi.json; it fetched {requested:?}"
    );

    // A screenshot of the same page, for people (and a check that it paints).
    let png = tmp.path().join("docs.png");
    run_chromium(
        &chromium,
        &swrd,
        tmp.path(),
        "screenshot",
        &[
            offline,
            &format!("--screenshot={}", png.display()),
            "--window-size=1280,2000",
            &url,
        ],
    );
    let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("no screenshot at {png:?}: {e}"));
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{png:?} is not a PNG"
    );
    assert!(
        bytes.len() > 10 * 1024,
        "the screenshot is only {} bytes: a blank page?",
        bytes.len()
    );
}

/// The same page reached under a host name, as a deployed swrd is (not on
/// loopback): Swagger UI's default config would then also ask its online
/// validator, validator.swagger.io, for a badge, sending it the spec's URL;
/// swrd sets `validatorUrl: "none"`.
#[test]
fn docs_page_under_a_host_name_fetches_nothing_from_outside() {
    let Some(chromium) =
        common::external("SWRD_TEST_CHROMIUM", "headless Chromium for the /docs page")
    else {
        return;
    };
    let swrd = Swrd::start(None, &[]);
    let tmp = tempfile::tempdir().unwrap();
    let port = swrd.base.rsplit(':').next().unwrap().trim_end_matches('/');
    let origin = format!("http://swrd.test:{port}");
    let net_log = tmp.path().join("net-log.json");
    let dom = run_chromium(
        &chromium,
        &swrd,
        tmp.path(),
        "dom",
        &[
            "--host-resolver-rules=MAP swrd.test 127.0.0.1 , MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            &format!("--log-net-log={}", net_log.display()),
            "--dump-dom",
            &format!("{origin}{DEEP_LINK}"),
        ],
    );
    assert!(
        text_of(&dom).contains(SUMMARY),
        "the page did not render:\n{}",
        text_of(&dom)
    );
    let requested = page_requests(&net_log, &origin);
    let foreign: Vec<&String> = requested
        .iter()
        .filter(|u| !u.starts_with(&format!("{origin}/")))
        .collect();
    assert!(
        foreign.is_empty(),
        "the page fetched from outside swrd: {foreign:?}"
    );
}

/// Runs Chromium headless on `args` with a fresh profile under `tmp`, kills it
/// (its whole process group) after [`CHROMIUM_TIMEOUT`], and returns stdout.
fn run_chromium(chromium: &str, swrd: &Swrd, tmp: &Path, name: &str, args: &[&str]) -> String {
    let profile = tmp.join(format!("profile-{name}"));
    let stdout_path = tmp.join(format!("{name}.stdout"));
    let stderr_path = tmp.join(format!("{name}.stderr"));
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            &format!("--user-data-dir={}", profile.display()),
            "--virtual-time-budget=10000",
        ])
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        // Its own process group, so a timeout can end the renderers too.
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {chromium}: {e}"));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > CHROMIUM_TIMEOUT {
            let _ = Command::new("kill")
                .args(["-KILL", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium ({name}) did not finish in {CHROMIUM_TIMEOUT:?}\n{}",
                stderr_tail(&stderr_path)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.success(),
        "chromium ({name}) failed: {status}\n{}\n--- swrd log ---\n{}",
        stderr_tail(&stderr_path),
        swrd.logs()
    );
    std::fs::read_to_string(&stdout_path).unwrap()
}

/// The end of Chromium's stderr, without its D-Bus complaints.
fn stderr_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.contains("dbus")).collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// The text of an HTML document: tags dropped, the few entities Swagger UI
/// emits decoded, and invisible break opportunities removed.
fn text_of(html: &str) -> String {
    let mut text = String::with_capacity(html.len() / 2);
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            // Zero-width space / joiners, word joiner, BOM, soft hyphen.
            '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}' | '\u{ad}' => {}
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

/// The names in Swagger UI's parameter table (`<div class="parameter__name
/// required">namespace<span>…`).
fn parameter_names(html: &str) -> BTreeSet<String> {
    html.match_indices("class=\"parameter__name")
        .filter_map(|(at, _)| {
            let rest = &html[at..];
            let start = rest.find('>')? + 1;
            let end = start + rest[start..].find('<')?;
            Some(text_of(&rest[start..end]).trim().to_owned())
        })
        .collect()
}

/// Every URL the page itself requested (initiator `origin`), from Chromium's
/// net log. The browser's own background traffic has no initiator and is not
/// the page's doing.
fn page_requests(net_log: &Path, origin: &str) -> Vec<String> {
    let text = std::fs::read_to_string(net_log)
        .unwrap_or_else(|e| panic!("no net log at {net_log:?}: {e}"));
    let log: Value = serde_json::from_str(&text).expect("the net log is JSON");
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
        .as_u64()
        .expect("the net log names URL_REQUEST_START_JOB");
    let urls: Vec<String> = log["events"]
        .as_array()
        .expect("the net log has events")
        .iter()
        .filter(|e| e["type"].as_u64() == Some(start_job))
        .filter(|e| e["params"]["initiator"].as_str() == Some(origin))
        .filter_map(|e| e["params"]["url"].as_str().map(str::to_owned))
        .collect();
    assert!(
        !urls.is_empty(),
        "the net log shows no request made by {origin}: is `initiator` still logged?"
    );
    urls
}
