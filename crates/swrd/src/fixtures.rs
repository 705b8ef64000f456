//! Fixture files: accounts, credentials and tags to load into a store, for
//! tests and demos.
//!
//! # Format
//!
//! One YAML document (JSON is valid YAML, so `.json` files parse the same way).
//! Unknown keys are errors everywhere, so a typo never silently drops data.
//!
//! ```yaml
//! domains:                                  # accounts
//!   - id: "0503dda878000fed0f75c0096d70a960"  # [A-Za-z0-9_-]{1,64}, unique
//!     name: acme                            # required, 1-64 chars
//!     tokens: ["tok-acme"]                  # X-Auth-Token values (stored hashed); unique across domains
//!     credentials: [{ak: "AKACME", sk: "SKACME"}]   # AK/SK pairs; AK unique across domains
//! namespaces:
//!   - name: group                           # the API's namespace rule; unique
//!     domain: "0503dda878000fed0f75c0096d70a960"    # must be one of `domains[].id` in this file
//!     repositories:
//!       - name: tools/busybox               # the API's repository rule, with `/` (sent as `$`); unique per namespace
//!         tags:
//!           - tag: latest                   # required, [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; unique per repository
//!             digest: "sha256:57b6…"        # required, `algorithm:hex` (sha256: 64 lowercase hex digits)
//!             image_id: "741f…"             # default "" ; else 64 lowercase hex digits
//!             manifest: '{"schemaVersion":2}'   # default "" ; else a JSON document, as a string
//!             schema: 2                     # default 2; 1 or 2
//!             size: 1304902                 # default 0; bytes, >= 0
//!             is_trusted: false             # default false
//!             scanned: false                # default false
//!             tag_type: 0                   # default 0; 0 manifest, 1 manifest list
//!             created: "2018-07-06T06:18:55Z"   # RFC 3339, any offset (stored as UTC seconds)
//!             updated: "2018-07-06T06:18:55Z"
//!             deleted: null                 # default null
//! ```
//!
//! Only `tag` and `digest` are required in a tag, because they are what makes a
//! tag a tag; everything else has the default shown. A missing `created` takes
//! `updated` and vice versa; when both are missing both are the time of the
//! import (so re-importing such a file moves those tags to the top of the
//! default `updated desc` order, which is what "pushed again" means).
//!
//! # Errors
//!
//! Every rule is checked while parsing, so an error names the file, the path
//! of the key at fault and its position:
//! `fixtures.yaml: namespaces[0].repositories[0].tags[2].size: invalid value:
//! integer `-1`, expected a size >= 0 (line 14, column 20)`. That includes the
//! cross-references (unknown `domain`, duplicate names, tokens or AKs).
//!
//! A [`Fixture`] built in code is checked by [`Fixture::validate`] (the same
//! rules, paths without positions); `Store::import` calls it.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;
use std::path::Path;

use serde::de::{self, Deserializer, Unexpected, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::store::time::{MAX_TIMESTAMP, MIN_TIMESTAMP, format_timestamp, parse_timestamp};

/// A whole fixture file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// Accounts with their credentials.
    #[serde(default)]
    pub domains: Vec<FixtureDomain>,
    /// Namespaces, each owned by one of `domains`.
    #[serde(default)]
    pub namespaces: Vec<FixtureNamespace>,
}

/// An account (Huawei "domain").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureDomain {
    /// Domain id, as shown in `domain_id`.
    #[serde(deserialize_with = "de_domain_id")]
    pub id: String,
    /// Display name.
    #[serde(deserialize_with = "de_domain_name")]
    pub name: String,
    /// `X-Auth-Token` values that authenticate as this domain.
    #[serde(default, deserialize_with = "de_tokens")]
    pub tokens: Vec<String>,
    /// Tokens that stop working at a time (IAM tokens last 24 h):
    /// `[{token: "...", expires: "2026-01-01T00:00:00Z"}]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expiring_tokens: Vec<FixtureExpiringToken>,
    /// AK/SK pairs that authenticate as this domain.
    #[serde(default)]
    pub credentials: Vec<FixtureCredential>,
}

