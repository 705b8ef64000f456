//! The command line, as clap types. Environment variables are read in
//! `main.rs` (flags win over them), so their precedence is in one place.

use clap::{Args, Parser, Subcommand, ValueEnum};
use swr_api::swr_filter::{OrderColumn, OrderType};

/// List the image tags of Huawei Cloud SWR repositories (or of any server
/// that speaks SWR's ListRepositoryTags API, such as swrd).
#[derive(Debug, Parser)]
#[command(name = "swr", version, propagate_version = true)]
#[command(after_help = "\
Environment:
  SWR_ENDPOINT, SWR_REGION      where to send requests, if neither flag is given
  SWR_TOKEN                     IAM token, if no credential flag is given
  HUAWEICLOUD_SDK_AK, HUAWEICLOUD_SDK_SK, HUAWEICLOUD_SDK_PROJECT_ID
                                AK/SK signing, as the official SDKs read them
                                (SWR_TOKEN wins when both are set)

Exit status: 0 success, 1 the request failed (the SWR error code, message and
request id are printed), 2 usage error.")]
pub struct Cli {
    /// Base URL of the API: Huawei Cloud, swrd, a proxy.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        conflicts_with = "region",
        help_heading = "Global options"
    )]
    pub endpoint: Option<String>,

    /// Huawei Cloud region, e.g. cn-north-4 (sends to swr-api.REGION.myhuaweicloud.com over HTTPS).
    #[arg(
        long,
        global = true,
        value_name = "REGION",
        help_heading = "Global options"
    )]
    pub region: Option<String>,

    /// IAM token, sent as X-Auth-Token.
    #[arg(long, global = true, value_name = "TOKEN", conflicts_with_all = ["ak", "sk"], help_heading = "Global options")]
    pub token: Option<String>,

    /// Access key: sign requests with SDK-HMAC-SHA256 (needs --sk).
    #[arg(
        long,
        global = true,
        value_name = "AK",
        help_heading = "Global options"
    )]
    pub ak: Option<String>,

    /// Secret key of --ak.
    #[arg(
        long,
        global = true,
        value_name = "SK",
        help_heading = "Global options"
    )]
    pub sk: Option<String>,

    /// Project id, sent and signed as X-Project-Id with AK/SK.
    #[arg(
        long,
        global = true,
        value_name = "ID",
        help_heading = "Global options"
    )]
    pub project_id: Option<String>,

    /// Seconds one request may take, response body included.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 30, help_heading = "Global options",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,

    /// Retries of a request that failed to connect, timed out, or got 429 or
    /// 5xx (with exponential back-off).
    #[arg(
        long,
        global = true,
        value_name = "N",
        default_value_t = 3,
        help_heading = "Global options"
    )]
    pub retries: u32,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Image tags.
    Tags {
        #[command(subcommand)]
        command: TagsCommand,
    },
    /// Print shell completions (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum TagsCommand {
    /// List the tags of a repository.
    #[command(long_about = "\
List the tags of a repository.

Without --limit, --offset or --all, one request shows the first 100 tags,
newest first (offset 0, limit 100); a note on stderr says when there are more.
--limit alone starts at offset 0, --offset alone shows 100 tags.

