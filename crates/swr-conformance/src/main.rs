//! `swr-conformance`: runs the conformance kit against a live server.
//!
//! ```text
//! swr-conformance --url http://127.0.0.1:8080 --fixtures standard.yaml [--skip aksk] [--junit out.xml]
//! swr-conformance --print-fixture > standard.yaml    # the fixture to seed a server with
//! ```
//!
//! Exit status: 0 when every check passed (skips allowed), 1 when any check
//! failed, 2 for a usage or I/O error (bad arguments, unreadable fixture,
//! unwritable JUnit file).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Checks a server of SWR's ListRepositoryTags API against the swr-tags
/// decision table. Seed the server with the fixture first.
#[derive(Parser, Debug)]
#[command(name = "swr-conformance", version)]
struct Args {
    /// Base URL of the server, e.g. http://127.0.0.1:8080.
    #[arg(long, required_unless_present = "print_fixture")]
    url: Option<String>,
    /// The fixture file (swrd's format) the server was seeded with.
    #[arg(long, required_unless_present = "print_fixture")]
    fixtures: Option<PathBuf>,
    /// Print the kit's standard fixture (YAML) and exit.
    #[arg(long, conflicts_with_all = ["url", "fixtures"])]
    print_fixture: bool,
    /// Skip a group of checks (or one check by name); repeatable.
    #[arg(long = "skip", value_name = "GROUP")]
    skip: Vec<String>,
    /// Also write the report as JUnit XML to this file.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Print every check (PASS/SKIP too), not only failures.
    #[arg(long)]
    verbose: bool,
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(message) => {
            eprintln!("swr-conformance: {message}");
            ExitCode::from(2)
        }
    }
}

/// `Ok(all passed)`, or a usage/I/O error.
fn run(args: Args) -> Result<bool, String> {
    if args.print_fixture {
        print!("{}", swr_conformance::STANDARD_FIXTURE);
        return Ok(true);
    }
    let (Some(base), Some(fixtures)) = (args.url, args.fixtures) else {
        return Err("--url and --fixtures are required".into());
    };
    let url = reqwest::Url::parse(&base).map_err(|e| format!("--url {base:?}: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("--url {base:?}: expected an http or https URL"));
    }
    let names: Vec<&str> = swr_conformance::check_list().iter().map(|c| c.0).collect();
    let groups = swr_conformance::groups();
    if let Some(bad) = args
        .skip
        .iter()
        .find(|s| !groups.contains(&s.as_str()) && !names.contains(&s.as_str()))
    {
        return Err(format!(
            "--skip {bad:?}: not a group ({}) or a check name",
            groups.join(", ")
        ));
    }
    let fixture = swr_api::fixture::load(&fixtures).map_err(|e| e.to_string())?;
    let options = swr_conformance::Options { skip: args.skip };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let report = runtime.block_on(swr_conformance::run_live(&base, &fixture, &options));
    if args.verbose {
        for c in &report.checks {
            match &c.outcome {
                swr_conformance::Outcome::Passed => println!("PASS {}", c.name),
                swr_conformance::Outcome::Skipped(why) => println!("SKIP {}: {why}", c.name),
                swr_conformance::Outcome::Failed(_) => {}
            }
        }
    }
    print!("{report}");
    if let Some(path) = &args.junit {
        std::fs::write(path, report.junit_xml())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(report.is_success())
}
