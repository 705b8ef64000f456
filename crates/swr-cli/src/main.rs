//! `swr`: list the image tags of Huawei Cloud SWR repositories.
//!
//! ```text
//! swr [--endpoint URL | --region R] [--token T | --ak AK --sk SK [--project-id P]]
//!     tags list NAMESPACE/REPOSITORY [--limit N] [--offset N] [--order-by updated_at|tag]
//!               [--order asc|desc] [--tag SUBSTRING] [--filter GRAMMAR] [--all]
//!               [-o table|wide|json|ndjson|csv]
//! swr completions SHELL
//! ```
//!
//! A thin shell over `swr_api::client::SwrClient`: argument handling, output
//! formats, exit codes. `swr tags list --help` documents the choices.

mod cli;
mod clock;
mod output;

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use indicatif::{ProgressBar, ProgressStyle};
use swr_api::client::{AkSk, Credentials, ListOptions, SwrClient, SwrError, TagsStreamOptions};
use swr_api::swr_filter::{self, Page, RawQuery, TagFilter};

use cli::{Cli, Command, Format, ListArgs, TagsCommand};
use output::Writer;

/// Tags shown when no paging flag is given: the API docs' default page size.
const DEFAULT_LIMIT: u32 = 100;

/// Why a run failed; each maps to an exit status.
enum Failure {
    /// Bad arguments or configuration: exit 2 with clap's usage hint.
    Usage(String),
    /// The request failed: exit 1.
    Request(SwrError),
    /// Writing the output failed.
    Io(io::Error),
}

impl From<SwrError> for Failure {
    fn from(e: SwrError) -> Self {
        match e {
            // Nothing was sent: an argument broke the API's rules.
            SwrError::InvalidRequest(m) => Failure::Usage(m),
            e => Failure::Request(e),
        }
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Io(e)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "swr", &mut io::stdout());
            Ok(())
        }
        Command::Tags {
            command: TagsCommand::List(args),
        } => list(&cli, args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => Cli::command()
            .error(ErrorKind::InvalidValue, message)
            .exit(),
        Err(Failure::Request(e)) => {
            let mut message = format!("error: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                message.push_str(&format!(": {s}"));
                source = s.source();
            }
            eprintln!("{message}");
            ExitCode::from(1)
        }
        // `swr … | head` closes the pipe early: not an error.
        Err(Failure::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(Failure::Io(e)) => {
            eprintln!("error: writing the output: {e}");
            ExitCode::from(1)
        }
    }
}

/// A non-empty environment variable.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Flags first, then environment variables; see `Cli`'s help.
fn client(cli: &Cli) -> Result<SwrClient, Failure> {
    let mut builder = SwrClient::builder()
        .timeout(Duration::from_secs(cli.timeout))
        .retries(cli.retries)
        .user_agent(concat!("swr/", env!("CARGO_PKG_VERSION")));
    builder = match (&cli.endpoint, &cli.region) {
        (Some(url), _) => builder.endpoint(url),
        (None, Some(region)) => builder.region(region),
        (None, None) => match (env("SWR_ENDPOINT"), env("SWR_REGION")) {
            (Some(url), _) => builder.endpoint(url),
            (None, Some(region)) => builder.region(region),
            (None, None) => {
                return Err(Failure::Usage(
                    "no endpoint: pass --endpoint URL or --region REGION, or set SWR_ENDPOINT or SWR_REGION"
                        .to_owned(),
                ));
            }
        },
    };
    let aksk = |ak: Option<String>, sk: Option<String>| match (ak, sk) {
        (Some(ak), Some(sk)) => Ok(AkSk {
            project_id: cli
                .project_id
                .clone()
                .or_else(|| env("HUAWEICLOUD_SDK_PROJECT_ID")),
            ..AkSk::new(ak, sk)
        }),
        _ => Err(Failure::Usage(
            "AK/SK signing needs both --ak and --sk (or HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK)"
                .to_owned(),
        )),
    };
    let credentials = if let Some(token) = &cli.token {
        Credentials::Token(token.clone())
    } else if cli.ak.is_some() || cli.sk.is_some() {
        Credentials::AkSk(aksk(
            cli.ak.clone().or_else(|| env("HUAWEICLOUD_SDK_AK")),
            cli.sk.clone().or_else(|| env("HUAWEICLOUD_SDK_SK")),
        )?)
    } else if let Some(token) = env("SWR_TOKEN") {
        Credentials::Token(token)
    } else if env("HUAWEICLOUD_SDK_AK").is_some() || env("HUAWEICLOUD_SDK_SK").is_some() {
        Credentials::AkSk(aksk(env("HUAWEICLOUD_SDK_AK"), env("HUAWEICLOUD_SDK_SK"))?)
    } else {
        return Err(Failure::Usage(
            "no credentials: pass --token, or --ak and --sk (or set SWR_TOKEN, or HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK)"
                .to_owned(),
        ));
    };
    if cli.project_id.is_some() && !matches!(credentials, Credentials::AkSk(_)) {
        return Err(Failure::Usage(
            "--project-id goes with AK/SK signing (--ak, --sk)".to_owned(),
        ));
    }
    Ok(builder.credentials(credentials).build()?)
}