/// A token with an expiry time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureExpiringToken {
    /// The `X-Auth-Token` value.
    #[serde(deserialize_with = "de_token")]
    pub token: String,
    /// When it stops authenticating (RFC 3339).
    pub expires: Timestamp,
}

/// An access key / secret key pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureCredential {
    /// Access key id (the `Access=` of the `Authorization` header).
    #[serde(deserialize_with = "de_access_key")]
    pub ak: String,
    /// Secret key (the HMAC key).
    #[serde(deserialize_with = "de_secret_key")]
    pub sk: String,
}

/// A namespace (SWR "organization").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureNamespace {
    /// Namespace name.
    #[serde(deserialize_with = "de_namespace")]
    pub name: String,
    /// Id of the owning domain; must be listed in [`Fixture::domains`].
    #[serde(deserialize_with = "de_domain_ref")]
    pub domain: String,
    /// Repositories of the namespace.
    #[serde(default, deserialize_with = "de_repositories")]
    pub repositories: Vec<FixtureRepository>,
}

/// An image repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureRepository {
    /// Repository name, with `/` (not the wire form's `$`).
    #[serde(deserialize_with = "de_repository")]
    pub name: String,
    /// Tags of the repository.
    #[serde(default, deserialize_with = "de_tags")]
    pub tags: Vec<FixtureTag>,
}

/// An image tag. Field meanings are those of the API's `ShowReposTagResp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureTag {
    /// Tag name.
    #[serde(deserialize_with = "de_tag")]
    pub tag: String,
    /// Manifest digest, `sha256:<64 hex>`.
    #[serde(deserialize_with = "de_digest")]
    pub digest: String,
    /// Image id (hex sha256 of the config), or empty.
    #[serde(default, deserialize_with = "de_image_id")]
    pub image_id: String,
    /// The manifest as a JSON string, or empty.
    #[serde(default, deserialize_with = "de_manifest")]
    pub manifest: String,
    /// Docker manifest schema, 1 or 2.
    #[serde(default = "default_schema", deserialize_with = "de_schema")]
    pub schema: i64,
    /// Size in bytes, >= 0.
    #[serde(default, deserialize_with = "de_size")]
    pub size: i64,
    /// Trusted image.
    #[serde(default)]
    pub is_trusted: bool,
    /// Scanned image.
    #[serde(default)]
    pub scanned: bool,
    /// 0 manifest, 1 manifest list.
    #[serde(default, deserialize_with = "de_tag_type")]
    pub tag_type: i64,
    /// Creation time; see the module doc for the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<Timestamp>,
    /// Update time; see the module doc for the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<Timestamp>,
    /// Deletion time.
    #[serde(default)]
    pub deleted: Option<Timestamp>,
}

impl FixtureTag {
    /// A tag with every optional field at its default.
    pub fn new(tag: impl Into<String>, digest: impl Into<String>) -> Self {
        FixtureTag {
            tag: tag.into(),
            digest: digest.into(),
            image_id: String::new(),
            manifest: String::new(),
            schema: default_schema(),
            size: 0,
            is_trusted: false,
            scanned: false,
            tag_type: 0,
            created: None,
            updated: None,
            deleted: None,
        }
    }
}

fn default_schema() -> i64 {
    2
}

/// A point in time, Unix seconds (UTC). Written as RFC 3339
/// (`2018-07-06T06:18:55Z`); read from any RFC 3339 date-time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_timestamp(self.0))
    }
}

impl std::str::FromStr for Timestamp {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        parse_timestamp(s)
            .map(Timestamp)
            .ok_or_else(|| format!("{s:?} is not an RFC 3339 date-time"))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 date-time such as \"2018-07-06T06:18:55Z\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
                parse_timestamp(v)
                    .map(Timestamp)
                    .ok_or_else(|| E::invalid_value(Unexpected::Str(v), &self))
            }
        }
        d.deserialize_str(V)
    }
}

/// A fixture that cannot be read, parsed or accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixtureError {
    /// File name (or the `origin` given to [`parse`]).
    pub origin: String,
    /// Path of the key at fault, e.g. `namespaces[0].repositories[1].tags[2].size`;
    /// empty for the document as a whole.
    pub path: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for FixtureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.origin)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)?;
        if let (Some(line), Some(column)) = (self.line, self.column) {
            write!(f, " (line {line}, column {column})")?;
        }
        Ok(())
    }
}

