//! What the checks use from the fixture they are given: which domain plays
//! "A" and which "B", which repositories, which credentials, and the values
//! (a substring that only matches case-sensitively, a byte-order example) that
//! make a check able to tell a right server from a wrong one. Anything missing
//! is `None`, and the checks that need it report themselves skipped.

use std::collections::{BTreeSet, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use swr_api::fixture::{Fixture, FixtureTag};

/// A repository the checks read, with a token of its owner.
#[derive(Debug, Clone)]
pub(crate) struct Repo {
    pub namespace: String,
    /// As stored: with `/`, not the wire's `$`.
    pub name: String,
    pub domain: String,
    pub token: String,
    pub tags: Vec<FixtureTag>,
}

impl Repo {
    /// `/v2/manage/namespaces/{ns}/repos/{repo with $}/tags`.
    pub fn path(&self) -> String {
        tags_path(&self.namespace, &self.name.replace('/', "$"))
    }

    /// `ns/name`, for messages.
    pub fn label(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// The API path of a namespace and a repository as sent on the wire.
pub(crate) fn tags_path(namespace: &str, wire_repository: &str) -> String {
    format!("/v2/manage/namespaces/{namespace}/repos/{wire_repository}/tags")
}

/// An access key pair.
#[derive(Debug, Clone)]
pub(crate) struct Key {
    pub ak: String,
    pub sk: String,
}

/// Domain A: the caller of almost every check.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub domain: String,
    pub token: String,
    pub key: Option<Key>,
}

/// Domain B's namespace, which A must not see, and B's own credentials to
/// prove that it exists.
#[derive(Debug, Clone)]
pub(crate) struct Other {
    pub namespace: String,
    pub repository: String,
    pub domain: String,
    pub token: Option<String>,
    pub key: Option<Key>,
}

/// Everything the checks take from the fixture.
#[derive(Debug, Clone, Default)]
pub(crate) struct Plan {
    pub a: Option<Account>,
    /// A's repository with the most tags: paging, order and query checks.
    pub main: Option<Repo>,
    /// A repository with `/` in its name.
    pub slash: Option<Repo>,
    /// A repository without tags.
    pub empty: Option<Repo>,
    /// Another repository of A's (where a signed request is redirected to).
    pub second: Option<Repo>,
    /// A token whose expiry has passed.
    pub expired_token: Option<String>,
    /// A token of A's that expires, but not soon.
    pub future_token: Option<String>,
    pub other: Option<Other>,
    /// A valid namespace name the fixture does not have.
    pub missing_namespace: String,
    /// A valid repository name `main`'s namespace does not have.
    pub missing_repository: String,
    /// A substring of several (not all) of `main`'s tag names.
    pub needle: Option<String>,
    /// `needle`, when matching it case-insensitively would match more tags.
    pub case_needle: Option<String>,
    /// A tag filter that matches none of `main`'s tags.
    pub no_match: String,
    /// Two tag names whose byte order and case-insensitive order disagree.
    pub byte_order_example: Option<(String, String)>,
    /// Two tags of `main` with equal update times.
    pub tie_example: Option<(String, String)>,
}

/// Update time as the fixture format defines it (`updated`, else `created`).
pub(crate) fn updated_of(t: &FixtureTag) -> Option<i64> {
    t.updated.or(t.created).map(|ts| ts.0)
}

impl Plan {
    pub fn new(fixture: &Fixture, now: SystemTime) -> Plan {
        let now = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let token_of = |domain: &str| {
            fixture
                .domains
                .iter()
                .find(|d| d.id == domain)
                .and_then(|d| d.tokens.first().cloned())
        };
        let key_of = |domain: &str| {
            let d = fixture.domains.iter().find(|d| d.id == domain)?;
            d.credentials.first().map(|c| Key {
                ak: c.ak.clone(),
                sk: c.sk.clone(),
            })
        };
        // Every repository whose owner has a token, in file order.
        let readable: Vec<Repo> = fixture
            .namespaces
            .iter()
            .flat_map(|n| {
                let token = token_of(&n.domain);
                n.repositories.iter().filter_map(move |r| {
                    Some(Repo {
                        namespace: n.name.clone(),
                        name: r.name.clone(),
                        domain: n.domain.clone(),
                        token: token.clone()?,
                        tags: r.tags.clone(),
                    })
                })
            })
            .collect();
        let mut plan = Plan {
            missing_namespace: unused("swr-conformance-missing", |n| {
                fixture.namespaces.iter().any(|ns| ns.name == n)
            }),
            ..Plan::default()
        };
        let main = readable
            .iter()
            .filter(|r| r.tags.len() >= 3)
            .max_by_key(|r| (r.tags.len(), std::cmp::Reverse(r.label())))
            .cloned();
        if let Some(main) = &main {
            plan.a = Some(Account {
                domain: main.domain.clone(),
                token: main.token.clone(),
                key: key_of(&main.domain),
            });
            // Prefer A's own repositories; any readable one will do.
            let prefer_own = |pred: &dyn Fn(&Repo) -> bool| -> Option<Repo> {
                readable
                    .iter()
                    .filter(|r| pred(r))
                    .min_by_key(|r| r.domain != main.domain)
                    .cloned()
            };
            plan.slash = prefer_own(&|r| r.name.contains('/'));
            plan.empty = prefer_own(&|r| r.tags.is_empty());
            plan.second = readable
                .iter()
                .find(|r| r.domain == main.domain && r.label() != main.label())
                .cloned();
            // Missing from every namespace, so it is also missing from B's.
            plan.missing_repository = unused("swr-conformance-missing", |n| {
                fixture
                    .namespaces
                    .iter()
                    .any(|ns| ns.repositories.iter().any(|r| r.name == n))
            });
            let domain = fixture.domains.iter().find(|d| d.id == main.domain);
            plan.future_token = domain.and_then(|d| {
                d.expiring_tokens
                    .iter()
                    .find(|t| t.expires.0 > now + 24 * 3600)
                    .map(|t| t.token.clone())
            });
            plan.other = fixture
                .namespaces
                .iter()
                .filter(|n| n.domain != main.domain)
                .find_map(|n| {
                    let r = n.repositories.first()?;
                    Some(Other {
                        namespace: n.name.clone(),
                        repository: r.name.clone(),
                        domain: n.domain.clone(),
                        token: token_of(&n.domain),
                        key: key_of(&n.domain),
                    })
                });
            let names: Vec<&str> = main.tags.iter().map(|t| t.tag.as_str()).collect();
            let (needle, case_needle) = needles(&names);
            plan.needle = needle;
            plan.case_needle = case_needle;
            plan.no_match = unused("zq", |n| names.iter().any(|t| t.contains(n)));
            plan.byte_order_example = byte_order_example(&names);
            plan.tie_example = tie_example(&main.tags);
        }
        plan.main = main;
        plan.expired_token = fixture
            .domains
            .iter()
            .flat_map(|d| &d.expiring_tokens)
            .find(|t| t.expires.0 < now - 60)
            .map(|t| t.token.clone());
        plan
    }
}

/// `base`, or `base-2`, `base-3`, … : the first that `taken` refuses.
fn unused(base: &str, taken: impl Fn(&str) -> bool) -> String {
    (1..)
        .map(|i| match i {
            1 => base.to_owned(),
            i => format!("{base}-{i}"),
        })
        .find(|n| !taken(n))
        .unwrap_or_else(|| base.to_owned())
}

/// Names the needle search looks at: enough to find one, and bounded so
/// that a fixture of a million tags does not make planning quadratic.
const NEEDLE_SAMPLE: usize = 1000;

/// A substring (2 to 4 bytes) of several but not all names, also matching a
/// name longer than itself (so an exact match would differ); preferably one
/// that a case-insensitive match would widen. Scored on a sample of the
/// names: the oracle computes the real matches later, and a needle that
/// matches 2 or more but not all of the sample does so for the whole list.
fn needles(names: &[&str]) -> (Option<String>, Option<String>) {
    let names = &names[..names.len().min(NEEDLE_SAMPLE)];
    let candidates: BTreeSet<&str> = names
        .iter()
        .flat_map(|n| {
            (2..=4).flat_map(move |len| {
                (0..n.len().saturating_sub(len - 1)).filter_map(move |i| n.get(i..i + len))
            })
        })
        .collect();
    let mut best: Option<(usize, usize, &str)> = None;
    for c in candidates {
        let sensitive = names.iter().filter(|n| n.contains(c)).count();
        let longer = names.iter().any(|n| n.contains(c) && n.len() > c.len());
        if sensitive < 2 || sensitive >= names.len() || !longer {
            continue;
        }
        let lower = c.to_ascii_lowercase();
        let insensitive = names
            .iter()
            .filter(|n| n.to_ascii_lowercase().contains(&lower))
            .count();
        let score = (insensitive - sensitive, sensitive, c);
        // Larger widening first, then more matches; equal scores keep the
        // first candidate in byte order, so the choice is stable.
        if best.is_none_or(|(w, s, _)| (score.0, score.1) > (w, s)) {
            best = Some(score);
        }
    }
    match best {
        Some((widening, _, c)) => (Some(c.to_owned()), (widening > 0).then(|| c.to_owned())),
        None => (None, None),
    }
}

/// Two names, adjacent in byte order, that a case-insensitive order would
/// swap. (If no adjacent pair is swapped, byte order is already sorted
/// case-insensitively and the fixture cannot tell the two apart.)
fn byte_order_example(names: &[&str]) -> Option<(String, String)> {
    let mut sorted = names.to_vec();
    sorted.sort_unstable();
    sorted
        .windows(2)
        .find(|p| p[0].to_ascii_lowercase() > p[1].to_ascii_lowercase())
        .map(|p| (p[0].to_owned(), p[1].to_owned()))
}

/// Two tags with the same update time.
fn tie_example(tags: &[FixtureTag]) -> Option<(String, String)> {
    let mut first_at: HashMap<i64, &str> = HashMap::new();
    tags.iter().find_map(|t| {
        let at = updated_of(t)?;
        first_at
            .insert(at, &t.tag)
            .map(|other| (other.to_owned(), t.tag.clone()))
    })
}
