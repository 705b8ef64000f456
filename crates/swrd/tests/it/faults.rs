//! Fault tests of a real `swrd` process: the database stopped under it, its
//! connection pool exhausted, slow and oversized clients, SIGKILL during an
//! import, SIGTERM under load. Each asserts a bounded answer in the SWR error
//! shape (never a hang) and recovery without a restart where one is possible.
//!
//! The PostgreSQL test runs its own private cluster (it stops the server,
//! which the shared one must never be): it needs the server binaries
//! (`SWRD_TEST_PG_BIN`, e.g. `/usr/lib/postgresql/15/bin`, set by
//! `cargo xtask test`).

use crate::common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Swrd;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/faults.yaml");
const TOKEN: &str = "tok-faults";
const DOMAIN: &str = "0503dda878000fed0f75c0096d70a960";
const SMALL: &str = "/v2/manage/namespaces/faults/repos/small/tags";
const BIG: &str = "/v2/manage/namespaces/faults/repos/big/tags";
const STORE_FAILED: &str = "SVCSTG.SWR.5000063";

// ---------------------------------------------------------------------------
// A minimal HTTP/1.1 client: one request per connection, so every test sees
// exactly what the server sent (or that it sent nothing).

#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: body is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body[..self.body.len().min(500)])
            )
        })
    }
}

fn addr(base: &str) -> &str {
    base.strip_prefix("http://").unwrap()
}

/// Parses a complete response (read until EOF); `None` if it is cut short.
fn parse_response(raw: &[u8]) -> Option<Response> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let rest = &raw[end + 4..];
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let body = if chunked {
        dechunk(rest)?
    } else {
        let length = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse::<usize>().ok());
        match length {
            Some(n) if rest.len() == n => rest.to_vec(),
            Some(_) => return None,
            None => rest.to_vec(),
        }
    };
    Some(Response {
        status,
        headers,
        body,
    })
}

/// A chunked body up to its last (empty) chunk; `None` if it never came.
fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        if data.len() < size + 2 {
            return None;
        }
        body.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

fn request_text(method: &str, path: &str, token: Option<&str>) -> String {
    let auth = token.map_or_else(String::new, |t| format!("X-Auth-Token: {t}\r\n"));
    format!("{method} {path} HTTP/1.1\r\nHost: swrd\r\n{auth}Connection: close\r\n\r\n")
}

/// Sends `raw` on a new connection and reads the response to EOF.
fn exchange(base: &str, raw: &[u8], timeout: Duration) -> std::io::Result<Vec<u8>> {
    let mut tcp = TcpStream::connect(addr(base))?;
    tcp.set_read_timeout(Some(timeout))?;
    tcp.set_write_timeout(Some(timeout))?;
    tcp.write_all(raw)?;
    let mut out = Vec::new();
    tcp.read_to_end(&mut out)?;
    Ok(out)
}

/// GET with the test token; the response and how long it took. Panics
/// after 30 s (a hang).
fn get(base: &str, path: &str) -> (Response, Duration) {
    let start = Instant::now();
    let raw = exchange(
        base,
        request_text("GET", path, Some(TOKEN)).as_bytes(),
        Duration::from_secs(30),
    )
    .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let response = parse_response(&raw).unwrap_or_else(|| {
        panic!(
            "GET {path}: incomplete response: {}",
            String::from_utf8_lossy(&raw[..raw.len().min(500)])
        )
    });
    (response, start.elapsed())
}

/// The SWR 500 of a store failure: JSON, the tag-list error code, a request id.
fn assert_swr_500(r: &Response, what: &str) {
    assert_eq!(r.status, 500, "{what}: {r:?}");
    assert!(
        r.header("content-type")
            .is_some_and(|v| v.starts_with("application/json")),
        "{what}: not JSON: {r:?}"
    );
    assert!(
        r.header("x-request-id").is_some_and(|v| !v.is_empty()),
        "{what}: no X-Request-Id: {r:?}"
    );
    assert_eq!(r.json()["error_code"], STORE_FAILED, "{what}: {r:?}");
}

