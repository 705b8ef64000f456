//! The wrk measurements and the report: one wrk run per scenario
//! ([`measure`]), repeats merged per scenario, `target/bench/report.{md,json}`
//! written, and the non-2xx check that fails the run.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::json;

use super::{Plan, TOKEN};

/// One measured scenario.
#[derive(Debug, Clone)]
pub struct Measured {
    pub name: String,
    pub rps: Vec<f64>,
    pub p50_ms: Vec<f64>,
    pub p99_ms: Vec<f64>,
    pub non_2xx: u64,
}

impl Measured {
    pub(super) fn median(v: &[f64]) -> f64 {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    }
    pub(super) fn min(v: &[f64]) -> f64 {
        v.iter().copied().fold(f64::INFINITY, f64::min)
    }
}

/// Speed is reported, never asserted; errors are: a benchmark that got
/// non-2xx answers from swrd measured something broken.
pub(super) fn check_statuses(results: &[Measured]) -> Result<()> {
    let failed: Vec<String> = results
        .iter()
        .filter(|r| r.non_2xx > 0 && !r.name.starts_with("distribution"))
        .map(|r| format!("{} ({} non-2xx)", r.name, r.non_2xx))
        .collect();
    if !failed.is_empty() {
        bail!("swrd answered errors under load: {}", failed.join(", "));
    }
    Ok(())
}

pub(super) fn merge(results: &mut Vec<Measured>, m: Measured) {
    match results.iter_mut().find(|r| r.name == m.name) {
        Some(r) => {
            r.rps.extend(m.rps);
            r.p50_ms.extend(m.p50_ms);
            r.p99_ms.extend(m.p99_ms);
            r.non_2xx += m.non_2xx;
        }
        None => results.push(m),
    }
}

pub(super) fn write_report(
    out: &Path,
    plan: &Plan,
    results: &[Measured],
    notes: &[String],
) -> Result<()> {
    let ceiling = results
        .iter()
        .find(|r| r.name == "ceiling")
        .map_or(1.0, |c| Measured::median(&c.rps));
    let mut md = format!(
        "# swrd benchmark{}\n\n{} tags in the big repository, {} connections, wrk `-d {}`, {} repeat(s); \
         median (min) per scenario. Ratio = median rps / ceiling's median rps.\n\n\
         | scenario | rps | p50 ms | p99 ms | ratio to ceiling | non-2xx |\n|---|---|---|---|---|---|\n",
        if plan.quick { " (quick)" } else { "" },
        plan.big,
        plan.connections,
        plan.duration,
        plan.repeat
    );
    let mut rows = Vec::new();
    for r in results {
        let rps = Measured::median(&r.rps);
        md.push_str(&format!(
            "| {} | {:.0} ({:.0}) | {:.2} | {:.2} | {:.2}x | {} |\n",
            r.name,
            rps,
            Measured::min(&r.rps),
            Measured::median(&r.p50_ms),
            Measured::median(&r.p99_ms),
            rps / ceiling,
            r.non_2xx
        ));
        rows.push(json!({"name": r.name, "rps": r.rps, "p50_ms": r.p50_ms, "p99_ms": r.p99_ms, "ratio": rps / ceiling, "non_2xx": r.non_2xx}));
    }
    md.push('\n');
    // swrd against Distribution at the same size.
    for r in results
        .iter()
        .filter(|r| r.name.starts_with("distribution: "))
    {
        let size = r.name.trim_start_matches("distribution: tags/list, ");
        let ours = format!("sqlite: 100-tag page, {size}");
        if let Some(s) = results.iter().find(|s| s.name == ours) {
            let (theirs, mine) = (Measured::median(&r.rps), Measured::median(&s.rps));
            md.push_str(&format!(
                "- at {size}: swrd's 100-tag page answers {:.0}x the requests/s of Distribution's tags/list\n",
                mine / theirs.max(f64::MIN_POSITIVE)
            ));
        }
    }
    for n in notes {
        md.push_str(&format!("- {n}\n"));
    }
    std::fs::write(out.join("report.md"), &md)?;
    std::fs::write(
        out.join("report.json"),
        serde_json::to_string_pretty(
            &json!({"quick": plan.quick, "tags": plan.big, "results": rows, "notes": notes}),
        )?,
    )?;
    println!("{md}");
    println!("wrote {}", out.join("report.md").display());
    Ok(())
}

/// One wrk run: requests/s, p50, p99 and non-2xx responses.
pub(super) fn measure(plan: &Plan, name: &str, url: &str) -> Result<Measured> {
    let out = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{}", plan.connections),
            &format!("-d{}", plan.duration),
            "--latency",
        ])
        .args(["-H", &format!("X-Auth-Token: {TOKEN}"), url])
        .output()
        .context("running wrk")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let number = |prefix: &str| -> Option<f64> {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .and_then(|v| v.split_whitespace().next())
            .and_then(parse_value)
    };
    let rps = number("Requests/sec:").with_context(|| format!("wrk output for {name}:\n{text}"))?;
    let non_2xx = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let m = Measured {
        name: name.to_owned(),
        rps: vec![rps],
        p50_ms: vec![number("50%").unwrap_or(0.0)],
        p99_ms: vec![number("99%").unwrap_or(0.0)],
        non_2xx,
    };
    println!(
        "  {name}: {rps:.0} rps, p50 {:.2} ms, p99 {:.2} ms",
        m.p50_ms[0], m.p99_ms[0]
    );
    Ok(m)
}

/// wrk's `1.23ms` / `456.00us` / `1.2s` / `12345.67` as milliseconds (or a plain number).
fn parse_value(v: &str) -> Option<f64> {
    for (suffix, factor) in [("us", 0.001), ("ms", 1.0), ("s", 1000.0), ("m", 60000.0)] {
        if let Some(n) = v.strip_suffix(suffix) {
            return n.parse::<f64>().ok().map(|n| n * factor);
        }
    }
    v.parse().ok()
}
