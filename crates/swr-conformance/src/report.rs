//! The result of a run: every check with its outcome, as text (one `FAIL`
//! line per failure and a summary) and as JUnit XML for CI.

use std::fmt;

/// Every check of one run, in the order they ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// One entry per check, skipped ones included.
    pub checks: Vec<CheckResult>,
}

/// One check and how it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// `group.name`, e.g. `paging.offset_past_end`.
    pub name: String,
    /// The group (`query`, `paging`, `aksk`, …) that `Options::skip` matches.
    pub group: String,
    /// The rule the check enforces, in DESIGN.md's terms.
    pub rule: String,
    /// Passed, failed (with evidence) or skipped (with the reason).
    pub outcome: Outcome,
}

/// How a check went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server followed the rule.
    Passed,
    /// The server broke the rule; the evidence.
    Failed(Failure),
    /// Not run: the fixture lacks what the check needs, a check it depends on
    /// failed, or the caller skipped its group. The reason.
    Skipped(String),
}

/// Why a check failed: what was wrong, and the exchange that shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What the server did differently from the rule.
    pub problem: String,
    /// The request that shows it, when one does.
    pub sent: Option<Sent>,
    /// The answer to `sent`; `None` when there was none (connection refused,
    /// timeout, panic: `problem` says which).
    pub got: Option<Got>,
}

/// A request as the kit sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// `GET`.
    pub method: String,
    /// The URL (in process: path and query), exactly as sent.
    pub uri: String,
    /// The headers that matter (`Content-Type`, `X-Request-Id`,
    /// `Authorization`, `X-Sdk-Date`; tokens shown by role, not value).
    pub headers: Vec<(String, String)>,
    /// What is special about the request, e.g. "signed 20 minutes ago".
    pub note: Option<String>,
}

/// An answer as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Got {
    /// HTTP status.
    pub status: u16,
    /// The headers that matter (`Content-Type`, `Content-Range`, `X-Request-Id`).
    pub headers: Vec<(String, String)>,
    /// The body, shortened: a listing as its length and first tags
    /// (`5 tags: [v1.0#12, latest#7, …]`, name#id), anything else cut after
    /// [`BODY_EXCERPT`] characters.
    pub body: String,
}

/// Longest excerpt of a body that is not a listing, in a [`Got`].
pub const BODY_EXCERPT: usize = 300;

impl Report {
    /// Number of checks that passed.
    pub fn passed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Passed))
    }

    /// Number of checks that failed.
    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Failed(_)))
    }

    /// Number of checks that did not run.
    pub fn skipped(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Skipped(_)))
    }

    fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.checks.iter().filter(|c| f(&c.outcome)).count()
    }

    /// No check failed (skipped checks do not count against it).
    pub fn is_success(&self) -> bool {
        self.failed() == 0
    }

    /// The failed checks with their evidence.
    pub fn failures(&self) -> impl Iterator<Item = (&CheckResult, &Failure)> {
        self.checks.iter().filter_map(|c| match &c.outcome {
            Outcome::Failed(f) => Some((c, f)),
            _ => None,
        })
    }

    /// `N passed, M failed`, plus `, K skipped` when K > 0.
    pub fn summary(&self) -> String {
        let mut s = format!("{} passed, {} failed", self.passed(), self.failed());
        if self.skipped() > 0 {
            s.push_str(&format!(", {} skipped", self.skipped()));
        }
        s
    }

    /// The report as JUnit XML: one `testsuite` (with `tests`, `failures`,
    /// `errors`, `skipped` counts) holding one `testcase` per check
    /// (`classname` is the group), with `<failure>` (problem in `message`,
    /// request, answer and rule in the text) or `<skipped>`.
    pub fn junit_xml(&self) -> String {
        let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        x.push_str(&format!(
            "<testsuites name=\"swr-conformance\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\">\n",
            self.checks.len(),
            self.failed(),
            self.skipped()
        ));
        x.push_str(&format!(
            "  <testsuite name=\"swr-conformance\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\">\n",
            self.checks.len(),
            self.failed(),
            self.skipped()
        ));
        for c in &self.checks {
            let head = format!(
                "    <testcase classname=\"{}\" name=\"{}\"",
                xml(&c.group),
                xml(&c.name)
            );
            match &c.outcome {
                Outcome::Passed => x.push_str(&format!("{head}/>\n")),
                Outcome::Skipped(why) => x.push_str(&format!(
                    "{head}>\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                    xml(why)
                )),
                Outcome::Failed(f) => x.push_str(&format!(
                    "{head}>\n      <failure message=\"{}\" type=\"{}\">sent: {}\ngot: {}\nrule: {}</failure>\n    </testcase>\n",
                    xml(&f.problem),
                    xml(&c.group),
                    xml(&sent_text(f.sent.as_ref())),
                    xml(&got_text(f.got.as_ref())),
                    xml(&c.rule)
                )),
            }
        }
        x.push_str("  </testsuite>\n</testsuites>\n");
        x
    }
}

