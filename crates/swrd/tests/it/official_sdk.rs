//! Huawei's official Python SDK (`huaweicloudsdkswr`, unmodified) against a
//! real `swrd serve --demo`: `tests/sdk/drive.py` makes the calls and prints
//! what the SDK returned as JSON; the assertions are all here.
//!
//! Needs `SWRD_TEST_PYTHON`, a Python with the SDK installed (`cargo xtask
//! test` sets it); skipped without it, except under `CI=true`.

use crate::common;

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Swrd;
use serde_json::Value;

const DRIVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk/drive.py");
/// Longest time the driver may take (it needs well under a second).
const DRIVER_TIMEOUT: Duration = Duration::from_secs(60);

#[test]
fn official_sdk_lists_pages_orders_and_errors() {
    let Some(python) =
        common::external("SWRD_TEST_PYTHON", "the official huaweicloudsdkswr client")
    else {
        return;
    };
    let swrd = Swrd::start(None, &["--demo"]);
    let out = drive(
        &python,
        &swrd,
        "DEMOACCESSKEY",
        "DEMOSECRETKEY",
        "demo-token",
    );

    // Everything, in one response: `0-N/N`.
    let all = ok(&out, "all");
    let n = all.tags.len();
    assert!(n >= 300, "the demo repository has ~300 tags, got {n}");
    assert_eq!(all.content_range, format!("0-{n}/{n}"), "all");
    assert_eq!(
        all.tags.iter().collect::<HashSet<_>>().len(),
        n,
        "tag names repeat in `all`: {:?}",
        all.tags
    );

    // Pages of the default order (updated_at desc), the middle number a count.
    let page = ok(&out, "page");
    assert_eq!(page.tags.len(), 10, "page: {:?}", page.tags);
    assert_eq!(page.content_range, format!("0-10/{n}"), "page");
    assert_eq!(page.tags, all.tags[..10], "page is the head of `all`");
    let page2 = ok(&out, "page2");
    assert_eq!(page2.content_range, format!("10-10/{n}"), "page2");
    assert!(
        page2.tags.iter().all(|t| !page.tags.contains(t)),
        "pages overlap: {:?} / {:?}",
        page.tags,
        page2.tags
    );
    assert_eq!(page2.tags, all.tags[10..20], "page2 follows page in `all`");

    // By tag name, ascending: byte order, the same as sorting all the names.
    let by_tag = ok(&out, "by_tag_asc");
    assert_eq!(by_tag.tags.len(), 5, "by_tag_asc: {:?}", by_tag.tags);
    assert!(
        by_tag
            .tags
            .windows(2)
            .all(|w| w[0].as_bytes() < w[1].as_bytes()),
        "by_tag_asc is not in byte order: {:?}",
        by_tag.tags
    );
    let mut sorted = all.tags.clone();
    sorted.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    assert_eq!(by_tag.tags, sorted[..5], "by_tag_asc vs all sorted");
    assert_eq!(by_tag.content_range, format!("0-5/{n}"), "by_tag_asc");

    // By update time, ascending: the seed tag pushed in 2018 comes first.
    let by_updated = ok(&out, "by_updated_asc");
    assert_eq!(
        by_updated.tags.len(),
        5,
        "by_updated_asc: {:?}",
        by_updated.tags
    );
    assert_eq!(
        by_updated.tags[0], "latest",
        "by_updated_asc: {:?}",
        by_updated.tags
    );
    let latest = &out["by_updated_asc"]["first"];
    assert_eq!(latest["updated"], "2018-07-06T06:18:55Z", "{latest}");
    assert_eq!(
        latest["image_id"], "741f24a795d6d93d7c6edd11780d63c13e16c39615dd9d223378a57a836f2ee6",
        "{latest}"
    );

    // The tag filter: a substring match, and the total counts only matches.
    let filtered = ok(&out, "tag_filter");
    let count = filtered.tags.len();
    assert!(count > 0, "no tag contains \"0.1\"");
    assert!(
        filtered.tags.iter().all(|t| t.contains("0.1")),
        "tag_filter: {:?}",
        filtered.tags
    );
    assert_eq!(
        filtered.content_range,
        format!("0-{count}/{count}"),
        "tag_filter"
    );
    let expected: Vec<&String> = all.tags.iter().filter(|t| t.contains("0.1")).collect();
    assert_eq!(
        filtered.tags.iter().collect::<Vec<_>>(),
        expected,
        "tag_filter vs `all` filtered here"
    );

    // The packed `filter=` form means the same as the separate parameters.
    let filter_form = ok(&out, "filter_form");
    assert_eq!(filter_form.tags, by_tag.tags, "filter_form vs by_tag_asc");
    assert_eq!(
        filter_form.content_range, by_tag.content_range,
        "filter_form"
    );

    // A repository with `/`, sent as `$`, shown with `/`.
    let slash = ok(&out, "slash_repo");
    assert_eq!(slash.tags, ["1.36"], "slash_repo");
    assert_eq!(slash.content_range, "0-1/1", "slash_repo");
    let first = &out["slash_repo"]["first"];
    assert_eq!(
        first["path"], "swr.local/group/tools/busybox:1.36",
        "{first}"
    );
    assert_eq!(
        first["internal_path"], "127.0.0.1:5000/group/tools/busybox:1.36",
        "{first}"
    );
    assert_eq!(
        first["digest"],
        format!("sha256:{}", "1".repeat(64)),
        "{first}"
    );
    assert_eq!(first["size"], 2_200_000, "{first}");
    assert_eq!(first["created"], "2024-05-01T10:00:00Z", "{first}");

    // Errors reach the SDK's exception with SWR's code, message and request id.
    let missing = error(&out, "missing", 404, "SVCSTG.SWR.4040010");
    assert!(
        missing["request_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "missing has no request id: {missing}"
    );
    let bad_limit = error(&out, "bad_limit", 400, "SVCSTG.SWR.4000056");
    assert!(
        bad_limit["error_msg"]
            .as_str()
            .is_some_and(|m| m.contains("limit")),
        "bad_limit's message does not name `limit`: {bad_limit}"
    );

    // An IAM token instead of a signature, the same data.
    let token = ok(&out, "token");
    assert_eq!(token.tags, page.tags[..3], "token vs page");
    assert_eq!(token.content_range, format!("0-3/{n}"), "token");
}

#[test]
fn official_sdk_with_a_wrong_secret_key_gets_401() {
    let Some(python) =
        common::external("SWRD_TEST_PYTHON", "the official huaweicloudsdkswr client")
    else {
        return;
    };
    let swrd = Swrd::start(None, &["--demo"]);
    let out = drive(
        &python,
        &swrd,
        "DEMOACCESSKEY",
        "WRONGSECRETKEY",
        "demo-token",
    );
    let scenarios = out.as_object().expect("an object of scenarios");
    // Every call the SDK signs is refused, whatever else it asks for (a
    // missing repository or a bad `limit` included: credentials are checked
    // before anything else, so nothing about either leaks)...
    assert!(scenarios.contains_key("bad_limit"), "{out}");
    assert!(scenarios.contains_key("missing"), "{out}");
    for name in scenarios.keys().filter(|name| *name != "token") {
        let e = error(&out, name, 401, "SVCSTG.SWR.4010000");
        assert!(
            e["request_id"].as_str().is_some_and(|id| !id.is_empty()),
            "{name}: no request id: {e}"
        );
        assert!(
            !e.to_string().contains("DEMOSECRETKEY"),
            "{name}: the error shows the real secret key: {e}"
        );
    }
    let bad_limit = error(&out, "bad_limit", 401, "SVCSTG.SWR.4010000");
    assert!(
        !bad_limit.to_string().contains("limit"),
        "bad_limit's 401 says something about `limit`: {bad_limit}"
    );
    // ...while the token route, which sends no signature, still works.
    let token = ok(&out, "token");
    assert_eq!(token.tags.len(), 3, "token: {:?}", token.tags);
}

/// One successful scenario.
struct Listed {
    content_range: String,
    tags: Vec<String>,
}

fn ok(out: &Value, name: &str) -> Listed {
    let s = &out[name];
    assert_eq!(s["status"], 200, "{name}: {s}");
    let content_range = s["content_range"]
        .as_str()
        .unwrap_or_else(|| panic!("{name}: no content_range: {s}"))
        .to_owned();
    let tags = s["tags"]
        .as_array()
        .unwrap_or_else(|| panic!("{name}: no tags: {s}"))
        .iter()
        .map(|t| t.as_str().expect("tag names are strings").to_owned())
        .collect();
    Listed {
        content_range,
        tags,
    }
}

fn error<'a>(out: &'a Value, name: &str, status: u16, code: &str) -> &'a Value {
    let s = &out[name];
    assert_eq!(s["status"], status, "{name}: {s}");
    assert_eq!(s["error_code"], code, "{name}: {s}");
    assert!(
        s["error_msg"].as_str().is_some_and(|m| !m.is_empty()),
        "{name}: no error_msg: {s}"
    );
    s
}

/// Runs drive.py against `swrd` and parses what it printed.
fn drive(python: &str, swrd: &Swrd, ak: &str, sk: &str, token: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let (stdout_path, stderr_path) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let mut child = Command::new(python)
        .args([DRIVER, &swrd.base, ak, sk, token])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > DRIVER_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "drive.py did not finish in {DRIVER_TIMEOUT:?}\nstderr:\n{}\nswrd log:\n{}",
                std::fs::read_to_string(&stderr_path).unwrap_or_default(),
                swrd.logs()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = std::fs::read_to_string(&stdout_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    assert!(
        status.success(),
        "drive.py failed ({status})\nstderr:\n{stderr}\nstdout:\n{stdout}\nswrd log:\n{}",
        swrd.logs()
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("drive.py printed no JSON ({e})\nstdout:\n{stdout}\nstderr:\n{stderr}")
    })
}