impl std::error::Error for FixtureError {}

/// Reads and parses a fixture file.
pub fn load(path: impl AsRef<Path>) -> Result<Fixture, FixtureError> {
    let path = path.as_ref();
    let origin = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&text, &origin),
        Err(e) => Err(FixtureError {
            origin,
            path: String::new(),
            line: None,
            column: None,
            message: format!("cannot read the file: {e}"),
        }),
    }
}

/// Parses fixture text (YAML or JSON); `origin` names it in errors.
pub fn parse(text: &str, origin: &str) -> Result<Fixture, FixtureError> {
    let fixture = parse_pass(text, origin, None)?;
    let ids: HashSet<String> = fixture.domains.iter().map(|d| d.id.clone()).collect();
    if fixture.namespaces.iter().all(|n| ids.contains(&n.domain)) {
        return Ok(fixture);
    }
    // The domains are only all known once the whole document is read (they
    // may come after the namespaces), so unknown references are found in a
    // second pass that knows them and can stop at the exact spot.
    parse_pass(text, origin, Some(ids))?;
    fixture.validate().map_err(|e| FixtureError {
        origin: origin.to_owned(),
        ..e
    })?;
    Ok(fixture)
}

fn parse_pass(
    text: &str,
    origin: &str,
    known_domains: Option<HashSet<String>>,
) -> Result<Fixture, FixtureError> {
    let _guard = CtxGuard::install(known_domains);
    let de = yaml_serde::Deserializer::from_str(text);
    serde_path_to_error::deserialize::<_, Fixture>(de).map_err(|e| {
        let path = match e.path().to_string() {
            p if p == "." => String::new(),
            p => p,
        };
        let location = e.inner().location();
        let mut message = e.inner().to_string();
        // yaml_serde renders "{its path}: {message} at line L column C"; the
        // path and position are reported separately here.
        if let Some(loc) = &location {
            let at = format!(" at line {} column {}", loc.line(), loc.column());
            if let Some(i) = message.find(&at) {
                message.replace_range(i..i + at.len(), "");
            }
        }
        if let Some(rest) = message.strip_prefix(&format!("{path}: ")) {
            message = rest.to_owned();
        } else if let Some((head, rest)) = message.split_once(": ")
            && !head.is_empty()
            && !head.contains(char::is_whitespace)
        {
            message = rest.to_owned();
        }
        FixtureError {
            origin: origin.to_owned(),
            path,
            line: location.as_ref().map(|l| l.line()),
            column: location.as_ref().map(|l| l.column()),
            message,
        }
    })
}

