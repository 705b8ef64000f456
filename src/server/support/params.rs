//! Raw parameters: the declared path, query or header values of one request.

use super::*;

/// The raw values of the parameters one operation declares in one location
/// (path, query or headers), percent-decoded, at most one value each.
/// Undeclared names are dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    location: Location,
    values: Vec<(&'static str, String)>,
}

/// A declared parameter: wire name and the SWR code of its rejections.
pub type Declared = (&'static str, &'static str);

impl Params {
    /// Empty set of values for `location`.
    pub fn new(location: Location) -> Self {
        Self {
            location,
            values: Vec::new(),
        }
    }

    /// Where these parameters travel.
    pub fn location(&self) -> Location {
        self.location
    }

    /// The path parameters matched by the router.
    pub async fn from_path(parts: &mut Parts, declared: &[Declared]) -> Result<Self, Rejection> {
        let mut params = Self::new(Location::Path);
        match RawPathParams::from_request_parts(parts, &()).await {
            Ok(raw) => {
                for (name, value) in &raw {
                    if let Some(&(name, _)) = declared.iter().find(|(d, _)| *d == name) {
                        params.values.push((name, value.to_owned()));
                    }
                }
            }
            Err(rejection) => {
                // Only possible cause with a matched route: a value that is not
                // UTF-8 once percent-decoded. axum's message names the key.
                let text = rejection.body_text();
                let (name, code) = declared
                    .iter()
                    .find(|(d, _)| text.contains(&format!("`{d}`")))
                    .or(declared.first())
                    .copied()
                    .unwrap_or(("path", ""));
                return Err(Rejection::bad_request(
                    code,
                    Location::Path,
                    name,
                    format!("{name}: not valid UTF-8 once percent-decoded"),
                ));
            }
        }
        Ok(params)
    }

    /// The query string, form-decoded. A declared name sent twice is a 400
    /// naming it; undeclared names are ignored.
    pub fn from_query(query: Option<&str>, declared: &[Declared]) -> Result<Self, Rejection> {
        let mut params = Self::new(Location::Query);
        for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            if let Some(&(name, code)) = declared.iter().find(|(d, _)| *d == name) {
                params.insert_once(name, value.into_owned(), code)?;
            }
        }
        Ok(params)
    }

    /// The declared request headers. A header sent twice, or one whose value
    /// is not visible ASCII, is a 400 naming it.
    pub fn from_headers(headers: &HeaderMap, declared: &[Declared]) -> Result<Self, Rejection> {
        let mut params = Self::new(Location::Header);
        for &(name, code) in declared {
            for value in headers.get_all(name) {
                let value = value.to_str().map_err(|_| {
                    Rejection::bad_request(
                        code,
                        Location::Header,
                        name,
                        format!("{name}: value is not visible ASCII"),
                    )
                })?;
                params.insert_once(name, value.to_owned(), code)?;
            }
        }
        Ok(params)
    }

    fn insert_once(
        &mut self,
        name: &'static str,
        value: String,
        code: &'static str,
    ) -> Result<(), Rejection> {
        if self.get(name).is_some() {
            let times = 1 + self.values.iter().filter(|(n, _)| *n == name).count();
            return Err(Rejection::bad_request(
                code,
                self.location,
                name,
                format!("{name}: sent {times} times; send it at most once"),
            ));
        }
        self.values.push((name, value));
        Ok(())
    }

    /// The value of `name`, if sent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `name`, or a 400 saying it is missing.
    pub fn required(&self, name: &str, code: &'static str) -> Result<&str, Rejection> {
        self.get(name).ok_or_else(|| {
            Rejection::bad_request(
                code,
                self.location,
                name,
                format!("{name}: required {} is missing", self.location),
            )
        })
    }

    /// Sets (or replaces) the value of `name`.
    pub fn set(&mut self, name: &'static str, value: impl Into<String>) {
        let value = value.into();
        match self.values.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.values.push((name, value)),
        }
    }

    /// Removes `name`, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        let i = self.values.iter().position(|(n, _)| *n == name)?;
        Some(self.values.remove(i).1)
    }
}
