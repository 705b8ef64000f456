//! RFC 3339 timestamps <-> Unix seconds.
//!
//! The store keeps times as integer Unix seconds (`BIGINT`) on both backends:
//! the order is then numeric everywhere (no collation or text-format trap), the
//! indexes are small, and the API's `YYYY-MM-DDTHH:MM:SSZ` is produced on the way
//! out. Hand-written (Howard Hinnant's civil-date algorithms) because this is
//! all the date arithmetic swrd needs, not worth a date crate.

/// Seconds in a day.
const DAY: i64 = 86_400;

/// Smallest and largest accepted instants: 0001-01-01T00:00:00Z and
/// 9999-12-31T23:59:59Z, so that every stored time formats as a 4-digit year.
pub const MIN_TIMESTAMP: i64 = -62_135_596_800;
/// See [`MIN_TIMESTAMP`].
pub const MAX_TIMESTAMP: i64 = 253_402_300_799;

/// Parses an RFC 3339 date-time (`2018-07-06T06:18:55Z`,
/// `2018-07-06T14:18:55.123+08:00`, ...) into Unix seconds, UTC.
///
/// Any offset is accepted and normalised to UTC; a fraction is truncated
/// (the API shows whole seconds). Returns `None` for anything else,
/// including impossible dates (`2023-02-29`) and leap second `:60`.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = b.get(range)?;
        digits.iter().try_fold(0i64, |acc, &d| {
            d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0'))
        })
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut rest = &b[19..];
    if let [b'.', tail @ ..] = rest {
        let digits = tail.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        rest = &tail[digits..];
    }
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let two = |a: u8, b: u8| -> Option<i64> {
                (a.is_ascii_digit() && b.is_ascii_digit())
                    .then(|| i64::from(a - b'0') * 10 + i64::from(b - b'0'))
            };
            let (oh, om) = (two(*h1, *h2)?, two(*m1, *m2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let off = oh * 3600 + om * 60;
            if *sign == b'-' { -off } else { off }
        }
        _ => return None,
    };
    let secs =
        days_from_civil(year, month, day) * DAY + hour * 3600 + minute * 60 + second - offset;
    (MIN_TIMESTAMP..=MAX_TIMESTAMP)
        .contains(&secs)
        .then_some(secs)
}

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (the API's shape).
///
/// Values outside years 1..=9999 are clamped; the store never holds them
/// because every write goes through [`parse_timestamp`] or a generator that
/// stays in range.
pub fn format_timestamp(secs: i64) -> String {
    let secs = secs.clamp(MIN_TIMESTAMP, MAX_TIMESTAMP);
    let (days, rem) = (secs.div_euclid(DAY), secs.rem_euclid(DAY));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The current time in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(MAX_TIMESTAMP))
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
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