/// One `FAIL <check>: sent …; got …; rule: …; problem: …` line per failed
/// check, then the summary line on its own.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (c, fail) in self.failures() {
            writeln!(
                f,
                "FAIL {}: sent {}; got {}; rule: {}; problem: {}",
                c.name,
                one_line(&sent_text(fail.sent.as_ref())),
                one_line(&got_text(fail.got.as_ref())),
                one_line(&c.rule),
                one_line(&fail.problem)
            )?;
        }
        writeln!(f, "{}", self.summary())
    }
}

fn sent_text(sent: Option<&Sent>) -> String {
    let Some(s) = sent else {
        return "nothing (the check compares earlier answers)".to_owned();
    };
    let mut t = format!("{} {}", s.method, s.uri);
    for (k, v) in &s.headers {
        t.push_str(&format!(" [{k}: {v}]"));
    }
    if let Some(note) = &s.note {
        t.push_str(&format!(" ({note})"));
    }
    t
}

fn got_text(got: Option<&Got>) -> String {
    let Some(g) = got else {
        return "no response".to_owned();
    };
    let mut t = g.status.to_string();
    for (k, v) in &g.headers {
        t.push_str(&format!(" [{k}: {v}]"));
    }
    if !g.body.is_empty() {
        t.push_str(&format!(" {}", g.body));
    }
    t
}

/// Keeps a report line a line: control characters become spaces.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// XML-escaped text, without the characters XML 1.0 cannot carry at all.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => out.push(' '),
            c if c.is_control() || c == '\u{fffe}' || c == '\u{ffff}' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        let check = |name: &str, outcome| CheckResult {
            name: format!("paging.{name}"),
            group: "paging".into(),
            rule: "rule <text> & \"quotes\"".into(),
            outcome,
        };
        Report {
            checks: vec![
                check("a", Outcome::Passed),
                check(
                    "b",
                    Outcome::Failed(Failure {
                        problem: "expected 200\nline".into(),
                        sent: Some(Sent {
                            method: "GET".into(),
                            uri: "/x?a=1".into(),
                            headers: vec![("X-Request-Id".into(), "r1".into())],
                            note: Some("n".into()),
                        }),
                        got: Some(Got {
                            status: 400,
                            headers: vec![],
                            body: "{\"e\":1}".into(),
                        }),
                    }),
                ),
                check("c", Outcome::Skipped("no ties".into())),
            ],
        }
    }

    #[test]
    fn display_has_fail_lines_then_the_summary() {
        let text = report().to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "FAIL paging.b: sent GET /x?a=1 [X-Request-Id: r1] (n); got 400 {\"e\":1}; rule: rule <text> & \"quotes\"; problem: expected 200 line",
                "1 passed, 1 failed, 1 skipped"
            ]
        );
        let mut all_pass = report();
        all_pass.checks.retain(|c| c.outcome == Outcome::Passed);
        assert_eq!(all_pass.to_string(), "1 passed, 0 failed\n");
        assert!(all_pass.is_success() && !report().is_success());
    }

    #[test]
    fn junit_counts_and_escapes() {
        let x = report().junit_xml();
        assert!(x.contains("tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\""));
        assert!(x.contains("<failure message=\"expected 200&#10;line\" type=\"paging\">"));
        assert!(x.contains("rule: rule &lt;text&gt; &amp; &quot;quotes&quot;</failure>"));
        assert!(x.contains("<skipped message=\"no ties\"/>"));
        assert!(x.contains("<testcase classname=\"paging\" name=\"paging.a\"/>"));
    }
}
