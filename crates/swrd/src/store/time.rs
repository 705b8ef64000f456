//! RFC 3339 timestamps <-> Unix seconds.
//!
//! The store keeps times as integer Unix seconds (`BIGINT`) on both backends:
//! the order is then numeric everywhere (no collation or text-format trap), the
//! indexes are small, and the API's `YYYY-MM-DDTHH:MM:SSZ` is produced on the way
//! out. The calendar work is `swr_api::time` (the `time` crate), shared with
//! the client, the router's signature checks and the CLI.

pub use swr_api::time::{MAX_TIMESTAMP, MIN_TIMESTAMP, format_timestamp, parse_timestamp};

/// The current time in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(MAX_TIMESTAMP))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_api_shape() {
        for s in [
            "1970-01-01T00:00:00Z",
            "2018-07-06T06:18:55Z",
            "2000-02-29T23:59:59Z",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
        ] {
            assert_eq!(format_timestamp(parse_timestamp(s).unwrap()), s);
        }
        assert_eq!(parse_timestamp("2018-07-06T06:18:55Z"), Some(1_530_857_935));
    }

    #[test]
    fn normalises_offsets_and_fractions() {
        assert_eq!(
            parse_timestamp("2018-07-06T14:18:55.999+08:00"),
            parse_timestamp("2018-07-06T06:18:55Z")
        );
        assert_eq!(
            parse_timestamp("2016-03-09T14:44:26.402973972-08:00")
                .map(format_timestamp)
                .as_deref(),
            Some("2016-03-09T22:44:26Z")
        );
    }

    #[test]
    fn rejects_non_rfc3339() {
        for s in [
            "",
            "2018-07-06",
            "2018-07-06 06:18:55Z",
            "2018-07-06T06:18:55",
            "2018-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2018-07-06T24:00:00Z",
            "2018-07-06T06:18:60Z",
            "2018-07-06T06:18:55.Z",
            "2018-07-06T06:18:55+0800",
            "2018-07-06T06:18:55Zjunk",
            "+018-07-06T06:18:55Z",
            "0000-01-01T00:00:00Z",
        ] {
            assert_eq!(parse_timestamp(s), None, "{s}");
        }
    }
}