fn tag_names(r: &Response) -> Vec<String> {
    r.json()
        .as_array()
        .expect("a JSON array")
        .iter()
        .map(|t| t["Tag"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Polls `check` every 200 ms until it holds; panics after `limit`.
fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    loop {
        if check() {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

// ---------------------------------------------------------------------------
// swrd subcommands and processes.

fn swrd_cmd(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_swrd"))
        .args(args)
        .env("SWRD_LOG", "warn")
        .output()
        .expect("run swrd");
    assert!(
        out.status.success(),
        "swrd {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A SQLite database holding the fixture and, if `big_tags > 0`, a synthetic
/// repository `faults/big` of that many tags.
fn sqlite_db(dir: &Path, big_tags: u64) -> String {
    let url = format!("sqlite://{}", dir.join("swrd.db").display());
    swrd_cmd(&["import", FIXTURE, "--database", &url]);
    if big_tags > 0 {
        swrd_cmd(&[
            "synth",
            "--namespace",
            "faults",
            "--repository",
            "big",
            "--tags",
            &big_tags.to_string(),
            "--domain",
            DOMAIN,
            "--database",
            &url,
        ]);
    }
    url
}

fn signal(pid: u32, sig: libc::c_int) {
    let pid = libc::pid_t::try_from(pid).unwrap();
    // SAFETY: kill(2) with a pid this test spawned.
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0, "kill({pid}, {sig})");
}

/// Resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

// ---------------------------------------------------------------------------
// A private PostgreSQL cluster, which this test may stop and start (never the
// machine's shared server).

struct PrivatePg {
    bin: PathBuf,
    data: PathBuf,
    log: PathBuf,
    port: u16,
    as_postgres: bool,
    _dir: tempfile::TempDir,
}

impl PrivatePg {
    /// `initdb` and start a cluster on a free port, in a temp dir. As root,
    /// the server binaries run as user `postgres` (they refuse root).
    fn start(bin: &str) -> PrivatePg {
        let dir = tempfile::Builder::new()
            .prefix("swrd-faults-pg-")
            .tempdir()
            .unwrap();
        // SAFETY: geteuid has no preconditions.
        let as_postgres = unsafe { libc::geteuid() } == 0;
        if as_postgres {
            let status = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success(), "chown postgres {}", dir.path().display());
        }
        let pg = PrivatePg {
            bin: PathBuf::from(bin),
            data: dir.path().join("data"),
            log: dir.path().join("postgres.log"),
            port: common::free_port(),
            as_postgres,
            _dir: dir,
        };
        let data = pg.data.display().to_string();
        pg.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--no-instructions",
            ],
        );
        pg.ctl("start");
        pg
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn run(&self, program: &str, args: &[&str]) {
        let out = self
            .command(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("{program}: {e}"));
        assert!(
            out.status.success(),
            "{program} {args:?} failed:\n{}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }

    /// `pg_ctl start` or `stop` (fast: ends the sessions), waiting for it.
    fn ctl(&self, action: &str) {
        let data = self.data.display().to_string();
        let log = self.log.display().to_string();
        let socket_dir = self.data.parent().unwrap().display().to_string();
        let options = format!(
            "-p {} -k {socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port
        );
        match action {
            "start" => self.run(
                "pg_ctl",
                &["-D", &data, "-o", &options, "-l", &log, "-w", "start"],
            ),
            _ => self.run("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"]),
        }
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let data = self.data.display().to_string();
        let _ = self
            .command("pg_ctl")
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

// ---------------------------------------------------------------------------
// 1. PostgreSQL stops while swrd serves.

#[test]
fn postgres_stopped_while_serving() {
    let Some(bin) = common::external("SWRD_TEST_PG_BIN", "PostgreSQL server binaries") else {
        return;
    };
    let pg = PrivatePg::start(&bin);
    // Default settings: the shipped acquire timeout must not hang a request.
    let swrd = Swrd::start(Some(&pg.url()), &["--fixtures", FIXTURE]);
    let base = &swrd.base;
    let (r, _) = get(base, SMALL);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(tag_names(&r), ["v3", "v2", "v1"]);

    pg.ctl("stop");
    let bound = Duration::from_secs(5);
    for path in [
        SMALL,
        SMALL,
        &format!("{SMALL}?offset=0&limit=2"),
        BIG,
        SMALL,
    ] {
        let (r, took) = get(base, path);
        assert!(
            took < bound,
            "GET {path} with the database down took {took:?}"
        );
        assert_swr_500(&r, &format!("GET {path}, database down"));
    }
    let (r, took) = get(base, "/readyz");
    assert_eq!(r.status, 503, "{r:?}");
    assert!(took < bound, "/readyz took {took:?}");
    let (r, _) = get(base, "/healthz");
    assert_eq!(r.status, 200, "{r:?}");

    pg.ctl("start");
    let took = eventually(Duration::from_secs(20), "recovery after restart", || {
        let (r, _) = get(base, SMALL);
        let (ready, _) = get(base, "/readyz");
        r.status == 200 && tag_names(&r) == ["v3", "v2", "v1"] && ready.status == 200
    });
    eprintln!("postgres: service resumed {took:?} after the database restarted");
}

// ---------------------------------------------------------------------------
// 2. The connection pool exhausted by slow readers.

#[test]
fn pool_exhausted_by_slow_readers() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_db(dir.path(), 30_000);
    let swrd = Swrd::start(Some(&url), &["--db-acquire-timeout", "2"]);
    let base = swrd.base.clone();
    let (r, _) = get(&base, SMALL);
    assert_eq!(r.status, 200, "{r:?}");

    // The SQLite pool has 8 connections; each unpaged stream holds one (its
    // read transaction) while its client does not read.
    let slow: Vec<TcpStream> = (0..12)
        .map(|_| {
            let mut tcp = TcpStream::connect(addr(&base)).unwrap();
            tcp.write_all(request_text("GET", BIG, Some(TOKEN)).as_bytes())
                .unwrap();
            tcp
        })
        .collect();
    std::thread::sleep(Duration::from_secs(3));

    // Others wait at most the acquire timeout (2 s), then get the SWR 500.
    let probes: Vec<_> = (0..4)
        .map(|_| {
            let base = base.clone();
            std::thread::spawn(move || get(&base, SMALL))
        })
        .collect();
    for p in probes {
        let (r, took) = p.join().unwrap();
        assert!(
            took < Duration::from_secs(6),
            "a caller waited {took:?} for a busy pool"
        );
        assert_swr_500(&r, "GET with the pool exhausted");
    }
    let (r, took) = get(&base, "/readyz");
    assert_eq!(r.status, 503, "{r:?}");
    assert!(took < Duration::from_secs(6), "/readyz took {took:?}");
    let (r, _) = get(&base, "/healthz");
    assert_eq!(r.status, 200, "{r:?}");

    // The slow clients go away: their transactions end, the pool refills.
    drop(slow);
    eventually(Duration::from_secs(10), "recovery of the pool", || {
        get(&base, SMALL).0.status == 200 && get(&base, "/readyz").0.status == 200
    });
    let (r, _) = get(&base, BIG);
    assert_eq!(r.status, 200);
    assert_eq!(tag_names(&r).len(), 30_000);
}

// ---------------------------------------------------------------------------
// 3. Slow and oversized clients.

/// Seconds until the server closes a connection that sends `first` and then
/// one more header byte per second (or nothing, if `trickle` is false).
fn seconds_until_cut_off(base: &str, first: &[u8], trickle: bool) -> Duration {
    let start = Instant::now();
    let mut tcp = TcpStream::connect(addr(base)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    tcp.write_all(first).unwrap();
    let mut buf = [0u8; 1024];
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "a slow client was never cut off"
        );
        match tcp.read(&mut buf) {
            // EOF, or something sent before the close (a 408): cut off.
            Ok(_) => return start.elapsed(),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return start.elapsed(),
        }
        if trickle && tcp.write_all(b"X").is_err() {
            return start.elapsed();
        }
    }
}

#[test]
fn slow_and_oversized_clients() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_db(dir.path(), 0);
    // The webhook is on (its registry is never reached) so that a large body
    // meets a route that reads bodies.
    let swrd = Swrd::start(
        Some(&url),
        &[
            "--header-read-timeout",
            "2",
            "--registry",
            "http://127.0.0.1:9",
            "--registry-webhook-secret",
            "secret",
        ],
    );
    let base = swrd.base.clone();

    // Slowloris: headers one byte a second, and a connection that sends nothing.
    for (first, trickle) in [
        (&b"GET / HTTP/1.1\r\nHost: x\r\n"[..], true),
        (&b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: "[..], true),
        (&b""[..], false),
    ] {
        let took = seconds_until_cut_off(&base, first, trickle);
        assert!(
            took >= Duration::from_millis(1500) && took < Duration::from_secs(6),
            "a slow client ({:?}) was cut off after {took:?} (header read timeout 2 s)",
            String::from_utf8_lossy(first)
        );
    }
    // Slow clients did not hurt others.
    let (r, _) = get(&base, SMALL);
    assert_eq!(r.status, 200, "{r:?}");

    // Oversized requests: a 4xx each, or (when the server stops reading before
    // the request is fully sent) a closed connection; never 2xx/5xx, never a hang.
    let big_header = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(200 * 1024)
    );
    let big_query = format!(
        "GET {SMALL}?tag={} HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {TOKEN}\r\nConnection: close\r\n\r\n",
        "a".repeat(1024 * 1024)
    );
    let body = vec![b'{'; 8 * 1024 * 1024];
    let mut big_body = format!(
        "POST /registry/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    big_body.extend_from_slice(&body);
    let cases: [(&str, &[u8], &[u16]); 3] = [
        ("200 KB header", big_header.as_bytes(), &[431, 400]),
        ("1 MB query", big_query.as_bytes(), &[414, 431, 400]),
        ("8 MB body", &big_body, &[413]),
    ];
    let pid = swrd.pid();
    let mut statuses = std::collections::BTreeMap::<String, usize>::new();
    let mut check_round = |round: usize| {
        for (what, raw, expected) in cases {
            let outcome = send_concurrently(&base, raw);
            match outcome {
                Some(raw) => {
                    let r = parse_response(&raw)
                        .unwrap_or_else(|| panic!("{what}: a truncated response"));
                    assert!(expected.contains(&r.status), "{what}: {r:?}");
                    *statuses.entry(format!("{what}: {}", r.status)).or_default() += 1;
                }
                None => *statuses.entry(format!("{what}: reset")).or_default() += 1,
            }
        }
        if round == 0 {
            // The first round must have answered with a status at least once
            // per kind, so the 4xx is really there.
            for (what, _, _) in cases {
                assert!(
                    statuses
                        .keys()
                        .any(|k| k.starts_with(what) && !k.ends_with("reset")),
                    "{what}: only resets, no 4xx: {statuses:?}"
                );
            }
        }
    };
    // Warm up (allocator arenas, buffers), then measure 100 requests.
    for round in 0..5 {
        check_round(round);
    }
    let before = rss_kib(pid);
    for round in 0..34 {
        check_round(round + 5);
    }
    let after = rss_kib(pid);
    eprintln!("oversized requests: {statuses:?}; RSS {before} KiB -> {after} KiB");
    assert!(
        after < before + 16 * 1024,
        "RSS grew from {before} KiB to {after} KiB over 102 oversized requests"
    );
    let (r, _) = get(&base, SMALL);
    assert_eq!(r.status, 200, "{r:?}");
}

/// Writes `raw` from one thread while another reads: the response the server
/// sends before it stops reading, or `None` if the connection was reset
/// before any of it arrived.
fn send_concurrently(base: &str, raw: &[u8]) -> Option<Vec<u8>> {
    let tcp = TcpStream::connect(addr(base)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    tcp.set_write_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut writer = tcp.try_clone().unwrap();
    let raw = raw.to_vec();
    let write = std::thread::spawn(move || {
        let _ = writer.write_all(&raw);
    });
    let mut reader = tcp;
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!("reading the answer to an oversized request: {e}"),
        }
    }
    let _ = reader.shutdown(std::net::Shutdown::Both);
    write.join().unwrap();
    (!out.is_empty()).then_some(out)
}

// ---------------------------------------------------------------------------
// 4. SIGKILL during an import.

const IMPORT_TAGS: usize = 50_000;

/// A fixture of one domain and a repository of `IMPORT_TAGS` tags, as JSON.
fn write_big_fixture(path: &Path) {
    let mut out = String::with_capacity(IMPORT_TAGS * 200);
    out.push_str(
        r#"{"domains":[{"id":"9999aaaa2222bbbb3333cccc4444dddd","name":"bulk","tokens":["tok-bulk"]}],"namespaces":[{"name":"bulk","domain":"9999aaaa2222bbbb3333cccc4444dddd","repositories":[{"name":"many","tags":["#,
    );
    for i in 0..IMPORT_TAGS {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!(
            r#"{{"tag":"t{i:06}","digest":"sha256:{i:064x}","size":{i},"updated":"2024-01-01T00:00:00Z","manifest":"{{\"schemaVersion\":2,\"n\":{i}}}"}}"#
        ));
    }
    out.push_str("]}]}]}");
    std::fs::write(path, out).unwrap();
}

fn sqlite_count(url: &str, sql: &str) -> i64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        let n = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
        pool.close().await;
        n
    })
}

