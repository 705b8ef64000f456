//! The `Content-Range` response header: `{offset}-{count}/{total}`.
//!
//! SWR's header is not RFC 7233's: it has no unit word, and its middle number is
//! the count of records in the body, not an inclusive end index. The server
//! writes it with [`Display`](std::fmt::Display); clients read it with
//! [`ContentRange::parse_lenient`], because other SWR deployments are not known
//! to follow the documented meaning of the middle number.

use std::{fmt, str::FromStr};

/// Paging facts of one list response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContentRange {
    /// Start index of this page.
    pub offset: u64,
    /// Number of records in this body.
    pub count: u64,
    /// Number of records that match the request in all.
    pub total: u64,
}

/// Why a `Content-Range` value was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentRangeError {
    value: String,
}

impl fmt::Display for ContentRangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Content-Range {:?} is not of the form offset-count/total",
            self.value
        )
    }
}

impl std::error::Error for ContentRangeError {}

impl ContentRange {
    /// The regular expression the spec gives for the header.
    pub const PATTERN: &str = r"^\d+-\d+/\d+$";

    /// Parses any `a-b/c`, trusting only `a` (offset) and `c` (total) for sure.
    /// The middle number is a count in SWR's documented form; with a unit word
    /// (`items 0-9/55`, RFC 7233 style) or when a count would not fit
    /// (`a + b > c`) it is read as an inclusive end index instead.
    pub fn parse_lenient(value: &str) -> Result<Self, ContentRangeError> {
        let trimmed = value.trim();
        let (unit, numbers) = match trimmed.rsplit_once(' ') {
            Some((unit, numbers)) => (Some(unit), numbers),
            None => (None, trimmed),
        };
        let (offset, middle, total) = split(numbers).ok_or_else(|| error(value))?;
        let fits_as_count = offset.checked_add(middle).is_some_and(|end| end <= total);
        let count = if unit.is_none() && fits_as_count {
            middle
        } else {
            middle
                .checked_sub(offset)
                .map_or(0, |d| d.saturating_add(1))
                .min(total.saturating_sub(offset))
        };
        Ok(Self {
            offset,
            count,
            total,
        })
    }
}

impl FromStr for ContentRange {
    type Err = ContentRangeError;

    /// Strict: exactly `offset-count/total` in base-10 digits, with
    /// `offset + count <= total` unless the page is empty.
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let (offset, count, total) = split(value).ok_or_else(|| error(value))?;
        let consistent = count == 0 || offset.checked_add(count).is_some_and(|end| end <= total);
        if !consistent {
            return Err(error(value));
        }
        Ok(Self {
            offset,
            count,
            total,
        })
    }
}

impl fmt::Display for ContentRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}/{}", self.offset, self.count, self.total)
    }
}

fn split(value: &str) -> Option<(u64, u64, u64)> {
    let (range, total) = value.split_once('/')?;
    let (offset, count) = range.split_once('-')?;
    Some((digits(offset)?, digits(count)?, digits(total)?))
}

/// Base-10 digits only: `u64::from_str` would also take a leading `+`.
fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn error(value: &str) -> ContentRangeError {
    ContentRangeError {
        value: value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_round_trip() {
        let r: ContentRange = "0-10/55".parse().unwrap();
        assert_eq!(
            r,
            ContentRange {
                offset: 0,
                count: 10,
                total: 55
            }
        );
        assert_eq!(r.to_string(), "0-10/55");
        // Offset past the end: an empty page.
        assert_eq!("60-0/55".parse::<ContentRange>().unwrap().count, 0);
    }

    #[test]
    fn strict_rejects() {
        for bad in [
            "",
            "0-10",
            "0-10/5",
            "+0-1/1",
            "a-b/c",
            "0-1/1 ",
            "items 0-1/1",
            "-1-1/1",
            "0--1/2",
        ] {
            assert!(bad.parse::<ContentRange>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn lenient_trusts_offset_and_total() {
        let r = ContentRange::parse_lenient("items 10-19/55").unwrap();
        assert_eq!((r.offset, r.count, r.total), (10, 10, 55));
        let r = ContentRange::parse_lenient("50-54/55").unwrap();
        assert_eq!((r.offset, r.count, r.total), (50, 5, 55));
        let r = ContentRange::parse_lenient("0-10/55").unwrap();
        assert_eq!((r.offset, r.count, r.total), (0, 10, 55));
        assert!(ContentRange::parse_lenient("garbage").is_err());
    }
}
