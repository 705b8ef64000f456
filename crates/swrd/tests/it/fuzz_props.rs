//! Property tests for the registry webhook's body parser (issue "Prove it",
//! item 2): no input panics, and well-formed envelopes classify each event as
//! expected. The `fuzz/` crate drives the same parser with libFuzzer.

use proptest::prelude::*;
use serde_json::{Value, json};
use swrd::registry::webhook::{ParsedEnvelope, parse_envelope};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 1024,
        ..ProptestConfig::default()
    }
}

/// What `parse_envelope` must make of an event.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Push,
    Delete,
    Ignored,
    Rejected,
}

fn timestamp() -> impl Strategy<Value = String> {
    (
        1970..2100u32,
        1..=12u32,
        1..=28u32,
        0..24u32,
        0..60u32,
        0..60u32,
        prop::option::of("[0-9]{1,9}"),
    )
        .prop_map(|(y, mo, d, h, mi, s, frac)| {
            let frac = frac.map(|f| format!(".{f}")).unwrap_or_default();
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}Z")
        })
}

fn name() -> impl Strategy<Value = String> {
    ("[a-z][a-z0-9]{0,8}", "[a-z0-9]{1,8}(/[a-z0-9]{1,8}){0,2}")
        .prop_map(|(ns, repo)| format!("{ns}/{repo}"))
}

fn tag() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}"
}

fn digest() -> impl Strategy<Value = String> {
    "[0-9a-f]{64}".prop_map(|h| format!("sha256:{h}"))
}

fn manifest_type() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    ])
}

fn event(
    id: &str,
    timestamp: &str,
    action: &str,
    media_type: Option<&str>,
    repository: &str,
    tag: Option<&str>,
    digest: Option<&str>,
) -> Value {
    let mut target = json!({ "repository": repository, "size": 525, "length": 525 });
    if let Some(m) = media_type {
        target["mediaType"] = json!(m);
    }
    if let Some(t) = tag {
        target["tag"] = json!(t);
    }
    if let Some(d) = digest {
        target["digest"] = json!(d);
    }
    json!({
        "id": id,
        "timestamp": timestamp,
        "action": action,
        "target": target,
        "request": { "id": "r", "method": "PUT", "useragent": "docker/27" },
        "actor": { "name": "ci" },
        "source": { "addr": "registry:5000" },
    })
}

/// One well-formed event and how it must be classified.
fn classified_event() -> impl Strategy<Value = (Value, Kind)> {
    let base = (
        "[a-f0-9-]{1,36}",
        timestamp(),
        name(),
        tag(),
        digest(),
        manifest_type(),
    );
    (base, 0..12u8).prop_map(|((id, ts, name, tag, digest, mt), which)| {
        let (t, d) = (Some(tag.as_str()), Some(digest.as_str()));
        match which {
            0 => (event(&id, &ts, "push", Some(mt), &name, t, d), Kind::Push),
            1 => (
                event(&id, &ts, "delete", None, &name, t, None),
                Kind::Delete,
            ),
            2 => (
                event(&id, &ts, "delete", None, &name, None, d),
                Kind::Delete,
            ),
            3 => (
                event(&id, &ts, "pull", Some(mt), &name, t, d),
                Kind::Ignored,
            ),
            // A push by digest only, or of a blob.
            4 => (
                event(&id, &ts, "push", Some(mt), &name, None, d),
                Kind::Ignored,
            ),
            5 => (
                event(
                    &id,
                    &ts,
                    "push",
                    Some("application/octet-stream"),
                    &name,
                    t,
                    d,
                ),
                Kind::Ignored,
            ),
            6 => (
                event("", &ts, "delete", None, &name, t, None),
                Kind::Ignored,
            ),
            7 => (
                event(&id, "yesterday", "delete", None, &name, t, None),
                Kind::Ignored,
            ),
            // Not an event object at all, or a field of the wrong type.
            8 => (json!([id, 1, null]), Kind::Ignored),
            9 => (json!({ "id": 7, "action": "push" }), Kind::Ignored),
            // A name SWR cannot hold (one component, upper case).
            10 => (
                event(
                    &id,
                    &ts,
                    "delete",
                    None,
                    &name.replace('/', "_").to_uppercase(),
                    t,
                    None,
                ),
                Kind::Rejected,
            ),
            // An invalid tag.
            _ => (
                event(
                    &id,
                    &ts,
                    "delete",
                    None,
                    &name,
                    Some(&format!("-{tag}")),
                    None,
                ),
                Kind::Rejected,
            ),
        }
    })
}