impl Fixture {
    /// Checks every rule of the format (see the module doc) on a fixture
    /// built in code; parsed fixtures already passed them.
    pub fn validate(&self) -> Result<(), FixtureError> {
        let fail = |path: String, message: String| FixtureError {
            origin: "fixture".to_owned(),
            path,
            line: None,
            column: None,
            message,
        };
        let check = |path: String, rule: Rule, value: &str| {
            if rule.accepts(value) {
                return Ok(());
            }
            let shown = match rule {
                Rule::Token | Rule::SecretKey => "a string".to_owned(),
                _ => format!("{value:?}"),
            };
            Err(fail(
                path,
                format!("invalid value: {shown}, expected {}", rule.expected()),
            ))
        };
        let mut ids = HashSet::new();
        let mut tokens = HashSet::new();
        let mut aks = HashSet::new();
        for (i, d) in self.domains.iter().enumerate() {
            let p = format!("domains[{i}]");
            check(format!("{p}.id"), Rule::DomainId, &d.id)?;
            check(format!("{p}.name"), Rule::DomainName, &d.name)?;
            if !ids.insert(d.id.as_str()) {
                return Err(fail(format!("{p}.id"), Rule::DomainId.duplicate(&d.id)));
            }
            for (j, t) in d.tokens.iter().enumerate() {
                check(format!("{p}.tokens[{j}]"), Rule::Token, t)?;
                if !tokens.insert(t.as_str()) {
                    return Err(fail(format!("{p}.tokens[{j}]"), Rule::Token.duplicate(t)));
                }
            }
            for (j, t) in d.expiring_tokens.iter().enumerate() {
                let at = format!("{p}.expiring_tokens[{j}].token");
                check(at.clone(), Rule::Token, &t.token)?;
                if !tokens.insert(t.token.as_str()) {
                    return Err(fail(at, Rule::Token.duplicate(&t.token)));
                }
            }
            for (j, c) in d.credentials.iter().enumerate() {
                check(format!("{p}.credentials[{j}].ak"), Rule::AccessKey, &c.ak)?;
                check(format!("{p}.credentials[{j}].sk"), Rule::SecretKey, &c.sk)?;
                if !aks.insert(c.ak.as_str()) {
                    return Err(fail(
                        format!("{p}.credentials[{j}].ak"),
                        Rule::AccessKey.duplicate(&c.ak),
                    ));
                }
            }
        }
        let mut namespaces = HashSet::new();
        for (i, n) in self.namespaces.iter().enumerate() {
            let p = format!("namespaces[{i}]");
            check(format!("{p}.name"), Rule::Namespace, &n.name)?;
            if !namespaces.insert(n.name.as_str()) {
                return Err(fail(
                    format!("{p}.name"),
                    Rule::Namespace.duplicate(&n.name),
                ));
            }
            if !ids.contains(n.domain.as_str()) {
                return Err(fail(format!("{p}.domain"), unknown_domain(&n.domain)));
            }
            let mut repos = HashSet::new();
            for (j, r) in n.repositories.iter().enumerate() {
                let p = format!("{p}.repositories[{j}]");
                check(format!("{p}.name"), Rule::Repository, &r.name)?;
                if !repos.insert(r.name.as_str()) {
                    return Err(fail(
                        format!("{p}.name"),
                        Rule::Repository.duplicate(&r.name),
                    ));
                }
                let mut tags = HashSet::new();
                for (k, t) in r.tags.iter().enumerate() {
                    let p = format!("{p}.tags[{k}]");
                    check(format!("{p}.tag"), Rule::Tag, &t.tag)?;
                    if !tags.insert(t.tag.as_str()) {
                        return Err(fail(format!("{p}.tag"), Rule::Tag.duplicate(&t.tag)));
                    }
                    check(format!("{p}.digest"), Rule::Digest, &t.digest)?;
                    check(format!("{p}.image_id"), Rule::ImageId, &t.image_id)?;
                    check(format!("{p}.manifest"), Rule::Manifest, &t.manifest)?;
                    for (key, value, int) in [
                        ("schema", t.schema, Int::Schema),
                        ("size", t.size, Int::Size),
                        ("tag_type", t.tag_type, Int::TagType),
                    ] {
                        if !int.accepts(value) {
                            let msg =
                                format!("invalid value: {value}, expected {}", int.expected());
                            return Err(fail(format!("{p}.{key}"), msg));
                        }
                    }
                    for (key, ts) in [
                        ("created", t.created),
                        ("updated", t.updated),
                        ("deleted", t.deleted),
                    ] {
                        if let Some(ts) = ts
                            && !(MIN_TIMESTAMP..=MAX_TIMESTAMP).contains(&ts.0)
                        {
                            let msg = format!(
                                "invalid value: {}, expected a time in years 1 to 9999",
                                ts.0
                            );
                            return Err(fail(format!("{p}.{key}"), msg));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

fn unknown_domain(id: &str) -> String {
    format!("unknown domain {id:?}: a namespace's domain must be listed under `domains`")
}

// ---------------------------------------------------------------------------
// Name rules. Public so the HTTP layer and tests can share them.

/// The API's namespace rule:
/// `^[a-z][a-z0-9]*(?:(?:[._-]|__)[a-z0-9]+)*$`, 1 to 64 characters.
pub fn is_valid_namespace(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.as_bytes()[0].is_ascii_lowercase()
        && separated_runs(s.as_bytes(), |sep| {
            matches!(sep, b"." | b"_" | b"-" | b"__")
        })
}

/// The API's repository rule in its stored form (`/` between components,
/// where the wire form has `$`): 1 to 128 characters, each component
/// `[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`.
pub fn is_valid_repository(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && s.split('/').all(|c| {
            separated_runs(c.as_bytes(), |sep| {
                matches!(sep, b"." | b"_" | b"__") || sep.iter().all(|&b| b == b'-')
            })
        })
}

/// A tag name: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}` (the registry's rule).
pub fn is_valid_tag(s: &str) -> bool {
    let b = s.as_bytes();
    (1..=128).contains(&b.len())
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// `run (sep run)*` with `run = [a-z0-9]+`; `sep_ok` judges each maximal
/// stretch between runs.
fn separated_runs(b: &[u8], sep_ok: impl Fn(&[u8]) -> bool) -> bool {
    let run = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let mut i = 0;
    loop {
        let start = i;
        while i < b.len() && run(&b[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == b.len() {
            return true;
        }
        let start = i;
        while i < b.len() && !run(&b[i]) {
            i += 1;
        }
        if i == b.len() || !sep_ok(&b[start..i]) {
            return false;
        }
    }
}

fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// OCI digest grammar; sha256 and sha512 must have their exact hex length.
fn is_valid_digest(s: &str) -> bool {
    let Some((alg, enc)) = s.split_once(':') else {
        return false;
    };
    let alg_ok = separated_runs(alg.as_bytes(), |sep| {
        matches!(sep, b"+" | b"." | b"_" | b"-")
    });
    let enc_ok = !enc.is_empty()
        && enc
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'_' | b'-'));
    s.len() <= 255
        && alg_ok
        && enc_ok
        && match alg {
            "sha256" => is_lower_hex(enc, 64),
            "sha512" => is_lower_hex(enc, 128),
            _ => true,
        }
}

fn is_visible_ascii(s: &str, max: usize) -> bool {
    (1..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic())
}

/// The string rules, each with its "expected ..." text.
#[derive(Clone, Copy)]
enum Rule {
    DomainId,
    DomainName,
    Token,
    AccessKey,
    SecretKey,
    Namespace,
    DomainRef,
    Repository,
    Tag,
    Digest,
    ImageId,
    Manifest,
}

impl Rule {
    fn accepts(self, s: &str) -> bool {
        match self {
            Rule::DomainId | Rule::DomainRef => {
                (1..=64).contains(&s.len())
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
            }
            Rule::DomainName => {
                (1..=64).contains(&s.chars().count()) && !s.chars().any(char::is_control)
            }
            Rule::Token => is_visible_ascii(s, 16 * 1024),
            Rule::AccessKey => {
                (1..=128).contains(&s.len())
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
            }
            Rule::SecretKey => is_visible_ascii(s, 256),
            Rule::Namespace => is_valid_namespace(s),
            Rule::Repository => is_valid_repository(s),
            Rule::Tag => is_valid_tag(s),
            Rule::Digest => is_valid_digest(s),
            Rule::ImageId => s.is_empty() || is_lower_hex(s, 64),
            Rule::Manifest => s.is_empty() || serde_json::from_str::<de::IgnoredAny>(s).is_ok(),
        }
    }

    fn expected(self) -> &'static str {
        match self {
            Rule::DomainId | Rule::DomainRef => "a domain id: 1 to 64 of A-Z a-z 0-9 _ -",
            Rule::DomainName => "a domain name: 1 to 64 characters, no control characters",
            Rule::Token => "a token: 1 to 16384 visible ASCII characters",
            Rule::AccessKey => "an access key: 1 to 128 of A-Z a-z 0-9 _ -",
            Rule::SecretKey => "a secret key: 1 to 256 visible ASCII characters",
            Rule::Namespace => {
                "a namespace name: 1 to 64 of a-z 0-9 . _ -, starting with a letter, \
                 ending with a letter or digit, no two separators in a row except __"
            }
            Rule::Repository => {
                "a repository name: 1 to 128 of a-z 0-9 . _ - /, each /-separated component \
                 starting and ending with a letter or digit (separators . _ __ or runs of -)"
            }
            Rule::Tag => "a tag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}",
            Rule::Digest => "a digest such as \"sha256:\" followed by 64 lowercase hex digits",
            Rule::ImageId => "an image id: 64 lowercase hex digits (or empty)",
            Rule::Manifest => "a manifest: a JSON document in a string (or empty)",
        }
    }

    /// The message for a second occurrence of `v`; never echoes a token.
    fn duplicate(self, v: &str) -> String {
        let what = match self {
            Rule::DomainId => "domain id {v} is listed twice",
            Rule::Token => "token is listed twice (tokens are unique across domains)",
            Rule::AccessKey => "access key {v} is listed twice (keys are unique across domains)",
            Rule::Namespace => "namespace {v} is listed twice",
            Rule::Repository => "repository {v} is listed twice in this namespace",
            Rule::Tag => "tag {v} is listed twice in this repository",
            _ => "{v} is listed twice",
        };
        what.replace("{v}", &format!("{v:?}"))
    }
}

/// The integer rules.
#[derive(Clone, Copy)]
enum Int {
    Schema,
    Size,
    TagType,
}

impl Int {
    fn accepts(self, v: i64) -> bool {
        match self {
            Int::Schema => matches!(v, 1 | 2),
            Int::Size => v >= 0,
            Int::TagType => matches!(v, 0 | 1),
        }
    }

    fn expected(self) -> &'static str {
        match self {
            Int::Schema => "a schema version, 1 or 2",
            Int::Size => "a size >= 0",
            Int::TagType => "a tag type, 0 (manifest) or 1 (manifest list)",
        }
    }
}

// ---------------------------------------------------------------------------
// Checking while parsing.
//
// Rules are applied in the visitors of the individual scalars, so a failure
// carries that scalar's position. Uniqueness and references need state that
// serde cannot pass down, hence this thread-local context: installed by
// `parse_pass` (a synchronous call), absent when a `Fixture` is deserialized
// any other way, in which case only the per-value rules run.

#[derive(Default)]
struct Ctx {
    /// Ids of `domains`, known in the second pass only.
    known_domains: Option<HashSet<String>>,
    domain_ids: HashSet<String>,
    tokens: HashSet<String>,
    access_keys: HashSet<String>,
    namespaces: HashSet<String>,
    /// Names already seen in the enclosing namespace (repositories) and
    /// repository (tags).
    scopes: Vec<HashSet<String>>,
}

thread_local! {
    static CTX: RefCell<Option<Ctx>> = const { RefCell::new(None) };
}

struct CtxGuard(Option<Ctx>);

impl CtxGuard {
    fn install(known_domains: Option<HashSet<String>>) -> Self {
        let ctx = Ctx {
            known_domains,
            ..Ctx::default()
        };
        CtxGuard(CTX.with(|c| c.replace(Some(ctx))))
    }
}

impl Drop for CtxGuard {
    fn drop(&mut self) {
        let previous = self.0.take();
        CTX.with(|c| *c.borrow_mut() = previous);
    }
}

/// Checks `v` against the context; `Err` is the message.
fn check_context(rule: Rule, v: &str) -> Result<(), String> {
    CTX.with(|c| {
        let mut c = c.borrow_mut();
        let Some(ctx) = c.as_mut() else {
            return Ok(());
        };
        let fresh = match rule {
            Rule::DomainId => ctx.domain_ids.insert(v.to_owned()),
            Rule::Token => ctx.tokens.insert(v.to_owned()),
            Rule::AccessKey => ctx.access_keys.insert(v.to_owned()),
            Rule::Namespace => ctx.namespaces.insert(v.to_owned()),
            Rule::Repository | Rule::Tag => {
                ctx.scopes.last_mut().is_none_or(|s| s.insert(v.to_owned()))
            }
            Rule::DomainRef => {
                return match &ctx.known_domains {
                    Some(known) if !known.contains(v) => Err(unknown_domain(v)),
                    _ => Ok(()),
                };
            }
            _ => true,
        };
        if fresh {
            Ok(())
        } else {
            Err(rule.duplicate(v))
        }
    })
}

struct Checked(Rule);

impl Visitor<'_> for Checked {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.expected())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        if !self.0.accepts(v) {
            // Do not echo a secret into an error message.
            let shown = match self.0 {
                Rule::Token | Rule::SecretKey => Unexpected::Other("a string"),
                _ => Unexpected::Str(v),
            };
            return Err(E::invalid_value(shown, &self));
        }
        check_context(self.0, v).map_err(E::custom)?;
        Ok(v.to_owned())
    }
}

struct CheckedInt(Int);

impl Visitor<'_> for CheckedInt {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.expected())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        if self.0.accepts(v) {
            Ok(v)
        } else {
            Err(E::invalid_value(Unexpected::Signed(v), &self))
        }
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        match i64::try_from(v) {
            Ok(v) => self.visit_i64(v),
            Err(_) => Err(E::invalid_value(Unexpected::Unsigned(v), &self)),
        }
    }
}

