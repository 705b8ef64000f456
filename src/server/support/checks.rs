//! Value checks, called by the generated `from_params`.

use super::*;

/// Length in characters within `min..=max`.
pub fn check_length(
    name: &str,
    raw: &str,
    min: Option<usize>,
    max: Option<usize>,
    location: Location,
    code: &'static str,
) -> Result<(), Rejection> {
    let len = raw.chars().count();
    let message = if min.is_some_and(|min| len < min) {
        format!(
            "{name}: {} is {len} characters long; at least {} required",
            quote(raw),
            min.unwrap_or_default()
        )
    } else if max.is_some_and(|max| len > max) {
        format!(
            "{name}: {} is {len} characters long; at most {} allowed",
            quote(raw),
            max.unwrap_or_default()
        )
    } else {
        return Ok(());
    };
    Err(Rejection::bad_request(code, location, name, message))
}

/// `raw` matches the spec's `pattern`.
pub fn check_pattern(
    name: &str,
    raw: &str,
    pattern: &Regex,
    location: Location,
    code: &'static str,
) -> Result<(), Rejection> {
    if pattern.is_match(raw) {
        return Ok(());
    }
    Err(Rejection::bad_request(
        code,
        location,
        name,
        format!("{name}: {} does not match {}", quote(raw), pattern.as_str()),
    ))
}

/// `raw` is exactly one of `allowed`; returns that value.
pub fn check_enum(
    name: &str,
    raw: &str,
    allowed: &[&'static str],
    location: Location,
    code: &'static str,
) -> Result<&'static str, Rejection> {
    allowed
        .iter()
        .find(|a| **a == raw)
        .copied()
        .ok_or_else(|| not_one_of(name, raw, allowed, location, code))
}

/// A media type (`Content-Type`) equal to one of `allowed`, compared
/// case-insensitively and ignoring spaces around `;` and `=`; returns the
/// allowed spelling.
pub fn check_media_type(
    name: &str,
    raw: &str,
    allowed: &[&'static str],
    location: Location,
    code: &'static str,
) -> Result<&'static str, Rejection> {
    let wanted = normalize_media_type(raw);
    allowed
        .iter()
        .find(|a| normalize_media_type(a) == wanted)
        .copied()
        .ok_or_else(|| not_one_of(name, raw, allowed, location, code))
}

fn normalize_media_type(s: &str) -> String {
    s.split(';')
        .map(|part| {
            let part = part.trim();
            match part.split_once('=') {
                Some((k, v)) => format!("{}={}", k.trim_end(), v.trim_start()),
                None => part.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(";")
        .to_ascii_lowercase()
}

fn not_one_of(
    name: &str,
    raw: &str,
    allowed: &[&str],
    location: Location,
    code: &'static str,
) -> Rejection {
    Rejection::bad_request(
        code,
        location,
        name,
        format!(
            "{name}: {} is not one of {}",
            quote(raw),
            allowed.join(", ")
        ),
    )
}

/// A base-10 integer in `min..=max`: ASCII digits only, with a leading `-`
/// only when `min` is negative.
pub fn parse_int<T: TryFrom<i128>>(
    name: &str,
    raw: &str,
    min: i128,
    max: i128,
    location: Location,
    code: &'static str,
) -> Result<T, Rejection> {
    let digits = match raw.strip_prefix('-') {
        Some(rest) if min < 0 => rest,
        _ => raw,
    };
    let reject = |message: String| Rejection::bad_request(code, location, name, message);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(reject(format!(
            "{name}: {} is not a base-10 integer between {min} and {max}",
            quote(raw)
        )));
    }
    // All digits: too long for i128 means far out of range.
    match raw.parse::<i128>() {
        Ok(n) if (min..=max).contains(&n) => {
            T::try_from(n).map_err(|_| reject(format!("{name}: {raw} is outside {min}..={max}")))
        }
        _ => Err(reject(format!(
            "{name}: {} is outside {min}..={max}",
            cut(raw)
        ))),
    }
}

/// An integer that must be one of the schema's `enum` values.
pub fn check_int_enum<T: Copy + Into<i128>>(
    name: &str,
    value: T,
    allowed: &[i128],
    location: Location,
    code: &'static str,
) -> Result<T, Rejection> {
    if allowed.contains(&value.into()) {
        return Ok(value);
    }
    let allowed: Vec<String> = allowed.iter().map(i128::to_string).collect();
    Err(Rejection::bad_request(
        code,
        location,
        name,
        format!(
            "{name}: {} is not one of {}",
            value.into(),
            allowed.join(", ")
        ),
    ))
}

/// A decimal number (`-1.5`, `2`, `1e3`) within the optional bounds; no
/// leading `+`, no spaces, no `inf`/`NaN`.
pub fn parse_number(
    name: &str,
    raw: &str,
    min: Option<f64>,
    max: Option<f64>,
    location: Location,
    code: &'static str,
) -> Result<f64, Rejection> {
    let reject = |message: String| Rejection::bad_request(code, location, name, message);
    let shape_ok = !raw.is_empty()
        && raw
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'.' | b'e' | b'E'))
        && raw.bytes().any(|b| b.is_ascii_digit());
    match raw.parse::<f64>() {
        Ok(n) if shape_ok && n.is_finite() => match (min, max) {
            (Some(min), _) if n < min => {
                Err(reject(format!("{name}: {raw} is below the minimum {min}")))
            }
            (_, Some(max)) if n > max => {
                Err(reject(format!("{name}: {raw} is above the maximum {max}")))
            }
            _ => Ok(n),
        },
        _ => Err(reject(format!("{name}: {} is not a number", quote(raw)))),
    }
}

