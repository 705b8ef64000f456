//! Output formats. `ndjson` and `csv` are written tag by tag as pages
//! arrive; `table`, `wide` and `json` need every row first (column widths,
//! one array).

use std::io::{self, Write};

use swr_api::types::ShowReposTagResp;

use crate::cli::Format;
use crate::clock;

/// Writes tags in one format.
pub struct Writer<W: Write> {
    out: W,
    format: Format,
    now: i64,
    rows: Vec<ShowReposTagResp>,
    started: bool,
}

impl<W: Write> Writer<W> {
    /// `now` (Unix seconds) is what ages are relative to.
    pub fn new(out: W, format: Format, now: i64) -> Self {
        Writer {
            out,
            format,
            now,
            rows: Vec::new(),
            started: false,
        }
    }

    pub fn push(&mut self, tag: ShowReposTagResp) -> io::Result<()> {
        match self.format {
            Format::Ndjson => {
                serde_json::to_writer(&mut self.out, &tag)?;
                self.out.write_all(b"\n")
            }
            Format::Csv => {
                if !self.started {
                    self.started = true;
                    writeln!(self.out, "{}", CSV_HEADER.join(","))?;
                }
                let row = csv_row(&tag);
                writeln!(self.out, "{}", row.join(","))
            }
            Format::Table | Format::Wide | Format::Json => {
                self.rows.push(tag);
                Ok(())
            }
        }
    }

    /// Flushes what has been written so far (between pages).
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Writes what needed every row, and flushes.
    pub fn finish(mut self) -> io::Result<()> {
        match self.format {
            Format::Json => {
                serde_json::to_writer_pretty(&mut self.out, &self.rows)?;
                self.out.write_all(b"\n")?;
            }
            Format::Table => {
                let rows: Vec<Vec<String>> = self
                    .rows
                    .iter()
                    .map(|t| {
                        vec![
                            t.tag.clone(),
                            short_digest(&t.digest),
                            human_size(t.size),
                            age(&t.updated, self.now),
                        ]
                    })
                    .collect();
                table(
                    &mut self.out,
                    &["TAG", "DIGEST", "SIZE", "UPDATED"],
                    &[2],
                    &rows,
                )?;
            }
            Format::Wide => {
                let rows: Vec<Vec<String>> = self
                    .rows
                    .iter()
                    .map(|t| {
                        vec![
                            t.tag.clone(),
                            t.id.to_string(),
                            t.digest.clone(),
                            human_size(t.size),
                            if *t.tag_type == 1 {
                                "index"
                            } else {
                                "manifest"
                            }
                            .to_owned(),
                            yes_no(t.scanned),
                            yes_no(t.is_trusted),
                            age(&t.created, self.now),
                            age(&t.updated, self.now),
                            t.path.clone(),
                        ]
                    })
                    .collect();
                table(
                    &mut self.out,
                    &[
                        "TAG", "ID", "DIGEST", "SIZE", "TYPE", "SCANNED", "TRUSTED", "CREATED",
                        "UPDATED", "PATH",
                    ],
                    &[1, 3],
                    &rows,
                )?;
            }
            Format::Csv if !self.started => {
                writeln!(self.out, "{}", CSV_HEADER.join(","))?;
            }
            Format::Csv | Format::Ndjson => {}
        }
        self.out.flush()
    }
}

const CSV_HEADER: [&str; 13] = [
    "id",
    "tag",
    "digest",
    "size",
    "created",
    "updated",
    "image_id",
    "tag_type",
    "schema",
    "is_trusted",
    "scanned",
    "path",
    "internal_path",
];

/// One CSV record: raw values (bytes, RFC 3339 times), RFC 4180 quoting.
fn csv_row(t: &ShowReposTagResp) -> Vec<String> {
    [
        t.id.to_string(),
        t.tag.clone(),
        t.digest.clone(),
        t.size.to_string(),
        t.created.clone(),
        t.updated.clone(),
        t.image_id.clone(),
        t.tag_type.to_string(),
        t.schema.to_string(),
        t.is_trusted.to_string(),
        t.scanned.to_string(),
        t.path.clone(),
        t.internal_path.clone(),
    ]
    .into_iter()
    .map(|v| csv_field(&v))
    .collect()
}

fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_owned()
    }
}

/// Left-aligned columns (right-aligned for `right`), two spaces apart, no
/// trailing blanks.
fn table(
    out: &mut impl Write,
    header: &[&str],
    right: &[usize],
    rows: &[Vec<String>],
) -> io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = width - cell.chars().count();
            if right.contains(&i) {
                line.extend(std::iter::repeat_n(' ', pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

/// `sha256:` and the first 12 hex digits, like `docker images`.
fn short_digest(digest: &str) -> String {
    match digest.split_once(':') {
        Some((algo, hex)) => format!("{algo}:{}", hex.get(..12).unwrap_or(hex)),
        None => digest.to_owned(),
    }
}

/// Decimal units, three significant digits: `1.30 MB`, `523 MB`.
pub fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 6] = ["kB", "MB", "GB", "TB", "PB", "EB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = "B";
    for u in UNITS {
        if value < 1000.0 {
            break;
        }
        value /= 1000.0;
        unit = u;
    }
    if value < 10.0 {
        format!("{value:.2} {unit}")
    } else if value < 100.0 {
        format!("{value:.1} {unit}")
    } else {
        format!("{value:.0} {unit}")
    }
}

/// `3 days ago`, relative to `now`; the raw text when it is not RFC 3339.
pub fn age(timestamp: &str, now: i64) -> String {
    let Some(t) = clock::parse_rfc3339(timestamp) else {
        return timestamp.to_owned();
    };
    let delta = now - t;
    let secs = delta.abs();
    if secs < 60 {
        return "just now".to_owned();
    }
    let (n, unit) = match secs {
        s if s < 3600 => (s / 60, "minute"),
        s if s < 2 * 86_400 => (s / 3600, "hour"),
        s if s < 14 * 86_400 => (s / 86_400, "day"),
        s if s < 60 * 86_400 => (s / (7 * 86_400), "week"),
        s if s < 730 * 86_400 => (s / (30 * 86_400), "month"),
        s => (s / (365 * 86_400), "year"),
    };
    let plural = if n == 1 { "" } else { "s" };
    if delta < 0 {
        format!("in {n} {unit}{plural}")
    } else {
        format!("{n} {unit}{plural} ago")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(1000), "1.00 kB");
        assert_eq!(human_size(1_304_902), "1.30 MB");
        assert_eq!(human_size(52_345_678), "52.3 MB");
        assert_eq!(human_size(523_456_789), "523 MB");
        assert_eq!(human_size(i64::MAX), "9.22 EB");
    }

    #[test]
    fn ages() {
        let now = clock::parse_rfc3339("2024-06-01T12:00:00Z").unwrap();
        for (t, want) in [
            ("2024-06-01T11:59:30Z", "just now"),
            ("2024-06-01T11:59:00Z", "1 minute ago"),
            ("2024-06-01T09:00:00Z", "3 hours ago"),
            ("2024-05-31T00:00:00Z", "36 hours ago"),
            ("2024-05-25T12:00:00Z", "7 days ago"),
            ("2024-05-01T12:00:00Z", "4 weeks ago"),
            ("2023-12-01T12:00:00Z", "6 months ago"),
            ("2018-07-06T06:18:55Z", "5 years ago"),
            ("2024-06-02T12:00:00Z", "in 24 hours"),
            ("not a time", "not a time"),
        ] {
            assert_eq!(age(t, now), want, "{t}");
        }
    }

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn digests() {
        assert_eq!(
            short_digest("sha256:57b605845a6367c34bfb6ea6477f16852f59aa1861a2b51d10ab77ae0a1dc9c3"),
            "sha256:57b605845a63"
        );
        assert_eq!(short_digest("odd"), "odd");
    }
}