/// Arbitrary JSON, small.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[ -~]{0,12}".prop_map(Value::from),
        prop::sample::select(vec!["push", "delete", "pull", "sha256:00", "a/b", "v1"])
            .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "id",
                    "timestamp",
                    "action",
                    "target",
                    "repository",
                    "tag",
                    "digest",
                    "mediaType",
                    "events",
                ])
                .prop_map(str::to_owned),
                inner,
                0..5,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The events array of what `parse_envelope` accepts: only an object
/// `{"events": [...]}` (not serde's sequence form `[[...]]`).
fn events_of(v: &Value) -> Option<&Vec<Value>> {
    match v {
        Value::Object(m) => m.get("events")?.as_array(),
        _ => None,
    }
}

/// Every event lands in exactly one bucket.
fn total(p: &ParsedEnvelope) -> usize {
    p.pushes + p.deletes + p.ignored + p.rejected
}

proptest! {
    #![proptest_config(config())]

    /// Arbitrary bytes never panic; what parses is an object with an
    /// `events` array, each of whose entries is counted once.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        any_json().prop_map(|v| serde_json::to_vec(&json!({ "events": v })).unwrap()),
    ]) {
        if let Ok(parsed) = parse_envelope(&bytes) {
            let value: Value = serde_json::from_slice(&bytes).unwrap();
            prop_assert_eq!(Some(total(&parsed)), events_of(&value).map(Vec::len));
        }
    }

    /// Arbitrary JSON events never panic and are each counted once.
    #[test]
    fn arbitrary_events_are_counted(events in prop::collection::vec(any_json(), 0..8)) {
        let body = serde_json::to_vec(&json!({ "events": events, "extra": 1 })).unwrap();
        let parsed = parse_envelope(&body).unwrap();
        prop_assert_eq!(total(&parsed), events.len());
    }

    /// A well-formed envelope parses to as many events as it holds, each
    /// classified as built.
    #[test]
    fn well_formed_envelopes_classify(events in prop::collection::vec(classified_event(), 0..12)) {
        let body = json!({ "events": events.iter().map(|(v, _)| v.clone()).collect::<Vec<_>>() });
        let parsed = parse_envelope(&serde_json::to_vec(&body).unwrap()).unwrap();
        let mut want = ParsedEnvelope::default();
        for (_, kind) in &events {
            match kind {
                Kind::Push => want.pushes += 1,
                Kind::Delete => want.deletes += 1,
                Kind::Ignored => want.ignored += 1,
                Kind::Rejected => want.rejected += 1,
            }
        }
        prop_assert_eq!(parsed, want);
        prop_assert_eq!(total(&parsed), events.len());
    }

    /// Not an envelope (no `events` array) is an error, not a panic.
    #[test]
    fn non_envelopes_are_errors(v in prop_oneof![
        any_json(),
        prop::collection::vec(any_json(), 0..3).prop_map(Value::Array),
    ]) {
        let res = parse_envelope(&serde_json::to_vec(&v).unwrap());
        prop_assert_eq!(res.is_ok(), events_of(&v).is_some(), "{}", v);
    }
}

/// Found by the properties: serde accepted the struct's sequence form as an
/// envelope. Only a JSON object is one.
#[test]
fn only_an_object_is_an_envelope() {
    assert!(parse_envelope(br#"[[{"id":"1","action":"pull"}]]"#).is_err());
    assert!(parse_envelope(br#"{"events":[["1","push"]]}"#).is_ok_and(|p| p.ignored == 1));
    assert!(parse_envelope(br#"{"events":[]}"#).is_ok());
}
