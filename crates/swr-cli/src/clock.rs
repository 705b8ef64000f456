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
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let d = s.get(r)?;
        d.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| d.parse().ok())?
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let r = rest.get(1..)?;
            if r.len() != 5 || r.as_bytes()[2] != b':' {
                return None;
            }
            let h: i64 = r[..2].parse().ok()?;
            let m: i64 = r[3..].parse().ok()?;
            sign * (h * 3600 + m * 60)
        }
    };
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