macro_rules! checked_str {
    ($($name:ident => $rule:ident),* $(,)?) => {$(
        fn $name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
            d.deserialize_str(Checked(Rule::$rule))
        }
    )*};
}

checked_str! {
    de_domain_id => DomainId,
    de_domain_name => DomainName,
    de_access_key => AccessKey,
    de_secret_key => SecretKey,
    de_namespace => Namespace,
    de_domain_ref => DomainRef,
    de_repository => Repository,
    de_tag => Tag,
    de_digest => Digest,
    de_image_id => ImageId,
    de_manifest => Manifest,
}

macro_rules! checked_int {
    ($($name:ident => $rule:ident),* $(,)?) => {$(
        fn $name<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
            d.deserialize_i64(CheckedInt(Int::$rule))
        }
    )*};
}

checked_int! {
    de_schema => Schema,
    de_size => Size,
    de_tag_type => TagType,
}

fn de_token<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    d.deserialize_str(Checked(Rule::Token))
}

fn de_tokens<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct Token(String);
    impl<'de> Deserialize<'de> for Token {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_str(Checked(Rule::Token)).map(Token)
        }
    }
    Ok(Vec::<Token>::deserialize(d)?
        .into_iter()
        .map(|t| t.0)
        .collect())
}

/// Runs `f` with a fresh uniqueness scope (the names of one namespace's
/// repositories, or of one repository's tags).
fn scoped<T>(f: impl FnOnce() -> T) -> T {
    struct Pop;
    impl Drop for Pop {
        fn drop(&mut self) {
            CTX.with(|c| {
                if let Some(ctx) = c.borrow_mut().as_mut() {
                    ctx.scopes.pop();
                }
            });
        }
    }
    CTX.with(|c| {
        if let Some(ctx) = c.borrow_mut().as_mut() {
            ctx.scopes.push(HashSet::new());
        }
    });
    let _pop = Pop;
    f()
}