--all pages through the whole repository (--page-size tags per request,
default 1000, the API's maximum) and prints tags as pages arrive: each tag at
most once, in order, even when tags are pushed or deleted meanwhile (tags
pushed in front of a newest-first listing are not shown: they are newer than
the listing). On a terminal it shows a progress bar on stderr.

--order-by alone sorts updated_at newest first and tag A to Z; --order alone
sorts by updated_at. --filter takes the API's other query form
(offset::0|limit::10|order_column::tag|order_type::asc|tag::v1); it is merged
with the separate flags by the API's rules (one key with two different values
is an error) and the result is sent as the `filter` parameter.")]
    List(ListArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// The repository: NAMESPACE/REPOSITORY, split at the first `/` (the
    /// repository name may contain more, e.g. group/tools/busybox).
    #[arg(value_name = "NAMESPACE/REPOSITORY")]
    pub repository: String,

    /// Tags per page, 1 to 1000.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: Option<u32>,

    /// Tags to skip.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(0..=i64::MAX as u64))]
    pub offset: Option<u64>,

    /// Sort column.
    #[arg(long, value_enum, value_name = "COLUMN")]
    pub order_by: Option<Column>,

    /// Sort direction.
    #[arg(long, value_enum, value_name = "DIRECTION")]
    pub order: Option<Direction>,

    /// Only tags whose name contains this (case-sensitive).
    #[arg(long, value_name = "SUBSTRING")]
    pub tag: Option<String>,

    /// The API's filter grammar, e.g. `offset::0|limit::10|tag::v1`.
    #[arg(long, value_name = "GRAMMAR")]
    pub filter: Option<String>,

    /// Every tag, page by page.
    #[arg(long, conflicts_with_all = ["limit", "offset"])]
    pub all: bool,

    /// Tags per request with --all, 2 to 1000.
    #[arg(long, value_name = "N", requires = "all", default_value_t = 1000,
          value_parser = clap::value_parser!(u32).range(2..=1000))]
    pub page_size: u32,

    /// Output format: an aligned table, a wider one, the API's JSON objects
    /// (an array, or one per line as pages arrive), or CSV with a header.
    #[arg(short, long, value_enum, value_name = "FORMAT", default_value_t = Format::Table)]
    pub output: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Column {
    #[value(name = "updated_at")]
    UpdatedAt,
    Tag,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Direction {
    Asc,
    Desc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Wide,
    Json,
    Ndjson,
    Csv,
}

pub fn column(c: Column) -> OrderColumn {
    match c {
        Column::UpdatedAt => OrderColumn::UpdatedAt,
        Column::Tag => OrderColumn::Tag,
    }
}

pub fn direction(d: Direction) -> OrderType {
    match d {
        Direction::Asc => OrderType::Asc,
        Direction::Desc => OrderType::Desc,
    }
}

impl ListArgs {
    /// The order the flags ask for, filling in the half the API requires but
    /// the user left out.
    pub fn order(&self) -> Option<(OrderColumn, OrderType)> {
        let column = self.order_by.map(column);
        let direction = self.order.map(direction);
        match (column, direction) {
            (None, None) => None,
            (Some(c), Some(d)) => Some((c, d)),
            (Some(OrderColumn::Tag), None) => Some((OrderColumn::Tag, OrderType::Asc)),
            (Some(c), None) => Some((c, OrderType::Desc)),
            (None, Some(d)) => Some((OrderColumn::UpdatedAt, d)),
        }
    }

    /// Whether `--filter` has any of `keys` (its full check is the merge in
    /// `main.rs`).
    pub fn filter_has(&self, keys: &[&str]) -> bool {
        self.filter.as_deref().is_some_and(|f| {
            f.split('|')
                .filter_map(|part| part.split_once("::"))
                .any(|(key, _)| keys.contains(&key))
        })
    }

    /// NAMESPACE and REPOSITORY, split at the first `/`.
    pub fn split(&self) -> Option<(&str, &str)> {
        self.repository
            .split_once('/')
            .filter(|(ns, repo)| !ns.is_empty() && !repo.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    fn list(args: &[&str]) -> ListArgs {
        let mut full = vec!["swr", "tags", "list"];
        full.extend(args);
        match Cli::try_parse_from(full).unwrap().command {
            Command::Tags {
                command: TagsCommand::List(a),
            } => a,
            Command::Completions { .. } => unreachable!(),
        }
    }

    #[test]
    fn order_halves_are_filled_in() {
        assert_eq!(list(&["g/r"]).order(), None);
        assert_eq!(
            list(&["g/r", "--order-by", "tag"]).order(),
            Some((OrderColumn::Tag, OrderType::Asc))
        );
        assert_eq!(
            list(&["g/r", "--order-by", "updated_at"]).order(),
            Some((OrderColumn::UpdatedAt, OrderType::Desc))
        );
        assert_eq!(
            list(&["g/r", "--order", "asc"]).order(),
            Some((OrderColumn::UpdatedAt, OrderType::Asc))
        );
    }

    #[test]
    fn repository_splits_at_the_first_slash() {
        assert_eq!(
            list(&["g/tools/busybox"]).split(),
            Some(("g", "tools/busybox"))
        );
        assert_eq!(list(&["g"]).split(), None);
        assert_eq!(list(&["/r"]).split(), None);
        assert_eq!(list(&["g/"]).split(), None);
    }

    #[test]
    fn usage_errors() {
        for args in [
            vec!["swr", "tags", "list", "g/r", "--all", "--limit", "5"],
            vec!["swr", "tags", "list", "g/r", "--limit", "0"],
            vec!["swr", "tags", "list", "g/r", "--limit", "1001"],
            vec!["swr", "tags", "list", "g/r", "--page-size", "10"],
            vec!["swr", "--token", "t", "--ak", "a", "tags", "list", "g/r"],
            vec![
                "swr",
                "--endpoint",
                "http://x",
                "--region",
                "r",
                "tags",
                "list",
                "g/r",
            ],
        ] {
            let err = Cli::try_parse_from(&args).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{args:?}");
        }
    }
}