/// Exactly `true` or `false`.
pub fn parse_bool(
    name: &str,
    raw: &str,
    location: Location,
    code: &'static str,
) -> Result<bool, Rejection> {
    match raw {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(Rejection::bad_request(
            code,
            location,
            name,
            format!("{name}: {} is not true or false", quote(raw)),
        )),
    }
}

/// A replacement type parsed with its own `FromStr`; the error decides the
/// code (if it has one) and the message.
pub fn parse_with<T>(
    name: &str,
    raw: &str,
    location: Location,
    code: &'static str,
) -> Result<T, Rejection>
where
    T: FromStr,
    T::Err: ParamError,
{
    raw.parse::<T>().map_err(|e| {
        Rejection::bad_request(
            e.code().unwrap_or(code),
            location,
            name,
            e.message(name, raw),
        )
    })
}

/// A generated model type parsed with its `FromStr`, after the schema's own
/// checks passed; a failure here is reported generically.
pub fn parse_model<T: FromStr>(
    name: &str,
    raw: &str,
    location: Location,
    code: &'static str,
) -> Result<T, Rejection> {
    raw.parse::<T>().map_err(|_| {
        Rejection::bad_request(
            code,
            location,
            name,
            format!("{name}: {} is not a valid value", quote(raw)),
        )
    })
}

/// A JSON request body.
pub fn parse_json_body<T: serde::de::DeserializeOwned>(
    body: &[u8],
    code: &'static str,
) -> Result<T, Rejection> {
    serde_json::from_slice(body)
        .map_err(|e| Rejection::bad_request(code, Location::Body, "body", format!("body: {e}")))
}

/// `raw` (ASCII digits here) cut after 128 characters.
fn cut(raw: &str) -> String {
    match raw.get(..MAX_QUOTED_LEN) {
        Some(head) if head.len() < raw.len() => format!("{head}…"),
        _ => raw.to_owned(),
    }
}

/// How a replacement type's `FromStr` error becomes a 400.
///
/// Implement it for the `Err` type of every type named in the generator's
/// replacements (`ServerOptions::replacements`) that is used as a parameter.
pub trait ParamError {
    /// The SWR code to answer with; `None` uses the parameter's code.
    fn code(&self) -> Option<&'static str> {
        None
    }

    /// The message, which should name the parameter.
    fn message(&self, parameter: &str, raw: &str) -> String;
}

impl ParamError for swr_filter::FilterError {
    fn code(&self) -> Option<&'static str> {
        Some(swr_filter::FilterError::code(self))
    }

    /// FilterError's own text already names the parameter (or `filter` key).
    fn message(&self, _parameter: &str, _raw: &str) -> String {
        self.to_string()
    }
}

impl ParamError for std::convert::Infallible {
    fn message(&self, _: &str, _: &str) -> String {
        match *self {}
    }
}
