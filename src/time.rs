//! The two time formats of this API, in one place, on the `time` crate:
//! RFC 3339 (`created`/`updated`/`deleted`, fixtures, `SWR_NOW`) and the
//! signer's `X-Sdk-Date` (`YYYYMMDDTHHMMSSZ`, UTC). Client, server, swrd and
//! the CLI all use these, so they cannot disagree about a date.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ::time::format_description::BorrowedFormatItem;
use ::time::format_description::well_known::Rfc3339;
use ::time::macros::format_description;
use ::time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

const SDK_DATE: &[BorrowedFormatItem<'static>] =
    format_description!("[year][month][day]T[hour][minute][second]Z");
const UTC_SECONDS: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

/// An RFC 3339 time (any offset, optional fraction, `T`/`t`, `Z`/`z`) as Unix
/// seconds, the fraction dropped.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    // RFC 3339 lets applications join date and time with a space; this API
    // (and its fixtures) use `T`.
    if !matches!(s.as_bytes().get(10), Some(b'T' | b't')) {
        return None;
    }
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(OffsetDateTime::unix_timestamp)
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (the API's form), or `None` outside
/// years 1..=9999.
pub fn format_rfc3339(secs: i64) -> Option<String> {
    let t = OffsetDateTime::from_unix_timestamp(secs).ok()?;
    t.format(UTC_SECONDS).ok()
}

/// Smallest and largest accepted instants: 0001-01-01T00:00:00Z and
/// 9999-12-31T23:59:59Z, so that every stored time formats as a 4-digit year.
pub const MIN_TIMESTAMP: i64 = -62_135_596_800;
/// See [`MIN_TIMESTAMP`].
pub const MAX_TIMESTAMP: i64 = 253_402_300_799;

/// Parses an RFC 3339 date-time (`2018-07-06T06:18:55Z`,
/// `2018-07-06T14:18:55.123+08:00`, ...) into Unix seconds, UTC, within
/// [`MIN_TIMESTAMP`]..=[`MAX_TIMESTAMP`].
///
/// Any offset is accepted and normalised to UTC; a fraction is truncated
/// (the API shows whole seconds). Returns `None` for anything else,
/// including impossible dates (`2023-02-29`) and leap second `:60`.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    parse_rfc3339(s).filter(|secs| (MIN_TIMESTAMP..=MAX_TIMESTAMP).contains(secs))
}

/// Unix seconds as the API's `YYYY-MM-DDTHH:MM:SSZ`, clamped to years
/// 1..=9999.
pub fn format_timestamp(secs: i64) -> String {
    let secs = secs.clamp(MIN_TIMESTAMP, MAX_TIMESTAMP);
    format_rfc3339(secs).unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
}

/// `X-Sdk-Date` for a time: `YYYYMMDDTHHMMSSZ`, UTC.
pub fn format_sdk_date(at: SystemTime) -> String {
    OffsetDateTime::from(at)
        .format(SDK_DATE)
        .unwrap_or_else(|_| "19700101T000000Z".to_owned())
}

/// A `YYYYMMDDTHHMMSSZ` value as a time, with calendar checks; `None` for any
/// other form.
pub fn parse_sdk_date(s: &str) -> Option<SystemTime> {
    if s.len() != 16 {
        return None;
    }
    let t = PrimitiveDateTime::parse(s, SDK_DATE)
        .ok()?
        .assume_offset(UtcOffset::UTC);
    let secs = u64::try_from(t.unix_timestamp()).ok()?;
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2018-07-06T06:18:55Z"), Some(1_530_857_935));
        assert_eq!(
            parse_rfc3339("2018-07-06T08:18:55.123+02:00"),
            Some(1_530_857_935)
        );
        assert_eq!(parse_rfc3339("2018-07-06t06:18:55z"), Some(1_530_857_935));
        for bad in [
            "2018-02-30T00:00:00Z",
            "2018-07-06 06:18:55Z",
            "2018-07-06T24:00:00Z",
            "",
            "x",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
        assert_eq!(
            format_rfc3339(1_530_857_935).unwrap(),
            "2018-07-06T06:18:55Z"
        );
        assert_eq!(
            format_rfc3339(-62_135_596_800).unwrap(),
            "0001-01-01T00:00:00Z"
        );
        assert_eq!(
            format_rfc3339(253_402_300_799).unwrap(),
            "9999-12-31T23:59:59Z"
        );
    }

    #[test]
    fn sdk_date() {
        let t = UNIX_EPOCH + Duration::from_secs(1_704_067_200);
        assert_eq!(format_sdk_date(t), "20240101T000000Z");
        assert_eq!(parse_sdk_date("20240101T000000Z"), Some(t));
        for bad in [
            "20240230T000000Z",
            "20240101T000000",
            "2024-01-01T00:00:00Z",
            "20240101T250000Z",
            "2024010aT000000Z",
        ] {
            assert_eq!(parse_sdk_date(bad), None, "{bad}");
        }
    }
}