fn de_repositories<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<FixtureRepository>, D::Error> {
    scoped(|| Vec::deserialize(d))
}

fn de_tags<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<FixtureTag>, D::Error> {
    scoped(|| Vec::deserialize(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_rules() {
        for ok in ["group", "a", "a1", "a.b", "a__b", "a-b_c.d", "g0"] {
            assert!(is_valid_namespace(ok), "{ok}");
        }
        for bad in [
            "",
            "1a",
            "A",
            "a-",
            "a..b",
            "a___b",
            "a-_b",
            "a/b",
            "_a",
            &"a".repeat(65),
        ] {
            assert!(!is_valid_namespace(bad), "{bad}");
        }
        for ok in ["busybox", "tools/busybox", "a--b", "a__b/c.d", "0", "a/b/c"] {
            assert!(is_valid_repository(ok), "{ok}");
        }
        for bad in [
            "",
            "/a",
            "a/",
            "a//b",
            "a$b",
            "A",
            "a-",
            "a._b",
            "a___b",
            &"a".repeat(129),
        ] {
            assert!(!is_valid_repository(bad), "{bad}");
        }
        for ok in ["latest", "v1.2.3", "_x", "A-b.C_d", &"a".repeat(128)] {
            assert!(is_valid_tag(ok), "{ok}");
        }
        for bad in ["", ".x", "-x", "a b", "a/b", &"a".repeat(129)] {
            assert!(!is_valid_tag(bad), "{bad}");
        }
        assert!(is_valid_digest(&format!("sha256:{}", "a".repeat(64))));
        assert!(!is_valid_digest(&format!("sha256:{}", "A".repeat(64))));
        assert!(!is_valid_digest("sha256:abc"));
        assert!(is_valid_digest(
            "sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564"
        ));
    }
}