#[test]
fn sigkill_during_import() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = dir.path().join("big.json");
    write_big_fixture(&fixture);
    let db = dir.path().join("swrd.db");
    let url = format!("sqlite://{}", db.display());
    let wal = dir.path().join("swrd.db-wal");

    let mut import = Command::new(env!("CARGO_BIN_EXE_swrd"))
        .args(["import", "--database", &url])
        .arg(&fixture)
        .env("SWRD_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill once the import's transaction has spilled pages into the WAL:
    // mid-transaction, well before its commit.
    let start = Instant::now();
    loop {
        if let Some(status) = import.try_wait().unwrap() {
            panic!("the import finished ({status}) before it could be killed");
        }
        if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 1024 * 1024) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "import stalled");
        std::thread::sleep(Duration::from_millis(5));
    }
    import.kill().unwrap();
    let status = import.wait().unwrap();
    let mut printed = String::new();
    import
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut printed)
        .unwrap();
    assert!(
        !status.success() && printed.is_empty(),
        "not killed mid-way"
    );
    eprintln!("import killed after {:?}", start.elapsed());

    // Restart on the same file: it opens (recovering the WAL) and holds none
    // of the import: not a tag, not the domain, the token does not work.
    {
        let swrd = Swrd::start(Some(&url), &[]);
        let raw = exchange(
            &swrd.base,
            request_text(
                "GET",
                "/v2/manage/namespaces/bulk/repos/many/tags?offset=0&limit=1",
                Some("tok-bulk"),
            )
            .as_bytes(),
            Duration::from_secs(10),
        )
        .unwrap();
        let r = parse_response(&raw).unwrap();
        assert_eq!(r.status, 401, "{r:?}");
    }
    assert_eq!(sqlite_count(&url, "SELECT count(*) FROM tags"), 0);
    assert_eq!(sqlite_count(&url, "SELECT count(*) FROM domains"), 0);
    assert_eq!(sqlite_count(&url, "SELECT count(*) FROM repositories"), 0);

    // A re-run completes it.
    swrd_cmd(&["import", "--database", &url, fixture.to_str().unwrap()]);
    assert_eq!(
        sqlite_count(&url, "SELECT count(*) FROM tags"),
        IMPORT_TAGS as i64
    );
    let swrd = Swrd::start(Some(&url), &[]);
    let raw = exchange(
        &swrd.base,
        request_text(
            "GET",
            "/v2/manage/namespaces/bulk/repos/many/tags?offset=0&limit=1",
            Some("tok-bulk"),
        )
        .as_bytes(),
        Duration::from_secs(10),
    )
    .unwrap();
    let r = parse_response(&raw).unwrap();
    assert_eq!(r.status, 200, "{r:?}");
    let range = r.header("content-range").unwrap_or_default();
    assert!(range.ends_with(&format!("/{IMPORT_TAGS}")), "{r:?}");
}

