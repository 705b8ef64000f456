//! "Now" for ages in the table, and the RFC 3339 times the API returns.
//! `SWR_NOW` (RFC 3339) pins the clock so tests and docs get stable output.

use std::time::{SystemTime, UNIX_EPOCH};

/// Unix seconds now, or `SWR_NOW` if it is set.
pub fn now() -> Result<i64, String> {
    match std::env::var("SWR_NOW") {
        Ok(v) => parse_rfc3339(&v).ok_or_else(|| format!("SWR_NOW={v:?} is not an RFC 3339 time")),
        Err(_) => Ok(SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)),
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` to Unix seconds (the fraction
/// is dropped).
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    swr_api::time::parse_rfc3339(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2018-07-06T06:18:55Z"), Some(1_530_857_935));
        assert_eq!(
            parse_rfc3339("2018-07-06T08:18:55.123+02:00"),
            Some(1_530_857_935)
        );
        assert_eq!(
            parse_rfc3339("2018-07-06T04:18:55-02:00"),
            Some(1_530_857_935)
        );
        for bad in [
            "",
            "2018-07-06",
            "2018-13-06T06:18:55Z",
            "2018-07-06T06:18:55",
            "2018-07-06T06:18:55+0200",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