fn list(cli: &Cli, args: &ListArgs) -> Result<(), Failure> {
    let (namespace, repository) = args.split().ok_or_else(|| {
        Failure::Usage(format!(
            "{:?} is not NAMESPACE/REPOSITORY (e.g. group/busybox or group/tools/busybox)",
            args.repository
        ))
    })?;
    if let Some(tag) = &args.tag
        && !swr_filter::is_valid_tag(tag)
    {
        return Err(Failure::Usage(format!(
            "--tag {tag:?}: 1 to 128 of A-Z a-z 0-9 _ . -"
        )));
    }
    let now = clock::now().map_err(Failure::Usage)?;
    let swr = client(cli)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let stdout = io::stdout().lock();
    let out = Writer::new(
        io::BufWriter::with_capacity(64 * 1024, stdout),
        args.output,
        now,
    );
    runtime.block_on(async {
        if args.all {
            list_all(&swr, namespace, repository, args, out).await
        } else {
            list_page(&swr, namespace, repository, args, out).await
        }
    })
}

/// The flags and `--filter` merged by the API's own rules (a key given both
/// ways with different values is an error naming it), so that conflicts are
/// usage errors here rather than a 400 later. The half of an order the user
/// left out is filled in (see `ListArgs::order`) unless `--filter` orders.
fn merged(args: &ListArgs) -> Result<TagFilter, Failure> {
    let (column, direction) = if args.filter_has(&["order_column", "order_type"]) {
        (
            args.order_by.map(|c| cli::column(c).to_string()),
            args.order.map(|d| cli::direction(d).to_string()),
        )
    } else {
        let order = args.order();
        (
            order.map(|(c, _)| c.to_string()),
            order.map(|(_, d)| d.to_string()),
        )
    };
    // Likewise `--offset` alone keeps the default page size and `--limit`
    // alone starts at 0, unless `--filter` pages.
    let (mut offset, mut limit) = (args.offset, args.limit);
    if !args.filter_has(&["offset", "limit"]) {
        offset = offset.or(limit.map(|_| 0));
        limit = limit.or(offset.map(|_| DEFAULT_LIMIT));
    }
    let (offset, limit) = (offset.map(|o| o.to_string()), limit.map(|l| l.to_string()));
    RawQuery {
        offset: offset.as_deref(),
        limit: limit.as_deref(),
        order_column: column.as_deref(),
        order_type: direction.as_deref(),
        tag: args.tag.as_deref(),
        filter: args.filter.as_deref(),
    }
    .merge()
    .map_err(|e| Failure::Usage(e.to_string()))
}

/// One request. Without `--filter` the options go out as separate
/// parameters; with it, everything merged goes out as `filter`.
async fn list_page(
    swr: &SwrClient,
    namespace: &str,
    repository: &str,
    args: &ListArgs,
    mut out: Writer<impl Write>,
) -> Result<(), Failure> {
    let mut wanted = merged(args)?;
    if wanted.page.is_none() {
        wanted.page = Some(Page::new(0, DEFAULT_LIMIT).map_err(|e| Failure::Usage(e.to_string()))?);
    }
    let options = if args.filter.is_some() {
        ListOptions::default().with_filter(wanted)
    } else {
        ListOptions {
            page: wanted.page,
            order: wanted.order,
            tag: wanted.tag,
            filter: None,
        }
    };
    let result = swr.list_tags(namespace, repository, &options).await?;
    let count = result.tags.len() as u64;
    for tag in result.tags {
        out.push(tag)?;
    }
    out.finish()?;
    if let (Some(range), Format::Table | Format::Wide) = (result.content_range, args.output) {
        let shown_to = range.offset + count;
        if shown_to < range.total && io::stderr().is_terminal() {
            eprintln!(
                "showing {}-{} of {} tags: --offset {shown_to} for the next page, --all for all",
                range.offset + 1,
                shown_to,
                range.total
            );
        }
    }
    Ok(())
}

/// Every tag via `tags_stream`, written as pages arrive.
async fn list_all(
    swr: &SwrClient,
    namespace: &str,
    repository: &str,
    args: &ListArgs,
    mut out: Writer<impl Write>,
) -> Result<(), Failure> {
    let wanted = merged(args)?;
    if wanted.page.is_some() {
        return Err(Failure::Usage(
            "--all pages by itself: remove offset and limit from --filter".to_owned(),
        ));
    }
    let options = TagsStreamOptions {
        page_size: args.page_size,
        order: wanted.order,
        tag: wanted.tag,
    };
    let mut stream = swr.tags_stream(namespace, repository, options);
    let bar = io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new_spinner();
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} {pos}/{len} tags [{bar:30}] {per_sec} {eta}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    });
    let mut pages = 0;
    let result = async {
        while let Some(tag) = stream.next().await {
            let tag = tag?;
            if stream.requests() != pages {
                // A new page: show what came before it, update the total.
                pages = stream.requests();
                out.flush()?;
                if let (Some(bar), Some(total)) = (&bar, stream.total()) {
                    bar.set_length(total);
                }
            }
            out.push(tag)?;
            if let Some(bar) = &bar {
                bar.inc(1);
            }
        }
        Ok::<_, Failure>(())
    }
    .await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    result?;
    out.finish()?;
    Ok(())
}