// ---------------------------------------------------------------------------
// 5. SIGTERM under load.

#[derive(Default)]
struct LoadOutcome {
    /// Complete 200 responses with the whole JSON array.
    complete: AtomicUsize,
    /// Of those, requests sent before SIGTERM and answered after it.
    spanning: AtomicUsize,
    /// Connections refused (only after SIGTERM).
    refused: AtomicUsize,
    /// Connections closed before a single response byte (only after SIGTERM:
    /// accepted by the kernel, never by swrd).
    closed_unanswered: AtomicUsize,
    failures: Mutex<Vec<String>>,
}

#[test]
fn sigterm_under_load() {
    const TAGS: usize = 2_000;
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_db(dir.path(), TAGS as u64);
    // A long acquire timeout: this test is about shutdown, not about a busy
    // pool (pool_exhausted_by_slow_readers), which 32 clients on 8
    // connections of a slow debug build may be for a few seconds.
    let mut swrd = Swrd::start(Some(&url), &["--db-acquire-timeout", "30"]);
    let base = swrd.base.clone();
    let terminated = Arc::new(AtomicBool::new(false));
    let outcome = Arc::new(LoadOutcome::default());
    let clients: Vec<_> = (0..32)
        .map(|i| {
            let (base, terminated, outcome) = (base.clone(), terminated.clone(), outcome.clone());
            std::thread::spawn(move || {
                // A quarter stream every tag, the others read a page.
                let path = if i % 4 == 0 {
                    BIG.to_owned()
                } else {
                    format!("{BIG}?offset=0&limit=100")
                };
                let expected = if i % 4 == 0 { TAGS } else { 100 };
                loop {
                    let sent_before = !terminated.load(Ordering::SeqCst);
                    let mut tcp = match TcpStream::connect(addr(&base)) {
                        Ok(tcp) => tcp,
                        Err(e) => {
                            if e.kind() == ErrorKind::ConnectionRefused
                                && terminated.load(Ordering::SeqCst)
                            {
                                outcome.refused.fetch_add(1, Ordering::SeqCst);
                            } else {
                                outcome
                                    .failures
                                    .lock()
                                    .unwrap()
                                    .push(format!("connect: {e}"));
                            }
                            return;
                        }
                    };
                    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                    let mut raw = Vec::new();
                    let result = tcp
                        .write_all(request_text("GET", &path, Some(TOKEN)).as_bytes())
                        .and_then(|()| tcp.read_to_end(&mut raw));
                    let after = terminated.load(Ordering::SeqCst);
                    match (result, parse_response(&raw)) {
                        (Ok(_), Some(r))
                            if r.status == 200
                                && serde_json::from_slice::<Vec<serde_json::Value>>(&r.body)
                                    .is_ok_and(|a| a.len() == expected) =>
                        {
                            outcome.complete.fetch_add(1, Ordering::SeqCst);
                            if sent_before && after {
                                outcome.spanning.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                        (_, _) if raw.is_empty() && after => {
                            outcome.closed_unanswered.fetch_add(1, Ordering::SeqCst);
                        }
                        (result, _) => {
                            outcome.failures.lock().unwrap().push(format!(
                                "{path}: {result:?}, {} bytes: {}",
                                raw.len(),
                                String::from_utf8_lossy(&raw[..raw.len().min(300)])
                            ));
                            return;
                        }
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    let before = outcome.complete.load(Ordering::SeqCst);
    assert!(before > 0, "no request completed under load");
    terminated.store(true, Ordering::SeqCst);
    let sent = Instant::now();
    signal(swrd.pid(), libc::SIGTERM);
    let status = swrd.wait();
    let took = sent.elapsed();
    for c in clients {
        c.join().unwrap();
    }
    let failures = outcome.failures.lock().unwrap();
    eprintln!(
        "sigterm: exit {status} after {took:?}; {} complete ({before} before SIGTERM, {} spanning it), \
         {} refused, {} closed unanswered",
        outcome.complete.load(Ordering::SeqCst),
        outcome.spanning.load(Ordering::SeqCst),
        outcome.refused.load(Ordering::SeqCst),
        outcome.closed_unanswered.load(Ordering::SeqCst)
    );
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(status.success(), "swrd exited with {status}");
    assert!(took < Duration::from_secs(10), "shutdown took {took:?}");
    assert!(
        outcome.spanning.load(Ordering::SeqCst) > 0,
        "no request was in flight at SIGTERM"
    );
    assert_eq!(
        outcome.refused.load(Ordering::SeqCst),
        32,
        "every client ends on a refused connection"
    );
}
